"""A full disk (docs/semantics.md "Full disk and store errors"): rtmd's data dir on a small
tmpfs, filled to the last byte by a filler file. Every write answers Unavailable (1503) with a
clear message and changes nothing (sends, uploads, users, groups, rooms, bans); reads and
in-memory calls (history, events, channel polls) go on; webhook events wait in memory; nothing
answered rc 0 is lost, and once the filler is gone everything works again, across a restart.

The tmpfs is mounted directly when the test runs as root, else inside a user and mount
namespace (unshare -Urm) held by a sleeping process: rtmd then runs in it through nsenter and
the test reaches its files through /proc/PID/root. Without either the module is skipped."""

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from rtmd_harness import Client, Rtmd, RtmdTestCase, User, unique, unique_id
from test_webhooks import SECRET, Receiver

DISK_BYTES = 24 << 20
BIG = "x" * 16000  # a message that needs fresh pages, so WAL slack is used up quickly


class SmallDisk:
    """A tmpfs of `size` bytes on a fresh directory."""

    def __init__(self, size):
        self.dir = tempfile.mkdtemp(prefix="rtm-fulldisk-")
        self.holder = None
        if os.geteuid() == 0:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0700" % size,
                                   "tmpfs", self.dir], capture_output=True, text=True)
            if done.returncode == 0:
                return
            why = "mount -t tmpfs failed: " + done.stderr.strip()
        else:
            why = "not root"
        if shutil.which("unshare") and shutil.which("nsenter"):
            self.holder = subprocess.Popen(
                ["unshare", "-Urm", "sh", "-c",
                 'mount -t tmpfs -o size=%d tmpfs "$0" && echo mounted && exec sleep 1000000'
                 % size, self.dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if self.holder.stdout.readline().strip() == b"mounted":
                return
            why += "; unshare -Urm: " + self.holder.stderr.read().decode(errors="replace").strip()
            self.holder.kill()
            self.holder.wait()
            self.holder = None
        os.rmdir(self.dir)
        raise unittest.SkipTest("cannot mount a small tmpfs for the data dir (%s)" % why)

    def path(self, *parts):
        """A path on the disk as this process reaches it."""
        p = os.path.join(self.dir, *parts)
        return p if self.holder is None else "/proc/%d/root%s" % (self.holder.pid, p)

    def wrap(self, command):
        """The command that runs `command` where the disk is mounted."""
        if self.holder is None:
            return command
        return ["nsenter", "-t", str(self.holder.pid), "-U", "-m", "--preserve-credentials"] + command

    def fill(self):
        """Writes a filler file until the disk has no byte left."""
        fd = os.open(self.path("filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 1 << 16, 1 << 12, 512, 1):
                block = b"\0" * size
                while True:
                    try:
                        os.write(fd, block)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)

    def unfill(self):
        if os.path.exists(self.path("filler")):
            os.unlink(self.path("filler"))

    def close(self):
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait()
        elif subprocess.run(["umount", self.dir]).returncode != 0:
            subprocess.run(["umount", "-l", self.dir])  # something still has a file open
        os.rmdir(self.dir)


class RtmdOnDisk(Rtmd):
    """rtmd with its data dir on a SmallDisk."""

    def __init__(self, disk, **kw):
        super().__init__(data_dir=os.path.join(disk.dir, "data"), **kw)
        self.disk = disk

    def command(self):
        return self.disk.wrap(super().command())


class FullDiskCase(RtmdTestCase):
    @classmethod
    def setUpClass(cls):
        cls.disk = SmallDisk(DISK_BYTES)
        cls.receiver = Receiver("ok")
        cls.rtmd = RtmdOnDisk(cls.disk, log_level="info")
        conf = os.path.join(cls.rtmd.tmp, "rtm.toml")
        with open(conf, "w") as f:
            f.write('webhook_retry_base = 50\n[[webhook]]\nurl = %s\nevents = ["user.online"]\n'
                    'secret = %s\n' % (json.dumps(cls.receiver.url()), json.dumps(SECRET)))
        cls.rtmd.args = ["--config", conf, "--max-file-size", str(1 << 20)]
        try:
            cls.rtmd.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.c = cls.rtmd.client()

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "c", None):
                cls.c.close()
            if cls.rtmd.alive():
                cls.rtmd.stop()
        finally:
            cls.rtmd.cleanup()
            cls.receiver.close()
            cls.disk.close()

    def tearDown(self):
        self.disk.unfill()
        super().tearDown()

    # -- helpers ----------------------------------------------------------------------

    def wedge(self):
        """Fills the disk, then sends until the store refuses: SQLite may still have room in
        pages it holds (WAL slack), and from the first refusal on every write fails. Answers
        the mids of the sends that were still acknowledged."""
        sender = self.new_user()
        self.disk.fill()
        acked = []
        for i in range(400):
            status, body = self.c.server("message.send", to=sender.uid, mtype=30, msg=BIG,
                                         **{"from": sender.uid})
            if body["rc"] != 0:
                self.assertUnavailableFull((status, body))
                return acked
            acked.append(body["mid"])
        self.fail("400 sends of 16 kB on a full disk were all stored")

    def assertUnavailableFull(self, resp):
        body = self.assertError(resp, "Unavailable")
        self.assertIn("disk is full", body["msg"])
        return body

    def history_texts(self, a, b):
        body = self.assertOk(self.c.server("message.history", uid=a.uid, limit=1000,
                                           **{"with": b.uid}))
        return {m["mid"]: m["msg"] for m in body["messages"]}

    def drain_messages(self, session):
        """Every message event queued for the session now."""
        out = []
        while True:
            evs = self.events(session, timeout=0)
            if not evs:
                return out
            out += [e["message"] for e in evs if e["type"] == "message"]

    def log(self):
        return self.rtmd.stdout() + self.rtmd.stderr()


class TestSends(FullDiskCase):
    def test_sends_on_a_full_disk_answer_unavailable_and_every_acknowledged_one_survives(self):
        a, b = self.login(), self.login()
        before = self.send(a, b, msg="before the disk filled")["mid"]
        self.drain_messages(b.session)
        self.disk.fill()
        acked, refused = [], []
        for i in range(400):
            text = "full-%d-%s" % (i, BIG)
            resp = self.c.call("message.send", session=a.session, to=b.uid, mtype=30, msg=text)
            if resp[1]["rc"] == 0:
                acked.append(resp[1]["mid"])
            else:
                self.assertUnavailableFull(resp)
                refused.append(text)
                if len(refused) >= 5:
                    break
        self.assertGreaterEqual(len(refused), 5, "the store took every send on a full disk")
        self.assertIn("store.error op=append_message rc=Unavailable", self.log())

        # Reads while full: history and events hold exactly what was acknowledged.
        texts = self.history_texts(a, b)
        self.assertEqual(sorted(texts), sorted([before] + acked))
        self.assertEqual(sorted(m["mid"] for m in self.drain_messages(b.session)), sorted(acked))

        self.disk.unfill()
        after = self.send(a, b, msg="after the filler went")["mid"]
        self.assertEqual([m["mid"] for m in self.messages(b.session, 1)], [after])

        self.rtmd.stop()
        # A copy is checked: SQLite resolves the /proc/PID/root link of the namespace case to
        # this process's own root. A stopped rtmd leaves no WAL, so the file is all there is.
        self.assertFalse(os.path.exists(self.disk.path("data", "rtm.db-wal")))
        copy = os.path.join(self.rtmd.tmp, "copy.db")
        shutil.copyfile(self.disk.path("data", "rtm.db"), copy)
        db = sqlite3.connect(copy)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        finally:
            db.close()
        self.rtmd.start()
        self.c.close()
        texts = self.history_texts(a, b)
        self.assertEqual(sorted(texts), sorted([before, after] + acked))
        self.assertFalse(set(texts.values()) & set(refused), "a refused send was stored")


class TestReads(FullDiskCase):
    def test_reads_and_in_memory_calls_are_served_while_the_disk_is_full(self):
        a, b = self.login(), self.login()
        gid = unique_id()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[a.uid, b.uid]))
        mid = self.send(a, b, msg="kept")["mid"]
        t = self.assertOk(self.c.server("file.token", cmd="sendfile", to=b.uid,
                                        **{"from": a.uid}))["token"]
        data = os.urandom(5000)
        status, _, up = self.c.request("POST", "/v1/files/upload?token=" + t, body=data)
        self.assertEqual(status, 200, up)
        url = json.loads(up)["file"]["url"]
        self.wedge()
        status, _, got = self.c.get(url[url.index("/v1/"):])
        self.assertEqual((status, got), (200, data))
        self.assertEqual(self.history_texts(b, a)[mid], "kept")
        self.assertEqual([m["mid"] for m in self.drain_messages(b.session)][0], mid)
        self.assertEqual(self.assertOk(self.c.server("group.members", gid=gid))["uids"],
                         sorted([a.uid, b.uid]))
        self.assertEqual(self.assertOk(self.c.server("user.online", uids=[a.uid]))["uids"], [a.uid])
        s = self.new_session()  # sessions live in memory
        self.assertOk(self.authorize(s, a))
        self.assertOk(self.c.call("session.subscribe", session=s, topic="group:%d" % gid))
        self.assertEqual(self.c.get("/healthz")[0], 200)

    def test_channels_are_stored_so_a_full_disk_refuses_creates_and_sends_and_polls_go_on(self):
        client_id = unique("chan")
        token = self.assertOk(self.c.server("channel.create", client_id=client_id))["token"]
        self.assertOk(self.c.server("channel.send", client_id=client_id, message="stored"))
        self.wedge()
        fresh = unique("chan")
        self.assertUnavailableFull(self.c.server("channel.create", client_id=fresh))
        self.assertError(self.c.server("channel.info", client_id=fresh), "NotFound")
        self.assertUnavailableFull(self.c.server("channel.send", client_id=client_id,
                                                 message="not stored"))
        self.assertEqual(self.assertOk(self.c.server("channel.info",
                                                     client_id=client_id))["pending"], 1)
        got = self.assertOk(self.c.call("channel.poll", token=token, timeout=0))["messages"]
        self.assertEqual(got, ["stored"])


