"""The data dir (docs/semantics.md "Data directory"): one rtmd at a time holds it (flock on
DATA_DIR/rtmd.lock, released by the kernel when the holder dies), and it is private to the
server's user: the directory and every directory under it 0700, every file 0600, looser modes
left by an earlier run tightened at start with one log line."""

import json
import os
import re
import stat
import unittest

from rtmd_harness import Client, ServersCase, http_get


def modes_under(root):
    """{path: permission bits} for root and everything under it (links not followed)."""
    out = {root: stat.S_IMODE(os.stat(root).st_mode)}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            st = os.lstat(p)
            if not stat.S_ISLNK(st.st_mode):
                out[p] = stat.S_IMODE(st.st_mode)
    return out


def log_lines(r, event):
    return [l for l in (r.stdout() + r.stderr()).splitlines() if event in l]


class DataDirCase(ServersCase):
    def assertPrivate(self, root, skip=()):
        loose = {p: "%04o" % m for p, m in modes_under(root).items()
                 if p not in skip and m != (0o700 if os.path.isdir(p) else 0o600)}
        self.assertEqual(loose, {}, "paths of the data dir that are not 0700 (dirs) / 0600 (files)")

    def send_some(self, r, count=5):
        """A user, a session and count p2p sends to itself; answers the mids."""
        c = Client(r)
        try:
            _, u = c.server("user.add", login="dd-%d" % r.port, password="pw")
            self.assertEqual(u["rc"], 0, u)
            mids = []
            for i in range(count):
                _, s = c.server("message.send", to=u["uid"], mtype=30, msg="m%d" % i,
                                **{"from": u["uid"]})
                self.assertEqual(s["rc"], 0, s)
                mids.append(s["mid"])
            return u["uid"], mids
        finally:
            c.close()


class TestLock(DataDirCase):
    def test_second_rtmd_on_the_same_data_dir_exits_two_naming_the_first(self):
        first = self.rtmd().start()
        uid, _ = self.send_some(first)
        # No --api-key: a second rtmd that got past the lock would write DATA_DIR/api-key.
        second = self.rtmd(data_dir=first.data_dir, api_key=None)
        second.port = first.port + 1 if first.port < 65535 else first.port - 1
        second.spawn()
        rc = second.wait(10)
        if rc is None:
            second.kill9()
            self.fail("a second rtmd on the same data dir kept running")
        lines = [l for l in second.stderr().splitlines() if l.strip()]
        self.assertEqual(rc, 2, lines)
        self.assertEqual(lines, ["rtmd: data dir %s is in use by another rtmd (pid %d, listening on "
                                 "127.0.0.1:%d)" % (first.data_dir, first.proc.pid, first.port)])
        self.assertFalse(os.path.exists(os.path.join(first.data_dir, "api-key")),
                         "the refused rtmd touched the data dir before its lock")
        # The first one goes on serving, reads and writes.
        c = Client(first)
        try:
            _, sent = c.server("message.send", to=uid, mtype=30, msg="after the refusal",
                               **{"from": uid})
            self.assertEqual(sent["rc"], 0, sent)
            _, hist = c.server("message.history", uid=uid, **{"with": uid})
            self.assertEqual(hist["messages"][0]["mid"], sent["mid"])
        finally:
            c.close()
        first.stop()

    def test_lock_file_left_by_a_killed_rtmd_does_not_block_the_next_start(self):
        first = self.rtmd().start()
        uid, mids = self.send_some(first)
        first_pid = first.proc.pid
        first.kill9()
        lock = os.path.join(first.data_dir, "rtmd.lock")
        with open(lock) as f:
            self.assertIn("pid=%d" % first_pid, f.read(), "the lock file names its holder")
        nxt = self.rtmd(data_dir=first.data_dir, api_key=first.api_key).start()
        with open(lock) as f:
            text = f.read()
        self.assertEqual(text, "pid=%d\nlisten=127.0.0.1:%d\n" % (nxt.proc.pid, nxt.port))
        c = Client(nxt)
        try:
            _, hist = c.server("message.history", uid=uid, **{"with": uid})
            self.assertEqual([m["mid"] for m in hist["messages"]], mids[::-1])
        finally:
            c.close()
        nxt.stop()

    def test_a_stopped_rtmd_frees_the_data_dir_for_the_next(self):
        first = self.rtmd().start()
        first.stop()
        nxt = self.rtmd(data_dir=first.data_dir).start()
        self.assertEqual(http_get(nxt.port, "/healthz")[0], 200)
        nxt.stop()


