"""TLS (docs/semantics.md "TLS"): with --tls-cert/--tls-key rtmd serves HTTPS and WSS on its
listener, TLS 1.2 and 1.3 only with forward-secret AEAD ciphers, answers plain HTTP on that
port with a 400 and a close, and reads the certificate again on SIGHUP without dropping the
connections already open. Every transport works over it: calls, WebSocket sessions, SSE,
channel and server-event sockets, file uploads and downloads, and the CLI. The certificates
are made by each test with openssl; the clients verify them (hostname included)."""

import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import unittest
import urllib.parse

from rtmd_harness import (ERRORS, Rtmd, RtmdTestCase, client_tls_context, free_port, http_get,
                          make_certificate)
from test_sse import SseStream
from ws_client import WsClient


def peer_certificate(port, ssl_context):
    """The DER certificate the server presents to a new connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ssl_context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def der_of(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def openssl_handshake(port, *args):
    """Runs `openssl s_client` with args against the port: (returncode, output)."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", "localhost", *args],
                       input=b"", capture_output=True, timeout=15)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


class TlsCase(RtmdTestCase):
    rtmd_tls = True

    def ws(self, path="/v1/ws", **kw):
        return WsClient(self.rtmd.port, path=path, ssl_context=self.rtmd.ssl_context, **kw)