class TestUploads(FullDiskCase):
    def upload(self, token, data):
        status, _, body = self.c.request("POST", "/v1/files/upload?token=" + token, body=data,
                                         headers={"Content-Type": "application/octet-stream"})
        return status, json.loads(body)

    def token(self, a, b):
        return self.assertOk(self.c.call("file.token", session=a.session, cmd="sendfile",
                                         to=b.uid))["token"]

    def files(self):
        return [f["id"] for f in self.assertOk(self.c.server("files.list", limit=1000))["files"]]

    def test_uploads_on_a_full_disk_answer_unavailable_and_leave_nothing(self):
        a, b = self.login(), self.login()
        self.assertEqual(self.upload(self.token(a, b), os.urandom(3000))[0], 200)
        self.drain_messages(b.session)
        files, blobs = self.files(), self.blob_names()
        tokens = [self.token(a, b), self.token(a, b)]  # stored before the disk fills
        self.wedge()
        # a token is stored too: none can be made now
        self.assertUnavailableFull(self.c.call("file.token", session=a.session, cmd="sendfile",
                                               to=b.uid))
        fresh = os.urandom(300_000)
        for token, data in zip(tokens, (fresh, b"1")):  # the temporary file cannot take a byte
            with self.subTest(size=len(data)):
                body = self.assertUnavailableFull(self.upload(token, data))
                self.assertNotIn(self.disk.dir, body["msg"], "a path of the server in an answer")
                self.assertEqual(os.listdir(self.disk.path("data", "files", "tmp")), [])
        self.assertEqual(self.files(), files)
        self.assertEqual(self.blob_names(), blobs)
        self.assertEqual(self.drain_messages(b.session), [])
        self.disk.unfill()
        status, body = self.upload(self.token(a, b), fresh)
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.files()), len(files) + 1)
        self.assertEqual([m["mid"] for m in self.messages(b.session, 1)], [body["mid"]])

    def blob_names(self):
        root = self.disk.path("data", "files")
        return sorted(f for d, _, fs in os.walk(root) if not d.endswith("tmp") for f in fs)


