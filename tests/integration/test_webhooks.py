"""Webhooks (docs/semantics.md "Webhooks"): [[webhook]] receivers get the server events
they asked for, signed (X-Rtm-Signature: sha256=HMAC of the body), each with an event id;
failures are retried with backoff, delivery is at-least-once across a restart of rtmd, events
that use up their attempts are dead letters (webhooks.failed, /metrics, rtm webhooks
failed), and a receiver that hangs does not hold up message delivery. https receivers are
verified (the system's CA store, or --webhook-ca). A real HTTP(S) receiver runs in the test."""

import hashlib
import hmac
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from rtmd_harness import Client, Rtmd, RtmdTestCase, free_port, make_certificate

SECRET = "s3cret-hook"


class Receiver:
    """An HTTP receiver on a free port. mode: 'ok', 'flaky' (the first `fail_first` tries of
    each event id answer 500), 'down' (always 503), 'hang' (never answers in time)."""

    def __init__(self, mode="ok", fail_first=2, tls=None):
        """tls: (cert, key) to serve https with."""
        self.mode = mode
        self.tls = tls
        self.paths = []        # request targets as received
        self.fail_first = fail_first
        self.tries = {}        # event id -> tries seen
        self.accepted = []     # (event id, body dict, raw body, signature) answered 2xx
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                eid = self.headers.get("X-Rtm-Event-Id")
                with receiver.lock:
                    receiver.paths.append(self.path)
                    n = receiver.tries[eid] = receiver.tries.get(eid, 0) + 1
                    mode = receiver.mode
                if mode == "hang":
                    time.sleep(5)
                    return
                fail = mode == "down" or (mode == "flaky" and n <= receiver.fail_first)
                self.send_response(503 if mode == "down" else 500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if not fail:
                    with receiver.lock:
                        receiver.accepted.append((eid, json.loads(raw), raw,
                                                  self.headers.get("X-Rtm-Signature")))

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self):
        return "%s://127.0.0.1:%d/hook" % ("https" if self.tls else "http", self.port)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, pred, timeout=15.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if pred(list(self.accepted)):
                    return True
            time.sleep(0.05)
        return False


class WebhookCase(RtmdTestCase):
    rtmd_args = ()

    def rtmd_with(self, hooks, retry_base_ms=50, args=()):
        r = Rtmd()
        self.addCleanup(r.cleanup)
        conf = os.path.join(r.tmp, "rtm.toml")
        with open(conf, "w") as f:
            f.write("webhook_retry_base = %d\n" % retry_base_ms)
            for h in hooks:
                f.write("[[webhook]]\n")
                for k, v in h.items():
                    f.write("%s = %s\n" % (k, json.dumps(v)))
        r.args = ["--config", conf, *args]
        r.start()
        c = Client(r)
        self.addCleanup(c.close)
        return r, c

    def wait_failed(self, c, timeout=10.0):
        """The dead letters of webhooks.failed once there is at least one (or [] when none came
        within timeout)."""
        end = time.monotonic() + timeout
        while True:
            failed = self.assertOk(c.server("webhooks.failed"))["failed"]
            if failed or time.monotonic() >= end:
                return failed
            time.sleep(0.1)

    def login(self, c, rtmd):
        login = "hook-%s" % os.urandom(4).hex()
        uid = self.assertOk(c.server("user.add", login=login, password="pw-" + login))["uid"]
        s = self.assertOk(c.call("session.create"))["session"]
        self.assertOk(c.call("session.authorize", session=s, login=login, password="pw-" + login))
        return uid, s


class TestDelivery(WebhookCase):
    def test_signed_events_are_retried_and_survive_a_restart(self):
        rx = Receiver("flaky", fail_first=2)
        self.addCleanup(rx.close)
        r, c = self.rtmd_with([{"url": rx.url(), "events": ["user.online"], "secret": SECRET,
                                "timeout": 2}])
        first = [self.login(c, r)[0] for _ in range(3)]
        self.assertTrue(rx.wait_for(lambda acc: len({b["uid"] for _, b, _, _ in acc}) >= 3),
                        "the first events did not arrive")
        with rx.lock:
            accepted = list(rx.accepted)
            tries = dict(rx.tries)
        for eid, body, raw, sig in accepted:
            self.assertEqual(body["type"], "user.online")
            self.assertEqual(str(body["id"]), eid)
            want = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            self.assertTrue(hmac.compare_digest(sig, want), (sig, want))
            self.assertEqual(tries[eid], 3)  # two failures, then taken
        self.assertEqual(sorted(b["uid"] for _, b, _, _ in accepted), sorted(first))

        # The receiver goes down; events keep coming; rtmd restarts; the receiver comes back.
        rx.mode = "down"
        later = [self.login(c, r)[0] for _ in range(3)]
        time.sleep(0.5)
        r.stop()
        rx.mode = "ok"
        r.start(port=r.port)
        c.close()
        self.assertTrue(rx.wait_for(
            lambda acc: set(later) <= {b["uid"] for _, b, _, _ in acc}, timeout=20),
            "events sent while the receiver was down were lost across the restart")
        metrics = c.request("GET", "/metrics")[2].decode()
        self.assertRegex(metrics, r"rtm_webhook_delivered_total [1-9]")

    def test_a_hanging_receiver_does_not_hold_up_messages(self):
        rx = Receiver("hang")
        self.addCleanup(rx.close)
        r, c = self.rtmd_with([{"url": rx.url(), "events": ["*"], "secret": SECRET,
                                "timeout": 1}])
        a, sa = self.login(c, r)
        b, sb = self.login(c, r)
        for i in range(5):
            t0 = time.monotonic()
            self.assertOk(c.call("message.send", session=sa, to=b, mtype=30, msg="m%d" % i))
            evs = self.assertOk(c.call("session.get_events", session=sb, timeout=5))["events"]
            self.assertTrue(any(e["type"] == "message" for e in evs))
            self.assertLess(time.monotonic() - t0, 1.0)


