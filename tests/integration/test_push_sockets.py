"""API.md sections 7 and 8 over WebSocket: a channel's socket at GET /v1/channel?token=T
({"message": text} frames, connect/disconnect presence, token checks before the upgrade,
close when the token expires) and the server event stream at GET /v1/server/ws (API key,
{"event": {...}} frames, ?after= resumes)."""

import json
import time
import unittest

from rtmd_harness import RtmdTestCase, unique_id
from ws_client import HandshakeError, WsClient


class PushSocketCase(RtmdTestCase):
    def setUp(self):
        super().setUp()
        self._sockets = []

    def tearDown(self):
        for w in self._sockets:
            w.abort()
        super().tearDown()

    def socket(self, path, headers=None):
        w = WsClient(self.rtmd.port, path=path, headers=headers)
        self._sockets.append(w)
        return w

    def refused(self, path, headers=None):
        with self.assertRaises(HandshakeError) as cm:
            self.socket(path, headers)
        return cm.exception

    def channel(self, duration_seconds=600):
        cid = "client-%d" % unique_id()
        token = self.assertOk(self.c.server("channel.create", client_id=cid,
                                            duration_seconds=duration_seconds))["token"]
        return cid, token

    def channel_send(self, cid, message):
        self.assertOk(self.c.server("channel.send", client_id=cid, message=message))

    def messages(self, w, n, timeout=5.0):
        out = []
        for _ in range(n):
            opcode, payload = w.read_message(timeout=timeout)
            self.assertEqual(opcode, 1, "a text frame")
            out.append(json.loads(payload))
        return out

    def server_events(self, w, n, timeout=5.0):
        return [m["event"] for m in self.messages(w, n, timeout)]


class TestChannelSocket(PushSocketCase):
    def test_queued_messages_come_first_then_live_ones_in_order(self):
        cid, token = self.channel()
        self.channel_send(cid, "queued 1")
        self.channel_send(cid, 'queued "2"')
        w = self.socket("/v1/channel?token=" + token)
        self.assertEqual(self.messages(w, 2), [{"message": "queued 1"}, {"message": 'queued "2"'}])
        t0 = time.monotonic()
        self.channel_send(cid, "live")
        self.assertEqual(self.messages(w, 1), [{"message": "live"}])
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(self.assertOk(self.c.server("channel.info", client_id=cid))["pending"], 0)

    def test_messages_sent_after_the_socket_vanished_wait_for_the_next_poll(self):
        cid, token = self.channel()
        w = self.socket("/v1/channel?token=" + token)
        self.channel_send(cid, "first")
        self.assertEqual(self.messages(w, 1), [{"message": "first"}])
        w.abort()  # gone without a close handshake
        for i in range(20):
            self.channel_send(cid, "after %d" % i)
        time.sleep(0.3)
        body = self.assertOk(self.c.call("channel.poll", token=token, timeout=0))
        self.assertEqual(body["messages"], ["after %d" % i for i in range(20)])

    def test_socket_connects_the_channel_and_its_close_disconnects_it(self):
        cid, token = self.channel()
        w = self.socket("/v1/channel?token=" + token)
        self.channel_send(cid, "hello")
        self.messages(w, 1)
        self.assertTrue(self.assertOk(self.c.server("channel.info", client_id=cid))["connected"])
        w.close()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if not self.assertOk(self.c.server("channel.info", client_id=cid))["connected"]:
                break
            time.sleep(0.05)
        self.assertFalse(self.assertOk(self.c.server("channel.info", client_id=cid))["connected"])
        # Sent while nobody is connected: queued for the next socket.
        self.channel_send(cid, "later")
        w2 = self.socket("/v1/channel?token=" + token)
        self.assertEqual(self.messages(w2, 1), [{"message": "later"}])

    def test_bad_missing_and_expired_tokens_are_refused_before_the_upgrade(self):
        e = self.refused("/v1/channel?token=not-a-token")
        self.assertEqual((e.status, e.json()["error"]), (401, "InvalidToken"))
        e = self.refused("/v1/channel")
        self.assertEqual((e.status, e.json()["error"]), (401, "InvalidToken"))
        _, token = self.channel()
        head, payload, sig = token.split(".")
        e = self.refused("/v1/channel?token=%s.%s.%s" % (head, payload, sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")))
        self.assertEqual(e.json()["error"], "InvalidToken")
        _, short = self.channel(duration_seconds=1)
        time.sleep(2.1)
        e = self.refused("/v1/channel?token=" + short)
        self.assertEqual((e.status, e.json()["error"]), (401, "TokenExpired"))

    def test_socket_is_closed_when_its_token_expires(self):
        _, token = self.channel(duration_seconds=2)
        w = self.socket("/v1/channel?token=" + token)
        code = w.recv_close(timeout=20)
        self.assertEqual(code, 1008)


class TestServerEventSocket(PushSocketCase):
    def key_header(self):
        return {"Authorization": "Bearer " + self.rtmd.api_key}

    def test_needs_the_api_key(self):
        e = self.refused("/v1/server/ws")
        self.assertEqual((e.status, e.json()["error"]), (401, "Unauthorized"))
        e = self.refused("/v1/server/ws", {"Authorization": "Bearer wrong-key"})
        self.assertEqual((e.status, e.json()["error"]), (401, "Unauthorized"))

    def test_channel_and_user_presence_are_pushed_as_they_happen(self):
        ev = self.socket("/v1/server/ws", self.key_header())
        cid, token = self.channel()
        w = self.socket("/v1/channel?token=" + token)
        got = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                e.get("type") == "channel.connected" and e.get("client_id") == cid for e in got):
            got += self.server_events(ev, 1)
        self.assertTrue(any(e.get("type") == "channel.connected" and e.get("client_id") == cid
                            for e in got), got)
        u = self.login()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                e.get("type") == "user.online" and e.get("uid") == u.uid for e in got):
            got += self.server_events(ev, 1)
        self.assertTrue(any(e.get("type") == "user.online" and e.get("uid") == u.uid for e in got))
        ids = [e["id"] for e in got]
        self.assertEqual(ids, sorted(ids))
        w.close()

    def test_after_replays_every_event_still_kept(self):
        cid, token = self.channel()
        w = self.socket("/v1/channel?token=" + token)
        w.close()
        # The stream's own record of what happened, by long poll.
        polled = self.assertOk(self.c.server("events.poll", after=0, timeout=2))["events"]
        mine = [e for e in polled if e.get("client_id") == cid]
        self.assertGreaterEqual(len(mine), 1)
        first = mine[0]["id"]
        ev = self.socket("/v1/server/ws?after=%d" % (first - 1), self.key_header())
        replayed = self.server_events(ev, len([e for e in polled if e["id"] >= first]))
        self.assertEqual([e["id"] for e in replayed], [e["id"] for e in polled if e["id"] >= first])

    def test_bad_after_is_invalid_request(self):
        e = self.refused("/v1/server/ws?after=minus", self.key_header())
        self.assertEqual((e.status, e.json()["error"]), (400, "InvalidRequest"))


if __name__ == "__main__":
    unittest.main()
