"""Files (API.md section 5, docs/semantics.md "Files"): upload tokens for every cmd with the
send's permission rules, streamed uploads into a content-addressed store (the same bytes
once, nothing kept from a refused or cut-off upload), the file message delivered like any
message, signed expiring download links with Range, file.url, and hostile names."""

import hashlib
import json
import os
import re
import socket
import subprocess
import time
import unittest
import urllib.parse

from rtmd_harness import RawSocket, unique_id
from test_messages import MessageCase

LIMIT = 256 * 1024


class FileCase(MessageCase):
    rtmd_args = ("--max-file-size", str(LIMIT))

    def token(self, user=None, **params):
        """file.token as user (a client) or as the server when user is None."""
        if user is None:
            return self.assertOk(self.c.server("file.token", params))
        p = {"session": user.session}
        p.update(params)
        return self.assertOk(self.c.call("file.token", p))

    def upload(self, token, data, headers=None):
        """(status, json) of POST /v1/files/upload?token=T."""
        h = {"Content-Type": "application/octet-stream"}
        h.update(headers or {})
        status, _, body = self.c.request("POST", "/v1/files/upload?token=" + token, body=data,
                                         headers=h)
        return status, json.loads(body)

    def path_of(self, url):
        u = urllib.parse.urlsplit(url)
        self.assertEqual(u.netloc, "127.0.0.1:%d" % self.rtmd.port)
        return u.path + "?" + u.query

    def blobs(self):
        root = os.path.join(self.rtmd.data_dir, "files")
        return sorted(f for d, _, fs in os.walk(root) if not d.endswith("tmp") for f in fs)

    def eventually(self, pred, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return True
            time.sleep(0.02)
        return pred()

    def temp_files(self):
        return os.listdir(os.path.join(self.rtmd.data_dir, "files", "tmp"))


class TestUpload(FileCase):
    def test_p2p_file_arrives_as_a_message_and_downloads_byte_for_byte(self):
        a, b = self.login(), self.login()
        t = self.token(a, cmd="sendfile", to=b.uid)
        self.assertTrue(t["endpoint"].endswith("/v1/files/upload"))
        data = os.urandom(100_000)
        status, body = self.upload(t["token"], data, {"X-Rtm-File-Name": "report.pdf",
                                                      "Content-Type": "application/pdf",
                                                      "X-Rtm-Mtype": "45", "X-Rtm-Attrs": "k=v"})
        self.assertEqual((status, body["rc"]), (200, 0), body)
        f = body["file"]
        self.assertEqual((f["name"], f["size"], f["type"], f["sha256"]),
                         ("report.pdf", len(data), "application/pdf",
                          hashlib.sha256(data).hexdigest()))
        m = self.messages(b.session, 1)[0]
        self.assertEqual((m["mid"], m["mtype"], m["from"], m["attrs"]), (body["mid"], 45, a.uid, "k=v"))
        self.assertEqual(json.loads(m["msg"]), f)
        status, headers, got = self.c.request("GET", self.path_of(f["url"]))
        self.assertEqual((status, got), (200, data))
        self.assertEqual(headers["content-type"], "application/pdf")
        self.assertEqual(headers["etag"], '"%s"' % f["sha256"])
        self.assertIn('filename="report.pdf"', headers["content-disposition"])
        # And in history, like any message.
        hist = self.assertOk(self.c.call("message.history", session=b.session, **{"with": a.uid}))
        self.assertEqual(json.loads(hist["messages"][0]["msg"])["id"], f["id"])

    def test_group_room_many_and_broadcast_files_reach_their_recipients(self):
        a, b, c = self.login(), self.login(), self.login()
        gid = self.group_with(a, b)
        rid = self.room_with(a, c)
        cases = ((dict(cmd="sendgroupfile", gid=gid), b), (dict(cmd="sendroomfile", rid=rid), c),
                 (dict(cmd="sendfiles", to_uids=[b.uid, c.uid]), c))
        for params, receiver in cases:
            with self.subTest(cmd=params["cmd"]):
                t = self.token(a, **params)
                status, body = self.upload(t["token"], params["cmd"].encode())
                self.assertEqual(status, 200, body)
                m = self.messages(receiver.session, 1)[0]
                self.assertEqual(json.loads(m["msg"])["id"], body["file"]["id"])
        for u in (b, c):
            self.events(u.session)  # b also got the sendfiles message
        t = self.token(None, cmd="broadcastfile", **{"from": a.uid})
        status, body = self.upload(t["token"], b"to everyone")
        self.assertEqual(status, 200, body)
        for u in (b, c):
            m = self.messages(u.session, 1)[0]
            self.assertEqual(m["kind"], "broadcast")

    def test_an_upload_is_a_file_uploaded_server_event(self):
        a, b = self.login(), self.login()
        after = self.assertOk(self.c.server("events.poll", timeout=0, after=0))["last"]
        t = self.token(a, cmd="sendfile", to=b.uid)
        body = self.upload(t["token"], b"evented", {"X-Rtm-File-Name": "e.txt"})[1]
        events = self.assertOk(self.c.server("events.poll", timeout=0, after=after))["events"]
        up = [e for e in events if e["type"] == "file.uploaded"]
        self.assertEqual(len(up), 1, events)
        self.assertEqual((up[0]["mid"], up[0]["from"], up[0]["file"]["id"], up[0]["file"]["name"]),
                         (body["mid"], a.uid, body["file"]["id"], "e.txt"))

    def test_the_same_bytes_are_stored_once(self):
        a, b = self.login(), self.login()
        data = b"same bytes " * 1000
        before = self.blobs()
        ids = []
        for _ in range(3):
            t = self.token(a, cmd="sendfile", to=b.uid)
            status, body = self.upload(t["token"], data)
            self.assertEqual(status, 200)
            ids.append(body["file"]["id"])
        self.assertEqual(len(set(ids)), 3)  # three files, one blob
        added = sorted(set(self.blobs()) - set(before))
        self.assertEqual(added, [hashlib.sha256(data).hexdigest()])

    def test_a_token_works_once_and_a_bad_one_never(self):
        a, b = self.login(), self.login()
        t = self.token(a, cmd="sendfile", to=b.uid)
        self.assertEqual(self.upload(t["token"], b"one")[0], 200)
        status, body = self.upload(t["token"], b"two")
        self.assertEqual((status, body["error"]), (401, "InvalidToken"))
        status, body = self.upload("made-up", b"x")
        self.assertEqual((status, body["error"]), (401, "InvalidToken"))
        # Refused before its body is read, a big upload still gets its answer (not a reset).
        status, body = self.upload("made-up", os.urandom(200_000))
        self.assertEqual((status, body["error"]), (401, "InvalidToken"))
        status, _, raw = self.c.request("POST", "/v1/files/upload", body=b"x")
        self.assertEqual((status, json.loads(raw)["error"]), (401, "InvalidToken"))

    def test_tokens_follow_the_send_rules(self):
        a, b = self.login(), self.login()
        gid = self.group_with(b)
        for params, name in ((dict(cmd="sendgroupfile", gid=gid), "PermissionDenied"),
                             (dict(cmd="sendroomfile", rid=unique_id()), "PermissionDenied"),
                             (dict(cmd="broadcastfile"), "PermissionDenied"),
                             (dict(cmd="sendfile", to=unique_id()), "NotFound"),
                             (dict(cmd="sendfile"), "InvalidRequest"),
                             (dict(cmd="sendfiles", to_uids=[]), "InvalidParameter"),
                             (dict(cmd="mail"), "InvalidParameter")):
            with self.subTest(params=params):
                p = {"session": a.session}
                p.update(params)
                self.assertError(self.c.call("file.token", p), name)
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[a.uid]))
        self.assertOk(self.c.server("group.ban", gid=gid, uid=a.uid))
        self.assertError(self.c.call("file.token", session=a.session, cmd="sendgroupfile", gid=gid),
                         "PermissionDenied")

    def test_mtype_outside_40_to_50_is_refused_and_the_token_is_not_spent(self):
        a, b = self.login(), self.login()
        t = self.token(a, cmd="sendfile", to=b.uid)
        for bad in ("30", "51", "x"):
            status, body = self.upload(t["token"], b"x", {"X-Rtm-Mtype": bad})
            self.assertEqual((status, body["error"]), (400, "InvalidParameter"))
        self.assertEqual(self.upload(t["token"], b"x")[0], 200)


