"""Issue 10 section 2: a restart (SIGTERM or kill -9) of a one-node rtmd on its embedded store
keeps every authorized session: its user, settings, subscriptions and cursor, and every
message it had not read. A client keeps its session id and reads on; ids keep increasing.
Channels keep their queues (a channel.send answered is durable) and connected state
(docs/semantics.md "Restarts")."""

import json
import unittest

from rtmd_harness import RtmdTestCase, unique_id
from ws_client import WsClient


class TestRestart(RtmdTestCase):
    def send_p2p(self, sender, to, msg):
        return self.assertOk(self.c.call("message.send", session=sender.session, to=to.uid,
                                         mtype=30, msg=msg))["mid"]

    def restart(self, how):
        if how == "kill9":
            self.rtmd.kill9()
        self.rtmd.restart()
        self.c.close()
        self.c = self.rtmd.client()

    def read_all(self, session, after=None):
        """Every event queued for session now (paged by max_events), read without waiting."""
        got = []
        while True:
            evs = self.events(session, timeout=0, after=after)
            if not evs:
                return got
            got += evs
            if after is not None:
                after = evs[-1]["id"]

    def check_session_survives(self, how):
        a = self.login()
        b = self.login()
        gid = unique_id()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[a.uid, b.uid]))
        key = self.assertOk(self.c.call("session.subscribe", session=b.session,
                                        topic="group:%d" % gid))["subscription_key"]
        self.assertOk(self.c.call("session.set", session=b.session,
                                  settings={"max_events": 2, "presence": False}))
        read_mids = [self.send_p2p(a, b, "read %d" % i) for i in range(3)]
        read = self.read_all(b.session)
        self.assertEqual([e["message"]["mid"] for e in read], read_mids)
        last_read_id = read[-1]["id"]
        unread_mids = [self.send_p2p(a, b, "unread %d" % i) for i in range(3)]
        unread_mids.append(self.assertOk(self.c.call(
            "message.send_group", session=a.session, gid=gid, mtype=30, msg="to the group"))["mid"])

        self.restart(how)

        after = self.read_all(b.session)
        self.assertNotIn("gap", [e["type"] for e in after], after)
        got_mids = [e["message"]["mid"] for e in after if e["type"] == "message"]
        if how == "sigterm":
            # a clean stop wrote where the reader stood: exactly the unread ones, in order
            self.assertEqual(got_mids, unread_mids)
        else:
            # kill -9 may give back some read ones again, never lose an unread one
            self.assertEqual(got_mids[-len(unread_mids):], unread_mids)
            self.assertTrue(set(got_mids) <= set(read_mids + unread_mids), got_mids)
        ids = [e["id"] for e in after]
        self.assertEqual(ids, sorted(set(ids)))
        self.assertGreater(ids[0], last_read_id)
        # the settings and the subscription came back with the session
        settings = self.assertOk(self.c.call("session.set", session=b.session,
                                             settings={}))["settings"]
        self.assertEqual((settings["max_events"], settings["presence"]), (2, False))
        group_mid = self.assertOk(self.c.call(
            "message.send_group", session=a.session, gid=gid, mtype=30, msg="again"))["mid"]
        evs = self.events(b.session, timeout=5)
        self.assertEqual([e["message"]["mid"] for e in evs], [group_mid])
        self.assertGreater(evs[0]["id"], ids[-1])
        # the stored key still names the subscription
        self.assertOk(self.c.call("session.unsubscribe", session=b.session,
                                  subscription_key=key))
        self.assertOk(self.c.call("message.send_group", session=a.session, gid=gid, mtype=30,
                                  msg="not subscribed"))
        p2p = self.send_p2p(a, b, "still p2p")
        evs = self.events(b.session, timeout=5)
        self.assertEqual([e["message"]["mid"] for e in evs], [p2p])
        # both users count as online again, and the sender's session sends on
        online = self.assertOk(self.c.call("user.online", session=a.session,
                                           uids=[a.uid, b.uid]))["uids"]
        self.assertEqual(sorted(online), sorted([a.uid, b.uid]))

    def test_sigterm_keeps_sessions_settings_subscriptions_and_unread_messages(self):
        self.check_session_survives("sigterm")

    def test_kill_9_keeps_sessions_and_loses_no_unread_message(self):
        self.check_session_survives("kill9")

    def test_after_reads_on_across_a_restart_without_a_gap(self):
        a = self.login()
        b = self.login()
        first = self.send_p2p(a, b, "one")
        evs = self.events(b.session)
        self.assertEqual([e["message"]["mid"] for e in evs], [first])
        seen = evs[-1]["id"]
        second = self.send_p2p(a, b, "two")
        self.restart("kill9")
        # a client that passes the last id it processed gets what came after it
        evs = self.read_all(b.session, after=seen)
        self.assertEqual([e["type"] for e in evs], ["message"] * len(evs))
        self.assertIn(second, [e["message"]["mid"] for e in evs])
        self.assertTrue(all(e["id"] > seen for e in evs))

    def test_a_websocket_client_reattaches_with_after_and_gets_what_it_missed(self):
        a = self.login()
        b = self.login()
        w = WsClient(self.rtmd.port, timeout=10.0)
        try:
            self.assertEqual(w.call("session.attach", session=b.session).get("rc"), 0)
            first = self.send_p2p(a, b, "pushed and read")
            pushed = w.events(1, 5.0)
            self.assertEqual(pushed[0]["message"]["mid"], first)
            last = pushed[0]["id"]
            # pushed into the socket, never read by the client: lost with the connection
            lost = self.send_p2p(a, b, "pushed, never read")
            self.wait_queued_read(b.session)
        finally:
            w.abort()
        self.rtmd.stop()
        self.rtmd.restart()
        self.c.close()
        self.c = self.rtmd.client()
        away = self.send_p2p(a, b, "sent while away")
        w = WsClient(self.rtmd.port, timeout=10.0)
        try:
            self.assertEqual(w.call("session.attach", session=b.session, after=last).get("rc"), 0)
            evs = []
            while away not in [e["message"]["mid"] for e in evs]:
                got = w.events(1, 5.0)
                self.assertTrue(got, "no more events; had %r" % (evs,))
                evs += got
            mids = [e["message"]["mid"] for e in evs]
            # what was pushed but never read comes back (with what was read: at least once)
            self.assertIn(lost, mids)
            self.assertEqual(mids[-1], away)
            self.assertTrue(all(e["id"] > last for e in evs), evs)
            self.assertNotIn("gap", [e["type"] for e in evs])
        finally:
            w.abort()

    def wait_queued_read(self, session):
        """Waits until the push socket has taken every queued event (the cursor is at the end),
        on the session's own answer: a get_events without after that finds nothing."""
        for _ in range(100):
            if self.events(session, timeout=0) == []:
                return
        self.fail("the socket did not take the queued events")

    def test_ended_sessions_stay_ended_and_unauthorized_ones_are_not_kept(self):
        u = self.new_user()
        killed = self.login(u).session
        survivor = self.login(u, mode="kill").session
        destroyed = self.login()
        self.assertOk(self.c.call("session.destroy", session=destroyed.session))
        unauthorized = self.new_session()
        self.restart("kill9")
        self.assertError(self.get_events(destroyed.session), "InvalidSession")
        self.assertError(self.get_events(unauthorized), "InvalidSession")
        # the killed one is gone; its final event was in memory only
        self.assertError(self.get_events(killed), "InvalidSession")
        self.assertOk(self.get_events(survivor))

    def test_a_second_restart_keeps_increasing_ids(self):
        a = self.login()
        b = self.login()
        ids = []
        for round_ in range(4):
            mid = self.send_p2p(a, b, "round %d" % round_)
            evs = self.read_all(b.session)
            # after a kill -9 the last round may come again before this one
            self.assertEqual(evs[-1]["message"]["mid"], mid, evs)
            ids += [e["id"] for e in evs]
            self.restart("sigterm" if round_ % 2 else "kill9")
        self.assertEqual(ids, sorted(set(ids)))

    def test_an_upload_token_made_before_a_restart_uploads_after_it_once(self):
        a = self.login()
        b = self.login()
        token = self.assertOk(self.c.call("file.token", session=a.session, cmd="sendfile",
                                          to=b.uid))["token"]
        self.restart("kill9")
        data = b"made before, sent after"
        status, _, body = self.c.request("POST", "/v1/files/upload?token=" + token, body=data)
        self.assertEqual(status, 200, body)
        mid = json.loads(body)["mid"]
        evs = self.events(b.session, timeout=5)
        self.assertEqual([e["message"]["mid"] for e in evs], [mid])
        status, _, body = self.c.request("POST", "/v1/files/upload?token=" + token, body=data)
        self.assertEqual((status, json.loads(body)["error"]), (401, "InvalidToken"))

    def test_the_server_event_stream_and_its_cursor_survive_a_restart(self):
        # the stream is read to its end; two events come after, unread at the restart
        while self.assertOk(self.c.server("events.poll", timeout=0))["events"]:
            pass
        a = self.login()
        b = self.login()
        self.restart("sigterm")
        evs = self.assertOk(self.c.server("events.poll", timeout=0))["events"]
        online = [e["uid"] for e in evs if e["type"] == "user.online"]
        self.assertEqual(online, [a.uid, b.uid])
        # the ids go on: a later event gets a higher id than the restored ones
        last = evs[-1]["id"]
        self.login()
        later = self.assertOk(self.c.server("events.poll", timeout=5))["events"]
        self.assertGreater(later[0]["id"], last)
        self.assertNotIn("gap", [e["type"] for e in evs + later])

    def check_channel_survives(self, how):
        cid = "restart-%d" % unique_id()
        token = self.assertOk(self.c.server("channel.create", client_id=cid))["token"]
        for m in ("taken 1", "taken 2"):
            self.assertOk(self.c.server("channel.send", client_id=cid, message=m))
        taken = self.assertOk(self.c.call("channel.poll", token=token, timeout=0))["messages"]
        self.assertEqual(taken, ["taken 1", "taken 2"])
        queued = ["queued %d" % i for i in range(3)]
        for m in queued:  # each answered once it is durable
            self.assertOk(self.c.server("channel.send", client_id=cid, message=m))

        self.restart(how)

        info = self.assertOk(self.c.server("channel.info", client_id=cid))
        self.assertGreaterEqual(info["pending"], len(queued), info)
        if how == "sigterm":
            self.assertEqual((info["connected"], info["pending"]), (True, 3))
        got = self.assertOk(self.c.call("channel.poll", token=token, timeout=0))["messages"]
        if how == "sigterm":
            self.assertEqual(got, queued)
        else:  # kill -9 may give a taken one again, never lose a queued one
            self.assertEqual(got[-len(queued):], queued)
            self.assertTrue(set(got) <= set(taken + queued), got)
        # the same channel goes on: a send after the restart reaches the same token's poll
        self.assertOk(self.c.server("channel.send", client_id=cid, message="after"))
        got = self.assertOk(self.c.call("channel.poll", token=token, timeout=5))["messages"]
        self.assertEqual(got, ["after"])

    def test_sigterm_keeps_channels_their_queues_and_connected_state(self):
        self.check_channel_survives("sigterm")

    def test_kill_9_keeps_every_channel_message_whose_send_was_answered(self):
        self.check_channel_survives("kill9")

    def test_a_cleared_channel_stays_empty_across_a_restart(self):
        cid = "cleared-%d" % unique_id()
        token = self.assertOk(self.c.server("channel.create", client_id=cid))["token"]
        for m in ("a", "b"):
            self.assertOk(self.c.server("channel.send", client_id=cid, message=m))
        self.assertEqual(self.assertOk(self.c.server("channel.clear", client_id=cid))["cleared"], 2)
        self.restart("sigterm")
        self.assertEqual(self.assertOk(self.c.call("channel.poll", token=token,
                                                   timeout=0))["messages"], [])

    def test_the_listen_selection_survives_a_restart(self):
        chosen = self.assertOk(self.c.server("listen", p2p=[7, 9], groups=True,
                                             events=["user.online"]))
        self.restart("kill9")
        now = self.assertOk(self.c.server("listen"))
        for part in ("p2p", "groups", "rooms", "events"):
            self.assertEqual(now[part], chosen[part], part)
        self.assertEqual(now["p2p"], [7, 9])
        self.assertOk(self.c.server("listen", p2p=False, groups=False, rooms=False,
                                    events=["user.online", "user.offline", "channel.connected",
                                            "channel.disconnected", "file.uploaded"]))


if __name__ == "__main__":
    unittest.main()
