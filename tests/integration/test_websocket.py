"""API.md section 6 (+ docs/websocket.md): GET /v1/ws. Calls with request ids, events pushed
without polling, resume with session.attach and `after`, queueing while no socket is attached,
idle expiry, the limits (1 MiB messages: close 1009; invalid UTF-8: close 1007; not a call:
InvalidRequest), control frames, protocol errors, drain on SIGTERM.

Every class that needs rtmd is skipped, with the reason, while rtmd does not serve /v1/ws
(the upgrade is answered 404, or with the generic "calls are POST" error of /v1/); that is
the only skip. TestWsClient checks ws_client.py against an in-process server and always runs.

    cd tests/integration && RTMD=../../build/bin/rtmd /usr/bin/python3 -m unittest -v test_websocket
"""

import json
import socket
import struct
import threading
import time
import unittest

from rtmd_harness import ERRORS, SANITIZED, Rtmd, RtmdTestCase, http_get, unique_id
import ws_client
from ws_client import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, FrameReader,
                       HandshakeError, WsClient, accept_key, encode_frame)

MiB = 1 << 20
PUSH_LATENCY = 1.0  # API.md: pushed "as they happen"; the test allows 1 s on a loaded machine

_no_endpoint = {}  # the skip reason, once a probe found that rtmd does not serve /v1/ws


def endpoint_missing(port):
    """The reason to skip when rtmd does not serve GET /v1/ws yet, else None. Any other
    refusal of a valid handshake is a failure, not a skip."""
    try:
        WsClient(port, timeout=5.0).abort()
        return None
    except HandshakeError as e:
        body = e.json() if isinstance(e.json(), dict) else {}
        if e.status == 404 or (e.status in (400, 405) and "POST" in str(body.get("msg", ""))):
            return ("rtmd does not serve GET /v1/ws yet (the upgrade was answered HTTP %s %s); "
                    "these tests are for the WebSocket transport of API.md section 6"
                    % (e.status, body.get("error", "")))
        raise


class WsCase(RtmdTestCase):
    """One rtmd per class; skipped with the reason while /v1/ws is not served."""

    @classmethod
    def setUpClass(cls):
        if "reason" in _no_endpoint:
            raise unittest.SkipTest(_no_endpoint["reason"])
        super().setUpClass()
        try:
            reason = endpoint_missing(cls.rtmd.port)
        except BaseException:
            cls.tearDownClass()
            raise
        if reason:
            _no_endpoint["reason"] = reason
            cls.tearDownClass()
            raise unittest.SkipTest(reason)

    def setUp(self):
        super().setUp()
        self._sockets = []

    def tearDown(self):
        for w in self._sockets:
            w.abort()
        super().tearDown()

    # -- helpers --------------------------------------------------------------------

    def ws(self, **kw):
        w = WsClient(self.rtmd.port, **kw)
        self._sockets.append(w)
        return w

    def assertWsOk(self, reply, msg=None):
        self.assertIsInstance(reply, dict)
        self.assertEqual(reply.get("rc"), 0, msg or "expected rc 0, got %r" % (reply,))
        self.assertNotIn("error", reply)
        return reply

    def assertWsError(self, reply, *names, msg=None):
        """rc and error name of API.md's table (one of names) and a msg text."""
        self.assertIsInstance(reply, dict)
        got = (reply.get("rc"), reply.get("error"))
        self.assertIn(got, [(ERRORS[n][0], n) for n in names],
                      msg or "expected %s, got %r" % (" or ".join(names), reply))
        self.assertIsInstance(reply.get("msg"), str, "error without msg text: %r" % (reply,))
        return reply

    def ws_call_ok(self, w, method, **params):
        rid = w.request(method, **params)
        reply = w.reply(rid)
        self.assertEqual(reply.get("id"), rid)
        return self.assertWsOk(reply)

    def ws_login(self, user=None):
        """A user whose session was created and authorized on a new socket (so the socket
        is attached). Returns (socket, user)."""
        user = user or self.new_user()
        w = self.ws()
        s = self.ws_call_ok(w, "session.create")["session"]
        body = self.ws_call_ok(w, "session.authorize", session=s, login=user.login,
                               password=user.password)
        self.assertEqual((body.get("uid"), body.get("session")), (user.uid, s))
        user.session = s
        return w, user

    def attach(self, session, after=None):
        """A new socket attached to session (with after when given)."""
        w = self.ws()
        params = {"session": session}
        if after is not None:
            params["after"] = after
        self.ws_call_ok(w, "session.attach", **params)
        return w

    def http_send(self, sender, to, msg):
        return self.assertOk(self.c.call("message.send", session=sender.session, to=to.uid,
                                         mtype=30, msg=msg))

    def pushed_messages(self, w, n, timeout=5.0):
        evs = w.events(n, timeout)
        self.assertEqual(len(evs), n, "expected %d pushed events, got %r" % (n, evs))
        for e in evs:
            self.assertEqual(e.get("type"), "message", e)
        return evs

    def assertNothingPushed(self, w, quiet=0.5):
        w.drain(quiet)
        self.assertEqual(w.pushed, [], "unexpected pushed events")

    def assertStillServing(self):
        """/healthz answers and a fresh socket can log in and get a push."""
        self.assertEqual(http_get(self.rtmd.port, "/healthz")[0], 200)
        w, u = self.ws_login()
        other = self.login()
        self.http_send(other, u, "still here")
        ev = self.pushed_messages(w, 1)[0]
        self.assertEqual(ev["message"]["msg"], "still here")


