"""API.md sections 2 and 4 (+ docs/semantics.md): client and server sends, fan-out, mtype
and size rules, idempotent mids, mid order, history paging, user.online, user.kickout,
NotAuthorized."""

import threading
import time
import unittest

from rtmd_harness import RtmdTestCase, User, _params, unique_id

EPOCH_2024_MS = 1704067200000


class MessageCase(RtmdTestCase):
    def send_ok(self, method, user, **params):
        p = {"session": user.session, "mtype": 30, "msg": "hi"}
        p.update(params)
        body = self.assertOk(self.c.call(method, p))
        self.assertIsInstance(body.get("mid"), int)
        self.assertIsInstance(body.get("mtime"), int)
        return body

    def history(self, user, **params):
        p = _params({"session": user.session}, params)
        return self.assertOk(self.c.call("message.history", p))["messages"]

    def group_with(self, *users, subscribe=True):
        gid = unique_id()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[u.uid for u in users]))
        if subscribe:
            for u in users:
                self.assertOk(self.c.call("session.subscribe", session=u.session, topic="group:%d" % gid))
        return gid

    def room_with(self, *users):
        rid = unique_id()
        for u in users:
            self.assertOk(self.c.call("session.subscribe", session=u.session, topic="room:%d" % rid))
        for u in users:
            self.events(u.session)  # drop room entered events
        return rid


class TestClientSends(MessageCase):
    def test_send_p2p_reaches_every_session_of_the_recipient(self):
        a = self.login()
        b = self.login()
        b2 = self.new_session()
        self.assertOk(self.authorize(b2, b, mode="multi"))
        ans = self.send_ok("message.send", a, to=b.uid, msg="p2p hello", attrs="k=v")
        for s in (b.session, b2):
            msgs = self.messages(s, 1)
            self.assertEqual(len(msgs), 1)
            m = msgs[0]
            self.assertEqual((m["mid"], m["mtime"], m["from"], m["kind"], m["to"], m["mtype"], m["msg"], m["attrs"]),
                             (ans["mid"], ans["mtime"], a.uid, "p2p", b.uid, 30, "p2p hello", "k=v"))

    def test_send_without_attrs_delivers_empty_attrs_string(self):
        a = self.login()
        b = self.login()
        self.send_ok("message.send", a, to=b.uid)
        self.assertEqual(self.messages(b.session, 1)[0]["attrs"], "")

    def test_send_p2p_does_not_reach_third_users(self):
        a, b, c = self.login(), self.login(), self.login()
        self.send_ok("message.send", a, to=b.uid)
        self.assertEqual(len(self.messages(b.session, 1)), 1)
        self.quiet(c.session)

    def test_send_many_reaches_each_recipient_once(self):
        a, b, c, d = self.login(), self.login(), self.login(), self.login()
        ans = self.send_ok("message.send_many", a, to_uids=[b.uid, c.uid, c.uid], msg="multi")
        for u in (b, c):
            evs = self.collect(u.session, 2, timeout=1.5, kinds=("message",))
            self.assertEqual(len(evs), 1, "duplicates in to_uids must be delivered once: %r" % evs)
            m = evs[0]["message"]
            self.assertEqual((m["mid"], m["kind"], m["from"], m["msg"]), (ans["mid"], "multi", a.uid, "multi"))
            self.assertEqual(sorted(set(m["to_uids"])), sorted([b.uid, c.uid]))
        self.quiet(d.session)

    def test_send_many_with_empty_or_too_many_uids_is_invalid_parameter(self):
        a = self.login()
        self.assertError(self.c.call("message.send_many", session=a.session, to_uids=[], mtype=30, msg="x"),
                         "InvalidParameter")
        self.assertError(self.c.call("message.send_many", session=a.session, to_uids=list(range(1, 1002)),
                                     mtype=30, msg="x"), "InvalidParameter")
        self.assertError(self.c.call("message.send_many", session=a.session, to_uids="1", mtype=30, msg="x"),
                         "InvalidRequest")

    def test_send_group_reaches_subscribed_members(self):
        a, b, c = self.login(), self.login(), self.login()
        gid = self.group_with(a, b)
        ans = self.send_ok("message.send_group", a, gid=gid, msg="group hi")
        m = self.messages(b.session, 1)[0]
        self.assertEqual((m["mid"], m["kind"], m["gid"], m["from"], m["msg"]),
                         (ans["mid"], "group", gid, a.uid, "group hi"))
        self.quiet(c.session)

    def test_send_group_by_non_member_is_permission_denied(self):
        a, b = self.login(), self.login()
        gid = self.group_with(b)
        self.assertError(self.c.call("message.send_group", session=a.session, gid=gid, mtype=30, msg="x"),
                         "PermissionDenied")
        self.quiet(b.session)

    def test_send_room_reaches_room_subscribers(self):
        a, b, c = self.login(), self.login(), self.login()
        rid = self.room_with(a, b)
        ans = self.send_ok("message.send_room", a, rid=rid, msg="room hi")
        m = self.messages(b.session, 1)[0]
        self.assertEqual((m["mid"], m["kind"], m["rid"], m["from"], m["msg"]),
                         (ans["mid"], "room", rid, a.uid, "room hi"))
        self.quiet(c.session)

    def test_send_room_outside_the_room_is_permission_denied(self):
        a, b = self.login(), self.login()
        rid = self.room_with(b)
        self.assertError(self.c.call("message.send_room", session=a.session, rid=rid, mtype=30, msg="x"),
                         "PermissionDenied")
        self.quiet(b.session)

    def test_send_to_unknown_user_is_not_found(self):
        a = self.login()
        self.assertError(self.c.call("message.send", session=a.session, to=unique_id(), mtype=30, msg="x"),
                         "NotFound")
        self.assertError(self.c.server("message.send", to=unique_id(), mtype=30, msg="x"), "NotFound")

    def test_send_with_missing_or_wrong_typed_fields_is_invalid_request(self):
        a, b = self.login(), self.login()
        base = {"session": a.session, "to": b.uid, "mtype": 30, "msg": "x"}
        for k in ("to", "mtype", "msg"):
            p = dict(base)
            del p[k]
            with self.subTest(missing=k):
                self.assertError(self.c.call("message.send", p), "InvalidRequest")
        for k, v in (("to", "abc"), ("mtype", "30"), ("msg", 5), ("msg", None), ("attrs", 7), ("attrs", {"a": 1})):
            with self.subTest(field=k, value=v):
                self.assertError(self.c.call("message.send", dict(base, **{k: v})), "InvalidRequest")
        self.quiet(b.session)


