"""Logs an operator can use (docs/semantics.md "Logs"): rtmd with --log-format json writes
one JSON object a line on stderr, and the lines say who was refused and why (never with a
password, token or key), what was rate limited, what was slow, what every request got
(--access-log), and which settings rtmd started with."""

import json
import os
import secrets
import sqlite3
import time
import unittest
import urllib.parse

from rtmd_harness import Client, RawSocket, Rtmd, RtmdTestCase, free_port, unique
from test_sse import SseStream
from ws_client import HandshakeError, WsClient

WEBHOOK_TOKEN = "hooktok-" + secrets.token_hex(8)
WEBHOOK_SECRET = "hooksecret-" + secrets.token_hex(8)


def parse_lines(text):
    """Every line of text as JSON; raises AssertionError naming the first that is not."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError:
            raise AssertionError("stderr line %d is not JSON: %r" % (n, line))
        if not isinstance(obj, dict):
            raise AssertionError("stderr line %d is not a JSON object: %r" % (n, line))
        out.append(obj)
    return out


class JsonLogCase(RtmdTestCase):
    """One rtmd with JSON logs at info, the access log, a 20 ms slow-call threshold, one
    subscription per session (for cheap RateLimited answers) and a webhook whose receiver is
    not there (port 1), with a token in its URL's query; a send rate the tests never reach,
    for the rtmd.started line, and 127.0.0.1 as a trusted proxy (a request without
    X-Forwarded-For is still 127.0.0.1's)."""

    @classmethod
    def setUpClass(cls):
        cls.rtmd = Rtmd(log_level="info")
        conf = os.path.join(cls.rtmd.tmp, "rtm.toml")
        with open(conf, "w") as f:
            f.write('[[webhook]]\nurl = "http://127.0.0.1:1/hook?token=%s"\nsecret = "%s"\n'
                    'events = ["user.online"]\n' % (WEBHOOK_TOKEN, WEBHOOK_SECRET))
        cls.rtmd.args = ["--config", conf, "--log-format", "json", "--access-log",
                         "--slow-call-ms", "20", "--max-subscriptions-per-session", "1",
                         "--webhook-retry-base", "60000", "--rate-send", "1000/s:50",
                         "--trusted-proxies", "10.0.0.0/8,127.0.0.1"]
        try:
            cls.rtmd.start()
        except BaseException:
            cls.rtmd.cleanup()
            raise
        cls.c = cls.rtmd.client()

    def lines(self):
        return parse_lines(self.rtmd.stderr())

    def wait_line(self, pred, timeout=5.0, what="a log line"):
        """The first line that pred accepts, waiting for it to be written."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines():
                if pred(line):
                    return line
            if time.monotonic() > deadline:
                self.fail("no %s within %.0f s; stderr:\n%s"
                          % (what, timeout, self.rtmd.stderr()[-4000:]))
            time.sleep(0.05)

    def events_named(self, name):
        return [l for l in self.lines() if l.get("event") == name]


class TestJsonLines(JsonLogCase):
    def test_every_stderr_line_is_a_json_object_with_ts_level_and_event(self):
        self.c.call("session.create")
        self.c.post("/v1/server/user.online", {"uids": [1]})  # a refused key: a warn line
        self.wait_line(lambda l: l.get("event") == "call.unauthorized")
        lines = self.lines()
        self.assertGreater(len(lines), 2)
        for line in lines:
            self.assertIsInstance(line.get("ts"), str, line)
            self.assertRegex(line["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(line.get("level"), ("debug", "info", "warn", "error"), line)
            self.assertRegex(line.get("event", ""), r"^[a-z_]+(\.[a-z_]+)+$", line)

    def test_started_line_has_the_effective_settings_and_never_a_key_or_secret(self):
        started = self.wait_line(lambda l: l.get("event") == "rtmd.started")
        self.assertEqual(started["listen"], "127.0.0.1:%d" % self.rtmd.port)
        self.assertEqual(started["data_dir"], self.rtmd.data_dir)
        self.assertEqual(started["store"], "sqlite:%s/rtm.db" % self.rtmd.data_dir)
        self.assertEqual(started["broker"], "local")
        self.assertEqual(started["log_format"], "json")
        self.assertIs(started["access_log"], True)
        self.assertEqual(started["slow_call_ms"], 20)
        self.assertEqual(started["max_subscriptions_per_session"], 1)
        # Every limit under its TOML name, the new ones included.
        self.assertEqual(started["rate_send"], "1000/s:50")
        self.assertEqual(started["rate_session_create"], "off")
        self.assertEqual(started["trusted_proxies"], "10.0.0.0/8,127.0.0.1")
        self.assertEqual(started["unauthorized_session_ttl"], 30)
        self.assertEqual(started["max_unauthorized_sessions_per_address"], 1000)
        self.assertEqual(started["max_unauthorized_sessions"], 100000)
        self.assertRegex(started["webhooks"], r"^http://127\.0\.0\.1:1/…\[[0-9a-f]{8}\]$")
        self.assertIsInstance(started["threads"], int)
        self.assertEqual(started["api_key"], "given")
        log = self.rtmd.stderr()
        self.assertNotIn(self.rtmd.api_key, log)
        self.assertNotIn(WEBHOOK_TOKEN, log)
        self.assertNotIn(WEBHOOK_SECRET, log)


class TestRefusedKeys(JsonLogCase):
    def test_missing_and_wrong_keys_get_different_answers_and_log_lines(self):
        status, body = self.c.post("/v1/server/user.online", {"uids": [1]})
        self.assertEqual((status, body["error"]), (401, "Unauthorized"))
        self.assertTrue(body["msg"].startswith("missing Authorization header"), body)
        wrong = "wrong-" + secrets.token_hex(8)
        status, body = self.c.post("/v1/server/user.online", {"uids": [1]},
                                   {"Authorization": "Bearer " + wrong})
        self.assertEqual((status, body["error"], body["msg"]), (401, "Unauthorized",
                                                                 "wrong API key"))
        # A header that is not Bearer at all is a wrong key too, not a missing one.
        status, body = self.c.post("/v1/server/user.online", {"uids": [1]},
                                   {"Authorization": "Basic dXNlcjpwdw=="})
        self.assertEqual((status, body["msg"]), (401, "wrong API key"))

        refused = lambda reason: lambda l: (l.get("event") == "call.unauthorized" and
                                            l.get("method") == "user.online" and
                                            l.get("reason") == reason)
        line = self.wait_line(refused("missing Authorization header"))
        self.assertEqual((line["level"], line["address"]), ("warn", "127.0.0.1"))
        line = self.wait_line(refused("wrong API key"))
        self.assertEqual(line["address"], "127.0.0.1")
        self.assertNotIn(wrong, self.rtmd.stderr())
        self.assertNotIn("dXNlcjpwdw", self.rtmd.stderr())

    def test_server_event_socket_refusal_says_which_and_is_logged(self):
        with self.assertRaises(HandshakeError) as cm:
            WsClient(self.rtmd.port, path="/v1/server/ws")
        self.assertEqual(cm.exception.status, 401)
        self.assertTrue(cm.exception.json()["msg"].startswith("missing Authorization header"))
        with self.assertRaises(HandshakeError) as cm:
            WsClient(self.rtmd.port, path="/v1/server/ws",
                     headers={"Authorization": "Bearer not-the-key"})
        self.assertEqual(cm.exception.json()["msg"], "wrong API key")
        for reason in ("missing Authorization header", "wrong API key"):
            line = self.wait_line(lambda l: l.get("event") == "call.unauthorized" and
                                  l.get("method") == "/v1/server/ws" and
                                  l.get("reason") == reason)
            self.assertEqual(line["address"], "127.0.0.1")
        self.assertNotIn("not-the-key", self.rtmd.stderr())


class TestFailedLogins(JsonLogCase):
    def failed(self, **match):
        return self.wait_line(lambda l: l.get("event") == "login.failed" and
                              all(l.get(k) == v for k, v in match.items()),
                              what="login.failed line with %r" % (match,))

    def test_wrong_password_line_has_login_and_address_never_the_password(self):
        user = self.new_user()
        wrong = "not-his-password-" + secrets.token_hex(8)
        self.assertError(self.authorize(self.new_session(), user, password=wrong),
                         "AuthorizeFailed")
        line = self.failed(login=user.login)
        self.assertEqual((line["level"], line["address"], line["error"]),
                         ("warn", "127.0.0.1", "AuthorizeFailed"))
        log = self.rtmd.stderr()
        self.assertNotIn(wrong, log)
        self.assertNotIn(user.password, log)

    def test_unknown_login_and_bad_token_are_failed_logins(self):
        ghost = unique("ghost")
        self.assertError(self.c.call("session.authorize", session=self.new_session(),
                                     login=ghost, password="whatever-pw"), "AuthorizeFailed")
        self.failed(login=ghost)
        token = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJ1c2VyIn0." + secrets.token_hex(16)
        self.assertError(self.c.call("session.authorize", session=self.new_session(),
                                     token=token), "InvalidToken")
        line = self.failed(credential="token", error="InvalidToken")
        self.assertNotIn("login", line)
        self.assertNotIn(token.split(".")[2], self.rtmd.stderr())

    def test_a_login_name_that_tries_to_forge_lines_stays_in_its_field(self):
        evil = unique("evil") + '"\n{"level":"error","event":"forged"}'
        self.assertError(self.c.call("session.authorize", session=self.new_session(),
                                     login=evil, password="x-pw"), "AuthorizeFailed")
        self.failed(login=evil)  # the whole name, parsed back from one line
        self.assertEqual(self.events_named("forged"), [])

    def test_the_throttle_refusing_a_login_is_a_failed_login(self):
        user = self.new_user()
        for _ in range(10):  # the throttle's limit (core/node/node_config.hpp login_fail_limit)
            self.assertError(self.authorize(self.new_session(), user, password="wrong-pw"),
                             "AuthorizeFailed")
        # login.failed lines are capped at ten a second: let this second's budget renew so
        # that the throttled attempt gets its own line.
        time.sleep(1.1)
        self.assertError(self.authorize(self.new_session(), user), "RateLimited")
        line = self.failed(login=user.login, error="RateLimited")
        self.assertEqual(line["address"], "127.0.0.1")
        self.assertNotIn(user.password, self.rtmd.stderr())


class TestRateLimits(JsonLogCase):
    def test_a_flood_of_rate_limited_calls_writes_a_line_a_second_and_counts_the_rest(self):
        s = self.new_session()
        self.assertOk(self.c.call("session.subscribe", session=s, topic="presence:1"))
        hits = 200
        for uid in range(2, 2 + hits):
            self.assertError(self.c.call("session.subscribe", session=s,
                                         topic="presence:%d" % uid), "RateLimited")
        # What was held back is reported by a log.suppressed line once its second is over.
        self.wait_line(lambda l: l.get("event") == "log.suppressed" and
                       l.get("of") == "call.rate_limited" and l.get("kind") == "session.subscribe")
        time.sleep(1.2)  # a later second's report, if the flood straddled one
        lines = [l for l in self.events_named("call.rate_limited")
                 if l.get("method") == "session.subscribe"]
        reports = [l for l in self.events_named("log.suppressed")
                   if l.get("of") == "call.rate_limited" and l.get("kind") == "session.subscribe"]
        self.assertGreaterEqual(len(lines), 1)
        self.assertLessEqual(len(lines), 5, "one line a second, not one per hit")
        for line in lines:
            self.assertEqual(line["address"], "127.0.0.1")
            self.assertIn("subscribe to at most", line["msg"])
        counted = len(lines) + sum(l["suppressed"] for l in lines) + sum(r["count"] for r in reports)
        self.assertEqual(counted, hits, "every hit is a line or counted in one")


class TestSlowCalls(JsonLogCase):
    def test_a_call_over_the_threshold_is_logged_and_a_long_poll_wait_is_not(self):
        user = self.login()  # argon2id: far over 20 ms
        line = self.wait_line(lambda l: l.get("event") == "call.slow" and
                              l.get("method") == "session.authorize")
        self.assertGreaterEqual(line["ms"], 20)
        self.assertEqual((line["threshold_ms"], line["address"]), (20, "127.0.0.1"))

        # Each waits a second for nothing, by design.
        self.assertOk(self.get_events(user.session, timeout=1))
        cid = "c-%s" % secrets.token_hex(4)
        token = self.assertOk(self.c.server("channel.create", client_id=cid))["token"]
        self.assertOk(self.c.call("channel.poll", token=token, timeout=1))
        self.assertOk(self.c.server("events.poll", timeout=0))  # take what is there
        self.assertOk(self.c.server("events.poll", timeout=1))
        self.assertOk(self.c.call("session.create"))
        self.wait_line(lambda l: l.get("event") == "http.access" and
                       l.get("path") == "/v1/session.create")
        slow = {l["method"] for l in self.events_named("call.slow")}
        for method in ("session.get_events", "channel.poll", "events.poll"):
            self.assertNotIn(method, slow)


class TestAccessLog(JsonLogCase):
    def test_each_request_has_a_line_without_its_query_string(self):
        secret = "tok-" + secrets.token_hex(12)
        status, _ = self.c.post("/v1/session.create?token=%s&format=json" % secret, {})
        self.assertEqual(status, 200)
        status, _, _ = self.c.request("GET", "/v1/files/12345?exp=1&sig=" + secret)
        status, _ = self.c.post("/v1/no.such_method?token=" + secret, {})
        self.assertEqual(status, 404)
        line = self.wait_line(lambda l: l.get("event") == "http.access" and
                              l.get("path") == "/v1/session.create")
        self.assertEqual((line["method"], line["status"], line["address"]),
                         ("POST", 200, "127.0.0.1"))
        self.assertGreater(line["bytes"], 0)
        self.assertIsInstance(line["ms"], (int, float))
        self.wait_line(lambda l: l.get("event") == "http.access" and
                       l.get("path") == "/v1/no.such_method" and l.get("status") == 404)
        self.assertNotIn(secret, self.rtmd.stderr())
        for line in self.events_named("http.access"):
            self.assertNotIn("?", line["path"], line)
            self.assertNotIn("token=", json.dumps(line))
            self.assertNotIn("sig=", json.dumps(line))


    def access_line(self, path, **fields):
        return self.wait_line(lambda l: l.get("event") == "http.access" and
                              l.get("path") == path and
                              all(l.get(k) == v for k, v in fields.items()),
                              what="an http.access line for %s %r" % (path, fields))

    def test_file_uploads_and_downloads_have_lines_with_their_status_and_bytes(self):
        a, b = self.login(), self.login()
        t = self.assertOk(self.c.call("file.token", session=a.session, cmd="sendfile", to=b.uid))
        data = os.urandom(5000)
        status, _, body = self.c.request("POST", "/v1/files/upload?token=" + t["token"],
                                         body=data,
                                         headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 200, body)
        url = urllib.parse.urlsplit(json.loads(body)["file"]["url"])
        status, _, got = self.c.request("GET", url.path + "?" + url.query)
        self.assertEqual((status, got), (200, data))
        status, _, _ = self.c.request("GET", url.path + "?" + url.query,
                                      headers={"Range": "bytes=10-19"})
        self.assertEqual(status, 206)
        status, _, _ = self.c.request("POST", "/v1/files/upload?token=" + t["token"], body=b"x")
        self.assertEqual(status, 401)  # a token works once

        upload = self.access_line("/v1/files/upload", status=200)
        self.assertEqual((upload["method"], upload["address"]), ("POST", "127.0.0.1"))
        self.assertGreater(upload["bytes"], 0)
        whole = self.access_line(url.path, status=200)
        self.assertEqual(whole["method"], "GET")
        self.assertGreater(whole["bytes"], len(data))  # the head, then every byte of the file
        ranged = self.access_line(url.path, status=206)
        self.assertLess(ranged["bytes"], len(data))
        self.access_line("/v1/files/upload", status=401)
        self.assertNotIn(t["token"], self.rtmd.stderr())
        self.assertNotIn(url.query, self.rtmd.stderr())

    def test_the_event_stream_has_its_line_when_it_ends_with_every_byte_it_sent(self):
        b = self.login()
        stream = SseStream(self.rtmd.port, "/v1/events?session=" + b.session)
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 200)
        self.assertOk(self.c.server("message.send", to=b.uid, mtype=30, msg="m" * 3000))
        self.assertEqual(stream.next_event()[1]["message"]["msg"], "m" * 3000)
        self.assertFalse([l for l in self.events_named("http.access")
                          if l.get("path") == "/v1/events"], "written only when the stream ends")
        self.assertOk(self.c.call("session.destroy", session=b.session))
        self.assertTrue(stream.closed())
        line = self.access_line("/v1/events", status=200)
        self.assertGreater(line["bytes"], 3000)
        bad = SseStream(self.rtmd.port, "/v1/events?session=nosuchsession")
        self.addCleanup(bad.close)
        self.assertEqual(bad.status, 404)
        self.access_line("/v1/events", status=404)

    def test_websocket_upgrades_have_a_line_when_the_handshake_is_done(self):
        w = WsClient(self.rtmd.port)
        self.addCleanup(w.close)
        line = self.access_line("/v1/ws", status=101)
        self.assertEqual((line["method"], line["address"]), ("GET", "127.0.0.1"))
        secret = "chan-" + secrets.token_hex(8)
        with self.assertRaises(HandshakeError):
            WsClient(self.rtmd.port, path="/v1/channel?token=" + secret)
        refused = self.access_line("/v1/channel", status=401)
        self.assertGreater(refused["bytes"], 0)
        self.assertNotIn(secret, self.rtmd.stderr())
        with self.assertRaises(HandshakeError):
            WsClient(self.rtmd.port, path="/v1/server/ws")
        self.access_line("/v1/server/ws", status=401)
        cid = "c-%s" % secrets.token_hex(4)
        token = self.assertOk(self.c.server("channel.create", client_id=cid))["token"]
        ch = WsClient(self.rtmd.port, path="/v1/channel?token=" + token)
        self.addCleanup(ch.close)
        self.access_line("/v1/channel", status=101)

    def test_a_refused_oversized_body_and_a_malformed_request_have_lines_too(self):
        raw = RawSocket(self.rtmd.port)
        try:
            raw.send(b"POST /v1/message.send?token=big HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 9000000\r\n\r\n")
            self.assertEqual(raw.read_response()[0], 413)
        finally:
            raw.close()
        raw = RawSocket(self.rtmd.port)
        try:
            raw.send(b"POST /v1/x HTTP/1.1\r\nContent-Length: zzz\r\n\r\n")
            self.assertEqual(raw.read_response()[0], 400)
        finally:
            raw.close()
        line = self.wait_line(lambda l: l.get("event") == "http.access" and
                              l.get("status") == 413)
        self.assertEqual((line["method"], line["path"]), ("POST", "/v1/message.send"))
        self.wait_line(lambda l: l.get("event") == "http.access" and l.get("status") == 400)


class TestAccessLogBehindAProxy(JsonLogCase):
    def test_the_access_line_names_the_forwarded_client_as_the_call_lines_do(self):
        client = "203.0.113.%d" % (secrets.randbelow(200) + 20)
        login = unique("nobody")
        status, body = self.c.post("/v1/session.authorize",
                                   {"session": self.new_session(), "login": login,
                                    "password": "pw"},
                                   {"X-Forwarded-For": "198.51.100.1, " + client})
        self.assertEqual(body.get("error"), "AuthorizeFailed", body)
        failed = self.wait_line(lambda l: l.get("event") == "login.failed" and
                                l.get("login") == login)
        access = self.wait_line(lambda l: l.get("event") == "http.access" and
                                l.get("path") == "/v1/session.authorize")
        self.assertEqual((failed["address"], access["address"]), (client, client))
        # A body refused before it is read: the same client from the same header.
        raw = RawSocket(self.rtmd.port)
        try:
            raw.send(b"POST /v1/message.send HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " +
                     client.encode() + b"\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 9000000\r\n\r\n")
            self.assertEqual(raw.read_response()[0], 413)
        finally:
            raw.close()
        refused = self.wait_line(lambda l: l.get("event") == "http.access" and
                                 l.get("status") == 413)
        self.assertEqual(refused["address"], client)


class TestUnavailable(JsonLogCase):
    def test_an_unavailable_answer_is_a_call_unavailable_line_beside_the_stores_own(self):
        # Another process holds SQLite's write lock past rtmd's busy timeout (5 s): a real
        # store failure, answered Unavailable.
        db = sqlite3.connect(os.path.join(self.rtmd.data_dir, "rtm.db"), isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            status, body = self.c.server("user.add", login=unique("busy"), password="pw-busy")
        finally:
            db.close()
        self.assertEqual((status, body.get("error")), (503, "Unavailable"), body)
        call = self.wait_line(lambda l: l.get("event") == "call.unavailable")
        self.assertEqual(call["level"], "error")
        self.assertEqual(call["method"], "user.add")
        self.assertEqual(call["address"], "127.0.0.1")
        self.assertEqual(call["msg"], body["msg"])
        # The store's own line has its own name and fields: the Store call and SQLite's text.
        store = self.wait_line(lambda l: l.get("event") == "store.error")
        self.assertIn("op", store)
        self.assertNotIn("method", store)


class TestWebhookErrors(JsonLogCase):
    def test_a_failed_delivery_is_logged_with_its_url_redacted(self):
        self.login()  # user.online goes to the webhook, whose receiver is not there
        line = self.wait_line(lambda l: l.get("event") == "webhook.failed", timeout=10)
        self.assertEqual(line["level"], "warn")
        self.assertRegex(line["url"], r"^http://127\.0\.0\.1:1/…\[[0-9a-f]{8}\]$")
        self.assertEqual(line["attempts"], 1)
        self.assertIsInstance(line["id"], int)
        self.assertTrue(line["error"], line)
        self.assertGreater(line["retry_in_ms"], 0)
        log = self.rtmd.stderr()
        self.assertNotIn(WEBHOOK_TOKEN, log)
        self.assertNotIn(WEBHOOK_SECRET, log)


class TestWebhookLinesHeldBack(JsonLogCase):
    def test_a_flood_of_failed_deliveries_is_counted_and_the_rest_reported_each_second(self):
        events = 30
        tokens = [self.assertOk(self.c.server("user.token", uid=self.new_user().uid, ttl=600))["token"]
                  for _ in range(events)]
        for token in tokens:  # a user.online each, faster than ten a second; no argon2 here
            self.assertOk(self.c.call("session.authorize", session=self.new_session(), token=token))
        # Each event fails its first attempt at once (the receiver is not there); the next
        # attempt is a minute away. What the budget held back is reported by rtmd's timer.
        self.wait_line(lambda l: l.get("event") == "log.suppressed" and
                       l.get("of") == "webhook.failed", timeout=10)
        time.sleep(1.2)  # a later second's report, if the flood straddled one
        lines = self.events_named("webhook.failed")
        reports = [l for l in self.events_named("log.suppressed") if l.get("of") == "webhook.failed"]
        self.assertLess(len(lines), events, "ten lines a second, not one per failure")
        counted = len(lines) + sum(l["suppressed"] for l in lines) + sum(r["count"] for r in reports)
        self.assertEqual(counted, events, "every failed delivery is a line or counted in one")


class TestUnknownMethods(JsonLogCase):
    def test_a_method_of_the_other_path_says_where_it_is(self):
        body = self.assertError(self.c.call("user.add", login="x", password="y"),
                                "UnknownMethod")
        self.assertEqual(body["msg"],
                         "user.add is a server method: POST /v1/server/user.add with the API key")
        body = self.assertError(self.c.server("session.create"), "UnknownMethod")
        self.assertEqual(body["msg"],
                         "session.create is a client method: POST /v1/session.create (no API key)")
        body = self.assertError(self.c.call("no.such"), "UnknownMethod")
        self.assertEqual(body["msg"], "no such method: no.such")

    def test_over_the_websocket_too(self):
        w = WsClient(self.rtmd.port)
        try:
            reply = w.call("user.delete", uid=5)
        finally:
            w.abort()
        self.assertEqual(reply["error"], "UnknownMethod")
        self.assertEqual(reply["msg"], "user.delete is a server method: "
                                       "POST /v1/server/user.delete with the API key")


class TestStartAndFormats(unittest.TestCase):
    def run_to_exit(self, r):
        try:
            r.port = free_port()
            r.spawn()
            rc = r.wait(10)
            if rc is None:
                r.kill9()
                self.fail("rtmd kept running: %r" % (r.command(),))
            return rc, [l for l in r.stderr().splitlines() if l.strip()]
        finally:
            r.cleanup()

    def test_a_refused_start_in_json_is_one_json_line_without_the_store_password(self):
        r = Rtmd(args=["--log-format", "json", "--store", "mysql://rtm:pa55w0rd@db/rtm"])
        rc, lines = self.run_to_exit(r)
        self.assertEqual(rc, 2)
        self.assertEqual(len(lines), 1, lines)
        line = json.loads(lines[0])
        self.assertEqual((line["level"], line["event"]), ("error", "rtmd.start_failed"))
        self.assertIn("mysql://rtm:***@db/rtm", line["msg"])
        self.assertNotIn("pa55w0rd", lines[0])

    def test_an_unknown_log_format_refuses_to_start(self):
        rc, lines = self.run_to_exit(Rtmd(args=["--log-format", "xml"]))
        self.assertEqual(rc, 2)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("--log-format must be text or json", lines[0])

    def test_text_format_is_time_level_event_then_fields_and_no_access_log_by_default(self):
        r = Rtmd(log_level="info", env={"RTM_SLOW_CALL_MS": "0"})
        try:
            r.start()
            c = Client(r)
            c.post("/v1/server/user.online", {"uids": [1]})
            c.call("session.create")
            c.close()
            deadline = time.monotonic() + 5
            while "call.unauthorized" not in r.stderr() and time.monotonic() < deadline:
                time.sleep(0.05)
            r.stop()
            lines = r.stderr().splitlines()
            refused = [l for l in lines if " call.unauthorized " in l]
            self.assertEqual(len(refused), 1, lines)
            self.assertRegex(refused[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warn "
                                         r"call\.unauthorized method=user\.online "
                                         r"address=127\.0\.0\.1 "
                                         r'reason="missing Authorization header" suppressed=0$')
            started = [l for l in lines if " rtmd.started " in l]
            self.assertEqual(len(started), 1, lines)
            self.assertIn("slow_call_ms=0", started[0])
            self.assertIn("access_log=false", started[0])
            self.assertFalse([l for l in lines if "http.access" in l], lines)
            self.assertTrue(lines[-1].endswith("info rtmd.stopped"), lines[-1])
        finally:
            r.cleanup()


if __name__ == "__main__":
    unittest.main()
