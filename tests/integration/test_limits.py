"""docs/semantics.md "Limits": what a flood of calls can make rtmd hold. Sessions that are
never authorized live unauthorized_session_ttl and are capped per client address and in all;
optional token buckets per address (session.create, session.authorize, channel.poll) and per
user (sends); RateLimited answers say when to come back (Retry-After, retry_after); the client
address comes from X-Forwarded-For only behind a trusted proxy. Conditions are awaited on
/metrics (rtm_sessions_unauthorized, rtm_rate_limited_total) rather than slept on.
"""

import http.client
import os
import re
import time
import unittest

from rtmd_harness import ERRORS, Client, Rtmd, free_port, http_get, unique, unique_id
from ws_client import WsClient


class SourceClient(Client):
    """A keep-alive client whose connections leave from a chosen loopback address
    (127.0.0.2, ...): to rtmd, another client address."""

    def __init__(self, rtmd, source, **kw):
        super().__init__(rtmd, **kw)
        self.source = source

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.rtmd.port, timeout=self.timeout,
                                                   source_address=(self.source, 0))
            self.port = self.rtmd.port
            return self.conn, True
        return self.conn, False


def metrics(port):
    status, _, body = http_get(port, "/metrics")
    assert status == 200, status
    return body.decode()


def metric(port, name):
    """The value of one sample (name may carry labels: 'rtm_rate_limited_total{limit="x"}')."""
    m = re.search(r"^%s (\S+)$" % re.escape(name), metrics(port), re.M)
    assert m, "no %s in /metrics" % name
    return float(m.group(1))


def refusals(port, limit):
    return metric(port, 'rtm_rate_limited_total{limit="%s"}' % limit)


