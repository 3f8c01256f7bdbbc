"""API.md section 2: "A bad input never crashes the server ... never answers anything but a
well-formed error" (+ docs/semantics.md "Calls"): malformed bodies, deep nesting, huge bodies,
garbage bytes, slow and half-sent requests, unknown methods and paths."""

import json
import os
import random
import socket
import threading
import time
import unittest

from rtmd_harness import ERRORS, RawSocket, RtmdTestCase, http_get

BODY_LIMIT = 1 << 20  # semantics.md: max_body 1 MiB


def request_bytes(path, body, extra_headers=b"", method=b"POST"):
    return (method + b" " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
            + extra_headers + b"\r\n" + body)


_shared = {}


def setUpModule():
    """One rtmd for the whole module, so that the last test sees it after all the abuse."""
    from rtmd_harness import Rtmd
    r = Rtmd()
    try:
        r.start()
    except BaseException:
        r.cleanup()
        raise
    _shared["rtmd"] = r


def tearDownModule():
    r = _shared.pop("rtmd", None)
    if r is None:
        return
    try:
        if r.runs > 1:
            raise AssertionError("rtmd was restarted during the module: it crashed (see the failing tests)")
        status, _, _ = http_get(r.port, "/healthz")
        assert status == 200, "healthz %d after the hostile tests" % status
        r.stop()  # exit 0 within 5 s
    finally:
        r.cleanup()


