"""The Elasticsearch test server itself (tests/integration/esserver.py),
driven over HTTP with the standard library only.  The output's tests are only
as good as this server's strictness, so what is checked here is that it
refuses what Elasticsearch refuses, with Elasticsearch's error bodies, and
that every injected fault really happens on the wire."""

import gzip
import http.client
import json
import os
import socket
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import esserver  # noqa: E402
from expvarlib import data_path, wait_until  # noqa: E402

NDJSON = "application/x-ndjson"
DS = "expvarbeat-9.9.9"

TEMPLATE = {
    "index_patterns": [DS], "data_stream": {}, "priority": 150,
    "template": {
        "settings": {"index": {"mapping": {"total_fields": {"limit": 40}}, "number_of_shards": 1}},
        "mappings": {
            "date_detection": False,
            "dynamic_templates": [
                {"golang_numbers": {"path_match": "golang.expvar.*", "match_mapping_type": ["long", "double"],
                                    "mapping": {"type": "double"}}},
                {"by_size": {"path_match": "golang.memstats.BySize", "match_mapping_type": "object",
                              "mapping": {"type": "object", "enabled": False}}},
                {"strings_as_keyword": {"match_mapping_type": "string",
                                        "mapping": {"type": "keyword", "ignore_above": 1024}}},
            ],
            "properties": {
                "@timestamp": {"type": "date"},
                "count": {"type": "long"},
                "ratio": {"type": "float"},
                "name": {"type": "keyword", "ignore_above": 4},
                "msg": {"type": "match_only_text"},
                "ok": {"type": "boolean"},
                "when": {"type": "date"},
                "blob": {"type": "object", "enabled": False},
                "host": {"properties": {"name": {"type": "keyword"}}},
                "hostname": {"type": "alias", "path": "host.name"},
            },
        },
    },
}


