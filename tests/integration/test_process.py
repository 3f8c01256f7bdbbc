"""API.md section 1: the rtmd process — flags, env, config file, api-key file, refused
backends, exit codes, /healthz, /metrics, drain on SIGTERM/SIGINT."""

import http.client
import json
import os
import re
import signal
import socket
import stat
import threading
import time
import unittest

from rtmd_harness import (ERRORS, Client, Rtmd, ServersCase, clean_env, free_port, http_get,
                          rtmd_binary)


class ProcessCase(ServersCase):
    def server_call_status(self, port, key, method="user.online", params=None):
        c = Client(port, api_key=key)
        try:
            return c.server(method, params or {"uids": [1]})
        finally:
            c.close()

    def assertServerKeyWorks(self, port, key):
        status, body = self.server_call_status(port, key)
        self.assertEqual((status, body.get("rc")), (200, 0), "key %r refused: %r" % (key, body))

    def assertServerKeyRefused(self, port, key):
        status, body = self.server_call_status(port, key)
        rc, http = ERRORS["Unauthorized"]
        self.assertEqual((status, body.get("rc"), body.get("error")), (http, rc, "Unauthorized"))

    def run_to_exit(self, r, timeout=10):
        """Spawns r and waits for it to exit; returns (exit code, stderr lines)."""
        r.spawn()
        rc = r.wait(timeout)
        if rc is None:
            r.kill9()
            self.fail("rtmd kept running with %r" % (r.command(),))
        return rc, [l for l in r.stderr().splitlines() if l.strip()]

    def assertRefusedToStart(self, r, port=None):
        rc, lines = self.run_to_exit(r)
        self.assertEqual(rc, 2, "exit code for %r; stderr %r" % (r.command(), lines))
        self.assertEqual(len(lines), 1, "want exactly one line on stderr, got %r" % (lines,))
        if port:
            with self.assertRaises(OSError, msg="something listens on the port of a refused start"):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return lines[0]