class TestModes(DataDirCase):
    def upload(self, r, uid):
        c = Client(r)
        try:
            _, t = c.server("file.token", cmd="sendfile", to=uid, **{"from": uid})
            self.assertEqual(t["rc"], 0, t)
            status, _, body = c.request("POST", "/v1/files/upload?token=" + t["token"],
                                        body=os.urandom(70_000),
                                        headers={"Content-Type": "application/octet-stream"})
            self.assertEqual(status, 200, body)
            return json.loads(body)["file"]
        finally:
            c.close()

    def test_fresh_data_dir_and_everything_rtmd_writes_in_it_are_private(self):
        old = os.umask(0o022)  # what rtmd inherits must not matter
        try:
            r = self.rtmd(api_key=None).start()
        finally:
            os.umask(old)
        with open(os.path.join(r.data_dir, "api-key")) as f:
            r.api_key = f.read().strip()  # generated: the key file is among the paths checked
        uid, _ = self.send_some(r, count=20)
        f = self.upload(r, uid)
        names = set(modes_under(r.data_dir))
        for want in ("api-key", "rtmd.lock", "rtm.db", "rtm.db-wal", "rtm.db-shm",
                     os.path.join("files", "tmp"),
                     os.path.join("files", f["sha256"][:2], f["sha256"])):
            self.assertIn(os.path.join(r.data_dir, want), names)
        self.assertPrivate(r.data_dir)
        r.stop()
        self.assertPrivate(r.data_dir)

    def test_loose_data_dir_is_tightened_at_start_with_one_log_line(self):
        r = self.rtmd()
        os.makedirs(r.data_dir)
        r.start()
        uid, mids = self.send_some(r)
        self.upload(r, uid)
        r.stop()
        # What an older rtmd (umask 022) or a careless chmod leaves behind.
        for p, m in modes_under(r.data_dir).items():
            os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)
        r.start()
        lines = log_lines(r, "data_dir.tightened")
        self.assertEqual(len(lines), 1, r.stdout() + r.stderr())
        self.assertRegex(lines[0], r"\bpath=%s\b" % re.escape(r.data_dir))
        self.assertRegex(lines[0], r"\bold_mode=0755\b")
        self.assertPrivate(r.data_dir)
        c = Client(r)
        try:
            _, hist = c.server("message.history", uid=uid, **{"with": uid})
            self.assertEqual([m["mid"] for m in hist["messages"] if m["mtype"] == 30], mids[::-1])
        finally:
            c.close()
        r.stop()
        r.start()  # nothing left to tighten: no line
        self.assertEqual(log_lines(r, "data_dir.tightened"), [])
        r.stop()

    def test_a_data_dir_shared_with_other_files_tightens_only_rtmds_and_names_the_rest(self):
        # --data-dir . in a project, or ~: the person's files are not rtmd's to chmod.
        r = self.rtmd()
        os.makedirs(os.path.join(r.data_dir, "site", "css"))
        theirs = {os.path.join(r.data_dir, "notes.txt"): 0o644,
                  os.path.join(r.data_dir, "site"): 0o755,
                  os.path.join(r.data_dir, "site", "css"): 0o775,
                  os.path.join(r.data_dir, "site", "index.html"): 0o664,
                  os.path.join(r.data_dir, "rtm.db.bak"): 0o640}
        for p, m in theirs.items():
            if not os.path.isdir(p):
                with open(p, "w") as f:
                    f.write("theirs")
        for p, m in theirs.items():
            os.chmod(p, m)
        os.chmod(r.data_dir, 0o755)
        r.start()
        uid, _ = self.send_some(r)
        self.upload(r, uid)
        r.stop()
        for p in modes_under(r.data_dir):  # rtmd's own, left loose by an older run
            if p not in theirs:
                os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)
        r.start()
        self.assertEqual({p: "%04o" % stat.S_IMODE(os.stat(p).st_mode) for p in theirs},
                         {p: "%04o" % m for p, m in theirs.items()}, "rtmd changed files not its own")
        foreign = log_lines(r, "data_dir.foreign_loose")
        self.assertEqual(len(foreign), 1, r.stdout() + r.stderr())
        self.assertRegex(foreign[0], r"\bpaths=3\b")  # notes.txt, site, rtm.db.bak: not inside site
        example = re.search(r"\bpath=(\S+)", foreign[0]).group(1)
        self.assertIn(example, [os.path.join(r.data_dir, n) for n in ("notes.txt", "site", "rtm.db.bak")])
        self.assertEqual(len(log_lines(r, "data_dir.tightened")), 1)
        self.assertPrivate(r.data_dir, skip=theirs)
        r.stop()


if __name__ == "__main__":
    unittest.main()