def call(srv, method, path, body=None, headers=None, content_type="application/json"):
    """(status, headers dict (lower-case names, lists), parsed body or bytes)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    h = {"Content-Type": content_type} if body is not None else {}
    h.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        raw = r.read()
        hdrs = {}
        for k, v in r.getheaders():
            hdrs.setdefault(k.lower(), []).append(v)
        status = r.status
    finally:
        conn.close()
    if raw and hdrs.get("content-type", [""])[0].startswith("application/json"):
        return status, hdrs, json.loads(raw)
    return status, hdrs, raw


def bulk_body(*pairs):
    out = []
    for action, doc in pairs:
        out.append(json.dumps(action))
        if doc is not None:
            out.append(doc if isinstance(doc, str) else json.dumps(doc))
    return ("\n".join(out) + "\n").encode()


def create(doc, index=DS):
    return ({"create": {"_index": index}}, doc)


def doc(**fields):
    d = {"@timestamp": "2024-05-14T10:00:00.000Z"}
    d.update(fields)
    return d


def error_of(body):
    return body["error"]["type"], body["error"]["reason"]


class Base(unittest.TestCase):
    def setUp(self):
        self.es = esserver.ESServer().start()
        self.addCleanup(self.es.stop)
        self.assertEqual(call(self.es, "PUT", "/_index_template/" + DS, TEMPLATE)[0], 200)

    def tearDown(self):
        self.assertEqual(self.es.errors, [], "handler exceptions in the test server")

    def bulk(self, *pairs, query="", headers=None, raw=None):
        return call(self.es, "POST", "/_bulk" + query, raw if raw is not None else bulk_body(*pairs),
                    headers=headers, content_type=NDJSON)

    def items(self, *pairs, **kw):
        status, _, body = self.bulk(*pairs, **kw)
        self.assertEqual(status, 200, body)
        return [next(iter(it.values())) for it in body["items"]]


class TestBasics(Base):
    def test_root_answers_like_elasticsearch(self):
        status, h, body = call(self.es, "GET", "/")
        self.assertEqual(status, 200)
        self.assertEqual(h["x-elastic-product"], ["Elasticsearch"])
        self.assertTrue(h["content-type"][0].startswith("application/json"))
        self.assertEqual(body["version"]["number"], "8.11.0")
        self.assertEqual(body["version"]["build_flavor"], "default")
        self.assertEqual(body["tagline"], "You Know, for Search")
        for k in ("build_type", "build_hash", "lucene_version", "minimum_wire_compatibility_version",
                  "minimum_index_compatibility_version"):
            self.assertIn(k, body["version"])
        self.es.set_version("7.17.0")
        self.assertEqual(call(self.es, "GET", "/")[2]["version"]["number"], "7.17.0")

    def test_license(self):
        status, _, body = call(self.es, "GET", "/_license?human=false")
        self.assertEqual((status, body["license"]["status"]), (200, "active"))

    def test_unknown_route_and_wrong_method(self):
        status, _, body = call(self.es, "GET", "/_nonsense/x/y/z")
        self.assertEqual(status, 400)
        self.assertEqual(body["error"], "no handler found for uri [/_nonsense/x/y/z] and method [GET]")
        status, h, body = call(self.es, "GET", "/_bulk")
        self.assertEqual(status, 405)
        self.assertIn("Incorrect HTTP method for uri [/_bulk] and method [GET]", body["error"])

    def test_unrecognized_parameter_refused(self):
        status, _, body = self.bulk(create(doc()), query="?nonsense=1")
        self.assertEqual(status, 400)
        self.assertEqual(error_of(body), ("illegal_argument_exception",
                                          "request [/_bulk] contains unrecognized parameter: [nonsense]"))

    def test_keep_alive_and_chunked_request_body(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.es.port, timeout=10)
        self.addCleanup(conn.close)
        body = bulk_body(create(doc(count=1)), create(doc(count=2)))
        for _ in range(2):
            conn.request("POST", "/_bulk", body=iter([body[:10], body[10:]]),
                         headers={"Content-Type": NDJSON}, encode_chunked=True)
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertFalse(json.loads(r.read())["errors"])
        self.assertEqual(self.es.count(DS), 4)
        peers = {r.peer for r in self.es.recorded("bulk")}
        self.assertEqual(len(peers), 1, "both requests on one connection")

    def test_expect_100_continue(self):
        body = bulk_body(create(doc()))
        s = socket.create_connection(("127.0.0.1", self.es.port), timeout=10)
        self.addCleanup(s.close)
        s.sendall(b"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n"))
        s.sendall(body)
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200 OK"))

    def test_requests_are_recorded_decoded(self):
        body = bulk_body(create(doc(count=5)))
        self.bulk(raw=gzip.compress(body), headers={"Content-Encoding": "gzip"})
        req = self.es.recorded("bulk")[-1]
        self.assertEqual(req.decoded, body)
        self.assertEqual(req.header("content-encoding"), "gzip")
        self.assertEqual(req.ndjson()[1]["count"], 5)
        self.assertEqual(req.status, 200)

    def test_gzip_response_when_accepted(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.es.port, timeout=10)
        self.addCleanup(conn.close)
        conn.request("GET", "/", headers={"Accept-Encoding": "gzip"})
        r = conn.getresponse()
        self.assertEqual(r.getheader("content-encoding"), "gzip")
        self.assertEqual(json.loads(gzip.decompress(r.read()))["tagline"], "You Know, for Search")


class TestIndexManagement(Base):
    def test_ilm_policy(self):
        status, _, body = call(self.es, "GET", "/_ilm/policy/expvarbeat")
        self.assertEqual(status, 404)
        self.assertEqual(body["error"]["type"], "resource_not_found_exception")
        self.assertEqual(body["status"], 404)
        for bad in ({}, {"phases": {}}, {"policy": {"phases": {"tepid": {"actions": {}}}}},
                    {"policy": {"phases": {"hot": {"actions": {"rollover": {}}}}}},
                    {"policy": {"phases": {"hot": {"actions": {"explode": {}}}}}}):
            status, _, body = call(self.es, "PUT", "/_ilm/policy/expvarbeat", bad)
            self.assertEqual(status, 400, bad)
        pol = {"policy": {"phases": {"hot": {"actions": {"rollover": {"max_primary_shard_size": "50gb",
                                                                       "max_age": "30d"}}}}}}
        self.assertEqual(call(self.es, "PUT", "/_ilm/policy/expvarbeat", pol)[2], {"acknowledged": True})
        status, _, body = call(self.es, "GET", "/_ilm/policy/expvarbeat")
        self.assertEqual(status, 200)
        self.assertEqual(body["expvarbeat"]["policy"], pol["policy"])
        self.assertEqual(body["expvarbeat"]["version"], 1)

    def test_index_template_validation(self):
        name = "/_index_template/other"
        self.assertEqual(call(self.es, "HEAD", name)[0], 404)
        status, _, body = call(self.es, "GET", name)
        self.assertEqual((status, body["error"]["type"]), (404, "resource_not_found_exception"))
        cases = [
            ({"template": {}}, "action_request_validation_exception"),
            ({"index_patterns": ["o"], "bogus": 1}, "x_content_parse_exception"),
            ({"index_patterns": ["o"], "data_stream": True}, "x_content_parse_exception"),
            ({"index_patterns": ["o"], "template": {"settings": "x"}}, "x_content_parse_exception"),
            ({"index_patterns": ["o"], "template": {"mappings": []}}, "x_content_parse_exception"),
            ({"index_patterns": ["o"], "template": {"settings": {"index.bogus": 1}}}, "illegal_argument_exception"),
            ({"index_patterns": ["o"], "template": {"mappings": {"properties": {"a": {"type": "lon"}}}}},
             "mapper_parsing_exception"),
            ({"index_patterns": ["o"], "template": {"mappings": {"properties": {
                "a": {"type": "alias", "path": "missing"}}}}}, "mapper_parsing_exception"),
            ({"index_patterns": ["o"], "template": {"mappings": {"dynamic_templates": [
                {"x": {"match_mapping_type": "integer", "mapping": {"type": "long"}}}]}}},
             "mapper_parsing_exception"),
            ({"index_patterns": [DS], "priority": 150}, "illegal_argument_exception"),  # same priority overlap
        ]
        for body_in, etype in cases:
            status, _, body = call(self.es, "PUT", name, body_in)
            self.assertEqual((status, body["error"]["type"]), (400, etype), body_in)
        self.assertEqual(call(self.es, "HEAD", name)[0], 404)
        status, _, body = call(self.es, "PUT", name, "{}", content_type="text/plain")
        self.assertEqual((status, body), (406, {"error": "Content-Type header [text/plain] is not supported",
                                                "status": 406}))

    def test_index_template_stored_as_elasticsearch_returns_it(self):
        self.assertEqual(call(self.es, "HEAD", "/_index_template/" + DS)[0], 200)
        status, _, body = call(self.es, "GET", "/_index_template/" + DS)
        self.assertEqual(status, 200)
        (t,) = body["index_templates"]
        self.assertEqual(t["name"], DS)
        it = t["index_template"]
        self.assertEqual(it["index_patterns"], [DS])
        self.assertEqual(it["priority"], 150)
        self.assertEqual(it["data_stream"], {"hidden": False, "allow_custom_routing": False})
        self.assertEqual(it["template"]["settings"],
                         {"index": {"mapping": {"total_fields": {"limit": "40"}}, "number_of_shards": "1"}})
        self.assertEqual(it["template"]["mappings"], TEMPLATE["template"]["mappings"])

    def test_data_stream(self):
        status, _, body = call(self.es, "GET", "/_data_stream/" + DS)
        self.assertEqual((status, body["error"]["type"]), (404, "index_not_found_exception"))
        status, _, body = call(self.es, "PUT", "/_data_stream/nomatch")
        self.assertEqual(status, 400)
        self.assertEqual(error_of(body), ("index_template_not_found_exception",
                                          "no matching index template found for data stream [nomatch]"))
        call(self.es, "PUT", "/_index_template/plain", {"index_patterns": ["plain*"]})
        status, _, body = call(self.es, "PUT", "/_data_stream/plain-1")
        self.assertEqual((status, body["error"]["type"]), (400, "illegal_argument_exception"))
        self.assertEqual(call(self.es, "PUT", "/_data_stream/" + DS)[0], 200)
        status, _, body = call(self.es, "PUT", "/_data_stream/" + DS)
        self.assertEqual((status, body["error"]["type"]), (400, "resource_already_exists_exception"))
        status, _, body = call(self.es, "GET", "/_data_stream/" + DS)
        (ds,) = body["data_streams"]
        self.assertEqual((ds["name"], ds["template"]), (DS, DS))
        self.assertRegex(ds["indices"][0]["index_name"], r"^\.ds-%s-\d{4}\.\d\d\.\d\d-000001$" % DS)


class TestBulkStrictness(Base):
    def test_content_type_required(self):
        body = bulk_body(create(doc()))
        status, _, resp = call(self.es, "POST", "/_bulk", body, content_type="text/plain")
        self.assertEqual((status, resp["error"]), (406, "Content-Type header [text/plain] is not supported"))
        for ct in ("application/json", "application/json; charset=UTF-8", "application/x-ndjson"):
            self.assertEqual(call(self.es, "POST", "/_bulk", body, content_type=ct)[0], 200, ct)

    def test_missing_trailing_newline(self):
        status, _, body = self.bulk(raw=bulk_body(create(doc()))[:-1])
        self.assertEqual(status, 400)
        self.assertEqual(error_of(body), ("illegal_argument_exception",
                                          "The bulk request must be terminated by a newline [\\n]"))
        self.assertEqual(body["status"], 400)
        self.assertEqual(self.es.count(), 0)

    def test_malformed_action_lines(self):
        cases = [
            (b'{"create":{"_index":"x"}\n{}\n', "x_content_parse_exception", None),
            (b'{"create" {}}\n{}\n', "x_content_parse_exception", None),
            (b'["create"]\n{}\n', "illegal_argument_exception",
             "Malformed action/metadata line [1], expected START_OBJECT but found [START_ARRAY]"),
            (b'{"upsert":{"_index":"x"}}\n{}\n', "illegal_argument_exception",
             "Malformed action/metadata line [1], expected one of [create, delete, index, update] but found [upsert]"),
            (b'{"create":{"_index":"x","_type":"doc"}}\n{}\n', "illegal_argument_exception",
             "Action/metadata line [1] contains an unknown parameter [_type]"),
            (b'{"create":{"_index":"x"}}\n{"a":1}\n{"create":{"_index":{"a":1}}}\n{}\n', "illegal_argument_exception",
             "Malformed action/metadata line [3], expected a simple value for field [_index] but found [START_OBJECT]"),
            (b'{"create":{}}\n{"a":1}\n', "action_request_validation_exception",
             "Validation Failed: 1: index is missing;"),
            (b'{"create":{"_index":"x"}}\n\n', "action_request_validation_exception",
             "Validation Failed: 1: source is missing;"),
            (b'\n', "action_request_validation_exception", "Validation Failed: 1: no requests added;"),
            (b'', "parse_exception", "request body is required"),
        ]
        for raw, etype, reason in cases:
            status, _, body = self.bulk(raw=raw)
            self.assertEqual(status, 400, raw)
            self.assertEqual(body["error"]["type"], etype, raw)
            if reason:
                self.assertEqual(body["error"]["reason"], reason, raw)
            self.assertEqual(body["error"]["root_cause"][0]["type"], etype)
        self.assertEqual(self.es.count(), 0, "a refused bulk indexes nothing")

    def test_bad_document_is_a_per_item_error(self):
        items = self.items(create(doc(count=1)), create('{"@timestamp":"2024-05-14T10:00:00Z","count":}'),
                           create('{"a":1,"a":2}'), create("[1,2]"), create('{"x":NaN}'), create(doc(count=2)))
        self.assertEqual([i["status"] for i in items], [201, 400, 400, 400, 400, 201])
        self.assertEqual({i["error"]["type"] for i in items[1:5]}, {"document_parsing_exception"})
        self.assertIn("Duplicate field 'a'", items[2]["error"]["reason"])
        self.assertEqual(self.es.count(DS), 2)

    def test_data_stream_requires_create(self):
        items = self.items(({"index": {"_index": DS}}, doc()), create(doc()), ({"index": {"_index": DS}}, doc()))
        self.assertEqual([i["status"] for i in items], [400, 201, 400])
        self.assertEqual(items[0]["error"], {"type": "illegal_argument_exception", "reason":
                                             "only write ops with an op_type of create are allowed in data streams"})
        self.assertRegex(items[1]["_index"], r"^\.ds-%s-" % DS)
        self.assertEqual(self.es.count(DS), 1)

    def test_data_stream_requires_timestamp(self):
        items = self.items(create({"count": 1}), create(doc(count=1)))
        self.assertEqual([i["status"] for i in items], [400, 201])
        self.assertIn("data stream timestamp field [@timestamp] is missing", items[0]["error"]["reason"])

    def test_index_names_must_be_lowercase(self):
        items = self.items(create(doc(), index="Expvarbeat"), create(doc(), index="_x"), create(doc()))
        self.assertEqual([i["status"] for i in items], [400, 400, 201])
        self.assertEqual(items[0]["error"], {"type": "invalid_index_name_exception",
                                             "reason": "Invalid index name [Expvarbeat], must be lowercase",
                                             "index_uuid": "_na_", "index": "Expvarbeat"})

    def test_response_shape(self):
        status, _, body = self.bulk(create(doc()), create(doc()))
        self.assertEqual(status, 200)
        self.assertEqual(set(body), {"took", "errors", "items"})
        self.assertIs(body["errors"], False)
        it = body["items"][0]["create"]
        self.assertEqual(set(it), {"_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term",
                                   "status"})
        self.assertEqual((it["result"], it["status"], it["_version"]), ("created", 201, 1))
        self.assertRegex(it["_id"], r"^[A-Za-z0-9_-]{20}$")
        self.assertEqual(body["items"][1]["create"]["_seq_no"], it["_seq_no"] + 1)

    def test_filter_path_reduction(self):
        q = "?filter_path=errors,items.*.error,items.*.status"
        status, _, body = self.bulk(create(doc()), create(doc(count="abc")), query=q)
        self.assertEqual(status, 200)
        self.assertEqual(body["errors"], True)
        self.assertEqual(body["items"][0], {"create": {"status": 201}})
        self.assertEqual(set(body["items"][1]["create"]), {"status", "error"})
        status, _, body = self.bulk(create(doc()), query=q)
        self.assertEqual(body, {"errors": False, "items": [{"create": {"status": 201}}]})
        status, _, body = self.bulk(create(doc()), create(doc(count="x")), query="?filter_path=items.*.error")
        self.assertEqual(len(body["items"]), 1, "successful items vanish entirely")
        self.assertEqual(call(self.es, "GET", "/?filter_path=version.number")[2], {"version": {"number": "8.11.0"}})

    def test_gzip_body(self):
        raw = bulk_body(create(doc(count=1)), create(doc(count=2)))
        status, _, body = self.bulk(raw=gzip.compress(raw), headers={"Content-Encoding": "gzip"})
        self.assertEqual((status, body["errors"]), (200, False))
        self.assertEqual(self.es.count(DS), 2)
        status, _, body = self.bulk(raw=b"not gzip", headers={"Content-Encoding": "gzip"})
        self.assertEqual(status, 400)

    def test_pipeline_parameter(self):
        status, _, body = self.bulk(create(doc()), query="?pipeline=missing")
        self.assertEqual(body["items"][0]["create"]["error"]["reason"], "pipeline with id [missing] does not exist")
        self.es.put_pipeline("p1")
        status, _, body = self.bulk(create(doc()), query="?pipeline=p1")
        self.assertFalse(body["errors"])


class TestMappings(Base):
    def test_explicit_types(self):
        items = self.items(
            create(doc(count=3, ratio=0.5, name="abcdefgh", msg="some text", ok=True, when="2024-01-02")),
            create(doc(count="abc")), create(doc(count=True)), create(doc(count={"a": 1})),
            create(doc(count=0.25)), create(doc(count="12")), create(doc(count=2 ** 63)),
            create(doc(ok="yes")), create(doc(when="yesterday")), create(doc(name={"x": 1})),
            create(doc(hostname="h")), create(doc(blob={"any": [1, "x", {"y": None}]})), create(doc(blob=7)),
            create(doc(host="h")))
        self.assertEqual([i["status"] for i in items],
                         [201, 400, 400, 400, 201, 201, 400, 400, 400, 400, 400, 201, 201, 400])
        e = items[1]["error"]
        self.assertEqual(e["type"], "document_parsing_exception")
        self.assertRegex(e["reason"], r"^\[1:\d+\] failed to parse field \[count\] of type \[long\] in document "
                                      r"with id '%s'\. Preview of field's value: 'abc'$" % items[1]["_id"])
        self.assertEqual(e["caused_by"], {"type": "illegal_argument_exception", "reason": 'For input string: "abc"'})
        self.assertIn("Cannot write to a field alias [hostname]", items[10]["error"]["reason"])
        self.assertIn("object mapping for [host] tried to parse field [host] as object, but found a concrete value",
                      items[13]["error"]["reason"])

    def test_mapper_parsing_exception_before_8_8(self):
        self.es.set_version("8.7.1")
        (it,) = self.items(create(doc(count="abc")))
        self.assertEqual(it["error"]["type"], "mapper_parsing_exception")
        self.assertTrue(it["error"]["reason"].startswith("failed to parse field [count] of type [long]"))

    def test_dynamic_mapping_conflict_is_per_item(self):
        items = self.items(create(doc(dyn={"n": 1, "s": "text"})), create(doc(dyn={"n": "abc"})),
                           create(doc(dyn={"n": 2})), create(doc(dyn={"n": 0.25})))
        self.assertEqual([i["status"] for i in items], [201, 400, 201, 201])
        self.assertEqual(self.es.field_type(DS, "dyn.n"), "long", "first integer maps as long; 0.25 is truncated")
        self.assertEqual(self.es.field_type(DS, "dyn.s"), "keyword", "strings_as_keyword")
        self.assertEqual(self.es.count(DS), 3)
        # the mapping persists across requests
        (it,) = self.items(create(doc(dyn={"n": "x"})))
        self.assertEqual(it["status"], 400)

    def test_default_dynamic_mapping_without_template(self):
        items = self.items(({"index": {"_index": "plain"}}, {"i": 0, "f": 0.5, "s": "x", "b": True,
                                                             "d": "2024-01-02T03:04:05Z", "o": {"k": 1}}))
        self.assertEqual(items[0]["status"], 201)
        m = self.es.mapping("plain")["properties"]
        self.assertEqual(m["i"], {"type": "long"})
        self.assertEqual(m["f"], {"type": "float"})
        self.assertEqual(m["s"], {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}})
        self.assertEqual(m["b"], {"type": "boolean"})
        self.assertEqual(m["d"], {"type": "date"}, "date_detection is on by default")
        self.assertEqual(m["o"], {"properties": {"k": {"type": "long"}}})
        items = self.items(({"index": {"_index": "plain"}}, {"o": 1}), ({"index": {"_index": "plain"}}, {"b": 3}))
        self.assertEqual([i["status"] for i in items], [400, 400])

    def test_dynamic_templates(self):
        items = self.items(create(doc(golang={"expvar": {"a": 0, "b": 1.5}, "memstats": {"BySize": [{"Size": 0}, {"Size": "x"}],
                                                                                     "PauseNs": [1, 2]}})),
                           create(doc(golang={"expvar": {"a": 0.25}})), create(doc(when_s="2024-01-02")))
        self.assertEqual([i["status"] for i in items], [201, 201, 201])
        self.assertEqual(self.es.field_type(DS, "golang.expvar.a"), "double")
        self.assertEqual(self.es.field_type(DS, "golang.memstats.BySize"), "object")
        self.assertIsNone(self.es.field_type(DS, "golang.memstats.BySize.Size"), "enabled: false maps nothing")
        self.assertEqual(self.es.field_type(DS, "golang.memstats.PauseNs"), "long", "arrays map by element")
        self.assertEqual(self.es.field_type(DS, "when_s"), "keyword", "date_detection false")
        (it,) = self.items(create(doc(golang={"expvar": {"a": "str"}})))
        self.assertEqual(it["status"], 400)

    def test_total_fields_limit(self):
        many = {"f%d" % i: i for i in range(50)}
        (it,) = self.items(create(doc(many=many)))
        self.assertEqual(it["status"], 400)
        self.assertEqual(it["error"]["type"], "illegal_argument_exception")
        self.assertRegex(it["error"]["reason"], r"^Limit of total fields \[40\] has been exceeded while adding new "
                                                r"fields \[\d+\]$")

    def test_dotted_field_names_expand(self):
        items = self.items(create({"@timestamp": "2024-05-14T10:00:00Z", "a.b": 1}), create(doc(a={"b": "x"})))
        self.assertEqual([i["status"] for i in items], [201, 400])


class TestReading(Base):
    def test_count_search_mapping(self):
        self.items(create(doc(name="a")), create(doc(name="b")), create(doc(name="a")))
        self.assertEqual(call(self.es, "GET", "/%s/_count" % DS)[2]["count"], 3)
        status, _, body = call(self.es, "POST", "/%s/_search" % DS, {"size": 1, "query": {"term": {"name": "a"}}})
        self.assertEqual(body["hits"]["total"], {"value": 2, "relation": "eq"})
        self.assertEqual(len(body["hits"]["hits"]), 1)
        self.assertEqual(body["hits"]["hits"][0]["_source"]["name"], "a")
        status, _, body = call(self.es, "GET", "/%s/_mapping" % DS)
        (idx,) = body
        self.assertTrue(idx.startswith(".ds-" + DS))
        status, _, body = call(self.es, "GET", "/missing/_count")
        self.assertEqual((status, body["error"]["type"]), (404, "index_not_found_exception"))


class TestAuth(unittest.TestCase):
    def setUp(self):
        self.es = esserver.ESServer(users={"elastic": "changeme"}, api_keys={"kid": "secret"},
                                    readonly_users={"reader": "pw"}).start()
        self.addCleanup(self.es.stop)

    def basic(self, user, pw):
        import base64
        return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}

    def test_missing_and_wrong_credentials(self):
        status, h, body = call(self.es, "GET", "/")
        self.assertEqual(status, 401)
        self.assertEqual(body["error"]["type"], "security_exception")
        self.assertEqual(body["error"]["reason"], "missing authentication credentials for REST request [/]")
        self.assertIn('Basic realm="security" charset="UTF-8"', h["www-authenticate"])
        status, _, body = call(self.es, "GET", "/", headers=self.basic("elastic", "nope"))
        self.assertEqual(status, 401)
        self.assertEqual(body["error"]["reason"], "unable to authenticate user [elastic] for REST request [/]")
        status, _, body = call(self.es, "GET", "/", headers={"Authorization": "ApiKey a2lkOndyb25n"})
        self.assertEqual(status, 401)

    def test_good_credentials(self):
        import base64
        self.assertEqual(call(self.es, "GET", "/", headers=self.basic("elastic", "changeme"))[0], 200)
        key = base64.b64encode(b"kid:secret").decode()
        self.assertEqual(call(self.es, "GET", "/", headers={"Authorization": "ApiKey " + key})[0], 200)

    def test_read_only_user_cannot_write(self):
        self.assertEqual(call(self.es, "GET", "/", headers=self.basic("reader", "pw"))[0], 200)
        status, _, body = call(self.es, "POST", "/_bulk", bulk_body(({"create": {"_index": "x"}}, {})),
                               headers=self.basic("reader", "pw"), content_type=NDJSON)
        self.assertEqual((status, body["error"]["type"]), (403, "security_exception"))
        self.assertEqual(self.es.count(), 0)


class TestFaults(Base):
    def test_scripted_item_statuses(self):
        self.es.script_items([201, 409, 429, 400, 503])
        status, _, body = self.bulk(*[create(doc(count=i)) for i in range(6)],
                                    query="?filter_path=errors,items.*.error,items.*.status")
        self.assertEqual([i["create"]["status"] for i in body["items"]], [201, 409, 429, 400, 503, 201])
        types = [i["create"].get("error", {}).get("type") for i in body["items"]]
        self.assertEqual(types, [None, "version_conflict_engine_exception", "es_rejected_execution_exception",
                                 "document_parsing_exception", "unavailable_shards_exception", None])
        self.assertEqual(self.es.count(DS), 3, "201s and the 409 (already indexed) are in the index")
        items = self.items(create(doc()), create(doc()))
        self.assertEqual([i["status"] for i in items], [201, 201], "a script is used once")

    def test_reject_fraction_of_items(self):
        self.es.reject_items(0.5, status=429, count=10)
        items = self.items(*[create(doc(count=i)) for i in range(10)])
        self.assertEqual([i["status"] for i in items], [201, 429] * 5)
        items = self.items(*[create(doc(count=i)) for i in range(4)])
        self.assertEqual([i["status"] for i in items], [201] * 4)
        self.assertEqual(self.es.count(DS), 9)

    def test_reject_for_a_duration(self):
        self.es.reject_items(1.0, status=429, seconds=0.3)
        (it,) = self.items(create(doc()))
        self.assertEqual(it["status"], 429)
        wait_until(lambda: self.items(create(doc()))[0]["status"] == 201, 5, "rejections to end")

    def test_whole_request_status(self):
        self.es.fail_requests(503, count=2)
        for _ in range(2):
            status, _, body = self.bulk(create(doc()))
            self.assertEqual((status, body["error"]["type"]), (503, "cluster_block_exception"))
        self.assertEqual(self.bulk(create(doc()))[0], 200)
        self.assertEqual(call(self.es, "GET", "/")[0], 200, "other kinds unaffected")
        self.es.fail_requests(500, seconds=60, kinds=None)
        self.assertEqual(call(self.es, "GET", "/")[0], 500)
        self.es.clear_faults()
        self.assertEqual(call(self.es, "GET", "/")[0], 200)
        self.assertEqual(self.es.count(DS), 1)

    def test_413_above_size(self):
        self.es.limit_body(1000)
        small = bulk_body(create(doc()))
        big = bulk_body(*[create(doc(count=i)) for i in range(40)])
        self.assertEqual(self.bulk(raw=small)[0], 200)
        status, h, body = self.bulk(raw=gzip.compress(big), headers={"Content-Encoding": "gzip"})
        self.assertEqual((status, body), (413, b""), "decoded size counts, as in ES's aggregator")
        self.assertEqual(self.es.count(DS), 1)

    def test_reset_mid_response(self):
        self.es.reset_connections(count=1)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine,
                                http.client.IncompleteRead)):
            self.bulk(create(doc()))
        self.assertEqual(self.es.count(DS), 0, "a reset before processing indexes nothing")
        self.assertEqual(self.bulk(create(doc()))[0], 200)
        self.es.reset_connections(count=1, after_processing=True)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine,
                                http.client.IncompleteRead)):
            self.bulk(create(doc()))
        self.assertEqual(self.es.count(DS), 2)

    def test_slow_answer(self):
        self.es.delay(0.5, count=1)
        t0 = time.monotonic()
        self.assertEqual(call(self.es, "GET", "/")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)

    def test_outage_refuses_then_relistens_on_same_port(self):
        port = self.es.port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.addCleanup(conn.close)
        conn.request("GET", "/")
        conn.getresponse().read()
        self.es.outage(1.0)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
            conn.request("GET", "/")  # the open connection was closed too
            conn.getresponse().read()

        def up():
            try:
                return call(self.es, "GET", "/")[0] == 200
            except OSError:
                return False
        wait_until(up, 10, "the server to listen again")
        self.assertEqual(self.es.port, port)

    def test_non_json_bulk_answer(self):
        self.es.non_json_bulk(count=1)
        status, h, body = self.bulk(create(doc()))
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], ["text/html"])
        self.assertTrue(body.startswith(b"<html>"))
        self.assertEqual(self.es.count(), 0)
        self.assertEqual(self.bulk(create(doc()))[0], 200)


class TestTls(unittest.TestCase):
    def test_https(self):
        import ssl
        tls = data_path("tls")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(tls, "server.pem"), os.path.join(tls, "server.key"))
        es = esserver.ESServer(ssl_context=ctx).start()
        self.addCleanup(es.stop)
        self.assertTrue(es.url.startswith("https://"))
        trusted = ssl.create_default_context(cafile=os.path.join(tls, "ca.pem"))
        with urllib.request.urlopen(es.url + "/", timeout=10, context=trusted) as r:
            self.assertEqual(r.status, 200)
        with self.assertRaises(urllib.error.URLError) as cm:
            urllib.request.urlopen(es.url + "/", timeout=10, context=ssl.create_default_context())
        self.assertIsInstance(cm.exception.reason, ssl.SSLCertVerificationError)
        self.assertEqual(es.errors, [])


class TestCommandLine(unittest.TestCase):
    def test_runs_standalone(self):
        import subprocess
        p = subprocess.Popen([sys.executable, esserver.__file__, "--port", "0"], stdout=subprocess.PIPE)
        try:
            line = p.stdout.readline().decode().strip()
            self.assertRegex(line, r"^listening 127\.0\.0\.1:\d+$")
            port = int(line.rsplit(":", 1)[1])
            with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10) as r:
                self.assertEqual(json.loads(r.read())["tagline"], "You Know, for Search")
        finally:
            p.terminate()
            p.wait(10)
            p.stdout.close()


if __name__ == "__main__":
    unittest.main()