class TestHttpsAndWss(TlsCase):
    def test_calls_over_https_deliver_a_message_end_to_end(self):
        a, b = self.login(), self.login()
        sent = self.assertOk(self.c.call("message.send", session=a.session, to=b.uid, mtype=30,
                                         msg="over tls"))
        got = self.messages(b.session, 1)
        self.assertEqual([(m["mid"], m["msg"]) for m in got], [(sent["mid"], "over tls")])

    def test_websocket_session_over_wss_gets_its_events_pushed(self):
        a, b = self.login(), self.login()
        with self.ws() as w:
            self.assertEqual(w.call("session.attach", session=b.session)["rc"], 0)
            self.assertOk(self.c.call("message.send", session=a.session, to=b.uid, mtype=30,
                                      msg="pushed over wss"))
            event = w.event(timeout=5)
            self.assertEqual((event["type"], event["message"]["msg"]),
                             ("message", "pushed over wss"))
            self.assertEqual(w.close(), 1000)

    def test_server_sent_events_over_https(self):
        a, b = self.login(), self.login()
        sse = SseStream(self.rtmd.port, "/v1/events?session=" + b.session,
                        ssl_context=self.rtmd.ssl_context)
        try:
            self.assertEqual(sse.status, 200)
            self.assertOk(self.c.call("message.send", session=a.session, to=b.uid, mtype=30,
                                      msg="streamed"))
            deadline = time.monotonic() + 5
            data = None
            while data is None and time.monotonic() < deadline:
                for line in sse.next_block(timeout=5):
                    if line.startswith("data: "):
                        data = json.loads(line[6:])
            self.assertEqual((data["type"], data["message"]["msg"]), ("message", "streamed"))
        finally:
            sse.sock.close()

    def test_channel_socket_and_server_event_socket_over_wss(self):
        created = self.assertOk(self.c.server("channel.create", client_id="tls-chan"))
        with self.ws("/v1/channel?token=" + urllib.parse.quote(created["token"])) as ch, \
                self.ws("/v1/server/ws",
                        headers={"Authorization": "Bearer " + self.rtmd.api_key}) as server:
            self.assertOk(self.c.server("channel.send", client_id="tls-chan", message="m1"))
            _, msg = ch.read_message(timeout=5)
            self.assertEqual(json.loads(msg), {"message": "m1"})
            # the channel's presence reaches the server event socket
            seen = []
            deadline = time.monotonic() + 5
            while "channel.connected" not in seen and time.monotonic() < deadline:
                seen.append(json.loads(server.read_message(timeout=5)[1])["event"]["type"])
            self.assertIn("channel.connected", seen)

    def test_file_upload_and_download_over_https(self):
        a, b = self.login(), self.login()
        t = self.assertOk(self.c.call("file.token", session=a.session, cmd="sendfile", to=b.uid))
        self.assertTrue(t["endpoint"].startswith("https://127.0.0.1:%d/" % self.rtmd.port),
                        t["endpoint"])
        data = os.urandom(300_000)
        status, _, body = self.c.request("POST", "/v1/files/upload?token=" + t["token"], data,
                                         {"Content-Type": "application/octet-stream",
                                          "X-Rtm-File-Name": "tls.bin"})
        self.assertEqual(status, 200, body)
        f = json.loads(body)["file"]
        self.assertEqual(f["sha256"], hashlib.sha256(data).hexdigest())
        u = urllib.parse.urlsplit(f["url"])
        self.assertEqual(u.scheme, "https")
        status, _, got = self.c.request("GET", u.path + "?" + u.query)
        self.assertEqual((status, got), (200, data))

    def test_an_answer_larger_than_a_tls_record_arrives_whole(self):
        # The head and a body over 16 KiB go out in one gathered write (a TLS record holds
        # 16 KiB): the whole body must follow the head.
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "sdk", "js", "rtm.js"),
                  "rb") as f:
            sdk = f.read()
        self.assertGreater(len(sdk), 2 * 16384)
        status, headers, body = self.c.request("GET", "/sdk/rtm.js")
        self.assertEqual((status, len(body)), (200, len(sdk)))
        self.assertEqual(body, sdk)

    def test_events_taken_by_a_poll_whose_tls_client_left_come_again_without_after(self):
        # A TLS client leaves with close_notify, then FIN: the close_notify is data in the
        # socket, so rtmd must not take it for a client still there.
        a, b = self.login(), self.login()
        self.events(b.session)
        raw = socket.create_connection(("127.0.0.1", self.rtmd.port), timeout=5)
        tls = self.rtmd.ssl_context.wrap_socket(raw, server_hostname="127.0.0.1")
        body = json.dumps({"session": b.session, "timeout": 10}).encode()
        tls.sendall(b"POST /v1/session.get_events HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body))
        deadline = time.monotonic() + 5
        while self.metric("rtm_long_polls_waiting") < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        tls.setblocking(False)
        try:
            tls.unwrap()  # close_notify, without waiting for rtmd's
        except (ssl.SSLWantReadError, ssl.SSLError, OSError):
            pass
        tls.close()  # FIN (raw was detached by wrap_socket)
        self.assertOk(self.c.call("message.send", session=a.session, to=b.uid, mtype=30,
                                  msg="not lost"))
        self.assertEqual([m["msg"] for m in self.messages(b.session, 1)], ["not lost"])

    def metric(self, name):
        status, _, body = self.c.request("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def test_plain_http_on_the_tls_port_gets_400_and_a_close(self):
        with socket.create_connection(("127.0.0.1", self.rtmd.port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break  # closed after the answer
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 400 "), head)
        self.assertEqual(json.loads(body)["rc"], ERRORS["InvalidRequest"][0])
        self.assertIn("https", json.loads(body)["msg"])

    def test_tls13_is_negotiated_and_tls12_uses_a_forward_secret_aead_cipher(self):
        with socket.create_connection(("127.0.0.1", self.rtmd.port), timeout=5) as raw:
            with self.rtmd.ssl_context.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                self.assertEqual(t.version(), "TLSv1.3")
        ctx12 = client_tls_context(self.rtmd.tls_cert)
        ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", self.rtmd.port), timeout=5) as raw:
            with ctx12.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                name, version, _ = t.cipher()
                self.assertEqual(version, "TLSv1.2")
                self.assertTrue(name.startswith(("ECDHE-", "DHE-")), name)
                self.assertTrue("GCM" in name or "CHACHA20" in name, name)

    def test_tls_1_0_and_1_1_are_refused(self):
        for flag in ("-tls1", "-tls1_1"):
            rc, out = openssl_handshake(self.rtmd.port, flag, "-cipher", "DEFAULT@SECLEVEL=0")
            self.assertNotEqual(rc, 0, "handshake with %s succeeded:\n%s" % (flag, out))
            self.assertNotIn("Cipher is ECDHE", out)
        rc, out = openssl_handshake(self.rtmd.port, "-tls1_2")
        self.assertEqual(rc, 0, out)

    def test_a_cipher_without_forward_secrecy_is_refused(self):
        ctx = client_tls_context(self.rtmd.tls_cert)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("AES128-SHA:AES256-GCM-SHA384")  # RSA key exchange only
        with socket.create_connection(("127.0.0.1", self.rtmd.port), timeout=5) as raw:
            with self.assertRaises(ssl.SSLError):
                ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    def test_a_client_that_does_not_trust_the_certificate_is_refused_by_itself(self):
        # the default context trusts the system's CAs only: our self-made certificate fails
        with socket.create_connection(("127.0.0.1", self.rtmd.port), timeout=5) as raw:
            with self.assertRaises(ssl.SSLCertVerificationError):
                ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
        self.assertEqual(http_get(self.rtmd.port, "/healthz",
                                  ssl_context=self.rtmd.ssl_context)[0], 200)

    def test_cli_over_https_with_its_ca_file(self):
        cli = os.environ.get("RTM_CLI")
        if not cli:
            self.skipTest("RTM_CLI is not set")
        url = "https://127.0.0.1:%d" % self.rtmd.port
        env = {k: v for k, v in os.environ.items() if not k.startswith("RTM_")}
        ok = subprocess.run([cli, "--url", url, "--ca", self.rtmd.tls_cert, "health"], env=env,
                            capture_output=True, text=True, timeout=30)
        self.assertEqual((ok.returncode, ok.stdout.strip()), (0, "ok"), ok.stderr)
        added = subprocess.run([cli, "--url", url, "--ca", self.rtmd.tls_cert, "--api-key",
                                self.rtmd.api_key, "user", "add", "cli-tls-user", "--password",
                                "secret-cli"], env=env, capture_output=True, text=True,
                               timeout=30)
        self.assertEqual(added.returncode, 0, added.stderr)
        # without the CA the certificate is not trusted: no answer, exit 2, and it says why
        bad = subprocess.run([cli, "--url", url, "health"], env=env, capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(bad.returncode, 2, bad.stdout)
        self.assertIn("certificate", bad.stderr.lower())


class TestCertificateReload(unittest.TestCase):
    def setUp(self):
        self.rtmd = Rtmd(tls=True, log_level="info")
        self.rtmd.start()
        self.addCleanup(self.rtmd.cleanup)

    def wait_for_log(self, text, count, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.rtmd.stderr().count(text) >= count:
                return
            time.sleep(0.05)
        self.fail("no %r line %d in the log:\n%s" % (text, count, self.rtmd.stderr()[-3000:]))

    def test_sighup_serves_the_new_certificate_and_keeps_open_connections(self):
        r = self.rtmd
        first = der_of(r.tls_cert)
        self.assertEqual(peer_certificate(r.port, r.ssl_context), first)
        c = r.client()
        user = c.server("user.add", login="reload-user", password="secret-ru")[1]
        session = c.call("session.create")[1]["session"]
        self.assertEqual(c.call("session.authorize", session=session, login="reload-user",
                                password="secret-ru")[1]["rc"], 0)
        w = WsClient(r.port, ssl_context=r.ssl_context)
        self.assertEqual(w.call("session.attach", session=session)["rc"], 0)

        # an ACME client renews: new files in place, then SIGHUP
        new_cert, new_key = make_certificate(r.tmp, name="renewed", cn="renewed.localhost")
        os.replace(new_cert, r.tls_cert)
        os.replace(new_key, r.tls_key)
        r.send_signal(signal.SIGHUP)
        self.wait_for_log("tls.reloaded", 1)
        renewed = der_of(r.tls_cert)
        self.assertNotEqual(renewed, first)
        self.assertEqual(peer_certificate(r.port, client_tls_context(r.tls_cert)), renewed)

        # the socket opened before the reload still pushes
        c.close()  # a new connection must trust the renewed certificate
        r.ssl_context = client_tls_context(r.tls_cert)
        c2 = r.client()
        self.assertEqual(c2.server("message.send", **{"from": 0, "to": user["uid"], "mtype": 30,
                                                      "msg": "after reload"})[1]["rc"], 0)
        event = w.event(timeout=5)
        self.assertEqual(event["message"]["msg"], "after reload")
        w.close()
        r.stop()

    def test_a_failed_reload_keeps_the_old_certificate_and_says_why(self):
        r = self.rtmd
        first = der_of(r.tls_cert)
        with open(r.tls_cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        r.send_signal(signal.SIGHUP)
        self.wait_for_log("tls.reload_failed", 1)
        self.assertIn(r.tls_cert, r.stderr())
        self.assertEqual(peer_certificate(r.port, r.ssl_context), first)
        r.stop()


class TestTlsStartErrors(unittest.TestCase):
    def start_fails(self, *args):
        r = Rtmd(args=args)
        self.addCleanup(r.cleanup)
        r.port = free_port()
        r.spawn()
        self.assertEqual(r.wait(10), 2, r.stderr())
        lines = [l for l in r.stderr().splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr())
        return lines[0], r

    def test_a_missing_certificate_file_exits_2_naming_it(self):
        line, r = self.start_fails("--tls-cert", "/nonexistent/cert.pem", "--tls-key",
                                   "/nonexistent/key.pem")
        self.assertIn("/nonexistent/cert.pem", line)

    def test_a_key_that_does_not_match_exits_2(self):
        r0 = Rtmd()
        self.addCleanup(r0.cleanup)
        cert_a, _ = make_certificate(r0.tmp, "a")
        _, key_b = make_certificate(r0.tmp, "b")
        line, _ = self.start_fails("--tls-cert", cert_a, "--tls-key", key_b)
        self.assertIn(key_b, line)
        self.assertIn("mismatch", line)

    def test_a_certificate_without_its_key_exits_2(self):
        line, _ = self.start_fails("--tls-cert", "/tmp/x.pem")
        self.assertIn("--tls-key", line)


if __name__ == "__main__":
    unittest.main()
