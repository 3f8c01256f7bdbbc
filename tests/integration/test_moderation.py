"""Moderation (docs/semantics.md "Moderation"): group.ban / room.ban / user.block with an
optional duration, their removal and lists, what a ban forbids (send, subscribe, read, log
in: PermissionDenied), what it does at once (subscriptions dropped, room left, sessions
kicked), expiry, and bans kept across a restart."""

import os
import sqlite3
import time
import unittest

from rtmd_harness import RtmdTestCase, unique_id
from test_messages import MessageCase


class TestGroupBan(MessageCase):
    def test_a_banned_member_cannot_send_subscribe_or_read_and_stops_receiving(self):
        a, b, c = self.login(), self.login(), self.login()
        gid = self.group_with(a, b, c)
        self.send_ok("message.send_group", a, gid=gid, msg="before")
        self.assertEqual([m["msg"] for m in self.messages(b.session, 1)], ["before"])
        body = self.assertOk(self.c.server("group.ban", gid=gid, uid=b.uid))
        self.assertIsNone(body["until"])
        denied = self.c.call("message.send_group", session=b.session, gid=gid, mtype=30, msg="x")
        self.assertError(denied, "PermissionDenied")
        self.assertIn("banned", denied[1]["msg"])
        self.assertError(self.c.call("session.subscribe", session=b.session, topic="group:%d" % gid),
                         "PermissionDenied")
        self.assertError(self.c.call("message.history", session=b.session, gid=gid),
                         "PermissionDenied")
        # Their subscription went with the ban; the others go on as before.
        self.send_ok("message.send_group", a, gid=gid, msg="after")
        self.assertEqual([m["msg"] for m in self.messages(c.session, 2)], ["before", "after"])
        self.quiet(b.session)
        self.send_ok("message.send_group", c, gid=gid, msg="from c")
        # Membership stays: the ban is not a removal.
        members = self.assertOk(self.c.server("group.members", gid=gid))["uids"]
        self.assertIn(b.uid, members)

    def test_unban_lets_them_back_and_says_whether_a_ban_was_lifted(self):
        a, b = self.login(), self.login()
        gid = self.group_with(a, b)
        self.assertOk(self.c.server("group.ban", gid=gid, uid=b.uid))
        self.assertEqual(self.assertOk(self.c.server("group.bans", gid=gid))["bans"],
                         [{"uid": b.uid, "until": None}])
        self.assertEqual(self.assertOk(self.c.server("group.unban", gid=gid, uid=b.uid))["removed"],
                         True)
        self.assertEqual(self.assertOk(self.c.server("group.unban", gid=gid, uid=b.uid))["removed"],
                         False)
        self.assertEqual(self.assertOk(self.c.server("group.bans", gid=gid))["bans"], [])
        self.assertOk(self.c.call("session.subscribe", session=b.session, topic="group:%d" % gid))
        self.send_ok("message.send_group", b, gid=gid, msg="back")
        self.assertEqual([m["msg"] for m in self.messages(a.session, 1)], ["back"])

    def test_a_ban_with_a_duration_ends_by_itself(self):
        a, b = self.login(), self.login()
        gid = self.group_with(a, b)
        t0 = int(time.time() * 1000)
        until = self.assertOk(self.c.server("group.ban", gid=gid, uid=b.uid, duration=1))["until"]
        self.assertGreaterEqual(until, t0 + 900)
        self.assertLessEqual(until, t0 + 3000)
        self.assertEqual(self.assertOk(self.c.server("group.bans", gid=gid))["bans"],
                         [{"uid": b.uid, "until": until}])
        self.assertError(self.c.call("message.send_group", session=b.session, gid=gid, mtype=30,
                                     msg="x"), "PermissionDenied")
        time.sleep(1.3)
        self.send_ok("message.send_group", b, gid=gid, msg="free again")
        self.assertEqual(self.assertOk(self.c.server("group.bans", gid=gid))["bans"], [])

    def test_a_ban_in_one_group_is_not_a_ban_in_another(self):
        a, b = self.login(), self.login()
        g1, g2 = self.group_with(a, b), self.group_with(a, b)
        self.assertOk(self.c.server("group.ban", gid=g1, uid=b.uid))
        self.send_ok("message.send_group", b, gid=g2, msg="other group")

    def test_bad_parameters(self):
        u = self.login()
        gid = unique_id()
        for params, name in (({"gid": gid, "uid": u.uid, "duration": 0}, "InvalidParameter"),
                             ({"gid": gid, "uid": u.uid, "duration": -5}, "InvalidParameter"),
                             ({"gid": gid, "uid": u.uid, "duration": "1h"}, "InvalidRequest"),
                             ({"gid": 0, "uid": u.uid}, "InvalidParameter"),
                             ({"uid": u.uid}, "InvalidRequest"),
                             ({"gid": gid, "uid": unique_id()}, "NotFound")):
            with self.subTest(params=params):
                self.assertError(self.c.server("group.ban", params), name)
        self.assertError(self.c.call("group.ban", gid=gid, uid=u.uid), "UnknownMethod",
                         "Unauthorized")


