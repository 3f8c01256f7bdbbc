"""API.md section 3 (+ docs/semantics.md): sessions, authorize modes, settings, long-poll
get_events, cursor and `after`, queue_limit gaps, subscriptions, idle expiry, login throttle."""

import base64
import json
import os
import re
import socket
import threading
import time
import unittest

from rtmd_harness import RtmdTestCase, User, unique_id

DEFAULT_SETTINGS = {"max_events": 100, "queue_limit": 1000, "presence": True, "idle_timeout": 120}


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class SessionCase(RtmdTestCase):
    def server_send(self, to, msg="hi", **kw):
        params = {"to": to.uid if isinstance(to, User) else to, "mtype": 30, "msg": msg}
        params.update(kw)
        return self.assertOk(self.c.server("message.send", params))

    def poll_in_thread(self, session, timeout):
        """Starts a get_events(timeout) on its own connection; returns (thread, result dict)
        with resp, elapsed, and t_answer (monotonic time of the answer)."""
        result = {}

        def run():
            c = self.rtmd.client()
            t0 = time.monotonic()
            try:
                result["resp"] = self.get_events(session, timeout=timeout, client=c)
            except Exception as e:  # noqa: BLE001 - the test checks it
                result["exc"] = e
            result["t_answer"] = time.monotonic()
            result["elapsed"] = result["t_answer"] - t0
            c.close()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, result


class TestCreateAndAuthorize(SessionCase):
    def test_create_returns_distinct_43_char_base64url_sessions(self):
        a = self.new_session()
        b = self.new_session()
        self.assertNotEqual(a, b)
        for s in (a, b):
            self.assertRegex(s, r"^[A-Za-z0-9_-]{43}$")

    def test_authorize_by_login_and_password_answers_uid_and_session(self):
        u = self.new_user()
        s = self.new_session()
        body = self.assertOk(self.authorize(s, u))
        self.assertEqual(body["uid"], u.uid)
        self.assertEqual(body["session"], s)

    def test_authorize_by_user_token_jwt(self):
        u = self.new_user()
        tok = self.assertOk(self.c.server("user.token", uid=u.uid, ttl=60))["token"]
        self.assertEqual(len(tok.split(".")), 3)
        s = self.new_session()
        body = self.assertOk(self.c.call("session.authorize", session=s, token=tok))
        self.assertEqual((body["uid"], body["session"]), (u.uid, s))
        # the session is authorized: a call that needs it works
        self.assertOk(self.c.call("user.online", session=s, uids=[u.uid]))

    def test_authorize_with_tampered_token_is_invalid_token(self):
        u = self.new_user()
        tok = self.assertOk(self.c.server("user.token", uid=u.uid, ttl=60))["token"]
        h, p, sig = tok.split(".")
        payload = b64url_json(p)
        payload["uid"] = payload["uid"] + 1
        payload["sub"] = str(payload["uid"])
        forged = h + "." + base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=") + "." + sig
        self.assertError(self.c.call("session.authorize", session=self.new_session(), token=forged),
                         "InvalidToken")
        bad_sig = h + "." + p + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
        self.assertError(self.c.call("session.authorize", session=self.new_session(), token=bad_sig),
                         "InvalidToken")
        self.assertError(self.c.call("session.authorize", session=self.new_session(), token="not-a-jwt"),
                         "InvalidToken")

    def test_authorize_with_expired_token_is_token_expired(self):
        u = self.new_user()
        tok = self.assertOk(self.c.server("user.token", uid=u.uid, ttl=1))["token"]
        time.sleep(2.2)
        self.assertError(self.c.call("session.authorize", session=self.new_session(), token=tok),
                         "TokenExpired")

    def test_wrong_password_is_authorize_failed_and_session_stays_unauthorized(self):
        u = self.new_user()
        s = self.new_session()
        self.assertError(self.authorize(s, u, password="wrong"), "AuthorizeFailed")
        self.assertError(self.c.call("user.online", session=s, uids=[u.uid]), "NotAuthorized")
        # the session still exists and can authorize properly
        self.assertOk(self.authorize(s, u))

    def test_unknown_login_is_authorize_failed(self):
        s = self.new_session()
        self.assertError(self.c.call("session.authorize", session=s, login="nobody-" + s[:8],
                                     password="x"), "AuthorizeFailed")

    def test_authorize_twice_is_session_already_authorized(self):
        u = self.login()
        self.assertError(self.authorize(u.session, u), "SessionAlreadyAuthorized")
        other = self.new_user()
        self.assertError(self.authorize(u.session, other), "SessionAlreadyAuthorized")

    def test_authorize_unknown_session_is_invalid_session(self):
        u = self.new_user()
        self.assertError(self.c.call("session.authorize", session="A" * 43, login=u.login,
                                     password=u.password), "InvalidSession")

    def test_authorize_without_credentials_is_invalid_request(self):
        u = self.new_user()
        s = self.new_session()
        self.assertError(self.c.call("session.authorize", session=s), "InvalidRequest")
        self.assertError(self.c.call("session.authorize", session=s, login=u.login), "InvalidRequest")
        self.assertError(self.c.call("session.authorize", session=s, login=u.login, password=5),
                         "InvalidRequest")
        self.assertError(self.c.call("session.authorize", login=u.login, password=u.password),
                         "InvalidRequest")

    def test_authorize_unknown_mode_is_invalid_parameter(self):
        u = self.new_user()
        s = self.new_session()
        self.assertError(self.authorize(s, u, mode="steal"), "InvalidParameter")
        self.assertError(self.c.call("user.online", session=s, uids=[1]), "NotAuthorized")

    def test_unauthorized_session_may_call_session_methods_only(self):
        s = self.new_session()
        self.assertOk(self.c.call("session.set", session=s, settings={}))
        self.assertEqual(self.events(s), [])
        self.assertError(self.c.call("user.online", session=s, uids=[1]), "NotAuthorized")
        self.assertError(self.c.call("message.send", session=s, to=1, mtype=30, msg="x"), "NotAuthorized")