class TestCalls(WsCase):
    def test_create_authorize_and_send_on_the_socket_answer_with_the_request_ids(self):
        b = self.login()
        w = self.ws()
        rid = w.request("session.create")
        created = w.reply(rid)
        self.assertEqual(created["id"], rid)
        self.assertWsOk(created)
        self.assertRegex(created["session"], r"^[A-Za-z0-9_-]{43}$")
        a = self.new_user()
        rid = w.request("session.authorize", session=created["session"], login=a.login,
                        password=a.password)
        auth = w.reply(rid)
        self.assertEqual(auth["id"], rid)
        self.assertEqual((auth["rc"], auth["uid"], auth["session"]), (0, a.uid, created["session"]))
        rid = w.request("message.send", session=created["session"], to=b.uid, mtype=30, msg="over ws")
        sent = w.reply(rid)
        self.assertEqual((sent["id"], sent["rc"]), (rid, 0))
        self.assertIsInstance(sent["mid"], int)
        self.assertIsInstance(sent["mtime"], int)
        m = self.messages(b.session, 1)[0]
        self.assertEqual((m["mid"], m["from"], m["to"], m["msg"]), (sent["mid"], a.uid, b.uid, "over ws"))

    def test_replies_are_matched_by_id_while_events_are_pushed_in_between(self):
        w, a = self.ws_login()
        b = self.login()
        n = 30
        errors = []

        def sender():
            c = self.rtmd.client()
            try:
                for i in range(n):
                    st, body = c.call("message.send", session=b.session, to=a.uid, mtype=30,
                                      msg="in-%d" % i)
                    if st != 200:
                        errors.append(body)
            finally:
                c.close()

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        mids = []
        for i in range(n):
            rid = w.request("message.send", session=a.session, to=b.uid, mtype=30, msg="out-%d" % i)
            reply = w.reply(rid)
            self.assertEqual((reply["id"], reply["rc"]), (rid, 0), reply)
            mids.append(reply["mid"])
        t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len(set(mids)), n)
        evs = self.pushed_messages(w, n, timeout=10)
        self.assertEqual([e["message"]["msg"] for e in evs], ["in-%d" % i for i in range(n)])
        self.assertEqual([e["message"]["from"] for e in evs], [b.uid] * n)
        self.assertNothingPushed(w)
        # the outgoing messages reached b, none lost
        self.assertEqual(sorted(m["mid"] for m in self.messages(b.session, n, timeout=10)), sorted(mids))

    def test_pipelined_requests_each_get_the_reply_with_their_id(self):
        w = self.ws()
        ids = [w.request("session.create") for _ in range(20)]
        self.assertEqual(len(set(ids)), 20)
        sessions = []
        for rid in reversed(ids):
            reply = w.reply(rid)
            self.assertEqual(reply["id"], rid)
            sessions.append(self.assertWsOk(reply)["session"])
        self.assertEqual(len(set(sessions)), 20)
        self.assertEqual(w.replies, {}, "replies nobody asked for")

    def test_calls_before_authorization_are_not_authorized(self):
        w = self.ws()
        s = self.ws_call_ok(w, "session.create")["session"]
        b = self.new_user()
        self.assertWsError(w.call("message.send", session=s, to=b.uid, mtype=30, msg="x"), "NotAuthorized")
        self.assertWsError(w.call("user.online", session=s, uids=[b.uid]), "NotAuthorized")
        self.assertWsError(w.call("message.history", session=s, with_=b.uid), "NotAuthorized")
        # session.* is allowed before authorization
        self.ws_call_ok(w, "session.set", session=s, settings={"presence": False})
        a = self.new_user()
        self.ws_call_ok(w, "session.authorize", session=s, login=a.login, password=a.password)
        self.assertEqual(self.ws_call_ok(w, "user.online", session=s, uids=[a.uid])["uids"], [a.uid])

    def test_error_replies_carry_the_id_rc_error_and_msg(self):
        w = self.ws()
        s = self.ws_call_ok(w, "session.create")["session"]
        u = self.new_user()
        cases = [
            (("no.such.method", {}), "UnknownMethod"),
            (("session.authorize", {"session": s, "login": u.login, "password": "wrong"}), "AuthorizeFailed"),
            (("session.authorize", {"session": s}), "InvalidRequest"),
            (("session.attach", {"session": "A" * 43}), "InvalidSession"),
            (("session.attach", {}), "InvalidRequest"),
            (("session.set", {"session": s, "settings": {"max_events": 0}}), "InvalidParameter"),
        ]
        for (method, params), name in cases:
            rid = w.request(method, params)
            reply = w.reply(rid)
            self.assertEqual(reply.get("id"), rid, reply)
            self.assertWsError(reply, name, msg="%s %r: expected %s, got %r" % (method, params, name, reply))
        # the socket still works after errors
        self.ws_call_ok(w, "session.set", session=s, settings={})

    def test_attach_checks_after_as_get_events_does(self):
        # API.md section 2: a field of the wrong type is InvalidRequest, a value out of range
        # InvalidParameter; session.get_events over HTTP makes the same distinction.
        w = self.ws()
        s = self.new_session()
        for after, name in (("x", "InvalidRequest"), (1.5, "InvalidRequest"), ([1], "InvalidRequest"),
                            (-1, "InvalidParameter")):
            with self.subTest(after=after):
                self.assertError(self.get_events(s, after=after), name)
                self.assertWsError(w.call("session.attach", session=s, after=after), name)
        self.ws_call_ok(w, "session.attach", session=s, after=0)

    def test_string_ids_are_echoed_and_unreadable_ids_answer_null(self):
        w = self.ws()
        w.send_json({"id": "req-\u00e9", "method": "session.create", "params": {}})
        self.assertWsOk(w.reply("req-\u00e9"))
        for bad_id in (1.5, True, [1], {"n": 1}):
            w.send_json({"id": bad_id, "method": "session.create", "params": {}})
            reply = w.reply(None)
            self.assertWsError(reply, "InvalidRequest", msg="id %r: %r" % (bad_id, reply))
        self.assertEqual(w.replies, {None: []})

    def test_params_may_be_left_out_of_a_call_without_parameters(self):
        w = self.ws()
        w.send_json({"id": 1, "method": "session.create"})
        self.assertRegex(self.assertWsOk(w.reply(1))["session"], r"^[A-Za-z0-9_-]{43}$")

    def test_server_methods_are_not_callable_on_the_socket(self):
        w = self.ws()
        for method in ("user.add", "server/user.add", "server.user.add", "/v1/server/user.add"):
            login = "ws-sneak-%d" % unique_id()
            for extra in ({}, {"api_key": self.rtmd.api_key},
                          {"Authorization": "Bearer " + self.rtmd.api_key}):
                params = dict({"login": login, "password": "pw"}, **extra)
                self.assertWsError(w.call(method, params), "UnknownMethod", "Unauthorized")
            # nothing was added
            self.assertError(self.c.call("session.authorize", session=self.new_session(),
                                         login=login, password="pw"), "AuthorizeFailed")
        self.assertWsError(w.call("message.broadcast", mtype=30, msg="x"), "UnknownMethod", "Unauthorized")

    def test_session_destroy_on_the_socket_ends_the_session_and_its_pushes(self):
        w, a = self.ws_login()
        b = self.login()
        self.ws_call_ok(w, "session.destroy", session=a.session)
        self.assertOk(self.c.server("message.send", to=a.uid, mtype=30, msg="after destroy"))
        self.assertNothingPushed(w)
        self.assertWsError(w.call("session.attach", session=a.session), "InvalidSession")
        self.assertError(self.get_events(a.session), "InvalidSession")
        # the socket itself is still usable
        self.ws_call_ok(w, "user.online", session=b.session, uids=[b.uid])


