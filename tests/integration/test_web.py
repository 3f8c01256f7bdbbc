"""The demo page and the browser SDK served by rtmd itself (embedded at build time): `/` is
web/index.html, every file of web/ at its name, sdk/js/rtm.js at /sdk/rtm.js; nothing else."""

import os
import unittest

from rtmd_harness import RtmdTestCase

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def repo_bytes(*parts):
    with open(os.path.join(REPO, *parts), "rb") as f:
        return f.read()


class TestWeb(RtmdTestCase):
    def get(self, path, method="GET"):
        status, headers, body = self.c.request(method, path)
        return status, {k.lower(): v for k, v in headers.items()}, body

    def test_sdk_is_served_byte_for_byte_as_javascript(self):
        status, headers, body = self.get("/sdk/rtm.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/javascript"))
        self.assertEqual(body, repo_bytes("sdk", "js", "rtm.js"))

    def test_root_is_the_demo_page(self):
        if not os.path.exists(os.path.join(REPO, "web", "index.html")):
            self.skipTest("web/index.html is not in this checkout")
        status, headers, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertEqual(body, repo_bytes("web", "index.html"))
        self.assertEqual(self.get("/index.html")[2], body)

    def test_every_file_of_web_is_served_at_its_name(self):
        web = os.path.join(REPO, "web")
        names = [] if not os.path.isdir(web) else [
            os.path.relpath(os.path.join(d, f), web) for d, _, fs in os.walk(web) for f in fs]
        for name in names:
            with self.subTest(name=name):
                status, _, body = self.get("/" + name.replace(os.sep, "/"))
                self.assertEqual(status, 200)
                self.assertEqual(body, repo_bytes("web", name))

    def test_head_answers_the_length_without_a_body(self):
        status, headers, body = self.get("/sdk/rtm.js", method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(int(headers["content-length"]), len(repo_bytes("sdk", "js", "rtm.js")))
        self.assertEqual(body, b"")

    def test_other_paths_are_not_found_and_nothing_outside_is_reachable(self):
        for path in ("/nope.html", "/../README.md", "/sdk/../README.md", "/%2e%2e/README.md",
                     "/sdk/js/rtm.js", "/web/index.html", "/etc/passwd"):
            with self.subTest(path=path):
                status, _, body = self.get(path)
                self.assertEqual(status, 404)
                self.assertIn(b"UnknownMethod", body)


if __name__ == "__main__":
    unittest.main()