class TestModes(SessionCase):
    def test_mode_kill_is_default_and_ends_other_session_with_killed_event(self):
        u = self.login()
        old = u.session
        s = self.new_session()
        body = self.assertOk(self.authorize(s, u))  # no mode: kill
        self.assertEqual(body["session"], s)
        # any call other than get_events on the killed session is InvalidSession
        self.assertError(self.c.call("session.set", session=old, settings={}), "InvalidSession")
        evs = self.events(old)
        self.assertEqual([(e["type"], e.get("state")) for e in evs][-1:], [("session", "killed")], evs)
        self.assertError(self.get_events(old), "InvalidSession")
        self.assertError(self.c.call("user.online", session=old, uids=[u.uid]), "InvalidSession")
        # messages go to the new session only
        self.server_send(u, "after kill")
        self.assertEqual([m["msg"] for m in self.messages(s, 1)], ["after kill"])

    def test_mode_kill_answers_a_waiting_poll_of_the_killed_session(self):
        u = self.login()
        old = u.session
        t, res = self.poll_in_thread(old, 20)
        time.sleep(0.3)
        t_kill = time.monotonic()
        self.assertOk(self.authorize(self.new_session(), u, mode="kill"))
        t.join(10)
        self.assertFalse(t.is_alive())
        evs = self.assertOk(res["resp"])["events"]
        self.assertEqual([(e["type"], e.get("state")) for e in evs], [("session", "killed")])
        self.assertLess(res["t_answer"] - t_kill, 2.0)
        self.assertError(self.get_events(old), "InvalidSession")

    def test_mode_kill_ends_every_other_session_of_the_user(self):
        u = self.login()
        first = u.session
        second = self.login(u, mode="multi").session
        third = self.new_session()
        self.assertOk(self.authorize(third, u, mode="kill"))
        for old in (first, second):
            evs = self.events(old)
            self.assertEqual(evs[-1]["type"], "session")
            self.assertEqual(evs[-1]["state"], "killed")
            self.assertError(self.get_events(old), "InvalidSession")
        self.assertOk(self.get_events(third))

    def test_mode_refuse_is_session_exists_while_user_has_live_session(self):
        u = self.login()
        s = self.new_session()
        self.assertError(self.authorize(s, u, mode="refuse"), "SessionExists")
        self.assertError(self.c.call("user.online", session=s, uids=[1]), "NotAuthorized")
        self.assertEqual(self.events(u.session), [], "the live session must not be disturbed")
        self.assertOk(self.c.call("session.destroy", session=u.session))
        body = self.assertOk(self.authorize(s, u, mode="refuse"))
        self.assertEqual((body["uid"], body["session"]), (u.uid, s))

    def test_mode_refuse_binds_when_no_live_session(self):
        u = self.new_user()
        s = self.new_session()
        body = self.assertOk(self.authorize(s, u, mode="refuse"))
        self.assertEqual((body["uid"], body["session"]), (u.uid, s))

    def test_mode_possess_answers_existing_session_with_queued_events_and_drops_new(self):
        u = self.login()
        existing = u.session
        self.server_send(u, "queued-before-possess")
        fresh = self.new_session()
        body = self.assertOk(self.authorize(fresh, u, mode="possess"))
        self.assertEqual((body["uid"], body["session"]), (u.uid, existing))
        self.assertError(self.get_events(fresh), "InvalidSession")
        msgs = [e["message"]["msg"] for e in self.events(existing) if e["type"] == "message"]
        self.assertEqual(msgs, ["queued-before-possess"])

    def test_mode_possess_without_live_session_binds_the_new_one(self):
        u = self.new_user()
        s = self.new_session()
        body = self.assertOk(self.authorize(s, u, mode="possess"))
        self.assertEqual((body["uid"], body["session"]), (u.uid, s))
        self.assertOk(self.c.call("user.online", session=s, uids=[u.uid]))

    def test_mode_possess_picks_the_most_recently_active_session(self):
        u = self.login()
        a = u.session
        b = self.login(u, mode="multi").session
        time.sleep(0.05)
        self.events(a)  # a is now the most recently active
        body = self.assertOk(self.authorize(self.new_session(), u, mode="possess"))
        self.assertEqual(body["session"], a)
        time.sleep(0.05)
        self.events(b)
        body = self.assertOk(self.authorize(self.new_session(), u, mode="possess"))
        self.assertEqual(body["session"], b)

    def test_mode_auth_checks_credentials_and_leaves_session_unauthorized(self):
        u = self.login()
        s = self.new_session()
        body = self.assertOk(self.authorize(s, u, mode="auth"))
        self.assertEqual((body["uid"], body["session"]), (u.uid, s))
        self.assertError(self.c.call("user.online", session=s, uids=[1]), "NotAuthorized")
        self.assertEqual(self.events(u.session), [], "auth mode must not kill the live session")
        self.assertError(self.authorize(s, u, mode="auth", password="wrong"), "AuthorizeFailed")
        # still unauthorized, so a real authorize works afterwards
        self.assertOk(self.authorize(s, u, mode="multi"))

    def test_mode_multi_keeps_other_sessions_and_both_receive(self):
        u = self.login()
        a = u.session
        b = self.new_session()
        body = self.assertOk(self.authorize(b, u, mode="multi"))
        self.assertEqual(body["session"], b)
        self.server_send(u, "to-both")
        self.assertEqual([m["msg"] for m in self.messages(a, 1)], ["to-both"])
        self.assertEqual([m["msg"] for m in self.messages(b, 1)], ["to-both"])