class TestPush(WsCase):
    def test_p2p_message_sent_over_http_is_pushed_to_the_socket_within_one_second(self):
        w, a = self.ws_login()
        b = self.login()
        for i in range(3):
            sent = self.http_send(b, a, "push %d" % i)
            t_sent = time.monotonic()
            ev = w.event(timeout=5)
            self.assertIsNotNone(ev, "no event pushed within 5 s")
            elapsed = time.monotonic() - t_sent
            self.assertLess(elapsed, PUSH_LATENCY, "pushed %.2f s after the send was answered" % elapsed)
            self.assertIsInstance(ev.get("id"), int)
            self.assertEqual(ev["type"], "message")
            m = ev["message"]
            self.assertEqual((m["mid"], m["mtime"], m["from"], m["kind"], m["to"], m["mtype"], m["msg"], m["attrs"]),
                             (sent["mid"], sent["mtime"], b.uid, "p2p", a.uid, 30, "push %d" % i, ""))

    def test_pushed_event_ids_increase_by_one(self):
        w, a = self.ws_login()
        b = self.login()
        for i in range(6):
            self.http_send(b, a, "n%d" % i)
        evs = self.pushed_messages(w, 6)
        ids = [e["id"] for e in evs]
        self.assertEqual(ids, list(range(ids[0], ids[0] + 6)))
        self.assertEqual([e["message"]["msg"] for e in evs], ["n%d" % i for i in range(6)])

    def test_server_send_is_pushed(self):
        w, a = self.ws_login()
        self.assertOk(self.c.server("message.send", to=a.uid, mtype=60, msg="from the backend"))
        m = self.pushed_messages(w, 1)[0]["message"]
        self.assertEqual((m["from"], m["mtype"], m["msg"]), (0, 60, "from the backend"))

    def test_attach_on_a_new_socket_pushes_a_session_made_over_http(self):
        a = self.login()
        b = self.login()
        w = self.attach(a.session)
        self.http_send(b, a, "to an attached http session")
        self.assertEqual(self.pushed_messages(w, 1)[0]["message"]["msg"], "to an attached http session")

    def test_attach_without_after_pushes_the_events_not_read_yet(self):
        a = self.login()
        b = self.login()
        self.http_send(b, a, "read")
        self.assertEqual([m["msg"] for m in self.messages(a.session, 1)], ["read"])
        self.http_send(b, a, "unread 1")
        self.http_send(b, a, "unread 2")
        w = self.attach(a.session)
        evs = self.pushed_messages(w, 2)
        self.assertEqual([e["message"]["msg"] for e in evs], ["unread 1", "unread 2"])
        self.assertNothingPushed(w)

    def test_create_on_the_socket_attaches_before_authorize(self):
        w = self.ws()
        s = self.ws_call_ok(w, "session.create")["session"]
        u = self.new_user()
        # authorized over HTTP, not on this socket: the socket is attached since create
        self.assertOk(self.c.call("session.authorize", session=s, login=u.login, password=u.password))
        self.assertOk(self.c.server("message.send", to=u.uid, mtype=30, msg="to the creator's socket"))
        self.assertEqual(self.pushed_messages(w, 1)[0]["message"]["msg"], "to the creator's socket")

    def test_authorize_possess_on_the_socket_attaches_the_possessed_session(self):
        a = self.login()
        b = self.login()
        self.http_send(b, a, "queued for the old session")
        w = self.ws()
        fresh = self.ws_call_ok(w, "session.create")["session"]
        body = self.ws_call_ok(w, "session.authorize", session=fresh, login=a.login,
                               password=a.password, mode="possess")
        self.assertEqual((body["uid"], body["session"]), (a.uid, a.session))
        # the possessed session's queued event, then live ones, come on this socket
        self.assertEqual(self.pushed_messages(w, 1)[0]["message"]["msg"], "queued for the old session")
        self.http_send(b, a, "live")
        self.assertEqual(self.pushed_messages(w, 1)[0]["message"]["msg"], "live")

    def test_a_second_socket_attaching_a_session_takes_over_its_pushes(self):
        w1, a = self.ws_login()
        b = self.login()
        self.http_send(b, a, "one")
        self.assertEqual(self.pushed_messages(w1, 1)[0]["message"]["msg"], "one")
        w2 = self.attach(a.session)
        self.http_send(b, a, "two")
        self.assertEqual(self.pushed_messages(w2, 1)[0]["message"]["msg"], "two")
        self.assertNothingPushed(w1)
        # the first socket stays open for calls
        self.ws_call_ok(w1, "user.online", session=a.session, uids=[a.uid])

    def test_attaching_another_session_on_the_socket_detaches_the_first(self):
        w, a = self.ws_login()
        c = self.login()
        b = self.login()
        self.ws_call_ok(w, "session.attach", session=c.session)
        self.http_send(b, a, "for a")
        self.http_send(b, c, "for c")
        self.assertEqual([e["message"]["msg"] for e in self.pushed_messages(w, 1)], ["for c"])
        self.assertNothingPushed(w)
        self.assertEqual([m["msg"] for m in self.messages(a.session, 1)], ["for a"])

    def test_pushed_events_are_not_returned_again_by_get_events_without_after(self):
        w, a = self.ws_login()
        b = self.login()
        self.http_send(b, a, "pushed")
        ev = self.pushed_messages(w, 1)[0]
        w.close()
        body = self.assertOk(self.get_events(a.session))
        self.assertEqual((body["events"], body["last"]), ([], ev["id"]))

    def test_a_socket_that_does_not_read_loses_no_events(self):
        w, a = self.ws_login()
        n = 400
        for i in range(n):
            self.assertOk(self.c.server("message.send", to=a.uid, mtype=30, msg="slow %d " % i + "p" * 500))
        evs = self.pushed_messages(w, n, timeout=20)
        ids = [e["id"] for e in evs]
        self.assertEqual(ids, list(range(ids[0], ids[0] + n)))
        self.assertEqual([e["message"]["msg"].split()[1] for e in evs], [str(i) for i in range(n)])
        self.assertNothingPushed(w)

    def test_a_socket_that_stops_reading_while_40_mib_of_events_come_keeps_memory_bounded(self):
        # The socket takes only a window of events; the rest stays in the session's queue,
        # bounded by queue_limit (oldest dropped, a gap event says how many). 40 MiB of events
        # are far more than the kernel's socket buffers hold, so most of them must wait in (and
        # be dropped from) the session's queue. The sends must end within the WebSocket idle
        # timeout (30 s): a socket that neither reads nor answers pings for that long is closed,
        # as it should be. A sanitized rtmd answers a send several times slower, so it gets the
        # same 40 MiB in fewer, bigger events.
        count, size = (2500, 16384) if SANITIZED else (10000, 4096)
        w, a = self.ws_login()
        self.ws_call_ok(w, "session.set", session=a.session, settings={"queue_limit": 100})
        rss_before = self.rtmd.status_field("VmRSS")
        payload = "x" * size
        for i in range(count):
            self.assertOk(self.c.server("message.send", to=a.uid, mtype=30, msg="%d %s" % (i, payload)))
        rss_after = self.rtmd.status_field("VmRSS")
        if not SANITIZED:  # ASan's quarantine keeps every freed buffer for a while
            self.assertLess(rss_after - rss_before, 16 * 1024,
                            "rtmd RSS grew by %d KiB while a socket did not read"
                            % (rss_after - rss_before))
        # Reading again: the oldest were dropped with a gap, the newest arrive, in order.
        evs = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            evs += w.events(500, timeout=1)
            last = evs[-1] if evs else None
            if last and last.get("type") == "message" and last["message"]["msg"].startswith("%d " % (count - 1)):
                break
        kinds = [e["type"] for e in evs]
        self.assertIn("gap", kinds)
        msgs = [int(e["message"]["msg"].split()[0]) for e in evs if e["type"] == "message"]
        self.assertEqual(msgs[-1], count - 1)
        self.assertEqual(msgs, sorted(msgs))
        self.assertLess(len(msgs), count)
        ids = [e["id"] for e in evs]
        self.assertEqual(ids, sorted(ids))
        self.assertStillServing()

    def test_group_message_is_pushed_after_subscribe_on_the_socket(self):
        w, a = self.ws_login()
        b = self.login()
        gid = unique_id()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[a.uid, b.uid]))
        self.assertIsInstance(self.ws_call_ok(w, "session.subscribe", session=a.session,
                                              topic="group:%d" % gid)["subscription_key"], str)
        self.assertOk(self.c.call("message.send_group", session=b.session, gid=gid, mtype=30, msg="to the group"))
        m = self.pushed_messages(w, 1)[0]["message"]
        self.assertEqual((m["kind"], m["gid"], m["msg"]), ("group", gid, "to the group"))

    def test_kill_pushes_the_final_session_event(self):
        w, a = self.ws_login()
        s2 = self.new_session()
        self.assertOk(self.authorize(s2, a, mode="kill"))
        ev = w.event(timeout=5)
        self.assertIsNotNone(ev, "no event pushed after the kill")
        self.assertEqual((ev["type"], ev["state"]), ("session", "killed"), ev)

    def test_events_are_not_pushed_to_sockets_of_other_sessions(self):
        w1, a = self.ws_login()
        w2, c = self.ws_login()
        b = self.login()
        self.http_send(b, a, "for a only")
        self.assertEqual(self.pushed_messages(w1, 1)[0]["message"]["msg"], "for a only")
        self.assertNothingPushed(w2)