class TestFlagsAndEnv(ProcessCase):
    def test_flags_set_listen_data_dir_and_api_key(self):
        r = self.rtmd().start()
        status, headers, body = http_get(r.port, "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"rc": 0, "status": "ok"})
        self.assertServerKeyWorks(r.port, r.api_key)
        self.assertServerKeyRefused(r.port, r.api_key + "x")
        self.assertTrue(os.path.isdir(r.data_dir))
        self.assertTrue(os.path.exists(os.path.join(r.data_dir, "rtm.db")),
                        "default store is sqlite:DATA_DIR/rtm.db; data dir has %r" % os.listdir(r.data_dir))
        r.stop()

    def test_an_ipv6_listen_address_is_printed_in_brackets_as_a_url(self):
        port = free_port()
        r = self.rtmd(listen=False, args=["--listen", "[::1]:%d" % port])
        r.spawn()
        deadline = time.monotonic() + 10
        while "listening on" not in r.stdout():
            self.assertIsNone(r.proc.poll(), "rtmd exited: %s" % r.stderr())
            self.assertLess(time.monotonic(), deadline, "no listening line: %r" % r.stdout())
            time.sleep(0.05)
        self.assertIn("rtmd: listening on http://[::1]:%d\n" % port, r.stdout())
        conn = http.client.HTTPConnection("::1", port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            self.assertEqual(conn.getresponse().status, 200)
        finally:
            conn.close()
        r.stop()

    def test_env_variables_configure_the_server_without_flags(self):
        port = free_port()
        r = self.rtmd(api_key=None, log_level=None, listen=False)
        data = os.path.join(r.tmp, "envdata")
        r.data_dir = None
        r.port = port
        r.env = clean_env({"RTM_LISTEN": "127.0.0.1:%d" % port, "RTM_DATA_DIR": data,
                           "RTM_API_KEY": "env-key-123", "RTM_LOG_LEVEL": "warn"})
        r.spawn()
        from rtmd_harness import wait_healthy
        wait_healthy(port, r.proc)
        self.assertServerKeyWorks(port, "env-key-123")
        self.assertTrue(os.path.exists(os.path.join(data, "rtm.db")))
        r.stop()

    def test_flags_win_over_env(self):
        r = self.rtmd(env={"RTM_API_KEY": "env-key", "RTM_LOG_LEVEL": "bogus-level"})
        r.start()  # --log-level warn and --api-key given as flags win over the env
        self.assertServerKeyWorks(r.port, r.api_key)
        self.assertServerKeyRefused(r.port, "env-key")
        r.stop()

    def test_toml_config_sets_settings_and_flags_win(self):
        r = self.rtmd(api_key="flag-key", listen=False, log_level=None)
        port = free_port()
        r.port = port
        conf = os.path.join(r.tmp, "rtm.toml")
        with open(conf, "w") as f:
            f.write('listen = "127.0.0.1:%d"\n' % port)
            f.write('data_dir = "%s"\n' % os.path.join(r.tmp, "confdata"))
            f.write('api_key = "file-key"\n')
            f.write('log_level = "warn"\n')
        r.data_dir = None
        r.args = ["--config", conf]
        r.spawn()
        from rtmd_harness import wait_healthy
        wait_healthy(port, r.proc)  # listen came from the file
        self.assertTrue(os.path.exists(os.path.join(r.tmp, "confdata", "rtm.db")),
                        "data_dir of the config file not used")
        self.assertServerKeyWorks(port, "flag-key")
        self.assertServerKeyRefused(port, "file-key")
        r.stop()

    def test_config_from_rtm_config_env(self):
        r = self.rtmd(api_key=None)
        conf = os.path.join(r.tmp, "env.toml")
        with open(conf, "w") as f:
            f.write('api_key = "file-key-env"\n')
        r.env = clean_env({"RTM_CONFIG": conf})
        r.start()
        self.assertServerKeyWorks(r.port, "file-key-env")
        r.stop()


class TestApiKeyFile(ProcessCase):
    def test_generated_api_key_file_is_0600_its_path_printed_and_kept_over_restart(self):
        r = self.rtmd(api_key=None)
        r.start()
        path = os.path.join(r.data_dir, "api-key")
        self.assertTrue(os.path.exists(path), "no %s" % path)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, "api-key file mode is %o" % mode)
        with open(path) as f:
            key = f.read().strip()
        self.assertGreaterEqual(len(key), 16)
        printed = r.stdout() + r.stderr()
        self.assertIn(path, printed, "path of the generated key not printed: %r" % printed)
        self.assertServerKeyWorks(r.port, key)
        self.assertServerKeyRefused(r.port, "")
        r.stop()
        r.restart()
        with open(path) as f:
            self.assertEqual(f.read().strip(), key, "key regenerated on the second start")
        self.assertServerKeyWorks(r.port, key)
        r.stop()

    def test_given_api_key_writes_no_key_file(self):
        r = self.rtmd().start()
        self.assertFalse(os.path.exists(os.path.join(r.data_dir, "api-key")))
        r.stop()


class TestRefusedStarts(ProcessCase):
    def test_postgres_store_is_refused_with_exit_2_and_one_line(self):
        port = free_port()
        r = self.rtmd(args=["--store", "postgres://x"])
        r.port = port
        line = self.assertRefusedToStart(r, port)
        self.assertIn("postgres", line.lower())

    def test_redis_broker_is_refused_with_exit_2_and_one_line(self):
        port = free_port()
        r = self.rtmd(args=["--broker", "redis://x"])
        r.port = port
        line = self.assertRefusedToStart(r, port)
        self.assertIn("redis", line.lower())

    def test_unknown_flag_exits_2_with_one_line(self):
        r = self.rtmd(args=["--no-such-flag"])
        r.port = free_port()
        self.assertRefusedToStart(r, r.port)

    def test_bad_listen_value_exits_2(self):
        r = self.rtmd(listen=False, args=["--listen", "not-an-address"])
        self.assertRefusedToStart(r)

    def test_bad_log_level_exits_2(self):
        r = self.rtmd(log_level="loud")
        r.port = free_port()
        self.assertRefusedToStart(r, r.port)

    def test_missing_config_file_exits_2(self):
        r = self.rtmd()
        r.port = free_port()
        r.args = ["--config", os.path.join(r.tmp, "does-not-exist.toml")]
        self.assertRefusedToStart(r, r.port)

    def test_config_that_is_a_directory_exits_2(self):
        r = self.rtmd()
        r.port = free_port()
        r.args = ["--config", r.tmp]
        self.assertRefusedToStart(r, r.port)

    def test_malformed_toml_config_exits_2(self):
        r = self.rtmd()
        r.port = free_port()
        conf = os.path.join(r.tmp, "bad.toml")
        with open(conf, "w") as f:
            f.write('listen = "127.0.0.1:1\nthis is [not toml\n')
        r.args = ["--config", conf]
        self.assertRefusedToStart(r, r.port)

    def test_store_that_cannot_be_opened_exits_2(self):
        r = self.rtmd()
        r.port = free_port()
        blocker = os.path.join(r.tmp, "a-file")
        open(blocker, "w").close()
        r.args = ["--store", "sqlite:" + os.path.join(blocker, "sub", "rtm.db")]
        self.assertRefusedToStart(r, r.port)

    def test_port_in_use_exits_2(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            r = self.rtmd()
            r.port = s.getsockname()[1]
            rc, lines = self.run_to_exit(r)
            self.assertEqual(rc, 2, lines)
            self.assertEqual(len(lines), 1, lines)

    def test_second_rtmd_on_the_same_port_exits_2_instead_of_sharing_it(self):
        # rtmd's own acceptors share their port (SO_REUSEPORT); another rtmd must not join them.
        first = self.rtmd()
        first.start()
        try:
            second = self.rtmd()
            second.port = first.port
            rc, lines = self.run_to_exit(second)
            self.assertEqual(rc, 2, lines)
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("in use", lines[0])
        finally:
            first.stop()


class TestEndpoints(ProcessCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = Rtmd()
        try:
            cls.shared.start()
        except BaseException:
            cls.shared.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.shared.stop()
        finally:
            cls.shared.cleanup()

    def test_healthz_answers_200_rc_0_status_ok(self):
        status, headers, body = http_get(self.shared.port, "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"rc": 0, "status": "ok"})

    def test_metrics_is_prometheus_text_with_rtm_metrics(self):
        c = Client(self.shared)
        c.call("session.create")
        c.call("no.such.method")
        c.close()
        status, headers, body = http_get(self.shared.port, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"),
                        headers.get("content-type"))
        text = body.decode("utf-8")
        sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?'
                            r' [-+]?([0-9.eE+-]+|NaN|[+-]?Inf)( -?[0-9]+)?$')
        names = set()
        for line in text.splitlines():
            if not line or line.startswith("#"):
                if line.startswith("# TYPE"):
                    self.assertRegex(line, r"^# TYPE \S+ (counter|gauge|histogram|summary|untyped)$")
                continue
            self.assertRegex(line, sample)
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
        self.assertTrue(any(n.startswith("rtm_") for n in names), "no rtm_ metric in %r" % names)


class TestConfigLimits(ProcessCase):
    """semantics.md "Calls": max_body and request_timeout are settings."""

    def test_max_body_and_request_timeout_from_config_take_effect(self):
        r = self.rtmd()
        conf = os.path.join(r.tmp, "limits.toml")
        with open(conf, "w") as f:
            f.write("max_body = 4096\nrequest_timeout = 2\n")
        r.args = ["--config", conf]
        r.start()
        c = Client(r)
        status, body = c.post("/v1/session.create", b'{"pad":"' + b"a" * 5000 + b'"}')
        rc, http = ERRORS["PayloadTooLarge"]
        self.assertEqual((status, body.get("rc"), body.get("error")), (http, rc, "PayloadTooLarge"), body)
        c.close()
        c = Client(r)
        status, body = c.post("/v1/session.create", b'{"pad":"' + b"a" * 3000 + b'"}')
        self.assertEqual((status, body.get("rc")), (200, 0), body)
        c.close()
        # a request whose headers or body do not arrive within request_timeout is closed
        # without an answer
        body_sock = socket.create_connection(("127.0.0.1", r.port), timeout=10)
        body_sock.sendall(b"POST /v1/session.create HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        head_sock = socket.create_connection(("127.0.0.1", r.port), timeout=10)
        head_sock.sendall(b"POST /v1/session.create HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        t0 = time.monotonic()
        for name, s in (("body", body_sock), ("headers", head_sock)):
            data = b""
            try:
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
            except ConnectionResetError:
                pass
            except socket.timeout:
                self.fail("request with half-sent %s still open after 10 s with request_timeout = 2" % name)
            elapsed = time.monotonic() - t0
            s.close()
            self.assertEqual(data, b"", "want a close without an answer for half-sent %s" % name)
            self.assertGreaterEqual(elapsed, 1.5)
            self.assertLess(elapsed, 6.0, name)
        r.stop()


class TestSessionAndSubscriptionLimits(ProcessCase):
    """semantics.md "Limits": max_sessions_per_user and max_subscriptions_per_session, each a
    flag, an RTM_* variable and a TOML key; past them the call is RateLimited."""

    def assertRateLimited(self, resp):
        status, body = resp
        rc, http = ERRORS["RateLimited"]
        self.assertEqual((status, body.get("rc"), body.get("error")), (http, rc, "RateLimited"), body)

    def assertLimits(self, r, sessions, subscriptions):
        c = Client(r)
        try:
            login, password = "limits-user", "limits-pw"
            self.assertEqual(c.server("user.add", login=login, password=password)[1]["rc"], 0)

            def authorize(mode="multi"):
                s = c.call("session.create")[1]["session"]
                return s, c.call("session.authorize", session=s, login=login, password=password,
                                 mode=mode)

            live = []
            for _ in range(sessions):
                s, resp = authorize()
                self.assertEqual(resp[1].get("rc"), 0, resp)
                live.append(s)
            s, resp = authorize()
            self.assertRateLimited(resp)
            status, body = c.call("session.subscribe", session=s, topic="channel:x")
            self.assertEqual(body.get("rc"), 0, "the refused session stays usable unauthorized")
            # mode kill replaces the sessions: allowed at the limit
            _, resp = authorize("kill")
            self.assertEqual(resp[1].get("rc"), 0, resp)

            mine = c.call("session.create")[1]["session"]
            for i in range(subscriptions):
                status, body = c.call("session.subscribe", session=mine, topic="channel:c%d" % i)
                self.assertEqual(body.get("rc"), 0, body)
            self.assertRateLimited(c.call("session.subscribe", session=mine, topic="channel:more"))
            # the same topic again is no new subscription
            self.assertEqual(c.call("session.subscribe", session=mine, topic="channel:c0")[1]["rc"], 0)
        finally:
            c.close()

    def test_limits_from_flags(self):
        r = self.rtmd(args=["--max-sessions-per-user", "2", "--max-subscriptions-per-session", "3"])
        r.start()
        self.assertLimits(r, 2, 3)
        r.stop()

    def test_limits_from_env_and_flags_win(self):
        r = self.rtmd(env={"RTM_MAX_SESSIONS_PER_USER": "3", "RTM_MAX_SUBSCRIPTIONS_PER_SESSION": "9"},
                      args=["--max-subscriptions-per-session", "2"])
        r.start()
        self.assertLimits(r, 3, 2)
        r.stop()

    def test_limits_from_toml(self):
        r = self.rtmd()
        conf = os.path.join(r.tmp, "limits.toml")
        with open(conf, "w") as f:
            f.write("max_sessions_per_user = 1\nmax_subscriptions_per_session = 4\n"
                    "blocking_queue = 16\n")
        r.args = ["--config", conf]
        r.start()
        self.assertLimits(r, 1, 4)
        r.stop()

    def test_bad_limit_values_exit_2_with_one_line(self):
        for args, env, toml in ((["--max-sessions-per-user", "0"], None, None),
                                (["--max-subscriptions-per-session", "x"], None, None),
                                (["--blocking-queue", "-1"], None, None),
                                ([], {"RTM_MAX_SESSIONS_PER_USER": "12abc"}, None),
                                ([], {"RTM_BLOCKING_QUEUE": ""}, None),
                                ([], None, "max_subscriptions_per_session = 0\n"),
                                ([], None, 'blocking_queue = "many"\n')):
            with self.subTest(args=args, env=env, toml=toml):
                r = self.rtmd(args=args, env=env)
                r.port = free_port()
                if toml is not None:
                    conf = os.path.join(r.tmp, "bad.toml")
                    with open(conf, "w") as f:
                        f.write(toml)
                    r.args = r.args + ["--config", conf]
                self.assertRefusedToStart(r)


class TestBlockingQueue(ProcessCase):
    """semantics.md "Limits": past blocking_queue argon2/store jobs, calls that need the
    blocking pool are RateLimited at once; the queue empties again afterwards."""

    def test_full_blocking_queue_answers_rate_limited_and_recovers(self):
        r = self.rtmd(args=["--blocking-queue", "1"])
        r.start()
        answers = []
        lock = threading.Lock()
        barrier = threading.Barrier(16)

        def add(i):
            c = Client(r)
            try:
                barrier.wait()
                resp = c.server("user.add", login="queue-%d" % i, password="pw-%d" % i)
            finally:
                c.close()
            with lock:
                answers.append(resp)

        threads = [threading.Thread(target=add, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        got = sorted((status, body.get("error", "ok")) for status, body in answers)
        self.assertEqual(len(got), 16)
        self.assertTrue(all(g in ((200, "ok"), (429, "RateLimited")) for g in got), got)
        self.assertIn((429, "RateLimited"), got, "16 parallel argon2 jobs fit a queue of 1")
        self.assertIn((200, "ok"), got)
        # every slot came back: one call at a time always fits
        c = Client(r)
        for i in range(3):
            status, body = c.server("user.add", login="after-%d" % i, password="pw")
            self.assertEqual((status, body.get("rc")), (200, 0), body)
        c.close()
        r.stop()


class TestDrain(ProcessCase):
    def long_poll_then_signal(self, signo):
        r = self.rtmd().start()
        c = Client(r)
        sess = c.call("session.create")[1]["session"]
        result = {}

        def poll():
            c2 = Client(r)
            t0 = time.monotonic()
            try:
                result["resp"] = c2.call("session.get_events", session=sess, timeout=30)
            except Exception as e:  # noqa: BLE001 - reported below
                result["exc"] = e
            result["elapsed"] = time.monotonic() - t0
            c2.close()

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.5)
        self.assertNotIn("resp", result, "poll did not wait")
        t0 = time.monotonic()
        r.stop(signo)  # asserts exit 0 within 5 s
        exit_s = time.monotonic() - t0
        t.join(5)
        self.assertFalse(t.is_alive(), "long poll not answered at drain")
        self.assertNotIn("exc", result, "long poll got no answer: %r" % result.get("exc"))
        status, body = result["resp"]
        self.assertEqual((status, body.get("rc")), (200, 0), body)
        self.assertEqual(body.get("events"), [])
        self.assertLess(result["elapsed"], 6.0)
        self.assertLess(exit_s, 5.0)
        c.close()
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", r.port), timeout=1).close()

    def test_sigterm_answers_waiting_long_poll_and_exits_0_within_5s(self):
        self.long_poll_then_signal(signal.SIGTERM)

    def test_sigint_answers_waiting_long_poll_and_exits_0_within_5s(self):
        self.long_poll_then_signal(signal.SIGINT)

    def test_sigterm_with_open_idle_and_half_sent_connections_exits_0_within_5s(self):
        r = self.rtmd().start()
        keep = Client(r)
        keep.call("session.create")  # a kept-alive idle connection
        socks = []
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
            s.sendall(b"POST /v1/session.create HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
            socks.append(s)
        socks.append(socket.create_connection(("127.0.0.1", r.port), timeout=5))  # nothing sent
        time.sleep(0.2)
        t0 = time.monotonic()
        r.stop()
        self.assertLess(time.monotonic() - t0, 5.0)
        for s in socks:
            s.close()
        keep.close()

    def test_sigterm_of_idle_server_exits_0_quickly(self):
        r = self.rtmd().start()
        t0 = time.monotonic()
        r.stop()
        self.assertLess(time.monotonic() - t0, 5.0)


if __name__ == "__main__":
    unittest.main()