class TestChanges(FullDiskCase):
    def test_user_group_room_and_ban_changes_on_a_full_disk_change_nothing(self):
        u1, u2 = self.login(), self.login()
        gid, rid = unique_id(), unique_id()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[u1.uid]))
        self.assertOk(self.c.call("session.subscribe", session=u1.session, topic="room:%d" % rid))
        self.drain_messages(u1.session)
        login = unique("full")
        self.wedge()

        refused = [
            ("user.add", dict(login=login, password="pw")),
            ("user.set_password", dict(uid=u1.uid, password="new-password")),
            ("user.delete", dict(uid=u2.uid)),
            ("group.add_members", dict(gid=gid, uids=[u2.uid])),
            ("group.del_members", dict(gid=gid, uids=[u1.uid])),
            ("room.add_member", dict(rid=rid, uid=u2.uid)),
            ("room.del_member", dict(rid=rid, uid=u1.uid)),
            ("group.ban", dict(gid=gid, uid=u1.uid)),
        ]
        for method, params in refused:
            with self.subTest(method=method):
                self.assertUnavailableFull(self.c.server(method, params))
        with self.subTest(method="session.subscribe room"):
            self.assertUnavailableFull(self.c.call("session.subscribe", session=u2.session,
                                                   topic="room:%d" % rid))

        # Nothing of it happened, in memory or on disk.
        def unchanged():
            self.assertEqual(self.assertOk(self.c.server("group.members", gid=gid))["uids"],
                             [u1.uid])
            self.assertEqual(self.assertOk(self.c.server("room.members", rid=rid))["uids"],
                             [u1.uid])
            self.assertEqual(self.assertOk(self.c.server("group.bans", gid=gid))["bans"], [])
            self.assertOk(self.c.server("user.token", uid=u2.uid))  # not deleted
            s = self.new_session()
            self.assertOk(self.authorize(s, u1, mode="multi"))  # the old password
        unchanged()
        self.disk.unfill()
        unchanged()
        # The room subscription refused on the full disk was taken back: a room message
        # reaches u1 only; u1 is still subscribed.
        self.assertOk(self.c.call("message.send_room", session=u1.session, rid=rid, mtype=30,
                                  msg="room after"))
        self.assertEqual([m["msg"] for m in self.messages(u1.session, 1)], ["room after"])
        self.assertEqual(self.drain_messages(u2.session), [])
        # And each change works now that there is space.
        self.assertOk(self.c.server("user.add", login=login, password="pw"))
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[u2.uid]))
        self.assertOk(self.c.call("session.subscribe", session=u2.session, topic="room:%d" % rid))
        self.assertEqual(self.assertOk(self.c.server("room.members", rid=rid))["uids"],
                         sorted([u1.uid, u2.uid]))


class TestWebhooks(FullDiskCase):
    def test_webhook_events_wait_in_memory_while_the_outbox_cannot_be_written(self):
        u = self.new_user()
        self.wedge()
        s = self.new_session()
        self.assertOk(self.authorize(s, u))  # logging in writes nothing: user.online is made
        deadline = time.monotonic() + 10
        while "webhook.outbox_unwritable" not in self.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("webhook.outbox_unwritable", self.log())
        with self.receiver.lock:
            self.assertNotIn(u.uid, [b.get("uid") for _, b, _, _ in self.receiver.accepted])
        self.disk.unfill()
        self.assertTrue(self.receiver.wait_for(
            lambda acc: any(b["type"] == "user.online" and b["uid"] == u.uid
                            for _, b, _, _ in acc)),
            "the user.online made while the disk was full never arrived")
        self.assertRegex(self.log(), r"webhook\.outbox_writable written=\d+ dropped=0")


if __name__ == "__main__":
    unittest.main()