class TestModeRaces(SessionCase):
    def authorize_concurrently(self, user, mode, n=8):
        sessions = [self.new_session() for _ in range(n)]
        results = [None] * n
        barrier = threading.Barrier(n)

        def run(i):
            c = self.rtmd.client()
            barrier.wait()
            results[i] = self.authorize(sessions[i], user, mode=mode, client=c)
            c.close()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return sessions, results

    def test_concurrent_kill_authorizations_leave_exactly_one_live_session(self):
        u = self.new_user()
        sessions, results = self.authorize_concurrently(u, "kill")
        for r in results:
            self.assertOk(r)
        live = [s for s in sessions if self.c.call("user.online", session=s, uids=[u.uid])[0] == 200]
        self.assertEqual(len(live), 1, "live sessions after %d concurrent kill authorizations: %d"
                         % (len(sessions), len(live)))
        self.assertEqual(self.assertOk(self.c.server("user.kickout", uid=u.uid))["sessions"], 1)

    def test_concurrent_refuse_authorizations_bind_exactly_one(self):
        u = self.new_user()
        sessions, results = self.authorize_concurrently(u, "refuse")
        ok = [r for r in results if r[0] == 200]
        self.assertEqual(len(ok), 1, results)
        for r in results:
            if r[0] != 200:
                self.assertError(r, "SessionExists")
        self.assertEqual(self.assertOk(self.c.server("user.kickout", uid=u.uid))["sessions"], 1)


class TestDestroy(SessionCase):
    def test_destroy_ends_session_then_calls_are_invalid_session(self):
        u = self.login()
        self.assertOk(self.c.call("session.destroy", session=u.session))
        self.assertError(self.get_events(u.session), "InvalidSession")
        self.assertError(self.c.call("session.destroy", session=u.session), "InvalidSession")
        self.assertError(self.c.call("session.set", session=u.session, settings={}), "InvalidSession")
        self.assertError(self.c.call("session.subscribe", session=u.session, topic="presence:1"),
                         "InvalidSession")

    def test_destroy_of_last_session_makes_user_offline(self):
        watcher = self.login()
        u = self.login()
        online = self.assertOk(self.c.call("user.online", session=watcher.session, uids=[u.uid]))
        self.assertEqual(online["uids"], [u.uid])
        self.assertOk(self.c.call("session.destroy", session=u.session))
        online = self.assertOk(self.c.call("user.online", session=watcher.session, uids=[u.uid]))
        self.assertEqual(online["uids"], [])

    def test_destroy_unknown_session_is_invalid_session(self):
        self.assertError(self.c.call("session.destroy", session="nope"), "InvalidSession")

    def test_destroy_answers_a_waiting_poll(self):
        u = self.login()
        t, res = self.poll_in_thread(u.session, 20)
        time.sleep(0.3)
        self.assertOk(self.c.call("session.destroy", session=u.session))
        t.join(5)
        self.assertFalse(t.is_alive(), "a poll of a destroyed session kept waiting")
        status, body = res["resp"]
        self.assertIn(status, (200, 404), res)


