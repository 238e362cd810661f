"""The Kibana test server is as strict as Kibana: if it accepted what Kibana
rejects, `setup --dashboards` could pass here and fail for users.  Each case
below is a request Kibana 8.11 answers with an error, and the shape it
answers with."""

import base64
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kibanaserver as K  # noqa: E402

DV = {"type": "index-pattern", "id": "expvarbeat-*", "attributes": {"title": "expvarbeat-*",
                                                                     "timeFieldName": "@timestamp"},
      "references": [], "typeMigrationVersion": "8.0.0", "coreMigrationVersion": "8.8.0"}
LENS = {"type": "lens", "id": "lens-1", "attributes": {"title": "Heap", "state": {}},
        "references": [{"type": "index-pattern", "id": "expvarbeat-*",
                        "name": "indexpattern-datasource-layer-l1"}]}
DASH = {"type": "dashboard", "id": "dash-1",
        "attributes": {"title": "Overview", "panelsJSON": "[]"},
        "references": [{"type": "lens", "id": "lens-1", "name": "p1:panel_p1"}]}


def ndjson(*objs):
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


class ServerTest(unittest.TestCase):
    def setUp(self):
        self.kb = K.KibanaServer().start()
        self.addCleanup(self.kb.stop)
        self.addCleanup(lambda: self.assertEqual(self.kb.errors, [], "server raised"))


class TestStatus(ServerTest):
    def test_kibana8_shape(self):
        st, body = K.http_request(self.kb.url + "/api/status")
        self.assertEqual(st, 200)
        self.assertEqual(body["version"]["number"], "8.11.0")
        self.assertEqual(body["status"]["overall"]["level"], "available")
        for k in ("build_hash", "build_number", "build_snapshot"):
            self.assertIn(k, body["version"])

    def test_version_override(self):
        self.kb.set_version("7.10.0")
        _, body = K.http_request(self.kb.url + "/api/status")
        self.assertEqual(body["version"]["number"], "7.10.0")
        self.assertEqual(body["status"]["overall"]["state"], "green")