class HostileCase(RtmdTestCase):
    @classmethod
    def setUpClass(cls):
        cls.rtmd = _shared["rtmd"]
        cls.c = cls.rtmd.client()

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def assertHealthy(self):
        self.assertTrue(self.rtmd.alive(), "rtmd died: %s" % self.rtmd.stderr()[-2000:])
        status, _, body = http_get(self.rtmd.port, "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["rc"], 0)

    def tearDown(self):
        super().tearDown()
        self.assertHealthy()

    def raw(self, **kw):
        s = RawSocket(self.rtmd.port, **kw)
        self.addCleanup(s.close)
        return s

    def assertRawError(self, resp, name):
        self.assertIsNotNone(resp, "connection closed without an answer")
        status, headers, body = resp
        rc, http = ERRORS[name]
        parsed = json.loads(body)
        self.assertEqual((status, parsed.get("rc"), parsed.get("error")), (http, rc, name), parsed)
        self.assertIsInstance(parsed.get("msg"), str)


class TestMalformedBodies(HostileCase):
    def test_body_that_is_not_json_is_invalid_request(self):
        for body in (b"{", b"not json", b"{'a': 1}", b'{"session": }', b"\xff\xfe\x00", b'{"a":1}}', b"nul"):
            with self.subTest(body=body):
                self.assertError(self.c.post("/v1/session.create", body), "InvalidRequest")

    def test_body_that_is_not_an_object_is_invalid_request(self):
        for body in (b"[]", b"42", b'"str"', b"null", b"true", b"[{}]"):
            with self.subTest(body=body):
                self.assertError(self.c.post("/v1/session.create", body), "InvalidRequest")

    def test_fields_of_wrong_type_are_invalid_request(self):
        s = self.assertOk(self.c.call("session.create"))["session"]
        cases = [
            ("session.get_events", {"session": 12}),
            ("session.get_events", {"session": None}),
            ("session.get_events", {"session": [s]}),
            ("session.get_events", {"session": s, "timeout": "1"}),
            ("session.get_events", {"session": s, "timeout": True}),
            ("session.get_events", {"session": s, "after": "3"}),
            ("session.set", {"session": s, "settings": "max_events=5"}),
            ("session.subscribe", {"session": s, "topic": {"group": 1}}),
            ("session.authorize", {"session": s, "login": ["a"], "password": "b"}),
        ]
        for method, params in cases:
            with self.subTest(method=method, params=params):
                self.assertError(self.c.call(method, params), "InvalidRequest")
        self.assertError(self.c.server("user.add", login={"x": 1}, password="p"), "InvalidRequest")
        self.assertError(self.c.server("user.online", uids=[1, "2"]), "InvalidRequest")
        self.assertError(self.c.server("user.online", uids=[1.5]), "InvalidRequest")

    def test_missing_fields_are_invalid_request(self):
        for method in ("session.get_events", "session.destroy", "session.subscribe", "session.set"):
            with self.subTest(method=method):
                self.assertError(self.c.call(method), "InvalidRequest")

    def test_numbers_out_of_64_bit_range_are_refused(self):
        s = self.assertOk(self.c.call("session.create"))["session"]
        for body in ('{"session": "%s", "timeout": 1e400}' % s,
                     '{"session": "%s", "timeout": 99999999999999999999999}' % s,
                     '{"session": "%s", "after": -1}' % s,
                     '{"session": "%s", "after": 18446744073709551616}' % s):
            with self.subTest(body=body):
                st, ans = self.c.post("/v1/session.get_events", body.encode())
                self.assertError((st, ans), "InvalidRequest", "InvalidParameter")

    def test_integers_beyond_64_bits_in_id_fields_are_invalid_parameter(self):
        # Boost.JSON reads these as doubles; they are integers out of range, not wrong types.
        key = {"Authorization": "Bearer " + self.rtmd.api_key}
        for big in ("18446744073709551616", "99999999999999999999999", "1e30", "-18446744073709551617"):
            with self.subTest(big=big):
                self.assertError(self.c.post("/v1/server/user.token",
                                             ('{"uid": %s}' % big).encode(), key),
                                 "InvalidParameter")
                self.assertError(self.c.post("/v1/server/user.online",
                                             ('{"uids": [1, %s]}' % big).encode(), key),
                                 "InvalidParameter")
                self.assertError(self.c.post("/v1/server/message.send",
                                             ('{"to": %s, "mtype": 30, "msg": "x"}' % big).encode(),
                                             key), "InvalidParameter")
        s = self.assertOk(self.c.call("session.create"))["session"]
        st, ans = self.c.post("/v1/session.get_events",
                              ('{"session": "%s", "after": 18446744073709551616}' % s).encode())
        self.assertError((st, ans), "InvalidParameter")
        st, ans = self.c.post("/v1/session.get_events",
                              ('{"session": "%s", "timeout": 99999999999999999999999}' % s).encode())
        self.assertError((st, ans), "InvalidParameter")

    def test_fractional_number_in_an_id_field_is_invalid_request(self):
        self.assertError(self.c.server("user.token", uid=1.5), "InvalidRequest")
        self.assertError(self.c.server("user.online", uids=[2.25]), "InvalidRequest")

    def test_invalid_utf8_in_strings_is_invalid_request(self):
        body = b'{"login": "a\xff\xfeb", "password": "x"}'
        self.assertError(self.c.post("/v1/server/user.add", body,
                                     {"Authorization": "Bearer " + self.rtmd.api_key}), "InvalidRequest")

    def test_empty_body_is_an_empty_object(self):
        # session.create takes no params; a missing body must not break it
        st, body = self.c.post("/v1/session.create", b"")
        self.assertOk((st, body))
        self.assertError(self.c.post("/v1/session.get_events", b""), "InvalidRequest")


class TestNesting(HostileCase):
    def test_json_nested_10000_deep_is_invalid_request(self):
        for body in (b"[" * 10000 + b"]" * 10000,
                     b'{"a":' * 10000 + b"1" + b"}" * 10000,
                     b'{"session": ' + b"[" * 10000 + b"]" * 10000 + b"}",
                     b"[" * 100000):
            with self.subTest(size=len(body)):
                self.assertError(self.c.post("/v1/session.create", body), "InvalidRequest")

    def test_nesting_deeper_than_32_is_invalid_request(self):
        body = b'{"session": "x", "x": ' + b"[" * 40 + b"]" * 40 + b"}"
        self.assertError(self.c.post("/v1/session.get_events", body), "InvalidRequest")


class TestBigBodies(HostileCase):
    def test_body_over_1_mib_is_payload_too_large(self):
        body = json.dumps({"msg": "x" * (BODY_LIMIT + 10)}).encode()
        s = self.raw()
        s.send(request_bytes("/v1/session.create", body))
        resp = s.read_response()
        self.assertRawError(resp, "PayloadTooLarge")

    def test_20_mib_body_is_refused_without_being_buffered(self):
        hwm_before = self.rtmd.status_field("VmHWM")
        size = 20 << 20
        s = self.raw(timeout=10)
        s.send(b"POST /v1/session.create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(size).encode() + b"\r\n\r\n")
        chunk = b"[" + b" " * (1 << 16)
        sent = 0
        closed = False
        try:
            while sent < size:
                s.sock.sendall(chunk[: min(len(chunk), size - sent)])
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            closed = True
        try:
            resp = s.read_response(timeout=10)
        except (ConnectionResetError, BrokenPipeError):
            resp = None
        if resp is not None:
            self.assertRawError(resp, "PayloadTooLarge")
        # else: the server closed the connection, which the contract allows
        hwm_after = self.rtmd.status_field("VmHWM")
        grown_mib = (hwm_after - hwm_before) / 1024.0
        self.assertLess(grown_mib, 10, "peak memory grew by %.1f MiB for a 20 MiB body (sent %d bytes)"
                        % (grown_mib, sent))

    def test_huge_content_length_is_refused_before_the_body(self):
        s = self.raw()
        s.send(b"POST /v1/session.create HTTP/1.1\r\nHost: x\r\nContent-Length: 21474836480\r\n\r\n")
        t0 = time.monotonic()
        try:
            resp = s.read_response(timeout=10)
        except (ConnectionResetError, socket.timeout):
            resp = None
        self.assertLess(time.monotonic() - t0, 9, "server waited for a body it will refuse")
        if resp is not None:
            self.assertRawError(resp, "PayloadTooLarge")

    def test_20_mib_chunked_body_is_refused(self):
        s = self.raw(timeout=10)
        s.send(b"POST /v1/session.create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
        resp = None
        try:
            for _ in range(320):
                s.sock.sendall(chunk)
            s.sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        try:
            resp = s.read_response(timeout=10)
        except (ConnectionResetError, BrokenPipeError):
            resp = None
        if resp is not None:
            self.assertRawError(resp, "PayloadTooLarge")

    def test_oversized_headers_are_refused(self):
        s = self.raw()
        s.send(b"POST /v1/session.create HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        try:
            resp = s.read_response(timeout=10)
        except (ConnectionResetError, BrokenPipeError):
            resp = None
        if resp is not None:
            self.assertGreaterEqual(resp[0], 400)
            self.assertLess(resp[0], 500)


class TestGarbage(HostileCase):
    def test_bytes_that_are_not_http_get_400_invalid_request_then_close(self):
        s = self.raw()
        s.send(b"HELLO THERE THIS IS NOT HTTP\r\n\r\n")
        resp = s.read_response()
        self.assertRawError(resp, "InvalidRequest")
        self.assertTrue(s.closed_by_peer(), "connection kept open after garbage")

    def test_random_garbage_bytes_never_crash_the_server(self):
        rnd = random.Random(1234)
        for i in range(40):
            s = RawSocket(self.rtmd.port)
            try:
                s.send(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 4096))) + b"\r\n\r\n")
                try:
                    data = s.recv_all(timeout=2)
                except (ConnectionResetError, BrokenPipeError):
                    data = b""
                if data:
                    self.assertTrue(data.startswith(b"HTTP/1.1 4"), data[:100])
            except (ConnectionResetError, BrokenPipeError):
                pass
            finally:
                s.close()
        self.assertHealthy()

    def test_garbage_after_a_valid_request_on_one_connection(self):
        s = self.raw()
        s.send(request_bytes("/v1/session.create", b"{}") + b"\x00\x01GARBAGE\r\n\r\n")
        first = s.read_response()
        self.assertEqual(first[0], 200)
        self.assertEqual(json.loads(first[2])["rc"], 0)
        try:
            second = s.read_response()
        except ConnectionResetError:
            second = None
        if second is not None:
            self.assertEqual(second[0], 400)

    def test_pipelined_requests_are_answered_in_order(self):
        s = self.raw()
        s.send(request_bytes("/v1/session.create", b"{}") + request_bytes("/v1/no.such", b"{}")
               + request_bytes("/v1/session.create", b"{}"))
        a = s.read_response()
        b = s.read_response()
        c = s.read_response()
        self.assertEqual([a[0], b[0], c[0]], [200, 404, 200])
        self.assertEqual(json.loads(b[2])["error"], "UnknownMethod")

    def test_bad_http_version_and_methods(self):
        st, _, body = self.c.request("GET", "/v1/session.create")
        self.assertError((st, json.loads(body)), "InvalidRequest")
        st, _, body = self.c.request("PUT", "/v1/session.create", b"{}")
        self.assertError((st, json.loads(body)), "InvalidRequest")
        st, _, body = self.c.request("DELETE", "/v1/server/user.add", b"{}")
        self.assertError((st, json.loads(body)), "InvalidRequest", "Unauthorized")


class TestSlowClients(HostileCase):
    def test_half_sent_request_does_not_block_other_clients(self):
        holders = []
        for _ in range(20):
            s = self.raw(timeout=30)
            s.send(b"POST /v1/session.create HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
            holders.append(s)
        slow_headers = self.raw(timeout=30)
        slow_headers.send(b"POST /v1/session.create HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        t0 = time.monotonic()
        for _ in range(30):
            self.assertOk(self.c.call("session.create"))
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 3.0, "30 calls took %.2f s while 21 requests were half sent" % elapsed)
        # and from other threads at the same time
        results = []

        def worker():
            c = self.rtmd.client()
            t = time.monotonic()
            st, body = c.call("session.create")
            results.append((st, time.monotonic() - t))
            c.close()

        threads = [threading.Thread(target=worker) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual([st for st, _ in results], [200] * 10)
        self.assertLess(max(d for _, d in results), 2.0)
        # the held requests are still pending: finishing one gets it answered
        holders[0].send(b"1" + b" " * 93 + b"}")
        resp = holders[0].read_response(timeout=5)
        self.assertEqual(resp[0], 200, resp)

    def test_many_idle_connections_do_not_block_the_server(self):
        idle = [self.raw(timeout=30) for _ in range(200)]
        self.assertOk(self.c.call("session.create"))
        del idle


class TestUnknown(HostileCase):
    def test_unknown_client_method_is_unknown_method_404(self):
        for m in ("no.such", "session.nope", "session", "", "..", "session.create/x", "SESSION.CREATE"):
            with self.subTest(method=m):
                self.assertError(self.c.call(m), "UnknownMethod")

    def test_unknown_server_method_is_unknown_method_404(self):
        self.assertError(self.c.server("no.such"), "UnknownMethod")

    def test_unknown_top_level_path_is_unknown_method_404(self):
        for path in ("/nope", "/v2/session.create", "/v1", "/healthz/x"):
            with self.subTest(path=path):
                st, _, body = self.c.request("POST", path, b"{}")
                self.assertEqual(st, 404, body)
        st, _, body = self.c.get("/nope")
        self.assertError((st, json.loads(body)), "UnknownMethod")

    def test_very_long_method_name(self):
        self.assertError(self.c.call("x" * 5000), "UnknownMethod")

    # Error messages that echo client text: bounded, cut between characters, and valid UTF-8
    # even when the request's bytes are not (an HTTP path is raw bytes).
    ECHO_LIMIT = 100  # bytes of msg; the echoed part is at most 64 bytes plus "..."

    def test_unknown_method_echo_is_bounded_and_valid_utf8(self):
        paths = (b"/v1/x" + "\u00e9".encode() * 100,        # byte 64 splits a character
                 b"/v1/x\xff\xfe" + b"\xc3\xa9" * 40,         # not UTF-8 at all
                 b"/v1/" + b"\xe2\x82" * 50,                  # cut-off sequences
                 b"/v1/" + "\U0001f600".encode() * 3000)       # long
        for path in paths:
            for accept in (b"application/json", b"application/xml"):
                with self.subTest(path=path[:20], accept=accept):
                    s = self.raw()
                    s.send(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nAccept: " + accept +
                           b"\r\nContent-Length: 2\r\n\r\n{}")
                    resp = s.read_response()
                    self.assertIsNotNone(resp)
                    status, _, body = resp
                    self.assertEqual(status, 404, body[:200])
                    text = body.decode("utf-8")  # raises on invalid UTF-8
                    if accept == b"application/xml":
                        import xml.etree.ElementTree as ET
                        root = ET.fromstring(body)
                        self.assertEqual(root.findtext("rc"), "1003")
                        msg = root.findtext("msg")
                    else:
                        parsed = json.loads(text)
                        self.assertEqual(parsed["error"], "UnknownMethod")
                        msg = parsed["msg"]
                    self.assertLessEqual(len(msg.encode()), self.ECHO_LIMIT, msg)

    def test_unknown_setting_and_topic_echo_is_bounded_and_cut_between_characters(self):
        s = self.assertOk(self.c.call("session.create"))["session"]
        name = "x" + "\u00e9" * 100
        body = self.assertError(self.c.call("session.set", session=s, settings={name: 1}),
                                "InvalidParameter")
        self.assertLessEqual(len(body["msg"].encode()), self.ECHO_LIMIT, body)
        self.assertNotIn("\ufffd", body["msg"])
        for topic in (name + ":1", "\u00e9" * 100000 + ":1"):
            with self.subTest(size=len(topic)):
                body = self.assertError(self.c.call("session.subscribe", session=s, topic=topic),
                                        "InvalidParameter")
                self.assertLessEqual(len(body["msg"].encode()), self.ECHO_LIMIT, body)
                self.assertNotIn("\ufffd", body["msg"])


class TestZzzStillAlive(HostileCase):
    def test_server_still_healthy_after_everything(self):
        self.assertHealthy()
        self.assertOk(self.c.call("session.create"))


if __name__ == "__main__":
    unittest.main()