class TestMtypeAndSizes(MessageCase):
    def test_mtype_rules_for_client_send(self):
        a, b = self.login(), self.login()
        for mtype in (0, 30, 39, 51, 100, 255):
            with self.subTest(mtype=mtype):
                self.send_ok("message.send", a, to=b.uid, mtype=mtype)
        for mtype in (40, 45, 50, 256, -1, 1000):
            with self.subTest(mtype=mtype):
                self.assertError(self.c.call("message.send", session=a.session, to=b.uid, mtype=mtype, msg="x"),
                                 "InvalidParameter")
        got = sorted(m["mtype"] for m in self.messages(b.session, 6))
        self.assertEqual(got, [0, 30, 39, 51, 100, 255])
        self.quiet(b.session)

    def test_file_mtypes_are_refused_for_every_send_method(self):
        a, b = self.login(), self.login()
        gid = self.group_with(a, b)
        rid = self.room_with(a, b)
        calls = [("message.send", {"to": b.uid}), ("message.send_many", {"to_uids": [b.uid]}),
                 ("message.send_group", {"gid": gid}), ("message.send_room", {"rid": rid})]
        for method, target in calls:
            with self.subTest(method=method):
                p = dict(target, session=a.session, mtype=40, msg="x")
                self.assertError(self.c.call(method, p), "InvalidParameter")
                sp = dict(target, mtype=50, msg="x")
                sp["from"] = a.uid
                self.assertError(self.c.server(method, sp), "InvalidParameter")
        self.assertError(self.c.server("message.broadcast", mtype=45, msg="x"), "InvalidParameter")
        self.quiet(b.session)

    def test_msg_up_to_64k_is_accepted_and_larger_is_payload_too_large(self):
        a, b = self.login(), self.login()
        self.send_ok("message.send", a, to=b.uid, msg="x" * 65536)
        self.assertEqual(len(self.messages(b.session, 1)[0]["msg"]), 65536)
        self.assertError(self.c.call("message.send", session=a.session, to=b.uid, mtype=30, msg="x" * 65537),
                         "PayloadTooLarge")
        # the limit counts UTF-8 bytes: 21846 three-byte characters are 65538 bytes
        self.assertError(self.c.call("message.send", session=a.session, to=b.uid, mtype=30,
                                     msg="\u20ac" * 21846), "PayloadTooLarge")
        self.quiet(b.session)

    def test_attrs_up_to_4k_is_accepted_and_larger_is_payload_too_large(self):
        a, b = self.login(), self.login()
        self.send_ok("message.send", a, to=b.uid, attrs="a" * 4096)
        self.assertEqual(len(self.messages(b.session, 1)[0]["attrs"]), 4096)
        self.assertError(self.c.call("message.send", session=a.session, to=b.uid, mtype=30, msg="x",
                                     attrs="a" * 4097), "PayloadTooLarge")
        self.assertError(self.c.server("message.send", to=b.uid, mtype=30, msg="x" * 65537), "PayloadTooLarge")
        self.quiet(b.session)

    def test_utf8_text_round_trips(self):
        a, b = self.login(), self.login()
        text = "h\u00e9llo \u4e16\u754c \U0001f600 \"quoted\" \\ back <tag>&amp;"
        self.send_ok("message.send", a, to=b.uid, msg=text, attrs=text)
        m = self.messages(b.session, 1)[0]
        self.assertEqual((m["msg"], m["attrs"]), (text, text))


