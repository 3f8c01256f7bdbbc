"""API.md section 6: Server-Sent Events at GET /v1/events?session=S. Events are pushed as
they happen with the event id as the SSE id, Last-Event-ID (or ?after=) resumes, comment
heartbeats keep the stream open, and bad requests get the contract's errors."""

import json
import socket
import time
import unittest

from rtmd_harness import RtmdTestCase


class SseStream:
    """A raw-socket reader of one text/event-stream response."""

    def __init__(self, port, target, headers=None, timeout=5.0, ssl_context=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if ssl_context is not None:
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname="127.0.0.1")
        lines = ["GET %s HTTP/1.1" % target, "Host: 127.0.0.1", "Accept: text/event-stream"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.status, self.headers = self._read_head()

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from the event stream in time")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the event stream closed")
        self.buf += data

    def _read_head(self):
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers

    def body_rest(self, timeout=2.0):
        """For an error answer: its JSON body."""
        deadline = time.monotonic() + timeout
        length = int(self.headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill(deadline)
        return json.loads(self.buf[:length])

    def next_block(self, timeout=5.0):
        """The next SSE block (lines up to a blank line) as a list of lines."""
        deadline = time.monotonic() + timeout
        while b"\n\n" not in self.buf:
            self._fill(deadline)
        block, self.buf = self.buf.split(b"\n\n", 1)
        return block.decode().split("\n")

    def next_event(self, timeout=5.0):
        """The next event block as (id, data dict), skipping comment blocks."""
        deadline = time.monotonic() + timeout
        while True:
            block = self.next_block(max(0.01, deadline - time.monotonic()))
            if all(line.startswith(":") for line in block):
                continue
            fields = {}
            for line in block:
                k, _, v = line.partition(": ")
                fields[k] = v
            return int(fields["id"]), json.loads(fields["data"])

    def closed(self, timeout=3.0):
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except EOFError:
            return True
        except TimeoutError:
            return False

    def close(self):
        self.sock.close()


class TestSse(RtmdTestCase):
    def open(self, target, headers=None):
        s = SseStream(self.rtmd.port, target, headers)
        self.addCleanup(s.close)
        return s

    def server_send(self, to, msg):
        return self.assertOk(self.c.server("message.send", {"to": to.uid, "mtype": 30, "msg": msg}))

    def test_events_are_pushed_with_their_id_as_the_sse_id_without_polling(self):
        b = self.login()
        stream = self.open("/v1/events?session=" + b.session)
        self.assertEqual(stream.status, 200)
        self.assertTrue(stream.headers["content-type"].startswith("text/event-stream"))
        self.assertEqual(stream.headers.get("cache-control"), "no-cache")
        t0 = time.monotonic()
        ans = self.server_send(b, "pushed")
        eid, data = stream.next_event(timeout=2)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(data["id"], eid)
        self.assertEqual(data["type"], "message")
        self.assertEqual((data["message"]["mid"], data["message"]["msg"]), (ans["mid"], "pushed"))
        self.server_send(b, "second")
        eid2, data2 = stream.next_event(timeout=2)
        self.assertGreater(eid2, eid)
        self.assertEqual(data2["message"]["msg"], "second")

    def test_last_event_id_resumes_after_that_event_in_order_none_twice(self):
        b = self.login()
        for i in range(4):
            self.server_send(b, "m%d" % i)
        first = self.open("/v1/events?session=" + b.session)
        got = [first.next_event() for _ in range(4)]
        self.assertEqual([d["message"]["msg"] for _, d in got], ["m0", "m1", "m2", "m3"])
        first.close()
        # As EventSource does after a drop: the id of the last event it saw.
        again = self.open("/v1/events?session=" + b.session, {"Last-Event-ID": str(got[1][0])})
        resumed = [again.next_event() for _ in range(2)]
        self.assertEqual([d["message"]["msg"] for _, d in resumed], ["m2", "m3"])
        self.assertEqual([i for i, _ in resumed], [got[2][0], got[3][0]])

    def test_after_query_parameter_resumes_like_last_event_id(self):
        b = self.login()
        for i in range(3):
            self.server_send(b, "q%d" % i)
        evs = self.events(b.session)
        stream = self.open("/v1/events?session=%s&after=%d" % (b.session, evs[0]["id"]))
        self.assertEqual([stream.next_event()[1]["message"]["msg"] for _ in range(2)], ["q1", "q2"])

    def test_events_queued_while_no_stream_is_open_arrive_when_one_opens(self):
        b = self.login()
        self.server_send(b, "while away")
        stream = self.open("/v1/events?session=" + b.session)
        self.assertEqual(stream.next_event()[1]["message"]["msg"], "while away")

    def test_a_comment_opens_the_stream_and_heartbeats_keep_it_open(self):
        b = self.login()
        stream = self.open("/v1/events?session=" + b.session)
        self.assertTrue(stream.next_block(timeout=2)[0].startswith(":"))
        # The heartbeat is a comment every 15 s without events.
        block = stream.next_block(timeout=20)
        self.assertEqual(block, [": ping"])

    def test_kicked_session_gets_its_final_event_and_the_stream_ends(self):
        b = self.login()
        stream = self.open("/v1/events?session=" + b.session)
        self.assertOk(self.c.server("user.kickout", {"uid": b.uid}))
        _, data = stream.next_event(timeout=3)
        self.assertEqual((data["type"], data.get("state")), ("session", "kicked"))
        self.assertTrue(stream.closed(timeout=3))

    def test_unknown_session_is_invalid_session(self):
        stream = self.open("/v1/events?session=no-such-session")
        self.assertEqual(stream.status, 404)
        body = stream.body_rest()
        self.assertEqual((body["rc"], body["error"]), (1100, "InvalidSession"))

    def test_missing_session_and_bad_last_event_id_are_invalid_request(self):
        b = self.login()
        for target, headers in (("/v1/events", None),
                                ("/v1/events?session=%s" % b.session, {"Last-Event-ID": "x1"}),
                                ("/v1/events?session=%s&after=-3" % b.session, None)):
            with self.subTest(target=target, headers=headers):
                stream = self.open(target, headers)
                self.assertEqual(stream.status, 400)
                body = stream.body_rest()
                self.assertEqual((body["rc"], body["error"]), (1001, "InvalidRequest"))

    def test_other_calls_are_served_while_streams_are_open(self):
        streams = [self.open("/v1/events?session=" + self.login().session) for _ in range(5)]
        b = self.login()
        self.server_send(b, "still served")
        self.assertEqual(self.messages(b.session, 1)[0]["msg"], "still served")
        self.assertEqual(len(streams), 5)


if __name__ == "__main__":
    unittest.main()
