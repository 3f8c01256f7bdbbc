"""API.md section 2 [1010]: `?format=xml` or `Accept: application/xml` answer the same content
as XML, `<out><rc>..</rc><msg>..</msg>...</out>`; docs/semantics.md: fields become elements,
arrays repeat <item>, booleans true/false, errors carry <error> and <msg>."""

import json
import unittest
import xml.etree.ElementTree as ET

from rtmd_harness import ERRORS, RawSocket, RtmdTestCase


class TestXml(RtmdTestCase):
    def xml_post(self, path, body, accept=False, headers=None):
        """POSTs and parses the XML answer: (status, content-type, root element)."""
        h = {"Content-Type": "application/json"}
        if accept:
            h["Accept"] = "application/xml"
        else:
            path += ("&" if "?" in path else "?") + "format=xml"
        h.update(headers or {})
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        status, hdrs, data = self.c.request("POST", path, body, h)
        try:
            root = ET.fromstring(data)
        except ET.ParseError as e:
            self.fail("answer is not well-formed XML (%s): %r" % (e, data[:500]))
        return status, hdrs.get("content-type", ""), root

    def call_xml(self, method, accept=False, **params):
        return self.xml_post("/v1/" + method, params, accept)

    def server_xml(self, method, **params):
        return self.xml_post("/v1/server/" + method, params,
                             headers={"Authorization": "Bearer " + self.rtmd.api_key})

    def assertXmlOk(self, answer):
        status, ctype, root = answer
        self.assertEqual(status, 200, ET.tostring(root))
        self.assertIn("xml", ctype)
        self.assertEqual(root.tag, "out")
        self.assertEqual(root.findtext("rc"), "0")
        self.assertEqual(root.findtext("msg"), "ok")
        return root

    def assertXmlError(self, answer, name):
        status, ctype, root = answer
        rc, http = ERRORS[name]
        self.assertEqual(root.tag, "out")
        self.assertEqual((status, root.findtext("rc"), root.findtext("error")), (http, str(rc), name),
                         ET.tostring(root))
        self.assertTrue(root.findtext("msg"), "error without <msg>")
        self.assertIn("xml", ctype)
        return root

    def test_format_xml_success_is_out_rc_0_msg_ok_and_fields(self):
        root = self.assertXmlOk(self.call_xml("session.create"))
        self.assertRegex(root.findtext("session"), r"^[A-Za-z0-9_-]{43}$")

    def test_accept_application_xml_gives_xml(self):
        root = self.assertXmlOk(self.call_xml("session.create", accept=True))
        self.assertRegex(root.findtext("session"), r"^[A-Za-z0-9_-]{43}$")

    def test_without_xml_request_the_answer_is_json(self):
        status, hdrs, data = self.c.request("POST", "/v1/session.create", b"{}", {"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertIn("json", hdrs.get("content-type", ""))
        self.assertEqual(json.loads(data)["rc"], 0)

    def test_xml_error_for_missing_field_is_invalid_request(self):
        self.assertXmlError(self.call_xml("session.get_events"), "InvalidRequest")
        self.assertXmlError(self.call_xml("session.get_events", accept=True), "InvalidRequest")

    def test_xml_error_for_body_that_is_not_json(self):
        self.assertXmlError(self.xml_post("/v1/session.create", b"{not json"), "InvalidRequest")

    def test_xml_error_for_body_over_the_limit(self):
        body = b'{"pad":"' + b"a" * (1 << 20) + b'"}'
        for target, accept in (("/v1/session.create?format=xml", b""),
                               ("/v1/session.create", b"Accept: application/xml\r\n")):
            with self.subTest(target=target):
                s = RawSocket(self.rtmd.port)
                try:
                    try:
                        s.send(b"POST " + target.encode() + b" HTTP/1.1\r\nHost: x\r\n" + accept
                               + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # answered early; the answer is still readable
                    resp = s.read_response()
                finally:
                    s.close()
                self.assertIsNotNone(resp, "closed without an answer")
                status, hdrs, data = resp
                try:
                    root = ET.fromstring(data)
                except ET.ParseError as e:
                    self.fail("answer is not well-formed XML (%s): %r" % (e, data[:300]))
                self.assertXmlError((status, hdrs.get("content-type", ""), root), "PayloadTooLarge")

    def test_xml_error_for_get_and_unknown_path(self):
        status, hdrs, data = self.c.request("GET", "/v1/session.create?format=xml")
        root = ET.fromstring(data)
        self.assertXmlError((status, hdrs.get("content-type", ""), root), "InvalidRequest")
        self.assertXmlError(self.xml_post("/nope", {}), "UnknownMethod")

    def test_xml_error_for_unknown_method(self):
        self.assertXmlError(self.call_xml("no.such.method"), "UnknownMethod")

    def test_xml_error_for_invalid_session_and_parameter(self):
        self.assertXmlError(self.call_xml("session.get_events", session="nope", timeout=0), "InvalidSession")
        s = self.new_session()
        self.assertXmlError(self.call_xml("session.get_events", session=s, timeout=99), "InvalidParameter")

    def test_xml_error_for_server_call_without_key(self):
        self.assertXmlError(self.xml_post("/v1/server/user.online", {"uids": [1]}), "Unauthorized")

    def test_settings_object_and_booleans(self):
        s = self.new_session()
        root = self.assertXmlOk(self.call_xml("session.set", session=s, settings={"presence": False}))
        st = root.find("settings")
        self.assertIsNotNone(st)
        self.assertEqual({c.tag: c.text for c in st},
                         {"max_events": "100", "queue_limit": "1000", "presence": "false", "idle_timeout": "120"})
        root = self.assertXmlOk(self.call_xml("session.set", session=s, settings={"presence": True}))
        self.assertEqual(root.find("settings").findtext("presence"), "true")

    def test_arrays_repeat_item_elements(self):
        a = self.login()
        b = self.login()
        root = self.assertXmlOk(self.call_xml("user.online", session=a.session, uids=[a.uid, b.uid]))
        items = [int(i.text) for i in root.find("uids").findall("item")]
        self.assertEqual(sorted(items), sorted([a.uid, b.uid]))
        root = self.assertXmlOk(self.server_xml("user.online", uids=[a.uid + 10 ** 9]))
        self.assertEqual(root.find("uids").findall("item"), [])

    def test_events_with_special_characters_round_trip(self):
        a = self.login()
        b = self.login()
        text = "<b>bold</b> & \"quotes\" 'apos' ]]> \u00e9\u4e16\U0001f600"
        self.send(a, b, msg=text, attrs="<x/>&")
        root = self.assertXmlOk(self.call_xml("session.get_events", session=b.session, timeout=5))
        items = root.find("events").findall("item")
        self.assertEqual(len(items), 1)
        ev = items[0]
        self.assertEqual((ev.findtext("id"), ev.findtext("type")), ("1", "message"))
        m = ev.find("message")
        self.assertEqual(m.findtext("msg"), text)
        self.assertEqual(m.findtext("attrs"), "<x/>&")
        self.assertEqual(int(m.findtext("from")), a.uid)
        self.assertEqual(int(m.findtext("to")), b.uid)
        self.assertEqual(m.findtext("kind"), "p2p")
        self.assertEqual(root.findtext("last"), "1")

    def test_control_characters_still_give_well_formed_xml(self):
        a = self.login()
        b = self.login()
        self.send(a, b, msg="bell\u0007 nul\u0000 esc\u001b end")
        root = self.assertXmlOk(self.call_xml("session.get_events", session=b.session, timeout=5))
        self.assertEqual(len(root.find("events").findall("item")), 1)

    def test_empty_events_list(self):
        s = self.new_session()
        root = self.assertXmlOk(self.call_xml("session.get_events", session=s, timeout=0))
        ev = root.find("events")
        self.assertIsNotNone(ev, "events element missing for []")
        self.assertEqual(list(ev), [])


if __name__ == "__main__":
    unittest.main()