class TestSettings(SessionCase):
    def test_set_with_empty_settings_answers_defaults(self):
        s = self.new_session()
        body = self.assertOk(self.c.call("session.set", session=s, settings={}))
        self.assertEqual(body["settings"], DEFAULT_SETTINGS)

    def test_set_answers_all_current_values(self):
        s = self.new_session()
        body = self.assertOk(self.c.call("session.set", session=s, settings={"max_events": 7}))
        self.assertEqual(body["settings"], dict(DEFAULT_SETTINGS, max_events=7))
        body = self.assertOk(self.c.call("session.set", session=s,
                                         settings={"presence": False, "idle_timeout": 600}))
        self.assertEqual(body["settings"], dict(DEFAULT_SETTINGS, max_events=7, presence=False,
                                                idle_timeout=600))

    def test_set_accepts_range_bounds(self):
        s = self.new_session()
        lo = {"max_events": 1, "queue_limit": 10, "idle_timeout": 10, "presence": False}
        hi = {"max_events": 1000, "queue_limit": 100000, "idle_timeout": 86400, "presence": True}
        self.assertEqual(self.assertOk(self.c.call("session.set", session=s, settings=lo))["settings"], lo)
        self.assertEqual(self.assertOk(self.c.call("session.set", session=s, settings=hi))["settings"], hi)

    def test_unknown_or_out_of_range_setting_is_invalid_parameter_and_changes_nothing(self):
        s = self.new_session()
        bad = [
            {"max_events": 5, "no_such_setting": 1},
            {"max_events": 0},
            {"max_events": 1001},
            {"queue_limit": 9},
            {"queue_limit": 100001},
            {"idle_timeout": 9},
            {"idle_timeout": 86401},
            {"max_events": 5, "queue_limit": 5},
            {"presence": False, "idle_timeout": -1},
            {"max_events": -1},
        ]
        for settings in bad:
            with self.subTest(settings=settings):
                self.assertError(self.c.call("session.set", session=s, settings=settings),
                                 "InvalidParameter")
                now = self.assertOk(self.c.call("session.set", session=s, settings={}))["settings"]
                self.assertEqual(now, DEFAULT_SETTINGS, "a refused set changed something")

    def test_setting_of_wrong_type_is_invalid_request(self):
        s = self.new_session()
        for settings in ({"presence": "yes"}, {"max_events": "5"}, {"idle_timeout": 1.5}):
            with self.subTest(settings=settings):
                self.assertError(self.c.call("session.set", session=s, settings=settings),
                                 "InvalidRequest", "InvalidParameter")
        self.assertError(self.c.call("session.set", session=s, settings=[]), "InvalidRequest")
        self.assertError(self.c.call("session.set", session=s), "InvalidRequest")
        now = self.assertOk(self.c.call("session.set", session=s, settings={}))["settings"]
        self.assertEqual(now, DEFAULT_SETTINGS)

    def test_max_events_limits_one_get_events(self):
        u = self.login()
        self.assertOk(self.c.call("session.set", session=u.session, settings={"max_events": 3}))
        for i in range(5):
            self.server_send(u, "m%d" % i)
        first = self.events(u.session)
        self.assertEqual([e["message"]["msg"] for e in first], ["m0", "m1", "m2"])
        second = self.events(u.session)
        self.assertEqual([e["message"]["msg"] for e in second], ["m3", "m4"])


