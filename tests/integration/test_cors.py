"""Browsers on another origin (docs/semantics.md "Browsers on another origin"): with
--cors-origins, the client side answers pages of the listed origins (preflight, calls, SSE,
the SDK file); the server API never; without the setting no CORS header is sent."""

import json
import socket
import unittest

from rtmd_harness import Rtmd, RtmdTestCase, free_port

APP = "http://app.example:3000"
OTHER = "https://evil.example"


def raw_get_head(port, path, headers):
    """The status line and headers of a GET whose answer may never end (an SSE stream)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        req = "GET %s HTTP/1.1\r\nHost: x\r\n" % path
        req += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        return head[0], {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in head[1:])}
    finally:
        s.close()


class CorsCase(RtmdTestCase):
    def call(self, path, body, origin):
        return self.c.request("POST", path, body=json.dumps(body).encode(),
                              headers={"Content-Type": "application/json", "Origin": origin})

    def preflight(self, path, origin):
        return self.c.request("OPTIONS", path, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})


class TestCorsAllowed(CorsCase):
    rtmd_args = ("--cors-origins", APP + ", http://localhost:5173")

    def test_preflight_of_a_listed_origin_allows_post_with_json(self):
        status, headers, body = self.preflight("/v1/session.create", APP)
        self.assertEqual(status, 204)
        self.assertEqual(headers["access-control-allow-origin"], APP)
        self.assertIn("POST", headers["access-control-allow-methods"])
        self.assertIn("Content-Type", headers["access-control-allow-headers"])
        self.assertEqual(headers["vary"], "Origin")
        self.assertEqual(body, b"")

    def test_a_call_from_a_listed_origin_carries_its_origin_back(self):
        status, headers, body = self.call("/v1/session.create", {}, "http://localhost:5173")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["rc"], 0)
        self.assertEqual(headers["access-control-allow-origin"], "http://localhost:5173")
        # Errors too, so that the page can read rc and the message.
        status, headers, body = self.call("/v1/session.get_events", {"session": "nope"}, APP)
        self.assertNotEqual(json.loads(body)["rc"], 0)
        self.assertEqual(headers["access-control-allow-origin"], APP)

    def test_an_origin_not_listed_gets_no_cors_header(self):
        status, headers, _ = self.preflight("/v1/session.create", OTHER)
        self.assertEqual(status, 403)
        self.assertNotIn("access-control-allow-origin", headers)
        status, headers, _ = self.call("/v1/session.create", {}, OTHER)
        self.assertEqual(status, 200)  # the call itself is not refused: the browser hides it
        self.assertNotIn("access-control-allow-origin", headers)

    def test_the_server_api_is_never_opened_to_browsers(self):
        status, headers, _ = self.preflight("/v1/server/user.add", APP)
        self.assertEqual(status, 403)
        self.assertNotIn("access-control-allow-origin", headers)
        status, headers, _ = self.c.request(
            "POST", "/v1/server/user.online", body=b'{"uids":[1]}',
            headers={"Origin": APP, "Authorization": "Bearer " + self.rtmd.api_key})
        self.assertEqual(status, 200)
        self.assertNotIn("access-control-allow-origin", headers)

    def test_the_sdk_file_and_the_sse_stream_answer_a_listed_origin(self):
        status, headers, _ = self.c.request("GET", "/sdk/rtm.js", headers={"Origin": APP})
        self.assertEqual(status, 200)
        self.assertEqual(headers["access-control-allow-origin"], APP)
        session = json.loads(self.call("/v1/session.create", {}, APP)[2])["session"]
        line, headers = raw_get_head(self.rtmd.port, "/v1/events?session=" + session,
                                     {"Origin": APP})
        self.assertIn("200", line)
        self.assertEqual(headers["content-type"], "text/event-stream")
        self.assertEqual(headers["access-control-allow-origin"], APP)
        line, headers = raw_get_head(self.rtmd.port, "/v1/events?session=nope", {"Origin": APP})
        self.assertNotIn("200", line)
        self.assertEqual(headers["access-control-allow-origin"], APP)


class TestCorsAny(CorsCase):
    rtmd_env = {"RTM_CORS_ORIGINS": "*"}

    def test_star_allows_any_origin_and_echoes_it(self):
        status, headers, _ = self.preflight("/v1/message.send", OTHER)
        self.assertEqual(status, 204)
        self.assertEqual(headers["access-control-allow-origin"], OTHER)


class TestCorsOff(CorsCase):
    def test_by_default_no_origin_gets_cors_headers(self):
        status, headers, _ = self.preflight("/v1/session.create", APP)
        self.assertEqual(status, 403)
        self.assertNotIn("access-control-allow-origin", headers)
        status, headers, _ = self.call("/v1/session.create", {}, APP)
        self.assertEqual(status, 200)
        self.assertNotIn("access-control-allow-origin", headers)

    def test_a_malformed_origin_list_refuses_to_start(self):
        for value in ("app.example", "http://app.example/path", "ftp//x"):
            with self.subTest(value=value):
                r = Rtmd(args=["--cors-origins", value])
                self.addCleanup(r.cleanup)
                r.port = free_port()
                r.spawn()
                self.assertEqual(r.wait(5), 2)
                self.assertIn("cors", r.stderr())


if __name__ == "__main__":
    unittest.main()