class TestResume(WsCase):
    def test_attach_with_after_on_a_new_socket_gets_exactly_the_missed_events_in_order(self):
        w1, a = self.ws_login()
        b = self.login()
        for i in range(3):
            self.http_send(b, a, "before %d" % i)
        seen = self.pushed_messages(w1, 3)
        last = seen[-1]["id"]
        w1.abort()
        time.sleep(0.2)
        for i in range(5):
            self.http_send(b, a, "while away %d" % i)
        w2 = self.ws()
        rid = w2.request("session.attach", session=a.session, after=last)
        first = w2.pump(5)  # the reply comes before the events it causes
        self.assertEqual((first.get("id"), first.get("rc")), (rid, 0), first)
        w2.replies.pop(rid)
        evs = self.pushed_messages(w2, 5)
        self.assertEqual([e["id"] for e in evs], list(range(last + 1, last + 6)))
        self.assertEqual([e["message"]["msg"] for e in evs], ["while away %d" % i for i in range(5)])
        self.assertNothingPushed(w2)
        self.http_send(b, a, "live again")
        ev = self.pushed_messages(w2, 1)[0]
        self.assertEqual((ev["id"], ev["message"]["msg"]), (last + 6, "live again"))
        self.assertNothingPushed(w2)

    def test_attach_with_an_earlier_after_pushes_again_what_is_still_kept(self):
        w1, a = self.ws_login()
        b = self.login()
        for i in range(4):
            self.http_send(b, a, "m%d" % i)
        seen = self.pushed_messages(w1, 4)
        w1.close()
        w2 = self.attach(a.session, after=seen[0]["id"])
        evs = self.pushed_messages(w2, 3)
        self.assertEqual([e["id"] for e in evs], [e["id"] for e in seen[1:]])
        self.assertEqual(evs, seen[1:])
        self.assertNothingPushed(w2)

    def test_resume_while_messages_keep_coming_misses_none_and_repeats_none(self):
        w1, a = self.ws_login()
        b = self.login()
        n = 60
        first = threading.Event()
        errors = []

        def sender():
            c = self.rtmd.client()
            try:
                for i in range(n):
                    st, body = c.call("message.send", session=b.session, to=a.uid, mtype=30, msg="r%d" % i)
                    if st != 200:
                        errors.append(body)
                    if i == 9:
                        first.set()
                    time.sleep(0.005)
            finally:
                c.close()

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        self.assertTrue(first.wait(10))
        got = self.pushed_messages(w1, 5)
        w1.abort()
        w2 = self.attach(a.session, after=got[-1]["id"])
        got += w2.events(n - 5, timeout=15)
        t.join(30)
        self.assertEqual(errors, [])
        self.assertNothingPushed(w2)
        ids = [e["id"] for e in got]
        self.assertEqual(ids, list(range(ids[0], ids[0] + n)), "ids not consecutive: %r" % ids)
        self.assertEqual([e["message"]["msg"] for e in got], ["r%d" % i for i in range(n)])

    def test_session_keeps_queueing_while_detached_and_get_events_over_http_works(self):
        w, a = self.ws_login()
        b = self.login()
        self.http_send(b, a, "on the socket")
        last = self.pushed_messages(w, 1)[0]["id"]
        w.abort()
        time.sleep(0.2)
        self.http_send(b, a, "queued 1")
        self.http_send(b, a, "queued 2")
        # the session lives on without a socket: its user is online, calls work
        self.assertEqual(self.assertOk(self.c.call("user.online", session=b.session, uids=[a.uid]))["uids"], [a.uid])
        body = self.assertOk(self.get_events(a.session, after=last))
        self.assertEqual([(e["id"], e["message"]["msg"]) for e in body["events"]],
                         [(last + 1, "queued 1"), (last + 2, "queued 2")])
        self.assertEqual(body["last"], last + 2)
        # a long poll over HTTP is answered by the next send
        self.http_send(b, a, "polled")
        self.assertEqual([m["msg"] for m in self.messages(a.session, 1)], ["polled"])

    def test_a_clean_close_keeps_the_session(self):
        w, a = self.ws_login()
        b = self.login()
        self.assertEqual(w.close(1000), 1000)
        self.http_send(b, a, "after close")
        w2 = self.attach(a.session)
        self.assertEqual(self.pushed_messages(w2, 1)[0]["message"]["msg"], "after close")

    def test_attached_socket_keeps_the_session_alive_and_a_dropped_one_expires(self):
        w_live, live = self.ws_login()
        w_gone, gone = self.ws_login()
        for u in (live, gone):
            self.assertOk(self.c.call("session.set", session=u.session, settings={"idle_timeout": 10}))
        w_gone.abort()
        time.sleep(12.5)  # idle_timeout 10 s, the sweep runs every second
        self.assertOk(self.c.server("message.send", to=live.uid, mtype=30, msg="still attached"))
        self.assertEqual(self.pushed_messages(w_live, 1)[0]["message"]["msg"], "still attached")
        w = self.ws()
        self.assertWsError(w.call("session.attach", session=gone.session), "InvalidSession")
        self.assertError(self.get_events(gone.session), "InvalidSession")