class TestHttpsReceivers(WebhookCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="rtm-it-hook-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.cert, self.key = make_certificate(self.tmp, "receiver")

    def test_an_https_receiver_trusted_through_webhook_ca_gets_signed_events_with_its_query(self):
        rx = Receiver("ok", tls=(self.cert, self.key))
        self.addCleanup(rx.close)
        r, c = self.rtmd_with([{"url": rx.url() + "?tenant=t1", "events": ["user.online"],
                                "secret": SECRET, "timeout": 2}],
                              args=("--webhook-ca", self.cert))
        uid, _ = self.login(c, r)
        self.assertTrue(rx.wait_for(lambda acc: any(b["uid"] == uid for _, b, _, _ in acc)),
                        "the event did not reach the https receiver")
        with rx.lock:
            eid, body, raw, sig = rx.accepted[0]
            self.assertEqual(rx.paths[0], "/hook?tenant=t1")
        self.assertEqual(sig, "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest())

    def test_an_https_receiver_whose_certificate_is_not_trusted_gets_nothing(self):
        rx = Receiver("ok", tls=(self.cert, self.key))
        self.addCleanup(rx.close)
        r, c = self.rtmd_with([{"url": rx.url(), "events": ["user.online"], "secret": SECRET,
                                "timeout": 2, "max_attempts": 2}])  # the system's CAs only
        self.login(c, r)
        failed = self.wait_failed(c)
        self.assertEqual(len(failed), 1, failed)
        self.assertIn("certificate", failed[0]["error"].lower())
        with rx.lock:
            self.assertEqual(rx.accepted, [])

    def test_an_unreadable_webhook_ca_refuses_to_start(self):
        r = Rtmd(args=["--webhook-ca", os.path.join(self.tmp, "none.pem")])
        self.addCleanup(r.cleanup)
        r.port = free_port()
        r.spawn()
        self.assertEqual(r.wait(5), 2)
        self.assertIn("none.pem", r.stderr())


class TestDeadLetters(WebhookCase):
    def test_events_that_use_up_their_attempts_are_listed(self):
        port = free_port()  # nothing listens: every attempt is refused
        r, c = self.rtmd_with([{"url": "http://127.0.0.1:%d/none" % port,
                                "events": ["user.online"], "secret": SECRET, "timeout": 1,
                                "max_attempts": 2}])
        uid, _ = self.login(c, r)
        failed = self.wait_failed(c)
        self.assertEqual(len(failed), 1, failed)
        f = failed[0]
        self.assertEqual((f["attempts"], f["event"]["type"], f["event"]["uid"]),
                         (2, "user.online", uid))
        self.assertTrue(f["url"].endswith("/none"))
        self.assertTrue(f["error"])
        metrics = c.request("GET", "/metrics")[2].decode()
        self.assertIn("rtm_webhook_dead_letters 1", metrics)
        cli = os.environ.get("RTM_CLI") or os.path.join(os.path.dirname(r.binary), "rtm")
        out = subprocess.run([cli, "--url", "http://127.0.0.1:%d" % r.port, "--api-key",
                              r.api_key, "webhooks", "failed"], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("2 attempts", out.stdout)
        self.assertIn("user.online", out.stdout)


class TestWebhookConfig(WebhookCase):
    def test_bad_webhook_tables_refuse_to_start(self):
        for table in ('url = "ftp://x.example/h"\nsecret = "s"\n',
                      'url = "http://x.example/h"\n',
                      'url = "http://x.example/h"\nsecret = "s"\nevents = ["nope"]\n',
                      'url = "http://x.example/h"\nsecret = "s"\ntimeout = 0\n',
                      'url = "http://x.example/h"\nsecret = "s"\ncolour = "red"\n'):
            with self.subTest(table=table):
                r = Rtmd()
                self.addCleanup(r.cleanup)
                conf = os.path.join(r.tmp, "rtm.toml")
                with open(conf, "w") as f:
                    f.write("[[webhook]]\n" + table)
                r.args = ["--config", conf]
                r.port = free_port()
                r.spawn()
                self.assertEqual(r.wait(5), 2)
                self.assertIn("webhook", r.stderr())


if __name__ == "__main__":
    unittest.main()
