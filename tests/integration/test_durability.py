"""API.md section 2: "A send is answered only after the message is durable in the store: an
answered send survives kill -9 of the server." Also users, groups and the idempotency of
sender mids survive a restart."""

import threading
import time
import unittest

from rtmd_harness import RtmdTestCase, unique_id

THREADS = 8
SENDS = 2000


class TestDurability(RtmdTestCase):
    def full_history(self, uid, other):
        """Every mid of the p2p conversation, paged by before_mid (newest first)."""
        mids = []
        before = None
        while True:
            params = {"uid": uid, "with": other, "limit": 1000}
            if before is not None:
                params["before_mid"] = before
            page = self.assertOk(self.c.server("message.history", params))["messages"]
            if not page:
                return mids
            mids += [m["mid"] for m in page]
            before = page[-1]["mid"]

    def test_every_acknowledged_send_survives_kill_9(self):
        # one sender/recipient pair per thread; clients send with their sessions
        pairs = []
        for _ in range(THREADS):
            a = self.login()
            b = self.new_user()
            pairs.append((a, b))
        acked = [[] for _ in range(THREADS)]
        errors = []
        per_thread = SENDS // THREADS

        def sender(i):
            a, b = pairs[i]
            c = self.rtmd.client()
            try:
                for n in range(per_thread):
                    st, body = c.call("message.send", session=a.session, to=b.uid, mtype=30, msg="d%d-%d" % (i, n))
                    if st != 200 or body.get("rc") != 0:
                        errors.append((st, body))
                        return
                    acked[i].append(body["mid"])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                c.close()

        t0 = time.monotonic()
        threads = [threading.Thread(target=sender, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        elapsed = time.monotonic() - t0
        self.assertEqual(errors, [], "sends failed")
        self.assertEqual(sum(len(x) for x in acked), per_thread * THREADS)
        print("\n  %d acknowledged sends from %d threads in %.2f s" % (per_thread * THREADS, THREADS, elapsed))

        self.rtmd.kill9()
        self.rtmd.restart()
        self.c.close()

        for i, (a, b) in enumerate(pairs):
            stored = self.full_history(a.uid, b.uid)
            missing = set(acked[i]) - set(stored)
            self.assertEqual(missing, set(), "pair %d: %d acknowledged mids lost after kill -9" % (i, len(missing)))
            self.assertEqual(len(stored), len(set(stored)), "duplicates in history")
            self.assertEqual(stored, sorted(stored, reverse=True))

        # mids keep increasing after the restart
        last = max(max(x) for x in acked)
        a, b = pairs[0]
        after = self.assertOk(self.c.server("message.send", from_=a.uid, to=b.uid, mtype=30, msg="post"))["mid"]
        self.assertGreater(after, last)

    def test_users_groups_and_idempotent_mids_survive_kill_9(self):
        u = self.new_user()
        v = self.new_user()
        gid = unique_id()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[u.uid, v.uid]))
        mid = unique_id()
        first = self.assertOk(self.c.server("message.send", from_=u.uid, to=v.uid, mtype=30, msg="x", mid=mid))
        tok = self.assertOk(self.c.server("user.token", uid=u.uid, ttl=600))["token"]

        self.rtmd.kill9()
        self.rtmd.restart()
        self.c.close()

        self.login(u)
        self.assertEqual(sorted(self.assertOk(self.c.server("group.members", gid=gid))["uids"]), sorted([u.uid, v.uid]))
        again = self.assertOk(self.c.server("message.send", from_=u.uid, to=v.uid, mtype=30, msg="x", mid=mid))
        self.assertEqual((again["mid"], again["mtime"]), (first["mid"], first["mtime"]))
        hist = self.assertOk(self.c.server("message.history", uid=u.uid, with_=v.uid))["messages"]
        self.assertEqual([m["mid"] for m in hist], [first["mid"]])
        # the token secret is kept in the store: a token from before the restart still works
        s = self.new_session()
        self.assertEqual(self.assertOk(self.c.call("session.authorize", session=s, token=tok,
                                                   mode="multi"))["uid"], u.uid)

    def test_sends_in_flight_at_sigterm_are_answered_or_refused_and_acked_ones_kept(self):
        a = self.new_user()
        b = self.new_user()
        acked = []
        lock = threading.Lock()
        stop = threading.Event()

        def sender():
            c = self.rtmd.client(timeout=10)
            try:
                while not stop.is_set():
                    st, body = c.server("message.send", {"from": a.uid, "to": b.uid, "mtype": 30, "msg": "s"})
                    if st == 200 and body and body.get("rc") == 0:
                        with lock:
                            acked.append(body["mid"])
            except Exception:  # noqa: BLE001 - the server is going away
                pass
            finally:
                c.close()

        threads = [threading.Thread(target=sender) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.7)
        self.rtmd.stop()  # exit 0 within 5 s while sends are in flight
        stop.set()
        for t in threads:
            t.join(15)
        self.assertGreater(len(acked), 0)
        self.rtmd.restart()
        self.c.close()
        stored = set(self.full_history(a.uid, b.uid))
        lost = set(acked) - stored
        self.assertEqual(lost, set(), "%d of %d acknowledged sends lost over SIGTERM" % (len(lost), len(acked)))

    def test_sigterm_then_restart_keeps_everything(self):
        u = self.new_user()
        v = self.new_user()
        mids = [self.assertOk(self.c.server("message.send", from_=u.uid, to=v.uid, mtype=30, msg="t%d" % i))["mid"]
                for i in range(20)]
        self.rtmd.stop()
        self.rtmd.restart()
        self.c.close()
        self.assertEqual(self.full_history(u.uid, v.uid), mids[::-1])


if __name__ == "__main__":
    unittest.main()