class TestHostile(WsCase):
    def send_in_background(self, w, data):
        """Writes data from a thread (the server may close before reading it all)."""
        def run():
            try:
                w.send_raw(data)
            except OSError:
                pass

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def test_malformed_json_frame_is_invalid_request_with_null_id_and_the_socket_stays_open(self):
        w = self.ws()
        for text in ("{not json", '{"id":1,"method":"session.create"', "", "\u00e9t\u00e9"):
            w.send_text(text)
            reply = w.reply(None)
            self.assertIsNone(reply["id"])
            self.assertWsError(reply, "InvalidRequest", msg="%r: %r" % (text, reply))
        self.ws_call_ok(w, "session.create")

    def test_frames_that_are_not_calls_are_invalid_request(self):
        w = self.ws()
        for obj in ([], [{"id": 1, "method": "session.create"}], "text", 42, None, {},
                    {"method": "session.create", "params": {}}):
            w.send_json(obj)
            reply = w.reply(None)
            self.assertWsError(reply, "InvalidRequest", msg="%r: %r" % (obj, reply))
        for obj in ({"id": 7, "params": {}}, {"id": 8, "method": 5}, {"id": 9, "method": None},
                    {"id": 10, "method": "session.create", "params": 5},
                    {"id": 11, "method": "session.create", "params": [1]}):
            w.send_json(obj)
            reply = w.reply(obj["id"])
            self.assertWsError(reply, "InvalidRequest", msg="%r: %r" % (obj, reply))
        self.assertEqual(w.replies, {None: []}, "more replies than frames")
        self.ws_call_ok(w, "session.create")

    def test_binary_frame_is_invalid_request_or_close_1003(self):
        w = self.ws()
        w.send_binary(json.dumps({"id": 1, "method": "session.create", "params": {}}).encode())
        # Either answer is allowed: an InvalidRequest reply (the socket stays open) or a close
        # with 1003 (unsupported data); docs/websocket.md says which rtm does.
        try:
            msg = w.pump(5)
        except ws_client.ConnectionClosed as e:
            self.assertEqual(e.code, 1003)
            return
        self.assertIsInstance(msg, dict, "binary answer to a binary frame")
        self.assertIn(msg.get("id"), (1, None))
        self.assertWsError(msg, "InvalidRequest")
        self.ws_call_ok(w, "session.create")

    def test_frame_over_1_mib_closes_with_1009(self):
        w = self.ws()
        payload = b'{"id":1,"method":"session.create","params":{"pad":"' + b"x" * (2 * MiB) + b'"}}'
        t = self.send_in_background(w, encode_frame(OP_TEXT, payload))
        self.assertEqual(w.recv_close(10), 1009)
        t.join(10)
        self.assertEqual(w.replies, {}, "the oversized call was answered")

    def test_fragmented_message_over_1_mib_closes_with_1009(self):
        w = self.ws()
        part = b"x" * (512 * 1024)
        data = (encode_frame(OP_TEXT, b'{"id":1,"method":"session.create","params":{"pad":"' + part, fin=False)
                + encode_frame(OP_CONT, part, fin=False) + encode_frame(OP_CONT, part, fin=False)
                + encode_frame(OP_CONT, b'"}}', fin=True))
        t = self.send_in_background(w, data)
        self.assertEqual(w.recv_close(10), 1009)
        t.join(10)
        self.assertEqual(w.replies, {})

    def test_message_under_1_mib_is_read_whole_and_answered(self):
        w, a = self.ws_login()
        b = self.login()
        big = "y" * (900 * 1024)
        # over the 64 KiB msg limit, under the 1 MiB frame limit: a reply, not a close
        self.assertWsError(w.call("message.send", session=a.session, to=b.uid, mtype=30, msg=big),
                           "PayloadTooLarge")
        sent = self.ws_call_ok(w, "message.send", session=a.session, to=b.uid, mtype=30, msg="z" * 60000)
        self.assertEqual(self.messages(b.session, 1)[0]["mid"], sent["mid"])

    def test_fragmented_call_with_a_ping_between_fragments_is_answered(self):
        w = self.ws()
        # "é" (c3 a9) split between two fragments is still valid UTF-8 as a message
        text = json.dumps({"id": 5, "method": "session.create", "params": {"x": "caf\u00e9"}},
                          ensure_ascii=False).encode()
        cut = text.index(b"\xc3") + 1
        w.send_fragments(text, [10, cut - 10], between=lambda i: w.ping(b"mid-%d" % i))
        reply = w.reply(5)
        self.assertWsOk(reply)
        w.drain(0.3)
        self.assertEqual(w.pongs, [b"mid-0", b"mid-1"])

    def test_invalid_utf8_text_closes_with_1007(self):
        for bad in (b'{"id":1,"method":"session.create","params":{"x":"\xff\xfe"}}',
                    b'{"id":1,"method":"\xed\xa0\x80"}',  # an encoded surrogate
                    b'{"id":1,"method":"\xc0\xaf"}'):      # an overlong encoding
            w = self.ws()
            w.send_text(bad)
            self.assertEqual(w.recv_close(5), 1007, bad)
            self.assertEqual(w.replies, {})

    def test_invalid_utf8_split_over_fragments_closes_with_1007(self):
        w = self.ws()
        w.send_frame(OP_TEXT, b'{"id":1,"method":"session.create","params":{"x":"\xc3', fin=False)
        w.send_frame(OP_CONT, b'("}}', fin=True)
        self.assertEqual(w.recv_close(5), 1007)

    def test_ping_is_answered_with_a_pong_carrying_the_same_payload(self):
        w = self.ws()
        for payload in (b"", b"hello", b"\x00\xff\x80binary", b"p" * 125):
            w.ping(payload)
            deadline = time.monotonic() + 5
            while not w.pongs and time.monotonic() < deadline:
                w.drain(0.1)
            self.assertEqual(w.pongs, [payload])
            w.pongs.clear()

    def test_ping_flood_is_answered_and_the_socket_stays_responsive(self):
        w = self.ws()
        n = 1000
        w.send_raw(b"".join(encode_frame(OP_PING, b"%d" % i) for i in range(n)))
        t0 = time.monotonic()
        reply = w.call("session.create", timeout=10)
        self.assertWsOk(reply)
        deadline = time.monotonic() + 10
        while (not w.pongs or w.pongs[-1] != b"%d" % (n - 1)) and time.monotonic() < deadline:
            w.drain(0.2)
        # RFC 6455 5.5.3 allows answering only the most recent of pings that came in a burst;
        # rtm answers each. Required here: the last one answered, pongs in order, none invented.
        self.assertTrue(w.pongs, "no pong at all")
        self.assertEqual(w.pongs[-1], b"%d" % (n - 1))
        nums = [int(p) for p in w.pongs]
        self.assertEqual(nums, sorted(set(nums)))
        self.assertLess(time.monotonic() - t0, 15)
        self.ws_call_ok(w, "session.create")

    def test_protocol_errors_close_with_1002(self):
        call = json.dumps({"id": 1, "method": "session.create", "params": {}}).encode()
        cases = {
            "unmasked client frame": encode_frame(OP_TEXT, call, mask=False),
            "reserved opcode 3": encode_frame(0x3, call),
            "reserved control opcode 0xB": encode_frame(0xB, b"x"),
            "RSV1 without an extension": encode_frame(OP_TEXT, call, rsv=4),
            "fragmented ping": encode_frame(OP_PING, b"x", fin=False),
            "ping over 125 bytes": encode_frame(OP_PING, b"p" * 126),
            "continuation without a message": encode_frame(OP_CONT, call),
            "new message inside a fragmented one": encode_frame(OP_TEXT, b'{"id":', fin=False)
            + encode_frame(OP_TEXT, call),
            "close frame with a 1-byte payload": encode_frame(OP_CLOSE, b"\x03"),
        }
        for name, data in cases.items():
            w = self.ws()
            w.send_raw(data)
            try:
                code = w.recv_close(5)
            except socket.timeout:
                self.fail("%s: not closed within 5 s" % name)
            self.assertEqual(code, 1002, name)
            self.assertEqual(w.replies, {}, name)

    def test_handshake_without_a_valid_upgrade_is_refused(self):
        status, _, _ = http_get(self.rtmd.port, "/v1/ws")
        self.assertTrue(400 <= status < 500, status)
        for headers in ({"Sec-WebSocket-Version": "8"}, {"Sec-WebSocket-Key": None},
                        {"Upgrade": None}):
            with self.assertRaises(HandshakeError) as cm:
                WsClient(self.rtmd.port, headers=headers)
            self.assertTrue(cm.exception.status is None or 400 <= cm.exception.status < 500,
                            "%r: %r" % (headers, cm.exception.status))
        with self.assertRaises(HandshakeError) as cm:
            WsClient(self.rtmd.port, path="/v1/nows")
        self.assertEqual(cm.exception.status, 404)
        self.assertEqual((cm.exception.json() or {}).get("error"), "UnknownMethod")
        self.ws_call_ok(self.ws(), "session.create")

    def test_client_close_is_echoed_and_the_server_ends_the_connection(self):
        w = self.ws()
        self.ws_call_ok(w, "session.create")
        w.send_close(1000, "bye")
        self.assertEqual(w.recv_close(5), 1000)
        self.assertTrue(w.wait_eof(5), "the server kept the TCP connection after the close")

    def test_a_client_that_never_reads_its_replies_is_closed_with_1008(self):
        w = self.ws()
        sent = 0

        def flood():
            nonlocal sent
            w.sock.settimeout(5)
            try:
                while sent < 200000:
                    w.sock.sendall(b"".join(
                        encode_frame(OP_TEXT, b'{"id":%d,"method":"no.such.method.%s"}' % (sent + i, b"m" * 40))
                        for i in range(1000)))
                    sent += 1000
            except OSError:
                pass  # the server stopped reading (closing) or the buffers are full

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        t.join(60)
        self.assertFalse(t.is_alive())
        code = w.recv_close(30)
        self.assertEqual(code, 1008, "after %d calls and %d replies read" % (sent, len(w.replies)))
        self.assertStillServing()

    def test_a_half_sent_frame_does_not_hold_up_other_clients(self):
        stuck = self.ws()
        stuck.send_raw(encode_frame(OP_TEXT, b'{"id":1,"method":"session.create","params":{}}')[:10])
        quiet = self.ws()  # connected, never sends
        self.assertStillServing()
        self.ws_call_ok(quiet, "session.create")

    def test_the_server_still_serves_other_clients_after_all_of_these(self):
        ws = []
        for data in (b"{nope", b'{"id":1,"method":"\xff"}'):
            w = self.ws()
            w.send_text(data)
            ws.append(w)
        w = self.ws()
        self.send_in_background(w, encode_frame(OP_TEXT, b"x" * (2 * MiB)))
        ws.append(w)
        w = self.ws()
        w.send_binary(b"\x00" * 100)
        ws.append(w)
        w = self.ws()
        w.send_raw(b"".join(encode_frame(OP_PING, b"f") for _ in range(1000)))
        ws.append(w)
        w = self.ws()
        w.send_raw(encode_frame(OP_TEXT, b"{}", mask=False))
        ws.append(w)
        w = self.ws()
        w.send_raw(b"\x00" * 4096)  # not frames at all
        ws.append(w)
        for w in ws:
            try:
                w.drain(0.2)
            except (ws_client.WsError, OSError):
                pass
        ws[0].abort()  # vanish without a close
        self.assertStillServing()