class TestMids(MessageCase):
    def test_retry_with_same_mid_answers_the_first_mid_and_mtime_and_delivers_once(self):
        a, b = self.login(), self.login()
        mid = unique_id()
        first = self.send_ok("message.send", a, to=b.uid, mid=mid, msg="once")
        # The sender's mid is its retry key; the message gets a server mid, ordered in time.
        self.assertLess(abs((first["mid"] >> 22) + EPOCH_2024_MS - first["mtime"]), 2000)
        time.sleep(0.05)
        again = self.send_ok("message.send", a, to=b.uid, mid=mid, msg="once")
        self.assertEqual((again["mid"], again["mtime"]), (first["mid"], first["mtime"]))
        evs = self.collect(b.session, 2, timeout=1.5, kinds=("message",))
        self.assertEqual([e["message"]["mid"] for e in evs], [first["mid"]])
        self.assertEqual([m["mid"] for m in self.history(a, with_=b.uid)], [first["mid"]])

    def test_same_mid_from_two_senders_is_two_messages(self):
        a, b, c = self.login(), self.login(), self.login()
        mid = unique_id()
        from_a = self.send_ok("message.send", a, to=c.uid, mid=mid, msg="from a")
        from_b = self.send_ok("message.send", b, to=c.uid, mid=mid, msg="from b")
        self.assertNotEqual(from_a["mid"], from_b["mid"])
        evs = self.collect(c.session, 2, timeout=3, kinds=("message",))
        self.assertEqual(sorted(e["message"]["msg"] for e in evs), ["from a", "from b"])

    def test_server_retry_with_same_mid_is_idempotent(self):
        b = self.login()
        a = self.new_user()
        mid = unique_id()
        p = {"from": a.uid, "to": b.uid, "mtype": 30, "msg": "srv once", "mid": mid}
        first = self.assertOk(self.c.server("message.send", p))
        again = self.assertOk(self.c.server("message.send", p))
        self.assertEqual((again["mid"], again["mtime"]), (first["mid"], first["mtime"]))
        evs = self.collect(b.session, 2, timeout=1.5, kinds=("message",))
        self.assertEqual(len(evs), 1)

    def test_concurrent_retries_of_one_mid_store_and_deliver_once(self):
        a, b = self.login(), self.login()
        mid = unique_id()
        answers = []
        lock = threading.Lock()
        barrier = threading.Barrier(8)

        def run():
            c = self.rtmd.client()
            barrier.wait()
            r = c.call("message.send", session=a.session, to=b.uid, mtype=30, msg="race", mid=mid)
            with lock:
                answers.append(r)
            c.close()

        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        bodies = [self.assertOk(r) for r in answers]
        self.assertEqual({(x["mid"], x["mtime"]) for x in bodies},
                         {(bodies[0]["mid"], bodies[0]["mtime"])})
        evs = self.collect(b.session, 2, timeout=1.5, kinds=("message",))
        self.assertEqual([e["message"]["mid"] for e in evs], [bodies[0]["mid"]])
        self.assertEqual([m["mid"] for m in self.history(a, with_=b.uid)], [bodies[0]["mid"]])

    def test_sender_mid_must_be_positive(self):
        a, b = self.login(), self.login()
        for mid in (0, -5):
            with self.subTest(mid=mid):
                self.assertError(self.c.call("message.send", session=a.session, to=b.uid, mtype=30,
                                             msg="x", mid=mid), "InvalidParameter", "InvalidRequest")
        self.assertError(self.c.call("message.send", session=a.session, to=b.uid, mtype=30, msg="x",
                                     mid="12"), "InvalidRequest")
        self.quiet(b.session)

    def test_mids_are_unique_and_increasing_and_mtime_is_now_in_ms(self):
        a, b = self.login(), self.login()
        answers = []
        for i in range(50):
            before = time.time() * 1000
            ans = self.send_ok("message.send", a, to=b.uid, msg="n%d" % i)
            after = time.time() * 1000
            self.assertGreaterEqual(ans["mtime"], before - 1000)
            self.assertLessEqual(ans["mtime"], after + 1000)
            answers.append(ans)
        mids = [x["mid"] for x in answers]
        self.assertEqual(mids, sorted(set(mids)), "mids not strictly increasing")
        # semantics.md: mid = (ms since 2024-01-01) << 22 | node << 12 | seq
        for ans in answers:
            self.assertLess(abs((ans["mid"] >> 22) + EPOCH_2024_MS - ans["mtime"]), 2000)

    def test_mids_from_concurrent_senders_are_unique(self):
        users = [self.login() for _ in range(4)]
        target = self.login()
        mids = []
        lock = threading.Lock()

        def run(u):
            c = self.rtmd.client()
            for i in range(25):
                st, body = c.call("message.send", session=u.session, to=target.uid, mtype=30, msg="c")
                with lock:
                    mids.append(body["mid"] if st == 200 else None)
            c.close()

        threads = [threading.Thread(target=run, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertNotIn(None, mids)
        self.assertEqual(len(set(mids)), 100)


class TestHistory(MessageCase):
    def test_p2p_history_is_newest_first_and_pages_by_before_mid(self):
        a, b, c = self.login(), self.login(), self.login()
        sent = []
        for i in range(7):
            sender, to = (a, b) if i % 3 else (b, a)
            sent.append(self.send_ok("message.send", sender, to=to.uid, msg="h%d" % i)["mid"])
        self.send_ok("message.send", a, to=c.uid, msg="other conversation")
        full = self.history(a, with_=b.uid)
        self.assertEqual([m["mid"] for m in full], sent[::-1])
        self.assertEqual([m["msg"] for m in full], ["h%d" % i for i in range(6, -1, -1)])
        for m in full:
            self.assertEqual(m["kind"], "p2p")
            self.assertIn((m["from"], m["to"]), ((a.uid, b.uid), (b.uid, a.uid)))
        self.assertEqual([m["mid"] for m in self.history(b, with_=a.uid)], sent[::-1])
        page1 = self.history(a, with_=b.uid, limit=3)
        page2 = self.history(a, with_=b.uid, limit=3, before_mid=page1[-1]["mid"])
        page3 = self.history(a, with_=b.uid, limit=3, before_mid=page2[-1]["mid"])
        self.assertEqual([m["mid"] for m in page1 + page2 + page3], sent[::-1])
        self.assertEqual(len(page3), 1)
        self.assertEqual(self.history(a, with_=b.uid, before_mid=sent[0]), [])

    def test_group_history_pages_and_needs_membership(self):
        a, b, outsider = self.login(), self.login(), self.login()
        gid = self.group_with(a, b)
        sent = [self.send_ok("message.send_group", (a, b)[i % 2], gid=gid, msg="g%d" % i)["mid"]
                for i in range(5)]
        full = self.history(b, gid=gid)
        self.assertEqual([m["mid"] for m in full], sent[::-1])
        self.assertTrue(all(m["kind"] == "group" and m["gid"] == gid for m in full))
        page = self.history(b, gid=gid, limit=2, before_mid=sent[3])
        self.assertEqual([m["mid"] for m in page], [sent[2], sent[1]])
        self.assertError(self.c.call("message.history", session=outsider.session, gid=gid), "PermissionDenied")
        srv = self.assertOk(self.c.server("message.history", gid=gid, limit=2))["messages"]
        self.assertEqual([m["mid"] for m in srv], [sent[4], sent[3]])

    def test_room_history_pages_and_needs_membership(self):
        a, b, outsider = self.login(), self.login(), self.login()
        rid = self.room_with(a, b)
        sent = [self.send_ok("message.send_room", a, rid=rid, msg="r%d" % i)["mid"] for i in range(4)]
        self.assertEqual([m["mid"] for m in self.history(b, rid=rid)], sent[::-1])
        self.assertEqual([m["mid"] for m in self.history(b, rid=rid, limit=1, before_mid=sent[2])], [sent[1]])
        self.assertError(self.c.call("message.history", session=outsider.session, rid=rid), "PermissionDenied")
        srv = self.assertOk(self.c.server("message.history", rid=rid))["messages"]
        self.assertEqual([m["mid"] for m in srv], sent[::-1])

    def test_server_history_takes_uid_with(self):
        a, b = self.new_user(), self.new_user()
        sent = [self.assertOk(self.c.server("message.send", from_=a.uid, to=b.uid, mtype=30, msg="s%d" % i))["mid"]
                for i in range(3)]
        got = self.assertOk(self.c.server("message.history", uid=b.uid, with_=a.uid))["messages"]
        self.assertEqual([m["mid"] for m in got], sent[::-1])

    def test_history_limit_is_1_to_1000_and_target_required(self):
        a, b = self.login(), self.login()
        self.assertError(self.c.call("message.history", session=a.session, with_=b.uid, limit=0), "InvalidParameter")
        self.assertError(self.c.call("message.history", session=a.session, with_=b.uid, limit=1001),
                         "InvalidParameter")
        self.assertOk(self.c.call("message.history", session=a.session, with_=b.uid, limit=1000))
        self.assertError(self.c.call("message.history", session=a.session), "InvalidRequest")
        self.assertError(self.c.call("message.history", session=a.session, with_="x"), "InvalidRequest")

    def test_history_default_limit_is_100(self):
        a, b = self.new_user(), self.new_user()
        for i in range(105):
            self.assertOk(self.c.server("message.send", from_=a.uid, to=b.uid, mtype=30, msg="d%d" % i))
        got = self.assertOk(self.c.server("message.history", uid=a.uid, with_=b.uid))["messages"]
        self.assertEqual(len(got), 100)
        self.assertEqual(got[0]["msg"], "d104")


class TestServerSends(MessageCase):
    def test_server_send_with_from_and_without_from(self):
        a, b = self.new_user(), self.login()
        ans = self.assertOk(self.c.server("message.send", from_=a.uid, to=b.uid, mtype=30, msg="from a"))
        self.assertOk(self.c.server("message.send", to=b.uid, mtype=51, msg="from system"))
        msgs = self.messages(b.session, 2)
        self.assertEqual([(m["from"], m["msg"]) for m in msgs], [(a.uid, "from a"), (0, "from system")])
        self.assertEqual(msgs[0]["mid"], ans["mid"])

    def test_server_send_with_from_0_is_a_system_message_and_negative_from_is_refused(self):
        b = self.login()
        self.assertOk(self.c.server("message.send", from_=0, to=b.uid, mtype=51, msg="system"))
        msgs = self.messages(b.session, 1)
        self.assertEqual([(m["from"], m["msg"]) for m in msgs], [(0, "system")])
        self.assertError(self.c.server("message.send", from_=-1, to=b.uid, mtype=51, msg="x"),
                         "InvalidParameter")

    def test_server_send_many_group_room(self):
        a, b, c = self.login(), self.login(), self.login()
        self.assertOk(self.c.server("message.send_many", from_=a.uid, to_uids=[b.uid, c.uid], mtype=30, msg="many"))
        for u in (b, c):
            self.assertEqual([(m["kind"], m["msg"]) for m in self.messages(u.session, 1)], [("multi", "many")])
        gid = self.group_with(b, c)
        self.assertOk(self.c.server("message.send_group", gid=gid, mtype=30, msg="grp"))
        for u in (b, c):
            self.assertEqual([(m["kind"], m["gid"], m["from"]) for m in self.messages(u.session, 1)],
                             [("group", gid, 0)])
        rid = self.room_with(b, c)
        self.assertOk(self.c.server("message.send_room", from_=b.uid, rid=rid, mtype=30, msg="rm"))
        for u in (b, c):
            self.assertEqual([(m["kind"], m["rid"], m["from"]) for m in self.messages(u.session, 1)],
                             [("room", rid, b.uid)])
        self.quiet(a.session)

    def test_broadcast_reaches_every_user_with_a_live_session(self):
        users = [self.login() for _ in range(3)]
        second = self.new_session()
        self.assertOk(self.authorize(second, users[0], mode="multi"))
        ans = self.assertOk(self.c.server("message.broadcast", mtype=30, msg="to all"))
        for s in [u.session for u in users] + [second]:
            msgs = [m for m in self.messages(s, 1) if m["mid"] == ans["mid"]]
            self.assertEqual(len(msgs), 1)
            self.assertEqual((msgs[0]["kind"], msgs[0]["msg"]), ("broadcast", "to all"))
        # stored but in no history query
        hist = self.history(users[0], with_=users[1].uid)
        self.assertNotIn(ans["mid"], [m["mid"] for m in hist])

    def test_broadcast_is_not_a_client_method(self):
        a = self.login()
        self.assertError(self.c.call("message.broadcast", session=a.session, mtype=30, msg="x"), "UnknownMethod")


class TestUsersOnlineAndKickout(MessageCase):
    def test_user_online_answers_the_online_subset(self):
        a, b = self.login(), self.login()
        offline = self.new_user()
        got = self.assertOk(self.c.call("user.online", session=a.session, uids=[a.uid, b.uid, offline.uid]))
        self.assertEqual(sorted(got["uids"]), sorted([a.uid, b.uid]))
        got = self.assertOk(self.c.server("user.online", uids=[b.uid, offline.uid]))
        self.assertEqual(got["uids"], [b.uid])
        self.assertError(self.c.call("user.online", session=a.session, uids="x"), "InvalidRequest")

    def test_kickout_ends_every_session_with_kicked_event(self):
        u = self.login()
        second = self.new_session()
        self.assertOk(self.authorize(second, u, mode="multi"))
        watcher = self.login()
        body = self.assertOk(self.c.server("user.kickout", uid=u.uid))
        self.assertEqual(body["sessions"], 2)
        for s in (u.session, second):
            evs = self.events(s)
            self.assertEqual([(e["type"], e.get("state")) for e in evs][-1:], [("session", "kicked")])
            self.assertError(self.get_events(s), "InvalidSession")
        got = self.assertOk(self.c.call("user.online", session=watcher.session, uids=[u.uid]))
        self.assertEqual(got["uids"], [])
        self.assertEqual(self.assertOk(self.c.server("user.kickout", uid=u.uid))["sessions"], 0)

    def test_kickout_unknown_user_is_not_found(self):
        self.assertError(self.c.server("user.kickout", uid=unique_id()), "NotFound")


class TestNotAuthorized(MessageCase):
    def test_calls_needing_authorization_on_unauthorized_session_are_not_authorized(self):
        b = self.login()
        s = self.new_session()
        calls = [
            ("message.send", {"to": b.uid, "mtype": 30, "msg": "x"}),
            ("message.send_many", {"to_uids": [b.uid], "mtype": 30, "msg": "x"}),
            ("message.send_group", {"gid": 1, "mtype": 30, "msg": "x"}),
            ("message.send_room", {"rid": 1, "mtype": 30, "msg": "x"}),
            ("message.history", {"with": b.uid}),
            ("user.online", {"uids": [b.uid]}),
        ]
        for method, params in calls:
            with self.subTest(method=method):
                self.assertError(self.c.call(method, dict(params, session=s)), "NotAuthorized")
        self.quiet(b.session)

    def test_calls_with_unknown_session_are_invalid_session(self):
        b = self.login()
        for method, params in (("message.send", {"to": b.uid, "mtype": 30, "msg": "x"}),
                               ("user.online", {"uids": [b.uid]})):
            with self.subTest(method=method):
                self.assertError(self.c.call(method, dict(params, session="x" * 43)), "InvalidSession")


if __name__ == "__main__":
    unittest.main()