class LimitsCase(unittest.TestCase):
    def setUp(self):
        self.servers = []
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        for r in self.servers:
            try:
                if r.alive():
                    r.stop()
            finally:
                r.cleanup()

    def start(self, *args):
        r = Rtmd(args=list(args))
        self.servers.append(r)
        return r.start()

    def client(self, r, source=None, **kw):
        c = SourceClient(r, source, **kw) if source else Client(r, **kw)
        self.clients.append(c)
        return c

    def wait_for(self, what, condition, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for " + what)
            time.sleep(0.05)

    def assertOk(self, resp):
        status, body = resp
        self.assertEqual((status, body.get("rc") if body else None), (200, 0), resp)
        return body

    def assertRateLimited(self, resp, naming, retry_after=None):
        """RateLimited with its retry_after field; the message names the limit's setting.
        retry_after: the seconds expected, or (lo, hi) where time passing between the calls
        may shorten the wait."""
        status, body = resp
        rc, http = ERRORS["RateLimited"]
        self.assertEqual((status, body.get("rc"), body.get("error")), (http, rc, "RateLimited"), body)
        self.assertIn(naming, body.get("msg", ""))
        self.assertIsInstance(body.get("retry_after"), int, body)
        self.assertGreaterEqual(body["retry_after"], 1)
        if isinstance(retry_after, tuple):
            self.assertTrue(retry_after[0] <= body["retry_after"] <= retry_after[1], body)
        elif retry_after is not None:
            self.assertEqual(body["retry_after"], retry_after, body)
        return body

    def create(self, c, headers=None):
        return c.post("/v1/session.create", {}, headers)

    def add_user(self, r):
        c = self.client(r)
        login, password = unique("lim"), "pw-limits"
        uid = self.assertOk(c.server("user.add", login=login, password=password))["uid"]
        return uid, login, password


class TestUnauthorizedSessions(LimitsCase):
    def test_a_flood_from_one_address_past_the_default_cap_leaves_other_addresses_logging_in(self):
        r = self.start()
        flood = self.client(r)
        for i in range(1000):
            self.assertOk(self.create(flood))
        self.assertEqual(metric(r.port, "rtm_sessions_unauthorized"), 1000)
        # Past the cap: 429 with Retry-After (the TTL, 30 s, and the sweep's second) and the
        # same in the body.
        status, headers, data = flood.request("POST", "/v1/session.create", b"{}")
        self.assertEqual((status, headers.get("retry-after")), (429, "31"), data)
        for _ in range(50):
            self.assertRateLimited(self.create(flood), "max_unauthorized_sessions_per_address", 31)
        self.assertEqual(metric(r.port, "rtm_sessions_unauthorized"), 1000)
        self.assertEqual(refusals(r.port, "max_unauthorized_sessions_per_address"), 51)

        uid, login, password = self.add_user(r)
        other = self.client(r, source="127.0.0.2")
        s = self.assertOk(self.create(other))["session"]
        body = self.assertOk(other.call("session.authorize", session=s, login=login,
                                        password=password))
        self.assertEqual(body["uid"], uid)
        # Authorized, it holds no place; the flood's address is still full.
        self.assertEqual(metric(r.port, "rtm_sessions_unauthorized"), 1000)
        self.assertRateLimited(self.create(flood), "max_unauthorized_sessions_per_address")

    def test_authorizing_or_destroying_a_session_gives_its_place_back(self):
        r = self.start("--max-unauthorized-sessions-per-address", "2")
        c = self.client(r)
        uid, login, password = self.add_user(r)
        a = self.assertOk(self.create(c))["session"]
        b = self.assertOk(self.create(c))["session"]
        self.assertRateLimited(self.create(c), "max_unauthorized_sessions_per_address")
        self.assertOk(c.call("session.authorize", session=a, login=login, password=password,
                             mode="multi"))
        third = self.assertOk(self.create(c))["session"]
        self.assertRateLimited(self.create(c), "max_unauthorized_sessions_per_address")
        self.assertOk(c.call("session.destroy", session=b))
        self.assertOk(self.create(c))
        self.assertEqual(metric(r.port, "rtm_sessions_unauthorized"), 2)
        self.assertOk(c.call("session.destroy", session=third))
        self.assertEqual(metric(r.port, "rtm_sessions_unauthorized"), 1)

    def test_the_total_cap_holds_every_address_together(self):
        r = self.start("--max-unauthorized-sessions", "4")
        one, two, three = (self.client(r, source=a) for a in ("127.0.0.1", "127.0.0.2", "127.0.0.3"))
        for c in (one, one, two, two):
            self.assertOk(self.create(c))
        self.assertRateLimited(self.create(three), "max_unauthorized_sessions)")
        self.assertEqual(refusals(r.port, "max_unauthorized_sessions"), 1)

    def test_an_unauthorized_session_expires_its_ttl_after_creation_even_while_polled(self):
        r = self.start("--unauthorized-session-ttl", "1")
        c = self.client(r)
        uid, login, password = self.add_user(r)
        s = self.assertOk(self.create(c))["session"]
        kept = self.assertOk(self.create(c))["session"]
        self.assertOk(c.call("session.authorize", session=kept, login=login, password=password))
        # A waiting poll does not keep it: it answers the final event when the TTL is over.
        started = time.monotonic()
        body = self.assertOk(c.call("session.get_events", session=s, timeout=20))
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual([(e["type"], e["state"]) for e in body["events"]], [("session", "expired")])
        status, body = c.call("session.get_events", session=s, timeout=0)
        self.assertEqual((status, body.get("error")), (404, "InvalidSession"), body)
        self.wait_for("the unauthorized count to drop",
                      lambda: metric(r.port, "rtm_sessions_unauthorized") == 0)
        # The authorized session is not held by the TTL.
        time.sleep(1.5)
        self.assertOk(c.call("session.get_events", session=kept, timeout=0))

    def test_an_unpolled_unauthorized_session_is_gone_after_its_ttl(self):
        r = self.start("--unauthorized-session-ttl", "1")
        c = self.client(r)
        s = self.assertOk(self.create(c))["session"]
        self.wait_for("the session to expire",
                      lambda: metric(r.port, "rtm_sessions_unauthorized") == 0)
        status, body = c.call("session.get_events", session=s, timeout=0)
        self.assertEqual((status, body.get("error")), (404, "InvalidSession"), body)
        self.assertEqual(metric(r.port, "rtm_sessions"), 0)

    def test_a_websocket_session_create_past_the_cap_answers_rate_limited_with_retry_after(self):
        r = self.start("--max-unauthorized-sessions-per-address", "1")
        w = WsClient(r.port)
        try:
            first = w.call("session.create")
            self.assertEqual(first.get("rc"), 0, first)
            refused = w.call("session.create")
            self.assertEqual((refused.get("rc"), refused.get("error")), (1005, "RateLimited"), refused)
            self.assertEqual(refused.get("retry_after"), 31, refused)
            self.assertIn("max_unauthorized_sessions_per_address", refused.get("msg"))
        finally:
            w.close()

    def test_xml_answers_carry_retry_after_too(self):
        r = self.start("--max-unauthorized-sessions-per-address", "1")
        c = self.client(r)
        self.assertOk(self.create(c))
        status, headers, data = c.request("POST", "/v1/session.create?format=xml", b"{}")
        self.assertEqual((status, headers.get("retry-after")), (429, "31"))
        self.assertIn(b"<rc>1005</rc>", data)
        self.assertIn(b"<retry_after>31</retry_after>", data)


class TestRates(LimitsCase):
    def test_session_create_rate_is_per_address(self):
        r = self.start("--rate-session-create", "3/m")
        c, other = self.client(r), self.client(r, source="127.0.0.2")
        for _ in range(3):
            self.assertOk(self.create(c))
        status, headers, data = c.request("POST", "/v1/session.create", b"{}")
        self.assertEqual(status, 429)
        self.assertIn(headers.get("retry-after"), ("19", "20"))  # one per 20 s
        self.assertRateLimited(self.create(c), "rate_session_create", (18, 20))
        self.assertOk(self.create(other))
        self.assertEqual(refusals(r.port, "rate_session_create"), 2)

    def test_session_authorize_rate_refuses_even_the_right_password(self):
        r = self.start("--rate-session-authorize", "2/m:1")
        c = self.client(r)
        uid, login, password = self.add_user(r)
        s = self.assertOk(self.create(c))["session"]
        self.assertError(c.call("session.authorize", session=s, login=login, password="wrong"),
                         "AuthorizeFailed")
        self.assertRateLimited(
            c.call("session.authorize", session=s, login=login, password=password),
            "rate_session_authorize", (28, 30))
        other = self.client(r, source="127.0.0.2")
        s2 = self.assertOk(self.create(other))["session"]
        self.assertOk(other.call("session.authorize", session=s2, login=login, password=password))

    def test_channel_poll_rate_is_per_address(self):
        r = self.start("--rate-channel-poll", "2/s")
        c = self.client(r)
        token = self.assertOk(c.server("channel.create", client_id="lim-c"))["token"]
        for _ in range(2):
            self.assertOk(c.call("channel.poll", token=token, timeout=0))
        self.assertRateLimited(c.call("channel.poll", token=token, timeout=0), "rate_channel_poll", 1)
        self.assertOk(self.client(r, source="127.0.0.2").call("channel.poll", token=token, timeout=0))
        self.wait_for("a token to drip in",
                      lambda: c.call("channel.poll", token=token, timeout=0)[1].get("rc") == 0)

    def test_the_send_rate_holds_every_client_send_of_a_user_and_not_the_server(self):
        r = self.start("--rate-send", "5/m")
        c = self.client(r)
        alice, a_login, pw = self.add_user(r)
        bob, b_login, _ = self.add_user(r)
        sessions = {}
        for uid, login in ((alice, a_login), (bob, b_login)):
            s = self.assertOk(self.create(c))["session"]
            self.assertOk(c.call("session.authorize", session=s, login=login, password=pw))
            sessions[uid] = s
        gid, rid = unique_id(), unique_id()
        self.assertOk(c.server("group.add_members", gid=gid, uids=[alice, bob]))
        self.assertOk(c.server("room.add_member", rid=rid, uid=alice))
        a = sessions[alice]
        self.assertOk(c.call("message.send", session=a, to=bob, mtype=30, msg="1"))
        self.assertOk(c.call("message.send_many", session=a, to_uids=[bob], mtype=30, msg="2"))
        self.assertOk(c.call("message.send_group", session=a, gid=gid, mtype=30, msg="3"))
        self.assertOk(c.call("message.send_room", session=a, rid=rid, mtype=30, msg="4"))
        self.assertOk(c.call("file.token", session=a, cmd="sendfile", to=bob))
        # Each of them, past the rate: the upload token of a file too.
        first = self.assertRateLimited(
            c.call("message.send", session=a, to=bob, mtype=30, msg="6"), "rate_send", (10, 12))
        self.assertRateLimited(c.call("message.send_group", session=a, gid=gid, mtype=30, msg="7"),
                               "rate_send")
        self.assertRateLimited(c.call("file.token", session=a, cmd="sendfile", to=bob), "rate_send")
        status, headers, _ = c.request(
            "POST", "/v1/message.send",
            ('{"session":"%s","to":%d,"mtype":30,"msg":"x"}' % (a, bob)).encode())
        self.assertEqual(status, 429)
        self.assertTrue(1 <= int(headers.get("retry-after")) <= first["retry_after"], headers)
        # Another user, and the server API, are not held by alice's rate.
        self.assertOk(c.call("message.send", session=sessions[bob], to=alice, mtype=30, msg="b"))
        self.assertOk(c.server("message.send", from_=alice, to=bob, mtype=30, msg="server"))
        self.assertEqual(refusals(r.port, "rate_send"), 4)

    def test_the_rates_are_off_by_default(self):
        r = self.start()
        c = self.client(r)
        token = self.assertOk(c.server("channel.create", client_id="lim-d"))["token"]
        for _ in range(200):
            self.assertOk(c.call("channel.poll", token=token, timeout=0))
        text = metrics(r.port)
        for limit in ("rate_session_create", "rate_session_authorize", "rate_channel_poll",
                      "rate_send"):
            self.assertIn('rtm_rate_limited_total{limit="%s"} 0\n' % limit, text)

    def assertError(self, resp, name):
        status, body = resp
        rc, http = ERRORS[name]
        self.assertEqual((status, body.get("rc"), body.get("error")), (http, rc, name), body)


class TestTrustedProxies(LimitsCase):
    def xff(self, address):
        return {"X-Forwarded-For": address}

    def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_cap(self):
        r = self.start("--trusted-proxies", "127.0.0.1", "--max-unauthorized-sessions-per-address",
                       "2")
        proxy = self.client(r)
        for _ in range(2):
            self.assertOk(self.create(proxy, self.xff("203.0.113.1")))
        self.assertRateLimited(self.create(proxy, self.xff("203.0.113.1")),
                               "max_unauthorized_sessions_per_address")
        # A forged entry left of what the proxy appended changes nothing.
        self.assertRateLimited(self.create(proxy, self.xff("198.51.100.9, 203.0.113.1")),
                               "max_unauthorized_sessions_per_address")
        self.assertOk(self.create(proxy, self.xff("203.0.113.2")))
        # The WebSocket takes its address from the upgrade request the same way.
        w = WsClient(r.port, headers=self.xff("203.0.113.3"))
        try:
            self.assertEqual(w.call("session.create").get("rc"), 0)
            self.assertEqual(w.call("session.create").get("rc"), 0)
            self.assertEqual(w.call("session.create").get("rc"), 1005)
        finally:
            w.close()

    def test_forwarded_ipv6_addresses_of_one_slash64_share_one_cap_and_another_slash64_does_not(self):
        r = self.start("--trusted-proxies", "127.0.0.1", "--max-unauthorized-sessions-per-address",
                       "3", "--rate-session-create", "5/m")
        proxy = self.client(r)
        for i in range(1, 4):
            self.assertOk(self.create(proxy, self.xff("2001:db8::%x" % i)))
        # A fourth address of the same /64 (with a port, as some proxies write it) is the same
        # client: one host holds the whole /64.
        self.assertRateLimited(self.create(proxy, self.xff("[2001:db8::ffff:4]:443")),
                               "max_unauthorized_sessions_per_address")
        self.assertOk(self.create(proxy, self.xff("2001:db8:0:1::1")))
        # The rate counts by the /64 too: five creates of 2001:db8::/64 a minute, refused or not
        # by the cap, and the sixth is refused by the rate whatever the address in it.
        self.assertRateLimited(self.create(proxy, self.xff("2001:db8::5")),
                               "max_unauthorized_sessions_per_address")
        self.assertRateLimited(self.create(proxy, self.xff("2001:db8::6")), "rate_session_create")
        self.assertOk(self.create(proxy, self.xff("2001:db8:0:1::2")))

    def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(self):
        r = self.start("--max-unauthorized-sessions-per-address", "2")
        c = self.client(r)
        self.assertOk(self.create(c, self.xff("203.0.113.1")))
        self.assertOk(self.create(c, self.xff("203.0.113.2")))
        self.assertRateLimited(self.create(c, self.xff("203.0.113.3")),
                               "max_unauthorized_sessions_per_address")

    def test_a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_forwards(self):
        r = self.start("--trusted-proxies", "127.0.0.2", "--max-unauthorized-sessions-per-address",
                       "1")
        c = self.client(r)  # from 127.0.0.1, not trusted
        self.assertOk(self.create(c, self.xff("203.0.113.1")))
        self.assertRateLimited(self.create(c, self.xff("203.0.113.2")),
                               "max_unauthorized_sessions_per_address")
        proxy = self.client(r, source="127.0.0.2")
        self.assertOk(self.create(proxy, self.xff("203.0.113.2")))


class TestLimitSettings(LimitsCase):
    def run_to_exit(self, r):
        r.port = free_port()
        r.spawn()
        rc = r.wait(10)
        if rc is None:
            r.kill9()
            self.fail("rtmd kept running with %r" % (r.command(),))
        return rc, [l for l in r.stderr().splitlines() if l.strip()]

    def test_bad_values_exit_2_with_one_line_naming_the_setting(self):
        cases = ((["--rate-send", "20"], None, None, "--rate-send"),
                 (["--rate-session-create", "20/d"], None, None, "--rate-session-create"),
                 ([], {"RTM_RATE_CHANNEL_POLL": "x/s"}, None, "--rate-channel-poll"),
                 ([], None, 'rate_session_authorize = "5/s:0"\n', "--rate-session-authorize"),
                 (["--trusted-proxies", "proxy.example.com"], None, None, "proxy.example.com"),
                 ([], None, 'trusted_proxies = "10.0.0.0/40"\n', "10.0.0.0/40"),
                 (["--unauthorized-session-ttl", "0"], None, None, "--unauthorized-session-ttl"),
                 ([], {"RTM_MAX_UNAUTHORIZED_SESSIONS": "none"}, None,
                  "RTM_MAX_UNAUTHORIZED_SESSIONS"),
                 ([], None, "max_unauthorized_sessions_per_address = 0\n",
                  "max_unauthorized_sessions_per_address"))
        for args, env, toml, naming in cases:
            with self.subTest(args=args, env=env, toml=toml):
                r = Rtmd(args=args, env=env)
                self.servers.append(r)
                if toml is not None:
                    conf = os.path.join(r.tmp, "bad.toml")
                    with open(conf, "w") as f:
                        f.write(toml)
                    r.args = r.args + ["--config", conf]
                rc, lines = self.run_to_exit(r)
                self.assertEqual(rc, 2, lines)
                self.assertEqual(len(lines), 1, lines)
                self.assertIn(naming, lines[0])

    def test_settings_from_toml_and_environment_apply(self):
        r = Rtmd(env={"RTM_RATE_SESSION_CREATE": "2/h", "RTM_TRUSTED_PROXIES": "127.0.0.0/8"})
        self.servers.append(r)
        conf = os.path.join(r.tmp, "limits.toml")
        with open(conf, "w") as f:
            f.write("max_unauthorized_sessions_per_address = 5\nunauthorized_session_ttl = 60\n")
        r.args = ["--config", conf]
        r.start()
        c = self.client(r)
        for _ in range(2):
            self.assertOk(self.create(c, {"X-Forwarded-For": "203.0.113.7"}))
        self.assertRateLimited(self.create(c, {"X-Forwarded-For": "203.0.113.7"}),
                               "rate_session_create", (1790, 1800))
        for _ in range(2):
            self.assertOk(self.create(c, {"X-Forwarded-For": "203.0.113.8"}))
        # The TTL from the file: the cap's Retry-After is the TTL and a second.
        r2 = Rtmd(args=["--config", conf])
        self.servers.append(r2)
        r2.start()
        c2 = self.client(r2)
        for _ in range(5):
            self.assertOk(self.create(c2))
        self.assertRateLimited(self.create(c2), "max_unauthorized_sessions_per_address", 61)


if __name__ == "__main__":
    unittest.main()