class TestDrain(unittest.TestCase):
    """SIGTERM with sockets open (API.md section 1: drain and exit 0 within 5 s)."""

    def start_with_sockets(self, attached, idle):
        """A fresh rtmd with `attached` sockets attached to sessions and `idle` ones without."""
        if "reason" in _no_endpoint:
            raise unittest.SkipTest(_no_endpoint["reason"])
        r = Rtmd()
        self.addCleanup(r.cleanup)
        r.start()
        reason = endpoint_missing(r.port)
        if reason:
            _no_endpoint["reason"] = reason
            r.stop()
            raise unittest.SkipTest(reason)
        c = r.client()
        sockets = []
        for _ in range(attached):
            st, body = c.call("session.create")
            self.assertEqual(st, 200)
            w = WsClient(r.port)
            self.addCleanup(w.abort)
            reply = w.call("session.attach", session=body["session"])
            self.assertEqual(reply.get("rc"), 0, reply)
            sockets.append(w)
        for _ in range(idle):
            w = WsClient(r.port)
            self.addCleanup(w.abort)
            sockets.append(w)
        c.close()
        return r, sockets

    def test_sigterm_with_attached_sockets_exits_0_within_5_s(self):
        r, _ = self.start_with_sockets(attached=3, idle=1)
        r.stop()  # asserts exit code 0 within 5 s

    def test_sigterm_closes_every_socket_with_1001_going_away(self):
        r, sockets = self.start_with_sockets(attached=2, idle=2)
        r.send_signal(15)
        codes = []
        for w in sockets:
            try:
                codes.append(w.recv_close(5))
            except socket.timeout:
                codes.append("no close within 5 s")
        r.wait(10)
        self.assertEqual(codes, [1001] * len(sockets))


