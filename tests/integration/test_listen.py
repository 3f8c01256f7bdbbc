"""server/listen (API.md section 8, docs/semantics.md "Server events"): which P2P, group and
room messages the server event stream copies, and which of its own events it records."""

import unittest

from rtmd_harness import unique_id
from test_messages import MessageCase


class TestListen(MessageCase):
    def setUp(self):
        super().setUp()
        # Every test starts from the defaults, and reads only what it caused.
        self.listen(p2p=False, groups=False, rooms=False,
                    events=["user.online", "user.offline", "channel.connected",
                            "channel.disconnected", "file.uploaded"])
        self.after = self.assertOk(self.c.server("events.poll", timeout=0, after=0))["last"]
        self.drain()

    def listen(self, **params):
        return self.assertOk(self.c.server("listen", params))

    def drain(self):
        """The server events since the last drain."""
        body = self.assertOk(self.c.server("events.poll", timeout=0, after=self.after))
        self.after = body["last"]
        return body["events"]

    def copied(self):
        return [e["message"] for e in self.drain() if e["type"] == "message"]

    def test_by_default_no_message_is_copied(self):
        a, b = self.login(), self.login()
        self.send_ok("message.send", a, to=b.uid, msg="private")
        gid = self.group_with(a, b)
        self.send_ok("message.send_group", a, gid=gid, msg="group")
        self.assertEqual(self.copied(), [])

    def test_p2p_of_listed_users_is_copied_by_sender_or_recipient(self):
        a, b, c, d = self.login(), self.login(), self.login(), self.login()
        body = self.listen(p2p=[a.uid])
        self.assertEqual(body["p2p"], [a.uid])
        self.send_ok("message.send", a, to=b.uid, msg="from a")
        self.send_ok("message.send", c, to=a.uid, msg="to a")
        self.send_ok("message.send", c, to=d.uid, msg="not a")
        self.send_ok("message.send_many", d, to_uids=[b.uid, a.uid], msg="many with a")
        events = [e for e in self.drain() if e["type"] == "message"]
        self.assertEqual([e["message"]["msg"] for e in events], ["from a", "to a", "many with a"])
        m = events[0]["message"]
        self.assertEqual((m["from"], m["to"], m["kind"]), (a.uid, b.uid, "p2p"))
        self.assertEqual(events[0]["time"], m["mtime"])
        self.assertIsInstance(events[0]["id"], int)

    def test_every_p2p_message_with_true(self):
        a, b = self.login(), self.login()
        self.assertIs(self.listen(p2p=True)["p2p"], True)
        self.send_ok("message.send", a, to=b.uid, msg="any")
        self.assertEqual([m["msg"] for m in self.copied()], ["any"])

    def test_groups_and_rooms_by_id_or_all(self):
        a, b = self.login(), self.login()
        g1, g2 = self.group_with(a, b), self.group_with(a, b)
        r1, r2 = self.room_with(a, b), self.room_with(a, b)
        self.drain()
        body = self.listen(groups=[g2], rooms=True)
        self.assertEqual((body["groups"], body["rooms"], body["p2p"]), ([g2], True, False))
        self.send_ok("message.send_group", a, gid=g1, msg="g1")
        self.send_ok("message.send_group", a, gid=g2, msg="g2")
        self.send_ok("message.send_room", a, rid=r1, msg="r1")
        self.send_ok("message.send_room", b, rid=r2, msg="r2")
        self.assertOk(self.c.server("message.send_group", gid=g2, mtype=30, msg="server g2"))
        self.assertEqual([m["msg"] for m in self.copied()], ["g2", "r1", "r2", "server g2"])
        # A part not given stays as it was; false turns it off.
        body = self.listen(rooms=False)
        self.assertEqual((body["groups"], body["rooms"]), ([g2], False))
        self.send_ok("message.send_room", a, rid=r1, msg="r1 again")
        self.assertEqual(self.copied(), [])

    def test_events_chooses_which_server_events_are_recorded(self):
        body = self.listen(events=["user.online"])
        self.assertEqual(body["events"], ["user.online"])
        u = self.login()
        self.assertOk(self.c.call("session.destroy", session=u.session))
        types = [e["type"] for e in self.drain()]
        self.assertIn("user.online", types)
        self.assertNotIn("user.offline", types)
        self.listen(events=[])
        self.login()
        self.assertEqual(self.drain(), [])

    def test_bad_selections_are_refused_and_change_nothing(self):
        before = self.listen()
        for params, name in (({"groups": "all"}, "InvalidRequest"),
                             ({"p2p": [0]}, "InvalidParameter"),
                             ({"rooms": ["x"]}, "InvalidRequest"),
                             ({"events": "user.online"}, "InvalidRequest"),
                             ({"events": ["user.online", "message.sent"]}, "InvalidParameter")):
            with self.subTest(params=params):
                self.assertError(self.c.server("listen", params), name)
        self.assertEqual(self.listen(), before)
        self.assertError(self.c.call("listen", p2p=True), "UnknownMethod", "Unauthorized")


if __name__ == "__main__":
    unittest.main()
