"""API.md sections 7 and 8 (+ docs/semantics.md "Channels", "Server events"): channel tokens,
queues while nobody is connected, long-poll channel.poll, info/clear, token errors, and the
server event stream (events.poll) with channel and user presence events."""

import base64
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import threading
import time
import unittest

from rtmd_harness import Client, Rtmd, RtmdTestCase, free_port, http_get, unique


def jwt_payload(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ChannelCase(RtmdTestCase):
    def create(self, client_id=None, **kw):
        """A new channel; returns (client_id, token)."""
        client_id = client_id or unique("client")
        body = self.assertOk(self.c.server("channel.create", client_id=client_id, **kw))
        self.assertIsInstance(body.get("token"), str)
        return client_id, body["token"]

    def send_to(self, client_id, message):
        self.assertOk(self.c.server("channel.send", client_id=client_id, message=message))

    def info(self, client_id):
        return self.assertOk(self.c.server("channel.info", client_id=client_id))

    def poll(self, token, timeout=0, client=None):
        return (client or self.c).call("channel.poll", token=token, timeout=timeout)

    def messages(self, token, timeout=0, client=None):
        body = self.assertOk(self.poll(token, timeout, client))
        self.assertIsInstance(body.get("messages"), list, body)
        return body["messages"]

    def in_thread(self, fn):
        """Runs fn(client) on its own connection; returns (thread, result) where result gets
        resp (or exc) and elapsed."""
        result = {}

        def run():
            c = self.rtmd.client()
            t0 = time.monotonic()
            try:
                result["resp"] = fn(c)
            except Exception as e:  # noqa: BLE001 - the test checks it
                result["exc"] = e
            finally:
                c.close()
            result["elapsed"] = time.monotonic() - t0

        t = threading.Thread(target=run)
        t.start()
        return t, result


class TestChannels(ChannelCase):
    rtmd_args = ("--channel-queue-limit", "5")

    def test_messages_sent_while_disconnected_wait_and_the_poll_gets_them_in_order(self):
        cid, token = self.create()
        for m in ("one", "two", "three"):
            self.send_to(cid, m)
        body = self.info(cid)
        self.assertEqual((body["connected"], body["pending"]), (False, 3))
        self.assertEqual(self.messages(token), ["one", "two", "three"])
        body = self.info(cid)
        self.assertEqual((body["connected"], body["pending"]), (True, 0))
        self.assertEqual(self.messages(token), [])

    def test_clear_drops_the_queue_and_answers_how_many(self):
        cid, token = self.create()
        self.send_to(cid, "a")
        self.send_to(cid, "b")
        self.assertEqual(self.assertOk(self.c.server("channel.clear", client_id=cid))["cleared"], 2)
        self.assertEqual(self.info(cid)["pending"], 0)
        self.assertEqual(self.messages(token), [])
        self.assertEqual(self.assertOk(self.c.server("channel.clear", client_id=cid))["cleared"], 0)

    def test_queue_is_bounded_and_drops_the_oldest(self):
        cid, token = self.create()
        for i in range(1, 9):
            self.send_to(cid, "m%d" % i)
        self.assertEqual(self.info(cid)["pending"], 5)
        self.assertEqual(self.messages(token), ["m4", "m5", "m6", "m7", "m8"])

    def test_token_is_an_hs256_jwt_carrying_the_client_id_and_expiry(self):
        before = int(time.time())
        cid, token = self.create(duration_minutes=3)
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        self.assertEqual(header["alg"], "HS256")
        claims = jwt_payload(token)
        self.assertEqual((claims["sub"], claims["typ"]), (cid, "channel"))
        self.assertGreaterEqual(claims["exp"], before + 180)
        self.assertLessEqual(claims["exp"], int(time.time()) + 181)
        claims = jwt_payload(self.create()[1])
        self.assertGreaterEqual(claims["exp"] - claims["iat"], 120 * 60)  # default 120 minutes

    def test_expired_token_is_token_expired_and_the_channel_is_gone(self):
        cid, token = self.create(duration_seconds=1)
        self.send_to(cid, "soon gone")
        time.sleep(2.1)
        self.assertError(self.poll(token), "TokenExpired")
        self.assertError(self.poll(token, timeout=5), "TokenExpired")
        self.assertError(self.c.server("channel.send", client_id=cid, message="x"), "NotFound")
        self.assertError(self.c.server("channel.info", client_id=cid), "NotFound")

    def test_tampered_or_malformed_token_is_invalid_token(self):
        cid, token = self.create()
        head, payload, sig = token.split(".")
        claims = jwt_payload(token)
        claims["sub"] = "someone-else"
        forged = ".".join([head, b64url(json.dumps(claims).encode()), sig])
        flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
        for bad in (forged, ".".join([head, payload, flipped]), token + "x", "garbage", "a.b.c",
                    "", token.replace(".", "", 1)):
            with self.subTest(token=bad[:40]):
                self.assertError(self.poll(bad), "InvalidToken")
                self.assertError(self.poll(bad, timeout=3), "InvalidToken")
        self.assertError(self.c.call("channel.poll", token=5), "InvalidRequest")
        self.assertError(self.c.call("channel.poll"), "InvalidRequest")

    def test_a_user_token_is_not_a_channel_token(self):
        user = self.new_user()
        token = self.assertOk(self.c.server("user.token", uid=user.uid))["token"]
        self.assertError(self.poll(token), "InvalidToken")
        _, channel_token = self.create(str(user.uid))
        s = self.new_session()
        self.assertError(self.c.call("session.authorize", session=s, token=channel_token),
                         "InvalidToken")

    def token_secret(self):
        """The server's token secret, as an application sharing it would hold it."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.rtmd.data_dir, "rtm.db"),
                             uri=True)
        try:
            return db.execute("SELECT value FROM meta WHERE key = 'token_secret'").fetchone()[0]
        finally:
            db.close()

    def mint(self, secret, claims):
        """docs/semantics.md "Channels": a channel token made without the server."""
        signing_input = (b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + b64url(sig)

    def test_an_application_can_mint_channel_tokens_with_the_shared_secret(self):
        secret = self.token_secret()
        cid = unique("minted")
        token = self.mint(secret, {"typ": "channel", "sub": cid, "exp": int(time.time()) + 60})
        self.assertError(self.c.server("channel.send", client_id=cid, message="early"), "NotFound")
        self.assertEqual(self.messages(token), [])  # the first poll opens the channel
        self.send_to(cid, "hello")
        self.assertEqual(self.messages(token), ["hello"])
        self.assertTrue(self.info(cid)["connected"])
        expired = self.mint(secret, {"typ": "channel", "sub": cid, "exp": int(time.time()) - 1})
        self.assertError(self.poll(expired), "TokenExpired")
        for claims in ({"typ": "user", "sub": cid, "exp": int(time.time()) + 60},
                       {"sub": cid, "exp": int(time.time()) + 60},
                       {"typ": "channel", "sub": 5, "exp": int(time.time()) + 60},
                       {"typ": "channel", "sub": cid}):
            with self.subTest(claims=claims):
                self.assertError(self.poll(self.mint(secret, claims)), "InvalidToken")
        self.assertError(self.poll(self.mint(secret + "x", {"typ": "channel", "sub": cid,
                                                             "exp": int(time.time()) + 60})),
                         "InvalidToken")

    def test_poll_waits_and_answers_the_moment_a_send_arrives(self):
        cid, token = self.create()
        t, result = self.in_thread(lambda c: self.poll(token, timeout=10, client=c))
        time.sleep(0.5)
        self.assertTrue(t.is_alive(), "the poll answered before anything was sent: %r" % result)
        sent = time.monotonic()
        self.send_to(cid, "wake up")
        t.join(10)
        self.assertNotIn("exc", result)
        body = self.assertOk(result["resp"])
        self.assertEqual(body["messages"], ["wake up"])
        self.assertLess(result["elapsed"], 0.5 + (time.monotonic() - sent) + 1.0)
        self.assertLess(result["elapsed"], 3.0)
        self.assertTrue(self.info(cid)["connected"])

    def test_messages_taken_by_a_poll_whose_client_left_go_back_to_the_queue(self):
        cid, token = self.create()
        # A raw HTTP long poll, then the client goes away (FIN) while it waits.
        s = socket.create_connection(("127.0.0.1", self.rtmd.port))
        body = json.dumps({"token": token, "timeout": 10}).encode()
        s.sendall(b"POST /v1/channel.poll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        time.sleep(0.5)
        s.close()
        time.sleep(0.2)
        self.send_to(cid, "kept one")
        self.send_to(cid, "kept two")
        # The poll woke with the first message and found nobody to answer: it gave it back.
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            got += self.messages(token, timeout=1)
        self.assertEqual(got, ["kept one", "kept two"])

    def test_poll_with_nothing_waits_out_its_timeout_and_answers_empty(self):
        _, token = self.create()
        t0 = time.monotonic()
        self.assertEqual(self.messages(token, timeout=1), [])
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)

    def test_channel_survives_a_new_token_with_its_queue(self):
        cid, first = self.create(duration_seconds=60)
        self.send_to(cid, "kept")
        _, second = self.create(cid, duration_minutes=10)
        self.assertEqual(self.messages(second), ["kept"])
        self.send_to(cid, "again")
        self.assertEqual(self.messages(first), ["again"])

    def test_unknown_client_id_is_not_found(self):
        cid = unique("never")
        self.assertError(self.c.server("channel.send", client_id=cid, message="x"), "NotFound")
        self.assertError(self.c.server("channel.info", client_id=cid), "NotFound")
        self.assertError(self.c.server("channel.clear", client_id=cid), "NotFound")

    def test_bad_parameters_are_rejected(self):
        cases = [
            ({"client_id": ""}, "InvalidParameter"),
            ({"client_id": "x" * 257}, "InvalidParameter"),
            ({}, "InvalidRequest"),
            ({"client_id": 7}, "InvalidRequest"),
            ({"client_id": "c", "duration_minutes": 0}, "InvalidParameter"),
            ({"client_id": "c", "duration_minutes": 1441}, "InvalidParameter"),
            ({"client_id": "c", "duration_seconds": 0}, "InvalidParameter"),
            ({"client_id": "c", "duration_seconds": 86401}, "InvalidParameter"),
            ({"client_id": "c", "duration_seconds": 5, "duration_minutes": 5}, "InvalidRequest"),
        ]
        for params, error in cases:
            with self.subTest(params=params):
                self.assertError(self.c.server("channel.create", params), error)
        cid, token = self.create("x" * 256)
        self.assertError(self.c.server("channel.send", client_id=cid, message=5), "InvalidRequest")
        self.assertError(self.c.server("channel.send", client_id=cid), "InvalidRequest")
        self.assertError(self.c.server("channel.send", client_id=cid, message="x" * (64 * 1024 + 1)),
                         "PayloadTooLarge")
        self.assertError(self.poll(token, timeout=61), "InvalidParameter")
        self.assertError(self.poll(token, timeout=-1), "InvalidParameter")

    def test_server_methods_need_the_key_and_poll_is_a_client_method(self):
        self.assertError(self.c.call("channel.create", client_id="c"), "UnknownMethod")
        self.assertError(self.c.post("/v1/server/channel.create", {"client_id": "c"}),
                         "Unauthorized")
        self.assertError(self.c.server("channel.poll", token="x"), "UnknownMethod")

    def test_text_is_delivered_unchanged(self):
        cid, token = self.create("клиент \"1\" ✓")
        texts = ["", "ünïcödé ✓ 🎉", '{"json": [1, 2]}', "line\nbreak\ttab"]
        for m in texts:
            self.send_to(cid, m)
        self.assertEqual(self.messages(token), texts)


class TestServerEvents(ChannelCase):
    rtmd_args = ("--channel-timeout", "1")

    def events_poll(self, timeout=0, after=None, client=None):
        params = {"timeout": timeout}
        if after is not None:
            params["after"] = after
        body = self.assertOk((client or self.c).server("events.poll", params))
        self.assertIsInstance(body.get("events"), list, body)
        self.assertIsInstance(body.get("last"), int, body)
        return body

    def mark(self):
        """Reads everything there is (moving the cursor) and answers the last id."""
        while True:
            body = self.events_poll()
            if not body["events"]:
                return body["last"]

    def wait_for(self, after, pred, count, timeout=6.0):
        """Polls with `after` (re-reading from there) until count events match pred."""
        deadline = time.monotonic() + timeout
        while True:
            got = [e for e in self.events_poll(after=after)["events"] if pred(e)]
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    def test_channel_connected_then_disconnected_after_channel_timeout_without_a_poll(self):
        start = self.mark()
        cid, token = self.create()
        self.send_to(cid, "x")
        self.assertEqual(self.wait_for(start, lambda e: e.get("client_id") == cid, 1, 0.3), [])
        t0 = int(time.time() * 1000)
        self.assertEqual(self.messages(token), ["x"])
        got = self.wait_for(start, lambda e: e.get("client_id") == cid, 2)
        self.assertEqual([e["type"] for e in got], ["channel.connected", "channel.disconnected"])
        for e in got:
            self.assertEqual(set(e), {"id", "type", "client_id", "time"})
            self.assertGreaterEqual(e["time"], t0 - 1000)
        self.assertLess(got[0]["id"], got[1]["id"])
        self.assertGreaterEqual(got[1]["time"] - got[0]["time"], 1000)
        self.assertFalse(self.info(cid)["connected"])
        # The next poll connects it again.
        self.messages(token)
        got = self.wait_for(start, lambda e: e.get("client_id") == cid, 3)
        self.assertEqual(got[2]["type"], "channel.connected")

    def test_polling_more_often_than_the_timeout_stays_connected(self):
        start = self.mark()
        cid, token = self.create()
        for _ in range(6):
            self.messages(token)
            time.sleep(0.4)
        got = [e["type"] for e in self.events_poll(after=start)["events"]
               if e.get("client_id") == cid]
        self.assertEqual(got, ["channel.connected"])
        self.assertTrue(self.info(cid)["connected"])

    def test_a_waiting_poll_keeps_the_channel_connected(self):
        start = self.mark()
        cid, token = self.create()
        self.assertEqual(self.messages(token, timeout=3), [])
        got = [e["type"] for e in self.events_poll(after=start)["events"]
               if e.get("client_id") == cid]
        self.assertEqual(got, ["channel.connected"])

    def test_without_after_each_event_comes_once_and_with_after_again(self):
        start = self.mark()
        user = self.login()
        mine = lambda e: e.get("uid") == user.uid  # noqa: E731
        first = self.events_poll()
        self.assertEqual([e["type"] for e in first["events"] if mine(e)], ["user.online"])
        self.assertEqual(first["last"], max(e["id"] for e in first["events"]))
        self.assertEqual([e for e in self.events_poll()["events"] if mine(e)], [])
        again = self.events_poll(after=start)
        self.assertEqual([e["type"] for e in again["events"] if mine(e)], ["user.online"])
        ids = [e["id"] for e in again["events"]]
        self.assertEqual(ids, sorted(ids))
        self.assertTrue(all(i > start for i in ids))
        self.assertEqual(self.events_poll(after=again["last"])["events"], [])

    def test_user_online_and_offline_when_a_user_logs_in_and_its_session_is_destroyed(self):
        start = self.mark()
        user = self.login()
        self.assertOk(self.c.call("session.destroy", session=user.session))
        got = self.wait_for(start, lambda e: e.get("uid") == user.uid, 2)
        self.assertEqual([e["type"] for e in got], ["user.online", "user.offline"])
        for e in got:
            self.assertEqual(set(e), {"id", "type", "uid", "time"})
            self.assertIsInstance(e["time"], int)

    def test_a_second_session_of_an_online_user_is_no_new_event(self):
        start = self.mark()
        user = self.login(mode="multi")
        self.login(user, mode="multi")
        got = self.wait_for(start, lambda e: e.get("uid") == user.uid, 2, 0.5)
        self.assertEqual([e["type"] for e in got], ["user.online"])

    def test_events_poll_waits_and_answers_the_moment_an_event_happens(self):
        self.mark()
        t, result = self.in_thread(lambda c: self.events_poll(timeout=10, client=c))
        time.sleep(0.5)
        self.assertTrue(t.is_alive(), "events.poll answered with nothing new: %r" % result)
        user = self.login()
        t.join(10)
        self.assertNotIn("exc", result)
        types = [(e["type"], e.get("uid")) for e in result["resp"]["events"]]
        self.assertIn(("user.online", user.uid), types)
        self.assertLess(result["elapsed"], 3.0)

    def test_events_poll_with_nothing_new_waits_out_its_timeout(self):
        self.mark()
        t0 = time.monotonic()
        body = self.events_poll(timeout=1)
        # Only stray events of earlier tests (late disconnects) may come; none are ours.
        if not body["events"]:
            self.assertGreaterEqual(time.monotonic() - t0, 0.9)

    def test_events_poll_parameters_and_key(self):
        self.assertError(self.c.server("events.poll", timeout=61), "InvalidParameter")
        self.assertError(self.c.server("events.poll", after=-1), "InvalidParameter")
        self.assertError(self.c.server("events.poll", after="1"), "InvalidRequest")
        self.assertError(self.c.post("/v1/server/events.poll", {}), "Unauthorized")
        self.assertError(self.c.call("events.poll"), "UnknownMethod")


class TestServerEventLimit(ChannelCase):
    rtmd_args = ("--server-events-limit", "3")

    def test_the_ring_keeps_the_newest_events_and_reports_a_gap(self):
        for _ in range(5):
            self.login()
        body = self.assertOk(self.c.server("events.poll", timeout=0))
        events = body["events"]
        self.assertEqual(events[0]["type"], "gap")
        self.assertEqual(events[0]["dropped"], 2)
        self.assertEqual([e["type"] for e in events[1:]], ["user.online"] * 3)
        self.assertEqual([e["id"] for e in events], [2, 3, 4, 5])
        self.assertEqual(body["last"], 5)


class TestChannelSettings(unittest.TestCase):
    """channel_queue_limit, channel_timeout and server_events_limit from env and TOML; bad
    values refuse to start."""

    def run_rtmd(self, args=(), env=None, toml=None):
        r = Rtmd(args=args, env=env)
        self.addCleanup(r.cleanup)
        if toml is not None:
            conf = os.path.join(r.tmp, "rtm.toml")
            with open(conf, "w") as f:
                f.write(toml)
            r.args = r.args + ["--config", conf]
        return r

    def queue_bound(self, r):
        c = Client(r)
        self.addCleanup(c.close)
        cid = unique("cfg")
        status, body = c.server("channel.create", client_id=cid)
        self.assertEqual(status, 200, body)
        for i in range(10):
            c.server("channel.send", client_id=cid, message=str(i))
        status, body = c.server("channel.info", client_id=cid)
        return body["pending"]

    def test_queue_limit_from_env_and_the_flag_wins(self):
        r = self.run_rtmd(env={"RTM_CHANNEL_QUEUE_LIMIT": "3"})
        r.start()
        self.assertEqual(self.queue_bound(r), 3)
        r.stop()
        r = self.run_rtmd(args=["--channel-queue-limit", "4"], env={"RTM_CHANNEL_QUEUE_LIMIT": "3"})
        r.start()
        self.assertEqual(self.queue_bound(r), 4)
        r.stop()

    def test_settings_from_toml(self):
        r = self.run_rtmd(toml="channel_queue_limit = 2\nchannel_timeout = 1\n"
                               "server_events_limit = 50\n")
        r.start()
        self.assertEqual(self.queue_bound(r), 2)
        r.stop()

    def test_bad_values_refuse_to_start(self):
        for args, env, toml in ((["--channel-queue-limit", "0"], None, None),
                                (["--channel-timeout", "x"], None, None),
                                ([], {"RTM_SERVER_EVENTS_LIMIT": "-5"}, None),
                                ([], None, "channel_timeout = 0\n"),
                                ([], None, 'server_events_limit = "many"\n')):
            with self.subTest(args=args, env=env, toml=toml):
                r = self.run_rtmd(args=args, env=env, toml=toml)
                r.port = free_port()
                r.spawn()
                self.assertEqual(r.wait(5), 2)
                self.assertEqual(len(r.stderr().strip().splitlines()), 1, r.stderr())


class TestChannelMetrics(ChannelCase):
    def test_metrics_show_channels_and_server_events(self):
        cid, token = self.create()
        self.send_to(cid, "x")
        status, _, body = http_get(self.rtmd.port, "/metrics")
        self.assertEqual(status, 200)
        text = body.decode()
        for name in ("rtm_channels", "rtm_channels_connected", "rtm_channel_messages_queued",
                     "rtm_channel_polls_waiting", "rtm_server_events_kept",
                     "rtm_server_events_total", "rtm_server_event_polls_waiting"):
            self.assertRegex(text, r"(?m)^%s \d+$" % name)
        self.assertRegex(text, r"(?m)^rtm_channel_messages_queued [1-9]")


if __name__ == "__main__":
    unittest.main()