class TestRoomBan(MessageCase):
    def test_a_room_ban_takes_the_user_out_and_keeps_them_out(self):
        a, b = self.login(), self.login()
        rid = self.room_with(a, b)
        self.assertOk(self.c.server("room.ban", rid=rid, uid=b.uid, duration=600))
        left = [e for e in self.collect(a.session, 1, kinds=("room",))]
        self.assertEqual([(e["uid"], e["state"]) for e in left], [(b.uid, "left")])
        self.assertNotIn(b.uid, self.assertOk(self.c.server("room.members", rid=rid))["uids"])
        self.assertError(self.c.call("session.subscribe", session=b.session, topic="room:%d" % rid),
                         "PermissionDenied")
        self.assertError(self.c.call("message.send_room", session=b.session, rid=rid, mtype=30,
                                     msg="x"), "PermissionDenied")
        self.assertError(self.c.call("message.history", session=b.session, rid=rid),
                         "PermissionDenied")
        bans = self.assertOk(self.c.server("room.bans", rid=rid))["bans"]
        self.assertEqual([x["uid"] for x in bans], [b.uid])
        self.assertOk(self.c.server("room.unban", rid=rid, uid=b.uid))
        self.assertOk(self.c.call("session.subscribe", session=b.session, topic="room:%d" % rid))
        self.send_ok("message.send_room", b, rid=rid, msg="back in")


    def test_a_room_ban_that_cannot_take_the_member_out_changes_nothing(self):
        # A store error on the second write (a trigger on the real database refuses to delete
        # room members): the call answers Unavailable and the ban is not left behind.
        a, b = self.login(), self.login()
        rid = self.room_with(a, b)
        db = sqlite3.connect(os.path.join(self.rtmd.data_dir, "rtm.db"), isolation_level=None)
        self.addCleanup(db.close)
        db.execute("CREATE TRIGGER test_no_leaving BEFORE DELETE ON room_members "
                   "BEGIN SELECT RAISE(ABORT, 'injected by the test'); END")
        try:
            # SQLite reports the trigger's abort as a constraint failure, which rtm answers
            # Internal (a store that refuses its own schema's write is a bug, not an outage).
            self.assertError(self.c.server("room.ban", rid=rid, uid=b.uid, duration=600),
                             "Internal", "Unavailable")
        finally:
            db.execute("DROP TRIGGER test_no_leaving")
        self.assertEqual(self.assertOk(self.c.server("room.bans", rid=rid))["bans"], [])
        self.assertIn(b.uid, self.assertOk(self.c.server("room.members", rid=rid))["uids"])
        self.send_ok("message.send_room", b, rid=rid, msg="still in")
        # Once the store takes it, the same call does all of it.
        self.assertOk(self.c.server("room.ban", rid=rid, uid=b.uid, duration=600))
        self.assertNotIn(b.uid, self.assertOk(self.c.server("room.members", rid=rid))["uids"])
        self.assertEqual([x["uid"] for x in self.assertOk(self.c.server("room.bans", rid=rid))["bans"]],
                         [b.uid])


class TestUserBlock(MessageCase):
    def test_a_block_kicks_every_session_and_refuses_logins(self):
        u = self.login()
        second = self.new_session()
        self.assertOk(self.authorize(second, u, mode="multi"))
        body = self.assertOk(self.c.server("user.block", uid=u.uid))
        self.assertEqual((body["sessions"], body["until"]), (2, None))
        for s in (u.session, second):
            evs = self.events(s)
            self.assertEqual([(e["type"], e.get("state")) for e in evs][-1:],
                             [("session", "kicked")])
        refused = self.authorize(self.new_session(), u)
        self.assertError(refused, "PermissionDenied")
        self.assertIn("blocked", refused[1]["msg"])
        token = self.assertOk(self.c.server("user.token", uid=u.uid, ttl=60))["token"]
        self.assertError(self.c.call("session.authorize", session=self.new_session(), token=token),
                         "PermissionDenied")
        self.assertError(self.authorize(self.new_session(), u, mode="auth"), "PermissionDenied")
        blocked = self.assertOk(self.c.server("user.blocked"))["bans"]
        self.assertIn({"uid": u.uid, "until": None}, blocked)
        self.assertEqual(self.assertOk(self.c.server("user.unblock", uid=u.uid))["removed"], True)
        self.assertOk(self.authorize(self.new_session(), u))

    def test_a_wrong_password_of_a_blocked_user_is_still_authorize_failed(self):
        u = self.login()
        self.assertOk(self.c.server("user.block", uid=u.uid, duration=600))
        # Who is blocked is not told to someone who does not know the password.
        self.assertError(self.authorize(self.new_session(), u, password="wrong"),
                         "AuthorizeFailed")

    def test_a_timed_block_ends_by_itself(self):
        u = self.login()
        self.assertOk(self.c.server("user.block", uid=u.uid, duration=1))
        self.assertError(self.authorize(self.new_session(), u), "PermissionDenied")
        time.sleep(1.3)
        self.assertOk(self.authorize(self.new_session(), u))


class TestBansSurviveARestart(MessageCase):
    def test_bans_and_blocks_are_kept_in_the_store(self):
        a, b = self.login(), self.login()
        gid = self.group_with(a, b)
        self.assertOk(self.c.server("group.ban", gid=gid, uid=b.uid, duration=3600))
        self.assertOk(self.c.server("user.block", uid=a.uid))
        before = self.assertOk(self.c.server("group.bans", gid=gid))["bans"]
        self.rtmd.restart()
        self.c.close()
        self.assertEqual(self.assertOk(self.c.server("group.bans", gid=gid))["bans"], before)
        self.assertError(self.authorize(self.new_session(), a), "PermissionDenied")
        b2 = self.login(b)
        self.assertError(self.c.call("message.send_group", session=b2.session, gid=gid, mtype=30,
                                     msg="x"), "PermissionDenied")


if __name__ == "__main__":
    unittest.main()
