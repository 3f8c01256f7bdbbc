"""API.md sections 2 and 4 (+ docs/semantics.md "Server API"): the API key, users, user
tokens, groups and rooms."""

import base64
import json
import time
import unittest

from rtmd_harness import Client, RtmdTestCase, unique, unique_id


def jwt_part(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class TestApiKey(RtmdTestCase):
    def post_with_auth(self, auth, method="user.online", params=None):
        headers = {} if auth is None else {"Authorization": auth}
        return self.c.post("/v1/server/" + method, params or {"uids": [1]}, headers)

    def test_server_call_without_key_is_unauthorized(self):
        self.assertError(self.post_with_auth(None), "Unauthorized")

    def test_server_call_with_wrong_key_is_unauthorized(self):
        k = self.rtmd.api_key
        for auth in ("Bearer " + k + "x", "Bearer " + k[:-1], "Bearer ", "Bearer", k,
                     "Basic " + k, "bearer-" + k, "Bearer " + k.upper()):
            with self.subTest(auth=auth):
                self.assertError(self.post_with_auth(auth), "Unauthorized")

    def test_unauthorized_call_changes_nothing(self):
        login = unique("nokey")
        self.assertError(self.post_with_auth("Bearer wrong", "user.add", {"login": login, "password": "p"}),
                         "Unauthorized")
        uid = self.assertOk(self.c.server("user.add", login=login, password="p"))["uid"]
        self.assertIsInstance(uid, int)

    def test_right_key_is_accepted(self):
        self.assertOk(self.post_with_auth("Bearer " + self.rtmd.api_key))

    def test_server_methods_are_not_client_methods(self):
        for m in ("user.add", "user.kickout", "group.add_members", "room.members", "message.broadcast"):
            with self.subTest(method=m):
                self.assertError(self.c.call(m, login="x", password="y", uid=1, gid=1, rid=1, uids=[1]),
                                 "UnknownMethod")

    def test_unknown_server_method_is_unknown_method(self):
        self.assertError(self.c.server("no.such.method"), "UnknownMethod")


class TestUsers(RtmdTestCase):
    def test_user_add_answers_a_positive_uid(self):
        a = self.new_user()
        b = self.new_user()
        self.assertGreater(a.uid, 0)
        self.assertNotEqual(a.uid, b.uid)
        self.login(a)

    def test_user_add_with_given_uid(self):
        uid = unique_id()
        body = self.assertOk(self.c.server("user.add", login=unique(), password="pw", uid=uid))
        self.assertEqual(body["uid"], uid)

    def test_duplicate_login_is_already_exists(self):
        u = self.new_user()
        self.assertError(self.c.server("user.add", login=u.login, password="other"), "AlreadyExists")
        # the first user's password is untouched
        self.login(u)

    def test_duplicate_uid_is_already_exists(self):
        u = self.new_user()
        self.assertError(self.c.server("user.add", login=unique(), password="pw", uid=u.uid), "AlreadyExists")

    def test_user_add_validates_login_password_and_uid(self):
        self.assertError(self.c.server("user.add", login="", password="pw"), "InvalidParameter")
        self.assertError(self.c.server("user.add", login="x" * 129, password="pw"), "InvalidParameter")
        self.assertError(self.c.server("user.add", login=unique(), password=""), "InvalidParameter")
        self.assertError(self.c.server("user.add", login=unique(), password="p" * 1025), "InvalidParameter")
        self.assertError(self.c.server("user.add", login=unique(), password="pw", uid=0), "InvalidParameter")
        self.assertError(self.c.server("user.add", login=unique(), password="pw", uid=-3), "InvalidParameter")
        self.assertError(self.c.server("user.add", login=unique()), "InvalidRequest")
        self.assertError(self.c.server("user.add", password="pw"), "InvalidRequest")
        self.assertError(self.c.server("user.add", login=5, password="pw"), "InvalidRequest")
        self.assertError(self.c.server("user.add", login=unique(), password="pw", uid="7"), "InvalidRequest")

    def test_user_add_accepts_length_bounds(self):
        login = unique("b")
        login = login + "x" * (128 - len(login))
        self.assertOk(self.c.server("user.add", login=login, password="p" * 1024))
        self.assertOk(self.c.server("user.add", login=unique(), password="p"))

    def test_set_password_replaces_the_password(self):
        u = self.new_user()
        self.assertOk(self.c.server("user.set_password", uid=u.uid, password="new-secret"))
        self.assertError(self.authorize(self.new_session(), u), "AuthorizeFailed")
        self.assertOk(self.authorize(self.new_session(), u, password="new-secret"))

    def test_set_password_of_unknown_user_is_not_found(self):
        self.assertError(self.c.server("user.set_password", uid=unique_id(), password="x"), "NotFound")

    def test_delete_user_then_login_fails_and_login_is_free_again(self):
        u = self.new_user()
        self.assertOk(self.c.server("user.delete", uid=u.uid))
        self.assertError(self.authorize(self.new_session(), u), "AuthorizeFailed")
        self.assertError(self.c.server("user.delete", uid=u.uid), "NotFound")
        self.assertOk(self.c.server("user.add", login=u.login, password="again"))

    def test_delete_user_ends_its_sessions(self):
        u = self.login()
        self.assertOk(self.c.server("user.delete", uid=u.uid))
        # the session ends: a final event may be shown once, then it is InvalidSession
        first = self.get_events(u.session)
        if first[0] != 200:
            self.assertError(first, "InvalidSession")
        self.assertError(self.get_events(u.session), "InvalidSession")
        self.assertEqual(self.assertOk(self.c.server("user.online", uids=[u.uid]))["uids"], [])

    def test_delete_unknown_user_is_not_found(self):
        self.assertError(self.c.server("user.delete", uid=unique_id()), "NotFound")

    def test_user_token_is_hs256_jwt_with_documented_claims(self):
        u = self.new_user()
        now = time.time()
        tok = self.assertOk(self.c.server("user.token", uid=u.uid, ttl=120))["token"]
        header, payload, sig = tok.split(".")
        h = jwt_part(header)
        p = jwt_part(payload)
        self.assertEqual(h.get("alg"), "HS256")
        self.assertEqual((p["sub"], p["uid"], p["typ"]), (str(u.uid), u.uid, "user"))
        self.assertLessEqual(abs(p["iat"] - now), 5)
        self.assertEqual(p["exp"] - p["iat"], 120)
        s = self.new_session()
        self.assertEqual(self.assertOk(self.c.call("session.authorize", session=s, token=tok))["uid"], u.uid)

    def test_user_token_default_ttl_is_3600(self):
        u = self.new_user()
        p = jwt_part(self.assertOk(self.c.server("user.token", uid=u.uid))["token"].split(".")[1])
        self.assertEqual(p["exp"] - p["iat"], 3600)

    def test_user_token_ttl_range_and_unknown_user(self):
        u = self.new_user()
        self.assertError(self.c.server("user.token", uid=u.uid, ttl=0), "InvalidParameter")
        self.assertError(self.c.server("user.token", uid=u.uid, ttl=31536001), "InvalidParameter")
        self.assertOk(self.c.server("user.token", uid=u.uid, ttl=31536000))
        self.assertError(self.c.server("user.token", uid=unique_id(), ttl=60), "NotFound")
        self.assertError(self.c.server("user.token", ttl=60), "InvalidRequest")

    def test_token_of_other_server_secret_is_invalid_token(self):
        # a JWT signed with another secret must not pass
        u = self.new_user()
        tok = self.assertOk(self.c.server("user.token", uid=u.uid, ttl=60))["token"]
        h, p, _ = tok.split(".")
        import hashlib
        import hmac
        sig = hmac.new(b"not-the-secret", (h + "." + p).encode(), hashlib.sha256).digest()
        forged = h + "." + p + "." + base64.urlsafe_b64encode(sig).decode().rstrip("=")
        self.assertError(self.c.call("session.authorize", session=self.new_session(), token=forged),
                         "InvalidToken")
        none_alg = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
        self.assertError(self.c.call("session.authorize", session=self.new_session(), token=none_alg + "." + p + "."),
                         "InvalidToken")

    def test_user_online_server(self):
        u = self.login()
        off = self.new_user()
        got = self.assertOk(self.c.server("user.online", uids=[u.uid, off.uid]))
        self.assertEqual(got["uids"], [u.uid])


class TestGroups(RtmdTestCase):
    def test_group_add_members_members_del_members(self):
        gid = unique_id()
        a, b, c = self.new_user(), self.new_user(), self.new_user()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[a.uid, b.uid]))
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[c.uid, a.uid]))
        members = self.assertOk(self.c.server("group.members", gid=gid))["uids"]
        self.assertEqual(sorted(members), sorted([a.uid, b.uid, c.uid]))
        self.assertOk(self.c.server("group.del_members", gid=gid, uids=[b.uid]))
        members = self.assertOk(self.c.server("group.members", gid=gid))["uids"]
        self.assertEqual(sorted(members), sorted([a.uid, c.uid]))

    def test_user_groups_lists_the_users_groups(self):
        g1, g2 = unique_id(), unique_id()
        u = self.new_user()
        self.assertEqual(self.assertOk(self.c.server("user.groups", uid=u.uid))["gids"], [])
        self.assertOk(self.c.server("group.add_members", gid=g1, uids=[u.uid]))
        self.assertOk(self.c.server("group.add_members", gid=g2, uids=[u.uid]))
        self.assertEqual(sorted(self.assertOk(self.c.server("user.groups", uid=u.uid))["gids"]), sorted([g1, g2]))
        self.assertOk(self.c.server("group.del_members", gid=g1, uids=[u.uid]))
        self.assertEqual(self.assertOk(self.c.server("user.groups", uid=u.uid))["gids"], [g2])

    def test_user_groups_of_unknown_user_is_not_found(self):
        self.assertError(self.c.server("user.groups", uid=unique_id()), "NotFound")

    def test_group_delete_empties_the_group(self):
        gid = unique_id()
        u = self.login()
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[u.uid]))
        self.assertOk(self.c.call("session.subscribe", session=u.session, topic="group:%d" % gid))
        self.assertOk(self.c.server("group.delete", gid=gid))
        self.assertEqual(self.assertOk(self.c.server("group.members", gid=gid))["uids"], [])
        self.assertEqual(self.assertOk(self.c.server("user.groups", uid=u.uid))["gids"], [])
        self.assertError(self.c.call("message.send_group", session=u.session, gid=gid, mtype=30, msg="x"),
                         "PermissionDenied")

    def test_members_of_unknown_group_is_empty(self):
        self.assertEqual(self.assertOk(self.c.server("group.members", gid=unique_id()))["uids"], [])

    def test_group_calls_validate_params(self):
        self.assertError(self.c.server("group.add_members", gid=unique_id()), "InvalidRequest")
        self.assertError(self.c.server("group.add_members", gid="g", uids=[1]), "InvalidRequest")
        self.assertError(self.c.server("group.add_members", gid=0, uids=[1]), "InvalidParameter")
        self.assertError(self.c.server("group.members"), "InvalidRequest")

    def test_member_added_by_server_can_send_to_group(self):
        gid = unique_id()
        a, b = self.login(), self.login()
        self.assertError(self.c.call("message.send_group", session=a.session, gid=gid, mtype=30, msg="x"),
                         "PermissionDenied")
        self.assertOk(self.c.server("group.add_members", gid=gid, uids=[a.uid, b.uid]))
        self.assertOk(self.c.call("session.subscribe", session=b.session, topic="group:%d" % gid))
        self.assertOk(self.c.call("message.send_group", session=a.session, gid=gid, mtype=30, msg="now ok"))
        self.assertEqual([m["msg"] for m in self.messages(b.session, 1)], ["now ok"])