class TestGetEvents(SessionCase):
    def test_get_events_is_answered_the_moment_an_event_arrives(self):
        u = self.login()
        t, res = self.poll_in_thread(u.session, 20)
        time.sleep(0.5)
        self.assertTrue(t.is_alive(), "poll answered before any event: %r" % res)
        t_send = time.monotonic()
        self.server_send(u, "wake up")
        t.join(10)
        self.assertFalse(t.is_alive())
        evs = self.assertOk(res["resp"])["events"]
        self.assertEqual([e["message"]["msg"] for e in evs], ["wake up"])
        self.assertLess(res["t_answer"] - t_send, 1.0, "poll answered %.2f s after the send"
                        % (res["t_answer"] - t_send))

    def test_get_events_is_answered_when_a_client_sends_from_another_thread(self):
        a = self.login()
        b = self.login()
        t, res = self.poll_in_thread(b.session, 20)
        time.sleep(0.3)

        def sender():
            c = self.rtmd.client()
            self.assertOk(c.call("message.send", session=a.session, to=b.uid, mtype=30, msg="x"))
            c.close()

        t_send = time.monotonic()
        threading.Thread(target=sender).start()
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual(len(self.assertOk(res["resp"])["events"]), 1)
        self.assertLess(res["t_answer"] - t_send, 1.0)

    def test_many_waiting_polls_are_all_answered_by_one_broadcast(self):
        users = [self.login() for _ in range(20)]
        polls = [self.poll_in_thread(u.session, 20) for u in users]
        time.sleep(0.5)
        self.assertTrue(all(t.is_alive() for t, _ in polls), "a poll returned before the broadcast")
        t_send = time.monotonic()
        mid = self.assertOk(self.c.server("message.broadcast", mtype=30, msg="wake all"))["mid"]
        for t, res in polls:
            t.join(10)
            self.assertFalse(t.is_alive())
            evs = self.assertOk(res["resp"])["events"]
            self.assertEqual([(e["type"], e["message"]["mid"]) for e in evs], [("message", mid)])
            self.assertLess(res["t_answer"] - t_send, 2.0)

    def test_events_taken_by_a_poll_whose_client_left_come_again_without_after(self):
        a, b = self.login(), self.login()
        self.quiet(b.session)
        s = socket.create_connection(("127.0.0.1", self.rtmd.port))
        body = json.dumps({"session": b.session, "timeout": 10}).encode()
        s.sendall(b"POST /v1/session.get_events HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body))
        time.sleep(0.5)
        s.close()  # the client leaves while its poll waits
        time.sleep(0.2)
        self.send(a, b, msg="not lost")
        # The poll woke, found nobody to answer and moved the cursor back.
        self.assertEqual([m["msg"] for m in self.messages(b.session, 1)], ["not lost"])
        self.quiet(b.session)

    def test_get_events_waits_until_timeout_then_returns_empty(self):
        u = self.login()
        t0 = time.monotonic()
        body = self.assertOk(self.get_events(u.session, timeout=1))
        elapsed = time.monotonic() - t0
        self.assertEqual(body["events"], [])
        self.assertGreaterEqual(elapsed, 0.9, "answered after %.2f s" % elapsed)
        self.assertLess(elapsed, 2.5, "answered after %.2f s" % elapsed)

    def test_get_events_with_timeout_0_answers_at_once(self):
        u = self.login()
        t0 = time.monotonic()
        body = self.assertOk(self.get_events(u.session, timeout=0))
        self.assertEqual(body["events"], [])
        self.assertLess(time.monotonic() - t0, 0.5)

    def test_get_events_with_timeout_0_does_not_answer_a_waiting_poll(self):
        # A timeout-0 poll only reads: it registers no waiter, so it cannot replace (and
        # thereby answer early) a long poll already waiting on the same session.
        u = self.login()
        t, res = self.poll_in_thread(u.session, 20)
        time.sleep(0.5)
        for _ in range(5):
            self.assertEqual(self.events(u.session, timeout=0), [])
        time.sleep(0.3)
        self.assertTrue(t.is_alive(), "a timeout-0 poll answered the waiting poll: %r" % res)
        self.server_send(u, "for the waiter")
        t.join(10)
        self.assertFalse(t.is_alive())
        evs = self.assertOk(res["resp"])["events"]
        self.assertEqual([e["message"]["msg"] for e in evs], ["for the waiter"])

    def test_get_events_answers_at_once_when_events_are_queued(self):
        u = self.login()
        self.server_send(u, "queued")
        t0 = time.monotonic()
        evs = self.events(u.session, timeout=30)
        self.assertLess(time.monotonic() - t0, 0.5)
        self.assertEqual(len(evs), 1)

    def test_get_events_timeout_out_of_range_is_invalid_parameter(self):
        s = self.new_session()
        self.assertError(self.get_events(s, timeout=61), "InvalidParameter")
        self.assertError(self.get_events(s, timeout=-1), "InvalidParameter")
        self.assertError(self.get_events(s, timeout="x"), "InvalidRequest")
        self.assertError(self.c.call("session.get_events"), "InvalidRequest")
        self.assertError(self.c.call("session.get_events", session=42), "InvalidRequest")

    def test_get_events_of_unknown_session_is_invalid_session(self):
        self.assertError(self.get_events("no-such-session-" + "x" * 27), "InvalidSession")

    def test_event_ids_start_at_1_and_increase_by_1(self):
        u = self.login()
        for i in range(5):
            self.server_send(u, "e%d" % i)
        evs = self.events(u.session)
        self.assertEqual([e["id"] for e in evs], [1, 2, 3, 4, 5])
        self.assertEqual([e["type"] for e in evs], ["message"] * 5)
        self.server_send(u, "e5")
        self.assertEqual([e["id"] for e in self.events(u.session)], [6])

    def test_message_event_has_the_documented_fields(self):
        u = self.login()
        ans = self.server_send(u, "fields", attrs="a=1")
        ev = self.events(u.session)[0]
        self.assertEqual(ev["type"], "message")
        m = ev["message"]
        for k in ("mid", "from", "kind", "mtype", "msg", "attrs", "mtime", "to"):
            self.assertIn(k, m)
        self.assertEqual((m["mid"], m["mtime"]), (ans["mid"], ans["mtime"]))
        self.assertEqual((m["from"], m["kind"], m["to"], m["mtype"], m["msg"], m["attrs"]),
                         (0, "p2p", u.uid, 30, "fields", "a=1"))

    def test_cursor_moves_past_returned_events_so_each_comes_once(self):
        u = self.login()
        for i in range(3):
            self.server_send(u, "c%d" % i)
        body = self.assertOk(self.get_events(u.session))
        self.assertEqual([e["id"] for e in body["events"]], [1, 2, 3])
        self.assertEqual(body["last"], 3)
        body = self.assertOk(self.get_events(u.session))
        self.assertEqual(body["events"], [])
        self.assertEqual(body["last"], 3, "last with nothing returned is the cursor")

    def test_after_redelivers_kept_events_and_moves_cursor_forward(self):
        u = self.login()
        for i in range(5):
            self.server_send(u, "r%d" % i)
        self.assertEqual(len(self.events(u.session)), 5)
        body = self.assertOk(self.get_events(u.session, after=2))
        self.assertEqual([e["id"] for e in body["events"]], [3, 4, 5])
        self.assertEqual([e["message"]["msg"] for e in body["events"]], ["r2", "r3", "r4"])
        self.assertEqual(body["last"], 5)
        body = self.assertOk(self.get_events(u.session, after=0))
        self.assertEqual([e["id"] for e in body["events"]], [1, 2, 3, 4, 5])
        # after does not move the cursor backwards
        self.assertEqual(self.events(u.session), [])
        body = self.assertOk(self.get_events(u.session, after=5))
        self.assertEqual((body["events"], body["last"]), ([], 5))

    def test_after_beyond_cursor_moves_cursor_forward(self):
        u = self.login()
        for i in range(4):
            self.server_send(u, "f%d" % i)
        body = self.assertOk(self.get_events(u.session, after=2))
        self.assertEqual([e["id"] for e in body["events"]], [3, 4])
        self.assertEqual(self.events(u.session), [], "cursor did not move forward to last")

    def test_after_beyond_newest_event_does_not_hide_later_events(self):
        # API.md: without `after` each event comes once. An `after` past every id that exists
        # (a client bug, or a cursor from another session) must not make later events vanish.
        u = self.login()
        resp = self.get_events(u.session, after=1000)
        if resp[0] != 200:
            self.assertError(resp, "InvalidParameter")
        else:
            self.assertEqual(resp[1]["events"], [])
        self.server_send(u, "still delivered")
        evs = self.events(u.session, timeout=2)
        self.assertEqual([e["message"]["msg"] for e in evs if e["type"] == "message"], ["still delivered"],
                         "an event was never returned by get_events without after")

    def test_after_waits_for_new_events(self):
        u = self.login()
        self.server_send(u, "one")
        self.events(u.session)
        t, res = self.poll_in_thread(u.session, 10)
        time.sleep(0.3)
        self.assertTrue(t.is_alive())
        self.server_send(u, "two")
        t.join(5)
        self.assertEqual([e["id"] for e in self.assertOk(res["resp"])["events"]], [2])

    def test_queue_limit_drops_oldest_and_reports_a_gap(self):
        u = self.login()
        self.assertOk(self.c.call("session.set", session=u.session, settings={"queue_limit": 10}))
        for i in range(15):
            self.server_send(u, "q%d" % i)
        evs = self.events(u.session)
        self.assertEqual(evs[0]["type"], "gap", evs[:2])
        self.assertEqual((evs[0]["id"], evs[0]["dropped"]), (5, 5))
        self.assertEqual([e["id"] for e in evs[1:]], list(range(6, 16)))
        self.assertEqual([e["message"]["msg"] for e in evs[1:]], ["q%d" % i for i in range(5, 15)])
        self.assertEqual(self.events(u.session), [])

    def test_gap_counts_only_unread_dropped_events(self):
        u = self.login()
        self.assertOk(self.c.call("session.set", session=u.session, settings={"queue_limit": 10}))
        for i in range(8):
            self.server_send(u, "a%d" % i)
        self.assertEqual(len(self.events(u.session)), 8)  # read 1..8
        for i in range(12):
            self.server_send(u, "b%d" % i)  # ids 9..20, keeps 11..20, drops unread 9..10
        evs = self.events(u.session)
        self.assertEqual((evs[0]["type"], evs[0]["id"], evs[0]["dropped"]), ("gap", 10, 2))
        self.assertEqual([e["id"] for e in evs[1:]], list(range(11, 21)))


class TestSubscriptions(SessionCase):
    def test_group_subscription_is_for_members_only(self):
        gid = unique_id()
        member = self.login()
        outsider = self.login()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[member.uid]))
        key = self.assertOk(self.c.call("session.subscribe", session=member.session,
                                        topic="group:%d" % gid))["subscription_key"]
        self.assertIsInstance(key, str)
        self.assertError(self.c.call("session.subscribe", session=outsider.session,
                                     topic="group:%d" % gid), "PermissionDenied")
        self.assertOk(self.c.server("message.send_group", gid=gid, mtype=30, msg="to group"))
        msgs = self.messages(member.session, 1)
        self.assertEqual([(m["kind"], m["gid"], m["msg"]) for m in msgs], [("group", gid, "to group")])
        self.quiet(outsider.session)

    def test_subscribing_twice_answers_the_same_key(self):
        u = self.login()
        k1 = self.assertOk(self.c.call("session.subscribe", session=u.session, topic="presence:1"))
        k2 = self.assertOk(self.c.call("session.subscribe", session=u.session, topic="presence:1"))
        self.assertEqual(k1["subscription_key"], k2["subscription_key"])

    def test_unsubscribe_group_stops_group_messages(self):
        gid = unique_id()
        u = self.login()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[u.uid]))
        key = self.assertOk(self.c.call("session.subscribe", session=u.session,
                                        topic="group:%d" % gid))["subscription_key"]
        self.assertOk(self.c.call("session.unsubscribe", session=u.session, subscription_key=key))
        self.assertOk(self.c.server("message.send_group", gid=gid, mtype=30, msg="unseen"))
        self.quiet(u.session)

    def test_group_member_not_subscribed_gets_no_group_messages(self):
        gid = unique_id()
        u = self.login()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[u.uid]))
        self.assertOk(self.c.server("message.send_group", gid=gid, mtype=30, msg="not followed"))
        self.quiet(u.session)

    def test_removing_member_ends_its_group_subscription(self):
        gid = unique_id()
        u = self.login()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[u.uid]))
        self.assertOk(self.c.call("session.subscribe", session=u.session, topic="group:%d" % gid))
        self.assertOk(self.c.server("group.del_members", gid=gid, uids=[u.uid]))
        self.assertOk(self.c.server("message.send_group", gid=gid, mtype=30, msg="after removal"))
        self.quiet(u.session)

    def test_room_subscribe_enters_and_unsubscribe_leaves_with_room_events(self):
        rid = unique_id()
        a = self.login()
        b = self.login()
        topic = "room:%d" % rid
        self.assertOk(self.c.call("session.subscribe", session=a.session, topic=topic))
        self.events(a.session)  # drop a's own entered event, if any
        key = self.assertOk(self.c.call("session.subscribe", session=b.session,
                                        topic=topic))["subscription_key"]
        members = self.assertOk(self.c.server("room.members", rid=rid))["uids"]
        self.assertEqual(sorted(members), sorted([a.uid, b.uid]))
        evs = self.collect(a.session, 1, kinds=("room",))
        self.assertEqual([(e["rid"], e["uid"], e["state"]) for e in evs], [(rid, b.uid, "entered")])
        self.assertOk(self.c.call("session.unsubscribe", session=b.session, subscription_key=key))
        evs = self.collect(a.session, 1, kinds=("room",))
        self.assertEqual([(e["rid"], e["uid"], e["state"]) for e in evs], [(rid, b.uid, "left")])
        self.assertEqual(self.assertOk(self.c.server("room.members", rid=rid))["uids"], [a.uid])

    def test_room_member_leaves_when_its_last_session_ends(self):
        rid = unique_id()
        a = self.login()
        b = self.login()
        self.assertOk(self.c.call("session.subscribe", session=a.session, topic="room:%d" % rid))
        self.assertOk(self.c.call("session.subscribe", session=b.session, topic="room:%d" % rid))
        self.events(a.session)
        self.assertOk(self.c.call("session.destroy", session=b.session))
        evs = self.collect(a.session, 1, kinds=("room",))
        self.assertEqual([(e["uid"], e["state"]) for e in evs], [(b.uid, "left")])

    def test_room_left_only_when_last_session_of_the_user_leaves(self):
        rid = unique_id()
        a = self.login()
        b = self.login()
        b2 = self.new_session()
        self.assertOk(self.authorize(b2, b, mode="multi"))
        topic = "room:%d" % rid
        self.assertOk(self.c.call("session.subscribe", session=a.session, topic=topic))
        k1 = self.assertOk(self.c.call("session.subscribe", session=b.session, topic=topic))["subscription_key"]
        k2 = self.assertOk(self.c.call("session.subscribe", session=b2, topic=topic))["subscription_key"]
        evs = self.collect(a.session, 2, timeout=1.5, kinds=("room",))
        self.assertEqual([(e["uid"], e["state"]) for e in evs if e["uid"] == b.uid], [(b.uid, "entered")],
                         "a second session of a member must not enter again")
        self.assertOk(self.c.call("session.unsubscribe", session=b.session, subscription_key=k1))
        time.sleep(0.2)
        self.assertEqual([e for e in self.events(a.session) if e["type"] == "room"], [],
                         "left while another session of the user is still in the room")
        self.assertIn(b.uid, self.assertOk(self.c.server("room.members", rid=rid))["uids"])
        self.assertOk(self.c.call("session.unsubscribe", session=b2, subscription_key=k2))
        evs = self.collect(a.session, 1, kinds=("room",))
        self.assertEqual([(e["uid"], e["state"]) for e in evs], [(b.uid, "left")])

    def test_room_messages_reach_room_subscribers(self):
        rid = unique_id()
        a = self.login()
        b = self.login()
        for u in (a, b):
            self.assertOk(self.c.call("session.subscribe", session=u.session, topic="room:%d" % rid))
        self.events(a.session)
        self.events(b.session)
        self.assertOk(self.c.call("message.send_room", session=a.session, rid=rid, mtype=30, msg="hello room"))
        msgs = self.messages(b.session, 1)
        self.assertEqual([(m["kind"], m["rid"], m["from"], m["msg"]) for m in msgs],
                         [("room", rid, a.uid, "hello room")])

    def test_presence_topic_reports_online_and_offline(self):
        watcher = self.login()
        target = self.new_user()
        self.assertOk(self.c.call("session.subscribe", session=watcher.session,
                                  topic="presence:%d" % target.uid))
        self.login(target)
        evs = self.collect(watcher.session, 1, kinds=("presence",))
        self.assertEqual([(e["uid"], e["state"], e["topic"]) for e in evs],
                         [(target.uid, "online", "presence:%d" % target.uid)])
        self.assertOk(self.c.call("session.destroy", session=target.session))
        evs = self.collect(watcher.session, 1, kinds=("presence",))
        self.assertEqual([(e["uid"], e["state"]) for e in evs], [(target.uid, "offline")])

    def test_presence_online_only_for_first_session(self):
        watcher = self.login()
        target = self.login()
        self.assertOk(self.c.call("session.subscribe", session=watcher.session,
                                  topic="presence:%d" % target.uid))
        self.events(watcher.session)
        second = self.new_session()
        self.assertOk(self.authorize(second, target, mode="multi"))
        self.assertOk(self.c.call("session.destroy", session=second))
        self.quiet(watcher.session)

    def test_presence_setting_false_silences_presence_events(self):
        watcher = self.login()
        target = self.new_user()
        self.assertOk(self.c.call("session.set", session=watcher.session, settings={"presence": False}))
        self.assertOk(self.c.call("session.subscribe", session=watcher.session,
                                  topic="presence:%d" % target.uid))
        self.login(target)
        self.assertOk(self.c.call("session.destroy", session=target.session))
        time.sleep(0.2)
        self.quiet(watcher.session)

    def test_unsubscribe_of_unknown_key_is_not_an_error(self):
        u = self.login()
        self.assertOk(self.c.call("session.unsubscribe", session=u.session, subscription_key="no-such-key"))
        key = self.assertOk(self.c.call("session.subscribe", session=u.session,
                                        topic="presence:1"))["subscription_key"]
        self.assertOk(self.c.call("session.unsubscribe", session=u.session, subscription_key=key))
        self.assertOk(self.c.call("session.unsubscribe", session=u.session, subscription_key=key))

    def test_unknown_topic_is_invalid_parameter(self):
        u = self.login()
        for topic in ("bogus:1", "group:abc", "group:", "room:-1", "presence:0", ""):
            with self.subTest(topic=topic):
                self.assertError(self.c.call("session.subscribe", session=u.session, topic=topic),
                                 "InvalidParameter")
        self.assertError(self.c.call("session.subscribe", session=u.session, topic=5), "InvalidRequest")