# -- ws_client.py against an in-process server ---------------------------------------------


class TinyServer:
    """One-connection WebSocket server for the client's own tests. mode "echo" echoes each
    message back in two fragments with a ping between; mode "rpc" answers each call with an
    event push, an unrelated null-id reply and then the reply; "refuse" answers 404;
    "badkey" answers 101 with a wrong accept key; "close" sends close 4001 at once."""

    def __init__(self, mode="echo"):
        self.mode = mode
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.got = []       # data messages received (opcode, payload)
        self.pongs = []     # pongs received
        self.close_payload = None
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _send(self, conn, op, payload=b"", fin=True):
        conn.sendall(encode_frame(op, payload, fin=fin, mask=False))

    def _run(self):
        try:
            conn, _ = self.lsock.accept()
            with conn:
                self._serve(conn)
        except Exception as e:  # noqa: BLE001 - the test reads it
            self.error = e
        finally:
            self.lsock.close()

    def _serve(self, conn):
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += conn.recv(4096)
        head, _, rest = buf.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode().split("\r\n")[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if self.mode == "refuse":
            body = b'{"rc":1003,"error":"UnknownMethod","msg":"no such path"}'
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            return
        key = headers["sec-websocket-key"]
        acc = accept_key(key) if self.mode != "badkey" else accept_key(key + "x")
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % acc).encode())
        if self.mode == "close":
            self._send(conn, OP_CLOSE, struct.pack("!H", 4001) + b"go")
        reader = FrameReader(conn, rest)
        frag = []
        while True:
            f = reader.read_frame(time.monotonic() + 10)
            if not f.masked:
                raise AssertionError("client frame not masked")
            if f.opcode == OP_PING:
                self._send(conn, OP_PONG, f.payload)
            elif f.opcode == OP_PONG:
                self.pongs.append(f.payload)
            elif f.opcode == OP_CLOSE:
                self.close_payload = f.payload
                if self.mode != "close":
                    self._send(conn, OP_CLOSE, f.payload[:2])
                return
            else:
                frag.append(f)
                if not f.fin:
                    continue
                op = frag[0].opcode
                data = b"".join(x.payload for x in frag)
                frag = []
                self.got.append((op, data))
                if self.mode == "echo":
                    half = len(data) // 2
                    self._send(conn, op, data[:half], fin=False)
                    self._send(conn, OP_PING, b"srv")
                    self._send(conn, OP_CONT, data[half:], fin=True)
                elif self.mode == "rpc":
                    call = json.loads(data)
                    self._send(conn, OP_TEXT, json.dumps({"event": {"id": call["id"] * 10, "type": "x"}}))
                    self._send(conn, OP_TEXT, json.dumps({"id": None, "rc": 1001, "error": "InvalidRequest", "msg": "m"}))
                    self._send(conn, OP_TEXT, json.dumps({"id": call["id"], "rc": 0, "echo": call}))