class TestImportStrictness(ServerTest):
    def test_success_shape(self):
        st, body = K.post_import(self.kb.url, ndjson(DV, LENS, DASH))
        self.assertEqual(st, 200, body)
        self.assertTrue(body["success"])
        self.assertEqual(body["successCount"], 3)
        self.assertEqual(body["successResults"][2],
                         {"type": "dashboard", "id": "dash-1", "meta": {"icon": "dashboardApp", "title": "Overview"}})
        self.assertEqual(set(self.kb.objects()), {("index-pattern", "expvarbeat-*"), ("lens", "lens-1"),
                                                  ("dashboard", "dash-1")})

    def test_no_xsrf_is_400(self):
        st, body = K.post_import(self.kb.url, ndjson(DV), xsrf=False)
        self.assertEqual((st, body), (400, {"statusCode": 400, "error": "Bad Request",
                                            "message": "Request must contain a kbn-xsrf header."}))
        self.assertEqual(self.kb.objects(), {})

    def test_not_multipart_is_415(self):
        st, body = K.post_import(self.kb.url, b"", content_type="application/ndjson", body=ndjson(DV))
        self.assertEqual(st, 415)

    def test_missing_boundary_is_400(self):
        st, body = K.post_import(self.kb.url, ndjson(DV), content_type="multipart/form-data")
        self.assertEqual(st, 400)
        self.assertIn("boundary", body["message"])

    def test_truncated_multipart_is_400(self):
        ctype, payload = K.multipart_body(ndjson(DV))
        st, body = K.post_import(self.kb.url, b"", content_type=ctype, body=payload[:-30])
        self.assertEqual((st, body["message"]), (400, "Invalid multipart payload format"))

    def test_wrong_boundary_is_400(self):
        ctype, payload = K.multipart_body(ndjson(DV), boundary="aaaa")
        st, body = K.post_import(self.kb.url, b"", content_type="multipart/form-data; boundary=bbbb",
                                 body=payload)
        self.assertEqual(st, 400)

    def test_part_not_named_file_is_400(self):
        ctype, payload = K.multipart_body(ndjson(DV), name="upload")
        st, body = K.post_import(self.kb.url, b"", content_type=ctype, body=payload)
        self.assertEqual(st, 400)
        self.assertEqual(body["message"], "[request body.file]: expected value of type [Stream] but got [undefined]")

    def test_wrong_extension_is_400(self):
        st, body = K.post_import(self.kb.url, ndjson(DV), filename="export.json")
        self.assertEqual((st, body["message"]), (400, "Invalid file extension .json"))

    def test_unparsable_line_is_400(self):
        st, body = K.post_import(self.kb.url, ndjson(DV) + b"{not json\n")
        self.assertEqual(st, 400)
        self.assertTrue(body["message"].startswith("Unexpected token"), body)
        self.assertEqual(self.kb.objects(), {}, "nothing is imported from a bad file")

    def test_duplicate_objects_are_400(self):
        st, body = K.post_import(self.kb.url, ndjson(DV, DV))
        self.assertEqual(st, 400)
        self.assertIn("Non-unique import objects detected", body["message"])

    def test_missing_reference(self):
        st, body = K.post_import(self.kb.url, ndjson(LENS, DASH))
        self.assertEqual(st, 200)
        self.assertFalse(body["success"])
        errs = {e["id"]: e["error"] for e in body["errors"]}
        self.assertEqual(errs["lens-1"], {"type": "missing_references",
                                          "references": [{"type": "index-pattern", "id": "expvarbeat-*"}]})
        self.assertNotIn(("lens", "lens-1"), self.kb.objects())

    def test_reference_to_stored_object_resolves(self):
        self.assertTrue(K.post_import(self.kb.url, ndjson(DV))[1]["success"])
        st, body = K.post_import(self.kb.url, ndjson(LENS))
        self.assertTrue(body["success"], body)

    def test_conflict_without_overwrite(self):
        K.post_import(self.kb.url, ndjson(DV))
        st, body = K.post_import(self.kb.url, ndjson(DV))
        self.assertEqual(st, 200)
        self.assertFalse(body["success"])
        self.assertEqual(body["errors"][0]["error"], {"type": "conflict"})
        self.assertEqual(body["errors"][0]["meta"], {"icon": "indexPatternApp", "title": "expvarbeat-*"})
        st, body = K.post_import(self.kb.url, ndjson(DV), overwrite=True)
        self.assertTrue(body["success"])
        self.assertTrue(body["successResults"][0]["overwrite"])

    def test_unsupported_type(self):
        st, body = K.post_import(self.kb.url, ndjson(DV, {"type": "canvas-workpad", "id": "w",
                                                          "attributes": {"title": "W"}, "references": []}))
        self.assertFalse(body["success"])
        self.assertEqual(body["successCount"], 1)
        self.assertEqual(body["errors"][0]["error"], {"type": "unsupported_type"})

    def test_newer_migration_version_rejected(self):
        newer = dict(DV, typeMigrationVersion="8.99.0")
        st, body = K.post_import(self.kb.url, ndjson(newer))
        self.assertFalse(body["success"])
        self.assertEqual(body["errors"][0]["error"]["type"], "unknown")

    def test_reference_without_name_rejected(self):
        bad = dict(LENS, references=[{"type": "index-pattern", "id": "expvarbeat-*"}])
        st, body = K.post_import(self.kb.url, ndjson(DV, bad))
        self.assertFalse(body["success"])
        self.assertIn("references.0.name", body["errors"][0]["error"]["message"])


class TestSpacesAndAuth(unittest.TestCase):
    def setUp(self):
        self.kb = K.KibanaServer(users={"elastic": "changeme"}, api_keys={"kid": "ksecret"},
                                 spaces=["team-a"]).start()
        self.addCleanup(self.kb.stop)

    def test_space_prefix_stores_in_space(self):
        st, body = K.post_import(self.kb.url, ndjson(DV), space="team-a", auth=("elastic", "changeme"))
        self.assertTrue(body["success"], body)
        self.assertIn(("index-pattern", "expvarbeat-*"), self.kb.objects("team-a"))
        self.assertEqual(self.kb.objects("default"), {})

    def test_unknown_space_is_404(self):
        st, body = K.post_import(self.kb.url, ndjson(DV), space="nope", auth=("elastic", "changeme"))
        self.assertEqual(st, 404)
        self.assertEqual(body["error"], "Not Found")

    def test_bad_credentials_401(self):
        for auth in (None, ("elastic", "wrong")):
            st, body = K.post_import(self.kb.url, ndjson(DV), auth=auth)
            self.assertEqual((st, body), (401, {"statusCode": 401, "error": "Unauthorized",
                                                "message": "[security_exception]: unable to authenticate user"}))
        st, _ = K.http_request(self.kb.url + "/api/status")
        self.assertEqual(st, 401)

    def test_api_key(self):
        key = base64.b64encode(b"kid:ksecret").decode()
        st, body = K.http_request(self.kb.url + "/api/status", headers={"Authorization": "ApiKey " + key})
        self.assertEqual(st, 200)

    def test_down_refuses_connections(self):
        import urllib.error
        self.kb.down()
        with self.assertRaises(urllib.error.URLError):
            K.http_request(self.kb.url + "/api/status")
        self.kb.up()
        st, _ = K.http_request(self.kb.url + "/api/status", headers={
            "Authorization": "Basic " + base64.b64encode(b"elastic:changeme").decode()})
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