class TestStoreWritesOffTheEventLoop(SessionCase):
    """Room membership writes made by subscribe, unsubscribe, destroy and the server's room
    calls run on the blocking pool: with one event-loop thread and the database write-locked
    by another process, other calls are still answered at once."""

    rtmd_args = ("--threads", "1")

    def hold_write_lock(self):
        import sqlite3
        db = sqlite3.connect(os.path.join(self.rtmd.data_dir, "rtm.db"), timeout=10,
                             isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        return db

    def assertLoopAnswersWhileLocked(self, call):
        """Runs call() in a thread while the database is write-locked for 1.5 s; meanwhile
        session.create must answer fast. Returns call()'s answer (after the lock is gone)."""
        db = self.hold_write_lock()
        result = {}

        def run():
            c = self.rtmd.client()
            try:
                result["resp"] = call(c)
            finally:
                c.close()

        t = threading.Thread(target=run, daemon=True)
        try:
            t.start()
            time.sleep(0.3)  # the call is now waiting for the lock
            self.assertTrue(t.is_alive(), "the call did not wait for the locked database: %r" % result)
            t0 = time.monotonic()
            self.assertOk(self.c.call("session.create"))
            elapsed = time.monotonic() - t0
            self.assertLess(elapsed, 0.5, "an unrelated call waited %.2f s for a store write" % elapsed)
            time.sleep(1.2)
        finally:
            db.execute("ROLLBACK")
            db.close()
        t.join(10)
        self.assertFalse(t.is_alive())
        return result["resp"]

    def test_room_subscribe_does_not_block_the_event_loop(self):
        u = self.login()
        topic = "room:%d" % unique_id()
        self.assertOk(self.assertLoopAnswersWhileLocked(
            lambda c: c.call("session.subscribe", session=u.session, topic=topic)))

    def test_room_unsubscribe_and_destroy_do_not_block_the_event_loop(self):
        u = self.login()
        key = self.assertOk(self.c.call("session.subscribe", session=u.session,
                                        topic="room:%d" % unique_id()))["subscription_key"]
        self.assertOk(self.assertLoopAnswersWhileLocked(
            lambda c: c.call("session.unsubscribe", session=u.session, subscription_key=key)))
        self.assertOk(self.c.call("session.subscribe", session=u.session,
                                  topic="room:%d" % unique_id()))
        self.assertOk(self.assertLoopAnswersWhileLocked(
            lambda c: c.call("session.destroy", session=u.session)))

    def test_server_room_add_member_does_not_block_the_event_loop(self):
        u = self.new_user()
        rid = unique_id()
        self.assertOk(self.assertLoopAnswersWhileLocked(
            lambda c: c.server("room.add_member", rid=rid, uid=u.uid)))
        self.assertEqual(self.assertOk(self.c.server("room.members", rid=rid))["uids"], [u.uid])


class TestExpiryAndThrottle(SessionCase):
    def test_idle_timeout_expires_an_idle_session_but_not_an_active_one(self):
        idle = self.login()
        active = self.login()
        waiting = self.login()
        for u in (idle, active, waiting):
            self.assertOk(self.c.call("session.set", session=u.session, settings={"idle_timeout": 10}))
        # a poll waiting longer than idle_timeout is a call in progress, not idleness
        t, res = self.poll_in_thread(waiting.session, 13)
        deadline = time.monotonic() + 12.5
        while time.monotonic() < deadline:
            self.events(active.session, timeout=2)
        self.assertError(self.get_events(idle.session), "InvalidSession")
        self.assertOk(self.get_events(active.session))
        t.join(5)
        self.assertEqual(self.assertOk(res["resp"])["events"], [],
                         "a session expired while its 13 s poll was waiting (idle_timeout 10)")
        self.assertOk(self.get_events(waiting.session))
        online = self.assertOk(self.c.call("user.online", session=active.session,
                                           uids=[idle.uid, active.uid]))["uids"]
        self.assertEqual(online, [active.uid])

    def test_ten_failed_logins_make_the_login_rate_limited_even_with_right_password(self):
        u = self.new_user()
        other = self.new_user()
        s = self.new_session()
        for i in range(10):
            self.assertError(self.authorize(s, u, password="wrong%d" % i), "AuthorizeFailed")
        self.assertError(self.authorize(s, u), "RateLimited")
        self.assertError(self.authorize(s, u, password="wrong"), "RateLimited")
        # another login is not affected
        self.assertOk(self.authorize(s, other))


if __name__ == "__main__":
    unittest.main()