class TestRooms(RtmdTestCase):
    def test_room_add_member_members_del_member(self):
        rid = unique_id()
        a, b = self.new_user(), self.new_user()
        self.assertEqual(self.assertOk(self.c.server("room.members", rid=rid))["uids"], [])
        self.assertOk(self.c.server("room.add_member", rid=rid, uid=a.uid))
        self.assertOk(self.c.server("room.add_member", rid=rid, uid=b.uid))
        self.assertEqual(sorted(self.assertOk(self.c.server("room.members", rid=rid))["uids"]), sorted([a.uid, b.uid]))
        self.assertOk(self.c.server("room.del_member", rid=rid, uid=a.uid))
        self.assertEqual(self.assertOk(self.c.server("room.members", rid=rid))["uids"], [b.uid])

    def test_room_add_member_subscribes_live_sessions_and_del_member_unsubscribes(self):
        rid = unique_id()
        a, b = self.login(), self.login()
        self.assertOk(self.c.server("room.add_member", rid=rid, uid=a.uid))
        self.assertOk(self.c.server("room.add_member", rid=rid, uid=b.uid))
        self.events(a.session)
        self.events(b.session)
        self.assertOk(self.c.call("message.send_room", session=a.session, rid=rid, mtype=30, msg="in room"))
        self.assertEqual([m["msg"] for m in self.messages(b.session, 1)], ["in room"])
        self.assertOk(self.c.server("room.del_member", rid=rid, uid=b.uid))
        self.events(b.session)
        self.assertOk(self.c.call("message.send_room", session=a.session, rid=rid, mtype=30, msg="b gone"))
        self.assertEqual([e for e in self.events(b.session) if e["type"] == "message"], [])
        self.assertError(self.c.call("message.send_room", session=b.session, rid=rid, mtype=30, msg="x"),
                         "PermissionDenied")

    def test_room_calls_validate_params(self):
        self.assertError(self.c.server("room.add_member", rid=unique_id()), "InvalidRequest")
        self.assertError(self.c.server("room.add_member", rid=unique_id(), uid="u"), "InvalidRequest")
        self.assertError(self.c.server("room.members"), "InvalidRequest")


if __name__ == "__main__":
    unittest.main()