class TestHostileUploads(FileCase):
    def test_over_the_limit_by_content_length_is_413_and_nothing_is_kept(self):
        a, b = self.login(), self.login()
        before = self.blobs()
        t = self.token(a, cmd="sendfile", to=b.uid)
        status, body = self.upload(t["token"], os.urandom(LIMIT + 1))
        self.assertEqual((status, body["error"]), (413, "PayloadTooLarge"))
        self.assertEqual(self.blobs(), before)
        self.assertEqual(self.temp_files(), [])
        self.quiet(b.session)

    def test_over_the_limit_in_chunks_is_413_while_streaming_and_nothing_is_kept(self):
        a, b = self.login(), self.login()
        before = self.blobs()
        t = self.token(a, cmd="sendfile", to=b.uid)
        s = RawSocket(self.rtmd.port)
        s.send(b"POST /v1/files/upload?token=%s HTTP/1.1\r\nHost: x\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" % t["token"].encode())
        chunk = os.urandom(64 * 1024)
        try:
            for _ in range(LIMIT // len(chunk) + 2):
                s.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            s.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # rtmd stopped reading: what we expect
        resp = s.read_response()
        self.assertIsNotNone(resp)
        self.assertEqual(resp[0], 413)
        self.assertEqual(self.blobs(), before)
        self.assertEqual(self.temp_files(), [])
        self.quiet(b.session)

    def test_an_upload_cut_off_halfway_leaves_nothing(self):
        a, b = self.login(), self.login()
        before = self.blobs()
        t = self.token(a, cmd="sendfile", to=b.uid)
        s = socket.create_connection(("127.0.0.1", self.rtmd.port))
        s.sendall(b"POST /v1/files/upload?token=%s HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 100000\r\n\r\n" % t["token"].encode() + os.urandom(40_000))
        self.assertTrue(self.eventually(lambda: len(self.temp_files()) == 1),
                        "the upload was not streaming to disk")
        s.close()  # the client lied about Content-Length, or lost its network
        self.assertTrue(self.eventually(lambda: self.temp_files() == []),
                        "the cut-off upload left its temporary file")
        self.assertEqual(self.blobs(), before)
        self.quiet(b.session)

    def test_path_tricks_in_names_are_harmless(self):
        a, b = self.login(), self.login()
        cases = (("../../etc/passwd", "passwd"), ("..\\..\\boot.ini", "boot.ini"),
                 ("a%00b.txt", "ab.txt"), ("..", "file"), ("", "file"),
                 ("%E2%80%AEgpj.exe", "gpj.exe"), ("x" * 1000, "x" * 255),
                 ("%C3%A9t%C3%A9 r%C3%A9sum%C3%A9.pdf", "été résumé.pdf"),
                 ('evil"\r\nSet-Cookie: a=b', "evil\"Set-Cookie: a=b"))
        for raw, want in cases:
            with self.subTest(raw=raw):
                t = self.token(a, cmd="sendfile", to=b.uid)
                try:
                    status, body = self.upload(t["token"], b"data", {"X-Rtm-File-Name": raw})
                except ValueError:  # http.client refuses CR/LF in a header: send it raw
                    s = RawSocket(self.rtmd.port)
                    s.send(("POST /v1/files/upload?token=%s HTTP/1.1\r\nHost: x\r\n"
                            "X-Rtm-File-Name: evil\"\r\nSet-Cookie: a=b\r\n"
                            "Content-Length: 4\r\n\r\ndata" % t["token"]).encode())
                    resp = s.read_response()
                    status, body = resp[0], json.loads(resp[2])
                    want = "evil\""
                self.assertEqual(status, 200, body)
                self.assertEqual(body["file"]["name"], want)
                status, headers, _ = self.c.request("GET", self.path_of(body["file"]["url"]))
                cd = headers["content-disposition"]
                self.assertNotIn("\r", cd)
                self.assertNotIn("\n", cd)
                self.assertNotIn("set-cookie", headers)
        # Whatever the names, the store holds only blobs named by their hash.
        for name in self.blobs():
            self.assertRegex(name, r"^[0-9a-f]{64}$")


class TestDownload(FileCase):
    def sent_file(self, data=None):
        a, b = self.login(), self.login()
        data = data or bytes(range(256)) * 40
        t = self.token(a, cmd="sendfile", to=b.uid)
        status, body = self.upload(t["token"], data, {"X-Rtm-File-Name": "n.bin"})
        self.assertEqual(status, 200)
        return a, b, data, body["file"]

    def test_ranges_answer_206_with_the_bytes_asked(self):
        _, _, data, f = self.sent_file()
        path = self.path_of(f["url"])
        for rng, lo, hi in (("bytes=0-99", 0, 99), ("bytes=100-", 100, len(data) - 1),
                            ("bytes=-10", len(data) - 10, len(data) - 1),
                            ("bytes=5000-999999", 5000, len(data) - 1)):
            with self.subTest(rng=rng):
                status, headers, got = self.c.request("GET", path, headers={"Range": rng})
                self.assertEqual(status, 206)
                self.assertEqual(got, data[lo:hi + 1])
                self.assertEqual(headers["content-range"], "bytes %d-%d/%d" % (lo, hi, len(data)))
        status, headers, _ = self.c.request("GET", path, headers={"Range": "bytes=999999-"})
        self.assertEqual(status, 416)
        self.assertEqual(headers["content-range"], "bytes */%d" % len(data))
        status, headers, got = self.c.request("HEAD", path)
        self.assertEqual((status, headers["content-length"], got), (200, str(len(data)), b""))

    def test_unsigned_tampered_and_expired_links_are_refused(self):
        _, _, _, f = self.sent_file()
        path = self.path_of(f["url"])
        base, _, query = path.partition("?")
        q = dict(urllib.parse.parse_qsl(query))
        status, _, body = self.c.request("GET", base)
        self.assertEqual((status, json.loads(body)["error"]), (401, "InvalidToken"))
        for bad in (dict(q, sig=q["sig"][:-1] + ("A" if q["sig"][-1] != "A" else "B")),
                    dict(q, exp=str(int(q["exp"]) + 3600))):
            status, _, body = self.c.request("GET", base + "?" + urllib.parse.urlencode(bad))
            self.assertEqual((status, json.loads(body)["error"]), (403, "PermissionDenied"))
        other = self.sent_file(b"other")[3]
        status, _, _ = self.c.request("GET", self.path_of(other["url"]).split("?")[0] + "?" + query)
        self.assertEqual(status, 403)  # a signature is for one file only

    def test_file_url_gives_recipients_a_fresh_link_and_nobody_else(self):
        a, b, data, f = self.sent_file()
        for u in (a, b):
            url = self.assertOk(self.c.call("file.url", session=u.session, id=f["id"]))["url"]
            status, _, got = self.c.request("GET", self.path_of(url))
            self.assertEqual((status, got), (200, data))
        stranger = self.login()
        self.assertError(self.c.call("file.url", session=stranger.session, id=f["id"]),
                         "PermissionDenied")
        self.assertError(self.c.call("file.url", session=a.session, id="nope"), "NotFound")
        self.assertOk(self.c.server("file.url", id=f["id"]))


class TestRetention(FileCase):
    rtmd_args = ("--max-file-size", str(LIMIT), "--file-retention", "1")

    def cli(self, *args):
        cli = os.environ.get("RTM_CLI") or os.path.join(os.path.dirname(self.rtmd.binary), "rtm")
        out = subprocess.run([cli, "--url", "http://127.0.0.1:%d" % self.rtmd.port,
                              "--api-key", self.rtmd.api_key, *args],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_old_files_are_forgotten_and_their_bytes_removed_but_shared_bytes_stay(self):
        a, b = self.login(), self.login()
        old = os.urandom(5000)
        t = self.token(a, cmd="sendfile", to=b.uid)
        f_old = self.upload(t["token"], old, {"X-Rtm-File-Name": "old.bin"})[1]["file"]
        listed = self.cli("files", "ls")
        self.assertIn(f_old["id"], listed)
        self.assertIn("old.bin", listed)
        time.sleep(1.2)
        t = self.token(a, cmd="sendfile", to=b.uid)
        f_new = self.upload(t["token"], b"new bytes", {"X-Rtm-File-Name": "new.bin"})[1]["file"]
        out = self.cli("files", "gc", "--grace", "0")
        m = re.match(r"(\d+) files expired, (\d+) blobs removed, (\d+) bytes freed", out)
        self.assertIsNotNone(m, out)
        # This test's old file, and whatever the other test of this rtmd left expired.
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertGreaterEqual(int(m.group(2)), 1)
        self.assertGreaterEqual(int(m.group(3)), 5000)
        self.assertNotIn(f_old["sha256"], self.blobs())
        self.assertIn(f_new["sha256"], self.blobs())
        status, _, body = self.c.request("GET", self.path_of(f_old["url"]))
        self.assertEqual((status, json.loads(body)["error"]), (404, "NotFound"))
        self.assertError(self.c.call("file.url", session=b.session, id=f_old["id"]), "NotFound")
        self.assertEqual(self.c.request("GET", self.path_of(f_new["url"]))[0], 200)
        files = self.assertOk(self.c.server("files.list"))["files"]
        self.assertEqual([f["id"] for f in files], [f_new["id"]])

    def test_gc_keeps_young_unreferenced_bytes_within_the_grace(self):
        a, b = self.login(), self.login()
        t = self.token(a, cmd="sendfile", to=b.uid)
        f = self.upload(t["token"], b"young")[1]["file"]
        time.sleep(1.2)
        body = self.assertOk(self.c.server("files.gc"))  # grace 3600 s by default
        self.assertEqual(body["files_expired"], 1)
        self.assertEqual(body["blobs_removed"], 0)
        self.assertIn(f["sha256"], self.blobs())


if __name__ == "__main__":
    unittest.main()