class TestWsClient(unittest.TestCase):
    def test_accept_key_of_rfc_6455_example(self):
        self.assertEqual(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

    def test_frames_encode_lengths_and_masking(self):
        for n in (0, 125, 126, 65535, 65536):
            data = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
            f = FrameReader(None, encode_frame(OP_BINARY, data)).read_frame()
            self.assertEqual((f.fin, f.opcode, f.masked, f.payload), (True, OP_BINARY, True, data))
        raw = encode_frame(OP_TEXT, b"Hello", mask=True, mask_key=b"\x37\xfa\x21\x3d")
        self.assertEqual(raw, bytes.fromhex("818537fa213d7f9f4d5158"))  # RFC 6455 5.7

    def test_echo_reassembles_fragments_and_answers_pings(self):
        srv = TinyServer("echo")
        w = WsClient(srv.port)
        w.send_text("h\u00e9llo w\u00f6rld")
        self.assertEqual(w.read_message(5), (OP_TEXT, "h\u00e9llo w\u00f6rld".encode()))
        w.send_fragments(b"abcdefgh", [3, 3], opcode=OP_BINARY, between=lambda i: w.ping(b"c%d" % i))
        self.assertEqual(w.read_message(5), (OP_BINARY, b"abcdefgh"))
        self.assertEqual(w.pongs, [b"c0", b"c1"])
        self.assertEqual(w.pings, [b"srv", b"srv"])
        self.assertEqual(w.close(1000, "done"), 1000)
        srv.thread.join(5)
        self.assertIsNone(srv.error)
        self.assertEqual(srv.pongs, [b"srv", b"srv"])
        self.assertEqual(srv.close_payload, struct.pack("!H", 1000) + b"done")
        self.assertEqual(srv.got, [(OP_TEXT, "h\u00e9llo w\u00f6rld".encode()), (OP_BINARY, b"abcdefgh")])

    def test_call_matches_the_reply_and_keeps_events_and_other_replies(self):
        srv = TinyServer("rpc")
        w = WsClient(srv.port)
        r1 = w.call("a.b", x=1, from_=2)
        self.assertEqual(r1["echo"], {"id": 1, "method": "a.b", "params": {"x": 1, "from": 2}})
        r2 = w.call("c.d")
        self.assertEqual(r2["id"], 2)
        self.assertEqual(w.events(2, 1), [{"id": 10, "type": "x"}, {"id": 20, "type": "x"}])
        self.assertEqual(w.reply(None)["error"], "InvalidRequest")
        self.assertEqual(len(w.replies[None]), 1)
        self.assertEqual(w.events(1, 0.2), [])
        w.close()
        srv.thread.join(5)

    def test_server_close_is_recorded_and_answered(self):
        srv = TinyServer("close")
        w = WsClient(srv.port)
        self.assertEqual(w.recv_close(5), 4001)
        self.assertEqual(w.close_reason, "go")
        srv.thread.join(5)
        self.assertEqual(srv.close_payload, struct.pack("!H", 4001))
        with self.assertRaises(ws_client.ConnectionClosed):
            w.call("x")

    def test_refused_and_bad_handshakes_raise(self):
        srv = TinyServer("refuse")
        with self.assertRaises(HandshakeError) as cm:
            WsClient(srv.port)
        self.assertEqual(cm.exception.status, 404)
        self.assertEqual(cm.exception.json()["error"], "UnknownMethod")
        srv = TinyServer("badkey")
        with self.assertRaises(HandshakeError) as cm:
            WsClient(srv.port)
        self.assertIn("Accept", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
