#!/usr/bin/env python3
"""esserver: a strict stand-in for Elasticsearch 8.x's HTTP API (stdlib only).

Elasticsearch itself cannot run here, so the output is tested against this
server.  It owns what a Beat talks to -- `GET /`, `_license`, ILM policies,
composable index templates, data streams, `_bulk`, `_count`, `_search`,
`_mapping`, ingest pipeline ids -- and answers them the way Elasticsearch 8.11
does: the same status codes, error `type`s and `reason` texts, the same
response shapes, `filter_path` reduction, gzip in both directions, and
documents checked against the index mappings (explicit properties, dynamic
templates, dynamic mapping, coercion), so a document ES would reject is
rejected here too.  Faults are injected at runtime from the test (thread-safe):
per-item statuses, whole-request statuses, 413 above a size, resets, slow
answers, outages (the port really stops listening), non-JSON answers.

    with ESServer() as es:
        es.url                              # http://127.0.0.1:PORT
        es.reject_items(0.5, status=429, seconds=5)
        es.count("expvarbeat-0.1.0")        # documents indexed

Also runnable for benches: `python3 esserver.py --port 0` prints
"listening 127.0.0.1:PORT" as its first line.
"""

import argparse
import base64
import datetime
import gzip
import ipaddress
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib

DEFAULT_VERSION = "8.11.0"
_MISSING = object()


# ---------------------------------------------------------------------------
# Errors in Elasticsearch's shape


class ESError(Exception):
    """An error answered as {"error":{"root_cause":[...],...},"status":N}."""

    def __init__(self, status, etype, reason, caused_by=None, headers=None, **extra):
        super().__init__(reason)
        self.status, self.etype, self.reason = status, etype, reason
        self.caused_by, self.extra, self.headers = caused_by, extra, headers or []

    def cause(self):
        """The error object as it appears in a bulk item."""
        e = {"type": self.etype, "reason": self.reason}
        e.update(self.extra)
        if self.caused_by:
            e["caused_by"] = self.caused_by
        return e

    def body(self):
        root = {"type": self.etype, "reason": self.reason}
        root.update(self.extra)
        err = {"root_cause": [root]}
        err.update(self.cause())
        return {"error": err, "status": self.status}


class PlainError(Exception):
    """Errors ES answers as {"error":"text","status":N} (routing, media type)."""

    def __init__(self, status, text, headers=None):
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers or []


def _iae(reason, status=400, **kw):
    return ESError(status, "illegal_argument_exception", reason, **kw)


def _validation(problems):
    return ESError(400, "action_request_validation_exception",
                   "Validation Failed: " + "".join("%d: %s;" % (i + 1, p) for i, p in enumerate(problems)))


# ---------------------------------------------------------------------------
# JSON as Jackson (ES's parser) reads it: strict, duplicate keys rejected


class JsonError(ValueError):
    def __init__(self, msg, line=1, col=1):
        super().__init__(msg)
        self.msg, self.line, self.col = msg, line, col


def _no_dups(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise JsonError("Duplicate field '%s'" % k)
        d[k] = v
    return d


def _no_constants(name):
    raise JsonError("Non-standard token '%s': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` "
                    "to allow" % name)


def strict_json(data):
    """bytes -> Python value; ints stay int, floats float.  Raises JsonError
    with a Jackson-like message and position."""
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise JsonError("Invalid UTF-8 start byte 0x%02x" % data[e.start], 1, e.start + 1) from None
    else:
        text = data
    try:
        return json.loads(text, object_pairs_hook=_no_dups, parse_constant=_no_constants)
    except JsonError as e:
        if e.line == 1 and e.col == 1:
            e.col = len(text.rstrip()) or 1
        raise
    except json.JSONDecodeError as e:
        ch = text[e.pos] if e.pos < len(text) else None
        if ch is None:
            msg = "Unexpected end-of-input"
        elif e.msg.startswith("Extra data"):
            msg = "Unexpected character ('%s' (code %d)): expected end of input" % (ch, ord(ch))
        elif e.msg.startswith("Expecting property name"):
            msg = ("Unexpected character ('%s' (code %d)): was expecting double-quote to start field name"
                   % (ch, ord(ch)))
        else:
            msg = ("Unexpected character ('%s' (code %d)): expected a valid value (JSON String, Number, "
                   "Array, Object or 'true', 'false' or 'null')" % (ch, ord(ch)))
        raise JsonError(msg, e.lineno, e.colno) from None


def dumps(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def _token_name(v):
    if isinstance(v, dict):
        return "START_OBJECT"
    if isinstance(v, list):
        return "START_ARRAY"
    if isinstance(v, str):
        return "VALUE_STRING"
    if isinstance(v, bool):
        return "VALUE_BOOLEAN"
    if v is None:
        return "VALUE_NULL"
    return "VALUE_NUMBER"


# ---------------------------------------------------------------------------
# filter_path


def _seg_match(pat, key):
    if pat == "*" or pat == key:
        return True
    if "*" not in pat:
        return False
    return re.fullmatch(".*".join(re.escape(p) for p in pat.split("*")), key) is not None


def _filter(value, pats):
    if any(not p for p in pats):
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            sub = []
            for p in pats:
                if p[0] == "**":
                    sub.append(p)
                    if len(p) > 1 and _seg_match(p[1], k):
                        sub.append(p[2:])
                elif _seg_match(p[0], k):
                    sub.append(p[1:])
            if sub:
                r = _filter(v, sub)
                if r is not _MISSING:
                    out[k] = r
        return out if out else _MISSING
    if isinstance(value, list):
        out = [r for r in (_filter(e, pats) for e in value) if r is not _MISSING]
        return out if out else _MISSING
    return _MISSING


def filter_path(obj, spec):
    """Reduces a response like ES's ?filter_path= (inclusive patterns, `*`
    within a segment, `**` for any depth; arrays are transparent and emptied
    objects and arrays vanish)."""
    pats = [p.split(".") for p in spec.split(",") if p.strip()]
    if not pats:
        return obj
    r = _filter(obj, [[s.strip() for s in p] for p in pats])
    return {} if r is _MISSING else r


# ---------------------------------------------------------------------------
# Names, globs, settings


_INVALID_INDEX_CHARS = '\\/*?"<>| ,#:'


def validate_index_name(name):
    """Raises the invalid_index_name_exception ES answers for `name`."""
    def bad(why):
        return ESError(400, "invalid_index_name_exception", "Invalid index name [%s], %s" % (name, why),
                       index_uuid="_na_", index=name)
    if name != name.lower():
        raise bad("must be lowercase")
    if name in (".", ".."):
        raise bad("must not be '.' or '..'")
    if name[:1] in ("_", "-", "+"):
        raise bad("must not start with '_', '-', or '+'")
    if any(c in _INVALID_INDEX_CHARS for c in name):
        raise bad("must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]")
    if len(name.encode("utf-8")) > 255:
        raise bad("index name is too long, (%d > 255)" % len(name.encode("utf-8")))
    if not name:
        raise bad("must not be empty")


def glob_match(pattern, name):
    """ES's Regex.simpleMatch: only `*` is special."""
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), name) is not None


def _flatten_settings(obj, prefix="", out=None):
    out = {} if out is None else out
    for k, v in obj.items():
        key = prefix + k
        if isinstance(v, dict):
            _flatten_settings(v, key + ".", out)
        else:
            out[key] = v
    return out


def _setting_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return [_setting_text(x) for x in v]
    return v if isinstance(v, str) else ("null" if v is None else str(v))


def _nest(flat):
    out = {}
    for k, v in sorted(flat.items()):
        cur = out
        parts = k.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = v
    return out


_KNOWN_INDEX_SETTINGS = {
    "number_of_shards", "number_of_replicas", "refresh_interval", "codec", "max_docvalue_fields_search",
    "max_result_window", "max_inner_result_window", "auto_expand_replicas", "hidden", "priority",
    "default_pipeline", "final_pipeline", "max_terms_count", "max_script_fields", "max_ngram_diff",
    "max_shingle_diff", "max_regex_length", "max_refresh_listeners", "max_rescore_window",
    "max_slices_per_scroll", "gc_deletes", "mode", "look_ahead_time", "load_fixed_bitset_filters_eagerly",
    "number_of_routing_shards", "routing_partition_size", "shard.check_on_startup", "soft_deletes.enabled",
    "soft_deletes.retention_lease.period", "query.default_field", "lifecycle.name",
    "lifecycle.rollover_alias", "lifecycle.parse_origination_date", "lifecycle.origination_date",
    "lifecycle.indexing_complete", "mapping.total_fields.limit", "mapping.depth.limit",
    "mapping.nested_fields.limit", "mapping.nested_objects.limit", "mapping.field_name_length.limit",
    "mapping.ignore_malformed", "mapping.coerce", "mapping.dimension_fields.limit",
    "mapping.total_fields.ignore_dynamic_beyond_limit", "mapping.source.mode",
}
_KNOWN_INDEX_PREFIXES = ("analysis.", "routing.", "blocks.", "translog.", "merge.", "search.", "indexing.",
                         "similarity.", "unassigned.", "store.", "highlight.", "write.", "time_series.",
                         "sort.", "queries.", "requests.", "fielddata.", "shard.", "version.", "verified_",
                         "routing_path", "allocation.", "recovery.", "frozen", "data_path")
_CODECS = ("default", "lucene_default", "best_compression")


def normalize_settings(settings, where="index_template"):
    """Template/index settings -> flat {"index.x": "text"}; unknown settings
    are refused as ES refuses them."""
    if not isinstance(settings, dict):
        raise ESError(400, "x_content_parse_exception", "[1:2] [%s] settings doesn't support values of type: %s"
                      % (where, _token_name(settings)))
    flat = {}
    for k, v in _flatten_settings(settings).items():
        key = k if k.startswith("index.") else "index." + k
        short = key[len("index."):]
        if short not in _KNOWN_INDEX_SETTINGS and not short.startswith(_KNOWN_INDEX_PREFIXES):
            raise _iae("unknown setting [%s] please check that any required plugins are installed, or check "
                       "the breaking changes documentation for removed settings" % key)
        flat[key] = _setting_text(v)
    if "index.codec" in flat and flat["index.codec"] not in _CODECS:
        raise _iae("unknown value for [index.codec] must be one of [default, lucene_default, best_compression] "
                   "but was: %s" % flat["index.codec"])
    for key in ("index.number_of_shards", "index.number_of_replicas", "index.mapping.total_fields.limit",
                "index.max_docvalue_fields_search"):
        if key in flat:
            try:
                n = int(flat[key])
            except (TypeError, ValueError):
                raise _iae("Failed to parse value [%s] for setting [%s]" % (flat[key], key)) from None
            if n < (1 if key == "index.number_of_shards" else 0):
                raise _iae("Failed to parse value [%s] for setting [%s] must be >= %d"
                           % (n, key, 1 if key == "index.number_of_shards" else 0))
    return flat


# ---------------------------------------------------------------------------
# Mappings


NUMERIC_TYPES = {"long", "integer", "short", "byte", "unsigned_long", "double", "float", "half_float",
                 "scaled_float"}
INT_RANGES = {"long": (-(1 << 63), (1 << 63) - 1), "integer": (-(1 << 31), (1 << 31) - 1),
              "short": (-(1 << 15), (1 << 15) - 1), "byte": (-128, 127), "unsigned_long": (0, (1 << 64) - 1)}
STRING_TYPES = {"keyword", "text", "match_only_text", "constant_keyword", "wildcard", "version",
                "search_as_you_type", "semantic_text"}
LEAF_TYPES = NUMERIC_TYPES | STRING_TYPES | {
    "boolean", "date", "date_nanos", "ip", "alias", "flattened", "binary", "geo_point", "geo_shape", "point",
    "shape", "histogram", "aggregate_metric_double", "dense_vector", "sparse_vector", "rank_feature",
    "rank_features", "token_count", "completion", "integer_range", "long_range", "float_range",
    "double_range", "date_range", "ip_range", "percolator", "join", "counted_keyword"}
OBJECT_TYPES = {"object", "nested"}
MATCH_MAPPING_TYPES = ("object", "string", "long", "double", "boolean", "date", "binary")
DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?"
                     r"(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$")
DETECT_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?"
                            r"(Z|[+-]\d{2}(:?\d{2})?)?)?$|^\d{4}/\d{2}/\d{2}( \d{2}:\d{2}:\d{2})?( [+-]\d{4})?$")


def _is_object_node(node):
    """A property without a type is an object (leaves always have one)."""
    t = node.get("type")
    return t is None or t in OBJECT_TYPES


def validate_mappings(mappings):
    """Raises mapper_parsing_exception for what ES refuses when a template is
    put: unknown field types, bad dynamic templates, dangling aliases."""
    if not isinstance(mappings, dict):
        raise ESError(400, "x_content_parse_exception", "[1:2] [template] mappings doesn't support values of "
                      "type: %s" % _token_name(mappings))
    def bad(reason):
        return ESError(400, "mapper_parsing_exception", "Failed to parse mapping: " + reason,
                       caused_by={"type": "mapper_parsing_exception", "reason": reason})
    flat = {}
    def walk(props, prefix):
        if not isinstance(props, dict):
            raise bad("Expected map for property [properties] on field [%s] but got a class java.lang.String"
                      % prefix.rstrip("."))
        for name, node in props.items():
            path = prefix + name
            if not isinstance(node, dict):
                raise bad("Expected map for property [fields] on field [%s] but got a class java.lang.String"
                          % name)
            t = node.get("type")
            if t is not None and t not in LEAF_TYPES and t not in OBJECT_TYPES:
                raise bad("No handler for type [%s] declared on field [%s]" % (t, name))
            if "ignore_above" in node and not isinstance(node["ignore_above"], int):
                raise bad("Failed to parse mapping: [ignore_above] on mapper [%s] must be an integer" % name)
            if "fields" in node:
                for sub, sn in node["fields"].items():
                    st = sn.get("type") if isinstance(sn, dict) else None
                    if st not in LEAF_TYPES:
                        raise bad("No handler for type [%s] declared on field [%s]" % (st, sub))
            flat[path] = node
            if "properties" in node:
                walk(node["properties"], path + ".")
    walk(mappings.get("properties", {}), "")
    for path, node in flat.items():
        if node.get("type") == "alias":
            target = node.get("path")
            if target not in flat or _is_object_node(flat[target]):
                raise bad("Invalid [path] value [%s] for field alias [%s]: an alias must refer to an existing "
                          "field in the mappings." % (target, path))
    dts = mappings.get("dynamic_templates", [])
    if not isinstance(dts, list):
        raise bad("Dynamic template syntax error. An array of named objects is expected.")
    for entry in dts:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise bad("A dynamic template must be defined with a name")
        (name, dt), = entry.items()
        if not isinstance(dt, dict):
            raise bad("Dynamic template syntax error. An array of named objects is expected.")
        for k in dt:
            if k not in ("match", "unmatch", "path_match", "path_unmatch", "match_mapping_type",
                         "unmatch_mapping_type", "match_pattern", "mapping", "runtime"):
                raise bad("Illegal dynamic template parameter: [%s]" % k)
        mmt = dt.get("match_mapping_type", [])
        for t in (mmt if isinstance(mmt, list) else [mmt]):
            if t != "*" and t not in MATCH_MAPPING_TYPES:
                raise bad("No field type matched on [%s], possible values are [object, string, long, double, "
                          "boolean, date, binary]" % t)
        if "mapping" not in dt and "runtime" not in dt:
            raise bad("template [%s] must have either mapping or runtime set" % name)
        mt = dt.get("mapping", {}).get("type")
        if mt is not None and "{" not in mt and mt not in LEAF_TYPES and mt not in OBJECT_TYPES:
            raise bad("No handler for type [%s] declared on field [%s]" % (mt, name))


class Mapping:
    """One index's mappings: the tree as ES returns it plus a flat view
    (path -> node) used while parsing documents."""

    def __init__(self, mappings, settings):
        self.root = json.loads(json.dumps(mappings or {}))
        self.root.setdefault("properties", {})
        self.settings = settings
        self.limit = int(settings.get("index.mapping.total_fields.limit", "1000"))
        self.ignore_malformed = settings.get("index.mapping.ignore_malformed") == "true"
        self.templates = []
        for entry in self.root.get("dynamic_templates", []):
            (name, dt), = entry.items()
            self.templates.append((name, dt))
        self.date_detection = self.root.get("date_detection", True) not in (False, "false")
        self.reindex()

    def reindex(self):
        self.flat = {}
        self.multi = 0
        def walk(props, prefix):
            for name, node in props.items():
                self.flat[prefix + name] = node
                self.multi += len(node.get("fields", {}))
                if "properties" in node:
                    walk(node["properties"], prefix + name + ".")
        walk(self.root["properties"], "")

    def field_count(self):
        return len(self.flat) + self.multi

    def add(self, additions):
        """Merges dynamic mappings found while parsing a document."""
        for path in sorted(additions, key=lambda p: p.count(".")):
            node = additions[path]
            parts = path.split(".")
            props = self.root["properties"]
            for p in parts[:-1]:
                props = props[p].setdefault("properties", {})
            props[parts[-1]] = json.loads(json.dumps(node))
        self.reindex()


def _fill(obj, name, dyn_type):
    if isinstance(obj, dict):
        return {_fill(k, name, dyn_type): _fill(v, name, dyn_type) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_fill(x, name, dyn_type) for x in obj]
    if isinstance(obj, str):
        return obj.replace("{name}", name).replace("{dynamic_type}", dyn_type)
    return obj


def _pattern_match(pattern, value, kind):
    pats = pattern if isinstance(pattern, list) else [pattern]
    if kind == "regex":
        return any(re.fullmatch(p, value) for p in pats)
    return any(glob_match(p, value) for p in pats)


_DYN_TYPE = {"long": "long", "double": "float", "string": "text", "boolean": "boolean", "date": "date",
             "object": "object", "binary": "binary"}


def _default_dynamic(mtype):
    if mtype == "string":
        return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    if mtype == "object":
        return {"properties": {}}
    return {"type": _DYN_TYPE[mtype]}


def _json_type(value, date_detection):
    if isinstance(value, dict):
        return "object"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if date_detection and DETECT_DATE_RE.match(value):
        return "date"
    return "string"


def _java_preview(v):
    if isinstance(v, dict):
        return "{" + ", ".join("%s=%s" % (k, _java_preview(x)) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_java_preview(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return str(v)


def _number_text(v):
    return repr(v) if isinstance(v, float) else str(v)


class DocParser:
    """Parses one document source against a Mapping as ES's DocumentParser
    does; collects dynamic mapping additions; raises ESError (item error)."""

    def __init__(self, mapping, doc_id, line, modern):
        self.m, self.id, self.line, self.modern = mapping, doc_id, line, modern
        self.added = {}

    # -- errors
    def _col(self, leaf):
        i = self.line.find(('"%s"' % leaf).encode("utf-8"))
        return (i + len(leaf) + 4) if i >= 0 else 1

    def fail(self, leaf, reason, caused_by=None):
        if self.modern:
            return ESError(400, "document_parsing_exception", "[1:%d] %s" % (self._col(leaf), reason),
                           caused_by=caused_by)
        return ESError(400, "mapper_parsing_exception", reason, caused_by=caused_by)

    def field_fail(self, path, ftype, value, cause_type, cause_reason):
        leaf = path.rsplit(".", 1)[-1]
        return self.fail(leaf, "failed to parse field [%s] of type [%s] in document with id '%s'. Preview of "
                         "field's value: '%s'" % (path, ftype, self.id, _java_preview(value)),
                         {"type": cause_type, "reason": cause_reason})

    # -- lookup
    def node(self, path):
        n = self.added.get(path)
        return n if n is not None else self.m.flat.get(path)

    def template_for(self, path, leaf, mtype):
        for name, dt in self.m.templates:
            mmt = dt.get("match_mapping_type", "*")
            mmts = mmt if isinstance(mmt, list) else [mmt]
            if "*" not in mmts and mtype not in mmts:
                continue
            umt = dt.get("unmatch_mapping_type")
            if umt and mtype in (umt if isinstance(umt, list) else [umt]):
                continue
            kind = dt.get("match_pattern", "simple")
            if "match" in dt and not _pattern_match(dt["match"], leaf, kind):
                continue
            if "unmatch" in dt and _pattern_match(dt["unmatch"], leaf, kind):
                continue
            if "path_match" in dt and not _pattern_match(dt["path_match"], path, kind):
                continue
            if "path_unmatch" in dt and _pattern_match(dt["path_unmatch"], path, kind):
                continue
            if "mapping" not in dt:
                return None  # a runtime template: not indexed, so not checked
            m = _fill(dt["mapping"], leaf, _DYN_TYPE[mtype])
            if "type" not in m:
                if mtype == "object":
                    m.setdefault("properties", {})
                else:
                    m = dict(m, type=_DYN_TYPE[mtype])
            return m
        return _MISSING

    # -- walk
    def parse(self, doc):
        self.walk_object(doc, "", self.m.root.get("dynamic", True))
        new = len(self.added) + sum(len(n.get("fields", {})) for n in self.added.values())
        if new and self.m.field_count() + new > self.m.limit:
            raise _iae("Limit of total fields [%d] has been exceeded while adding new fields [%d]"
                       % (self.m.limit, new))
        return self.added

    def walk_object(self, obj, prefix, dynamic):
        for key, value in obj.items():
            if key == "" or key.strip() == "":
                raise self.fail(key, "failed to parse: field name cannot contain only whitespace: ['%s']"
                                % key if key else "failed to parse: field name cannot be an empty string")
            parts = key.split(".")
            if len(parts) > 1:
                if any(not p for p in parts):
                    raise self.fail(key, "failed to parse: field name cannot contain only dots or be "
                                    "empty: ['%s']" % key)
                # a.b.c: intermediate objects, as ES expands dotted names
                for i in range(1, len(parts)):
                    p = prefix + ".".join(parts[:i])
                    n = self.node(p)
                    if n is None:
                        self.dynamic_object(p, parts[i - 1], dynamic)
                    elif not _is_object_node(n):
                        raise self.fail(parts[i - 1], "Could not dynamically add mapping for field [%s]. "
                                        "Existing mapping for [%s] must be of type object but found [%s]."
                                        % (prefix + key, p, n.get("type")))
                    elif n.get("enabled") in (False, "false"):
                        break
                else:
                    self.value(prefix + key, parts[-1], value, dynamic)
                continue
            self.value(prefix + key, key, value, dynamic)

    def dynamic_object(self, path, leaf, dynamic):
        if dynamic in ("strict",):
            raise self.strict(path, leaf)
        if dynamic in (False, "false", "runtime"):
            self.added[path] = {"type": "object", "enabled": False, "_unmapped": True}
            return
        t = self.template_for(path, leaf, "object")
        self.added[path] = t if isinstance(t, dict) else {"properties": {}}

    def strict(self, path, leaf):
        parent = path.rsplit(".", 1)[0] if "." in path else "_doc"
        return ESError(400, "strict_dynamic_mapping_exception",
                       ("[1:%d] " % self._col(leaf) if self.modern else "") +
                       "mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed"
                       % (leaf, parent))

    def value(self, path, leaf, value, dynamic):
        if value is None:
            return
        if isinstance(value, list):
            if self.numeric_array_ok(path, value):
                return
            for v in value:
                self.value(path, leaf, v, dynamic)
            return
        node = self.node(path)
        if node is None:
            node = self.dynamic(path, leaf, value, dynamic)
            if node is None:
                return
        if node.get("_unmapped"):
            return
        if _is_object_node(node):
            if node.get("enabled") in (False, "false"):
                return
            if not isinstance(value, dict):
                raise self.fail(leaf, "object mapping for [%s] tried to parse field [%s] as object, but found "
                                "a concrete value" % (path, leaf))
            self.walk_object(value, path + ".", node.get("dynamic", dynamic))
            return
        self.leaf(path, node, value)

    def numeric_array_ok(self, path, values):
        """Fast path for long arrays of plain numbers into a mapped numeric
        field (PauseNs has 256): the same verdict as checking each one."""
        node = self.node(path)
        if not values or node is None or node.get("type") not in NUMERIC_TYPES:
            return False
        if not all(type(v) in (int, float) for v in values):
            return False
        t = node["type"]
        lo, hi = INT_RANGES.get(t, (None, None))
        if lo is not None:
            return all(lo <= v <= hi if type(v) is int else lo <= int(v) <= hi for v in values)
        if t in ("float", "half_float"):
            return all(abs(v) <= 3.4028234663852886e38 for v in values)
        return t == "double"

    def dynamic(self, path, leaf, value, dynamic):
        if dynamic == "strict":
            raise self.strict(path, leaf)
        if dynamic in (False, "false", "runtime"):
            return None
        mtype = _json_type(value, self.m.date_detection)
        t = self.template_for(path, leaf, mtype)
        if t is None:
            return None
        node = t if t is not _MISSING else _default_dynamic(mtype)
        self.added[path] = node
        return node

    def leaf(self, path, node, value):
        t = node.get("type")
        if t in ("flattened", "geo_point", "geo_shape", "point", "shape", "binary", "histogram", "join",
                 "aggregate_metric_double", "dense_vector", "sparse_vector", "rank_features", "completion",
                 "percolator") or t.endswith("_range"):
            return
        if t == "alias":
            raise self.fail(path.rsplit(".", 1)[-1], "Cannot write to a field alias [%s]." % path)
        if isinstance(value, dict):
            raise self.field_fail(path, t, value, "illegal_state_exception",
                                  "Can't get text on a START_OBJECT at 1:%d" % self._col(path.rsplit(".", 1)[-1]))
        ignore = node.get("ignore_malformed", self.m.ignore_malformed) in (True, "true")
        try:
            if t in NUMERIC_TYPES:
                self.number(path, t, node, value)
            elif t == "boolean":
                if not (isinstance(value, bool) or value in ("true", "false", "")):
                    raise self.field_fail(path, t, value, "illegal_argument_exception",
                                          "Failed to parse value [%s] as only [true] or [false] are allowed."
                                          % _java_preview(value))
            elif t in ("date", "date_nanos"):
                if isinstance(value, bool) or (isinstance(value, str) and not (
                        DATE_RE.match(value) or re.fullmatch(r"-?\d+(\.\d+)?", value))):
                    fmt = node.get("format", "strict_date_optional_time||epoch_millis")
                    raise self.field_fail(path, t, value, "illegal_argument_exception",
                                          "failed to parse date field [%s] with format [%s]"
                                          % (_java_preview(value), fmt))
            elif t == "ip":
                try:
                    ipaddress.ip_address(value if isinstance(value, str) else "x")
                except ValueError:
                    raise self.field_fail(path, t, value, "illegal_argument_exception",
                                          "'%s' is not an IP string literal." % _java_preview(value)) from None
        except ESError:
            if not ignore:
                raise

    def number(self, path, t, node, value):
        if isinstance(value, bool):
            raise self.field_fail(path, t, value, "x_content_parse_exception",
                                  "[1:%d] Current token (VALUE_%s) not numeric, can not use numeric value "
                                  "accessors" % (self._col(path.rsplit(".", 1)[-1]), "TRUE" if value else "FALSE"))
        if isinstance(value, str):
            s = value.strip()
            if s == "":
                return
            try:
                num = int(s)
            except ValueError:
                try:
                    num = float(s)
                    if num != num or num in (float("inf"), float("-inf")):
                        raise ValueError
                except ValueError:
                    raise self.field_fail(path, t, value, "illegal_argument_exception",
                                          'For input string: "%s"' % value) from None
                if node.get("coerce", self.m.settings.get("index.mapping.coerce", True)) in (False, "false"):
                    raise self.field_fail(path, t, value, "illegal_argument_exception",
                                          "[coerce] is false, value cannot be a string")
            value = num
        if t in INT_RANGES:
            lo, hi = INT_RANGES[t]
            if isinstance(value, float):
                if node.get("coerce", True) in (False, "false"):
                    raise self.field_fail(path, t, value, "illegal_argument_exception",
                                          "Value [%s] has a decimal part" % _number_text(value))
                value_i = int(value)
            else:
                value_i = value
            if not lo <= value_i <= hi:
                if t == "long":
                    reason = ("Value [%s] is out of range for a long" % _number_text(value))
                elif t == "unsigned_long":
                    reason = "Value \"%s\" has numeric value out of range for an unsigned_long" % _number_text(value)
                else:
                    reason = "Value [%s] is out of range for %s %s" % (
                        _number_text(value), "an" if t == "integer" else "a", t)
                raise self.field_fail(path, t, value, "illegal_argument_exception", reason)
        elif t in ("float", "half_float") and abs(float(value)) > 3.4028234663852886e38:
            raise self.field_fail(path, t, value, "illegal_argument_exception",
                                  "[%s] supports only finite values, but got [Infinity]" % t)
        elif t == "scaled_float" and "scaling_factor" not in node:
            raise self.field_fail(path, t, value, "illegal_argument_exception", "missing scaling_factor")


# ---------------------------------------------------------------------------
# Server state


def _new_id():
    return base64.urlsafe_b64encode(os.urandom(15)).decode()


class Doc:
    __slots__ = ("id", "source", "version", "seq_no", "pipeline")

    def __init__(self, doc_id, source, version, seq_no, pipeline):
        self.id, self.source, self.version, self.seq_no, self.pipeline = doc_id, source, version, seq_no, pipeline


class Index:
    def __init__(self, name, mappings, settings, data_stream=None):
        self.name = name
        self.uuid = base64.urlsafe_b64encode(os.urandom(16)).decode()[:22]
        self.settings = settings
        self.mapping = Mapping(mappings, settings)
        self.data_stream = data_stream
        self.docs = {}
        self.seq_no = 0
        self.created = time.time()


class Request:
    """One HTTP request as received (and, once answered, its status)."""

    def __init__(self, method, target, version, headers, body, peer):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body, self.peer = headers, body, peer
        parsed = urllib.parse.urlsplit(target)
        self.path = parsed.path
        self.raw_query = parsed.query
        self.query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self.decoded = body
        self.kind = None
        self.status = None
        self.delayed = False
        self.time = time.time()

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def json(self):
        return strict_json(self.decoded)

    def ndjson(self):
        return [strict_json(line) for line in self.decoded.split(b"\n") if line.strip()]

    def __repr__(self):
        return "<%s %s -> %s>" % (self.method, self.target, self.status)


class _Fault:
    """A fault active for `count` uses or until a deadline (or forever)."""

    def __init__(self, count=None, seconds=None, kinds=None, **params):
        self.count = count
        self.until = None if seconds is None else time.monotonic() + seconds
        self.kinds = None if kinds is None else set(kinds)
        self.params = params

    def expired(self):
        return (self.count is not None and self.count <= 0) or \
            (self.until is not None and time.monotonic() >= self.until)

    def applies(self, kind):
        return not self.expired() and (self.kinds is None or kind in self.kinds)

    def use(self):
        if self.count is not None:
            self.count -= 1


def _version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def _item_error_body(status, index, doc_id, modern):
    """The error object ES puts in an item with this status."""
    if status == 409:
        return {"type": "version_conflict_engine_exception",
                "reason": "[%s]: version conflict, document already exists (current version [1])" % doc_id,
                "index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA", "shard": "0", "index": index}
    if status == 429:
        return {"type": "es_rejected_execution_exception",
                "reason": "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "
                          "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, "
                          "max_coordinating_and_primary_bytes=53687091]"}
    if status == 400:
        return {"type": "document_parsing_exception" if modern else "mapper_parsing_exception",
                "reason": ("[1:2] " if modern else "") + "failed to parse field [injected] of type [long] in "
                          "document with id '%s'. Preview of field's value: 'injected'" % doc_id,
                "caused_by": {"type": "illegal_argument_exception", "reason": 'For input string: "injected"'}}
    if status == 403:
        return {"type": "security_exception",
                "reason": "action [indices:data/write/bulk[s]] is unauthorized for user [injected]"}
    if status == 404:
        return {"type": "index_not_found_exception", "reason": "no such index [%s]" % index,
                "index_uuid": "_na_", "index": index}
    if status == 503:
        return {"type": "unavailable_shards_exception",
                "reason": "[%s][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest [[%s][0]] "
                          "containing [1] requests]" % (index, index)}
    return {"type": "exception", "reason": "injected failure with status %d" % status}


_REASONS = {100: "Continue", 200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
            409: "Conflict", 413: "Request Entity Too Large", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}

_COMMON_PARAMS = {"pretty", "human", "error_trace", "filter_path", "format"}
_BULK_PARAMS = {"pipeline", "refresh", "routing", "timeout", "wait_for_active_shards", "require_alias",
                "require_data_stream", "_source", "_source_includes", "_source_excludes",
                "list_executed_pipelines", "type"}
_META_KEYS = {"_index", "_id", "routing", "pipeline", "require_alias", "require_data_stream", "version",
              "version_type", "if_seq_no", "if_primary_term", "dynamic_templates", "_source",
              "retry_on_conflict", "list_executed_pipelines", "op_type"}
_WRITE_ACTIONS = ("create", "delete", "index", "update")
_NON_JSON_DEFAULT = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>\n"


class ESServer:
    """The server.  Every public method is thread-safe."""

    def __init__(self, version=DEFAULT_VERSION, port=0, users=None, api_keys=None, readonly_users=None,
                 build_flavor="default", record=True, store_sources=True, auto_create_index=True,
                 cluster_name="esserver", ssl_context=None):
        self.ssl_context = ssl_context  # an ssl.SSLContext: serve HTTPS
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self._version = version
        self.build_flavor = build_flavor
        self.cluster_name = cluster_name
        self.cluster_uuid = base64.urlsafe_b64encode(os.urandom(16)).decode()[:22]
        self.users = dict(users or {})
        self.api_keys = dict(api_keys or {})
        self.readonly_users = dict(readonly_users or {})
        self.record = record
        self.store_sources = store_sources
        self.auto_create_index = auto_create_index
        self.port = port
        self.requests = []
        self.errors = []  # exceptions in handlers: a test server bug, never silent
        self.policies, self.templates, self.data_streams, self.indices, self.pipelines = {}, {}, {}, {}, {}
        self.indexed = {}  # target name (data stream or index) -> documents created
        self.item_statuses = {}  # status -> number of bulk items answered with it
        self._faults = {}
        self._item_script = []
        self._reject_acc = 0.0
        self._listener = None
        self._conns = set()
        self._threads = []
        self._down = False
        self._stopping = False
        self._inflight = 0
        self._timers = []

    # -- lifecycle
    def start(self):
        self._listen()
        return self

    def stop(self, timeout=10):
        with self.cond:
            if self._stopping:
                return
            self._stopping = True
            timers = list(self._timers)
        for t in timers:
            t.cancel()
        self._close_sockets()
        deadline = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.ssl_context else "http", self.port)

    @property
    def hostport(self):
        return "127.0.0.1:%d" % self.port

    @property
    def version(self):
        with self.lock:
            return self._version

    def set_version(self, version):
        with self.lock:
            self._version = version

    def _listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(512)
        self.port = s.getsockname()[1]
        with self.lock:
            self._listener = s
        t = threading.Thread(target=self._accept_loop, args=(s,), daemon=True, name="es-accept")
        self._track(t)
        t.start()

    def _track(self, t):
        with self.lock:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)

    def _close_sockets(self):
        with self.lock:
            ls, self._listener = self._listener, None
            conns = list(self._conns)
        if ls is not None:
            try:
                ls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            ls.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- outages
    def outage(self, seconds):
        """Stops listening now (connections refused, open ones closed) and
        listens again on the same port after `seconds`."""
        self.begin_outage()
        t = threading.Timer(seconds, self.end_outage)
        t.daemon = True
        with self.lock:
            self._timers.append(t)
        t.start()

    def begin_outage(self):
        with self.cond:
            self._down = True
            deadline = time.monotonic() + 10
            while self._inflight and time.monotonic() < deadline:  # no bulk applied without its answer
                self.cond.wait(deadline - time.monotonic())
        self._close_sockets()

    def end_outage(self):
        with self.lock:
            if self._stopping or not self._down:
                return
        for _ in range(200):
            try:
                self._listen()
                break
            except OSError:  # the old socket may linger for a moment
                threading.Event().wait(0.05)
        with self.lock:
            self._down = False

    def is_down(self):
        with self.lock:
            return self._down

    # -- fault injection
    def fail_requests(self, status, count=None, seconds=None, kinds=("bulk",), body=None,
                      content_type="application/json"):
        """Answers whole requests of these kinds with `status` (for the next
        `count` requests, for `seconds`, or until cleared)."""
        self._set_fault("status", _Fault(count, seconds, kinds, status=status, body=body,
                                         content_type=content_type))

    def limit_body(self, max_bytes, kinds=("bulk",), measure="decoded"):
        """413 for request bodies larger than max_bytes (None clears);
        measure is "decoded" (after gzip, as ES's aggregator sees it) or "wire"."""
        self._set_fault("size", None if max_bytes is None else
                        _Fault(None, None, kinds, max_bytes=max_bytes, measure=measure))

    def reset_connections(self, count=1, seconds=None, kinds=("bulk",), after_processing=False):
        """Sends part of the response headers, then resets the connection
        (RST).  With after_processing the bulk is applied first."""
        self._set_fault("reset", _Fault(count, seconds, kinds, after=after_processing))

    def delay(self, seconds, count=None, duration=None, kinds=None):
        """Answers `seconds` late."""
        self._set_fault("delay", _Fault(count, duration, kinds, pause=seconds))

    def non_json_bulk(self, count=1, body=_NON_JSON_DEFAULT, status=200, content_type="text/html"):
        """Answers the next `count` bulk requests with a non-JSON body (not applied)."""
        self._set_fault("nonjson", _Fault(count, None, ("bulk",), body=body, status=status,
                                          content_type=content_type))

    def script_items(self, statuses, repeat=1):
        """The next bulk request's items get these statuses, in order
        (2xx = indexed normally; 409 = indexed before, answered as a
        conflict; others = not indexed).  Items beyond the list are normal."""
        with self.lock:
            for _ in range(repeat):
                self._item_script.append(list(statuses))

    def reject_items(self, fraction=0.5, status=429, seconds=None, count=None):
        """Answers `fraction` of bulk items (evenly spread) with `status`
        for `seconds`, or for the next `count` items."""
        self._set_fault("items", _Fault(count, seconds, None, fraction=fraction, status=status))

    def fault_active(self, name):
        """Whether a fault ("status", "size", "reset", "delay", "nonjson",
        "items") is still in force."""
        with self.lock:
            f = self._faults.get(name)
            return f is not None and not f.expired()

    def clear_faults(self):
        with self.lock:
            self._faults.clear()
            self._item_script = []

    def _set_fault(self, name, fault):
        with self.lock:
            if fault is None:
                self._faults.pop(name, None)
            else:
                self._faults[name] = fault

    def _take_fault(self, name, kind):
        with self.lock:
            f = self._faults.get(name)
            if f is None or not f.applies(kind):
                return None
            f.use()
            return f

    # -- observation
    def count(self, target=None):
        """Documents indexed into a data stream / index (all when None)."""
        with self.lock:
            if target is None:
                return sum(self.indexed.values())
            return self.indexed.get(target, 0)

    def docs(self, target):
        with self.lock:
            idx = self._resolve_read(target)
            return [d.source for i in idx for d in i.docs.values()]

    def mapping(self, target):
        """The mappings of a data stream's write index or of an index."""
        with self.lock:
            idx = self._resolve_read(target)
            return json.loads(json.dumps(idx[-1].mapping.root)) if idx else None

    def field_type(self, target, path):
        with self.lock:
            idx = self._resolve_read(target)
            node = idx[-1].mapping.flat.get(path) if idx else None
            return None if node is None else node.get("type", "object")

    def recorded(self, kind=None, path=None):
        with self.lock:
            return [r for r in self.requests if (kind is None or r.kind == kind) and
                    (path is None or r.path == path)]

    def statuses(self):
        with self.lock:
            return dict(self.item_statuses)

    # -- networking
    def _accept_loop(self, ls):
        while True:
            try:
                conn, peer = ls.accept()
            except OSError:
                return
            with self.lock:
                if self._listener is not ls:
                    conn.close()
                    return
                self._conns.add(conn)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._serve_conn, args=(conn, peer), daemon=True, name="es-conn")
            self._track(t)
            t.start()

    def _serve_conn(self, conn, peer):
        rfile = None
        try:
            if self.ssl_context is not None:
                raw = conn
                conn = self.ssl_context.wrap_socket(raw, server_side=True)  # handshake here, not in accept
                with self.lock:
                    self._conns.discard(raw)
                    self._conns.add(conn)
            rfile = conn.makefile("rb")
            while True:
                req = self._read_request(conn, rfile, peer)
                if req is None or not self._handle(conn, req):
                    break
        except (OSError, ValueError):
            pass
        except Exception as e:  # noqa: BLE001 - recorded, the test fails on it
            with self.lock:
                self.errors.append(repr(e))
            import traceback
            traceback.print_exc()
        finally:
            with self.lock:
                self._conns.discard(conn)
            try:
                if rfile is not None:
                    rfile.close()
                conn.close()
            except OSError:
                pass

    def _read_request(self, conn, rfile, peer):
        line = rfile.readline(65537)
        if not line:
            return None
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            return None
        headers = []
        while True:
            h = rfile.readline(65537)
            if not h or h in (b"\r\n", b"\n"):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers.append((k.strip(), v.strip()))
        req = Request(parts[0], parts[1], parts[2], headers, b"", peer)
        te = (req.header("transfer-encoding") or "").lower()
        clen = req.header("content-length")
        size = self._faults.get("size")
        if (req.header("expect") or "").lower() == "100-continue":
            if size and size.params["measure"] == "wire" and clen and int(clen) > size.params["max_bytes"]:
                self._send(conn, req, 413, b"", "text/plain", close=True)
                return None
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in te:
            body = bytearray()
            while True:
                szl = rfile.readline(1024)
                if not szl:
                    raise ValueError("eof in chunked body")
                n = int(szl.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += rfile.read(n)
                rfile.readline(3)
            req.body = bytes(body)
        elif clen:
            req.body = rfile.read(int(clen))
            if len(req.body) != int(clen):
                raise ValueError("eof in body")
        req.decoded = req.body
        return req

    def _keep_alive(self, req):
        c = (req.header("connection") or "").lower()
        return "close" not in c and (req.version == "HTTP/1.1" or "keep-alive" in c)

    def _send(self, conn, req, status, body, content_type="application/json", headers=(), close=False):
        hdr = ["HTTP/1.1 %d %s" % (status, _REASONS.get(status, "Unknown")),
               "X-elastic-product: Elasticsearch"]
        if body and "gzip" in (req.header("accept-encoding") or "").lower():
            body = gzip.compress(body, 3)
            hdr.append("content-encoding: gzip")
        if content_type:
            hdr.append("content-type: %s" % content_type)
        hdr += ["%s: %s" % h for h in headers]
        hdr.append("content-length: %d" % len(body))
        if close:
            hdr.append("connection: close")
        data = ("\r\n".join(hdr) + "\r\n\r\n").encode("latin-1")
        if req.method != "HEAD":
            data += body
        conn.sendall(data)

    def _reset(self, conn):
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-elastic-product: Elasti")
        except OSError:
            pass
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    # -- dispatch
    def _handle(self, conn, req):
        """Answers one request; False when the connection must close."""
        with self.cond:
            if self._down or self._stopping:
                return False
            self._inflight += 1
        try:
            return self._handle_inner(conn, req)
        finally:
            with self.cond:
                self._inflight -= 1
                self.cond.notify_all()

    def _handle_inner(self, conn, req):
        req.kind, route = self._route(req)
        if self.record:
            with self.lock:
                self.requests.append(req)
        d = self._take_fault("delay", req.kind)
        if d:
            req.delayed = True
            threading.Event().wait(d.params["pause"])
        r = self._take_fault("reset", req.kind)
        if r and not r.params["after"]:
            req.status = "reset"
            self._reset(conn)
            return False
        status, body, ctype, headers = self._answer(req, route)
        req.status = status
        if r:
            req.status = "reset"
            self._reset(conn)
            return False
        keep = self._keep_alive(req) and status != 413
        self._send(conn, req, status, body, ctype, headers, close=not keep)
        return keep

    def _answer(self, req, route):
        """(status, body bytes, content type, extra headers) for a request."""
        try:
            f = self._take_fault("status", req.kind)
            if f:
                b = f.params["body"]
                if b is None:
                    b = dumps(self._status_error(f.params["status"]).body()).encode()
                return f.params["status"], b, f.params["content_type"], []
            self._decode_body(req)
            self._authenticate(req)
            if route is None:
                raise self._no_handler(req)
            if isinstance(route, PlainError):
                raise route
            handler, args = route
            if req.kind == "bulk":
                nj = self._take_fault("nonjson", "bulk")
                if nj:
                    return nj.params["status"], nj.params["body"], nj.params["content_type"], []
            status, obj = handler(req, *args)
        except ESError as e:
            status, obj = e.status, e.body()
            if e.headers:
                return status, self._render(req, obj), "application/json", e.headers
        except PlainError as e:
            status, obj = e.status, {"error": e.text, "status": e.status}
            return status, self._render(req, obj), "application/json", e.headers
        if obj is None:
            return status, b"", "text/plain" if status == 413 else "application/json", []
        return status, self._render(req, obj), "application/json", []

    def _render(self, req, obj):
        if "filter_path" in req.query:
            obj = filter_path(obj, req.query["filter_path"])
        if req.query.get("pretty") in ("", "true"):
            return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()
        return dumps(obj).encode()

    def _status_error(self, status):
        if status == 503:
            return ESError(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];")
        if status == 429:
            return ESError(429, "es_rejected_execution_exception",
                           "rejected execution of coordinating operation [injected]")
        if status == 401:
            return ESError(401, "security_exception", "unable to authenticate user [injected]")
        return ESError(status, "exception", "injected failure with status %d" % status)

    def _decode_body(self, req):
        enc = (req.header("content-encoding") or "").lower().strip()
        try:
            if enc == "gzip":
                req.decoded = gzip.decompress(req.body)
            elif enc == "deflate":
                req.decoded = zlib.decompress(req.body)
            elif enc not in ("", "identity"):
                raise PlainError(400, "Unsupported Content-Encoding [%s]" % enc)
        except (OSError, EOFError, zlib.error):
            raise ESError(400, "illegal_argument_exception",
                          "request body could not be decompressed (Content-Encoding: %s)" % enc) from None
        f = self._faults.get("size")
        if f and f.applies(req.kind):
            n = len(req.decoded) if f.params["measure"] == "decoded" else len(req.body)
            if n > f.params["max_bytes"]:
                raise _TooLarge()

    def _no_handler(self, req):
        return PlainError(400, "no handler found for uri [%s] and method [%s]" % (req.target, req.method))

    def _route(self, req):
        """(kind, (handler, args) | PlainError | None)."""
        segs = [urllib.parse.unquote(s) for s in req.path.strip("/").split("/")] if req.path.strip("/") else []
        m = req.method
        table = [
            ("root", [], {"GET": self._root, "HEAD": self._root}),
            ("license", ["_license"], {"GET": self._license}),
            ("ilm", ["_ilm", "policy"], {"GET": self._ilm_get}),
            ("ilm", ["_ilm", "policy", None], {"GET": self._ilm_get, "PUT": self._ilm_put,
                                               "DELETE": self._ilm_delete}),
            ("template", ["_index_template"], {"GET": self._tpl_get}),
            ("template", ["_index_template", None], {"GET": self._tpl_get, "HEAD": self._tpl_head,
                                                     "PUT": self._tpl_put, "POST": self._tpl_put,
                                                     "DELETE": self._tpl_delete}),
            ("data_stream", ["_data_stream"], {"GET": self._ds_get}),
            ("data_stream", ["_data_stream", None], {"GET": self._ds_get, "PUT": self._ds_put,
                                                     "DELETE": self._ds_delete}),
            ("pipeline", ["_ingest", "pipeline", None], {"GET": self._pipeline_get, "PUT": self._pipeline_put}),
            ("bulk", ["_bulk"], {"POST": self._bulk, "PUT": self._bulk}),
            ("bulk", [None, "_bulk"], {"POST": self._bulk, "PUT": self._bulk}),
            ("count", ["_count"], {"GET": self._count, "POST": self._count}),
            ("count", [None, "_count"], {"GET": self._count, "POST": self._count}),
            ("search", ["_search"], {"GET": self._search, "POST": self._search}),
            ("search", [None, "_search"], {"GET": self._search, "POST": self._search}),
            ("mapping", ["_mapping"], {"GET": self._get_mapping}),
            ("mapping", [None, "_mapping"], {"GET": self._get_mapping}),
            ("refresh", [None, "_refresh"], {"GET": self._refresh, "POST": self._refresh}),
        ]
        for kind, pat, methods in table:
            if len(pat) != len(segs):
                continue
            args = []
            ok = True
            for p, s in zip(pat, segs):
                if p is None:
                    if s.startswith("_") and kind not in ("ilm", "template", "data_stream", "pipeline"):
                        ok = False
                        break
                    args.append(s)
                elif p != s:
                    ok = False
                    break
            if not ok:
                continue
            if m not in methods:
                allowed = ", ".join(sorted(methods))
                return kind, PlainError(405, "Incorrect HTTP method for uri [%s] and method [%s], allowed: [%s]"
                                        % (req.target, m, allowed), headers=[("Allow", ",".join(sorted(methods)))])
            return kind, (methods[m], args)
        return "other", None

    # -- auth
    def _authenticate(self, req):
        if not (self.users or self.api_keys or self.readonly_users):
            return
        auth = req.header("authorization") or ""
        scheme, _, cred = auth.partition(" ")
        www = [("WWW-Authenticate", 'Basic realm="security" charset="UTF-8"'),
               ("WWW-Authenticate", 'Bearer realm="security"'), ("WWW-Authenticate", "ApiKey")]
        hdr = {"WWW-Authenticate": [v for _, v in www]}
        if not auth:
            raise ESError(401, "security_exception", "missing authentication credentials for REST request [%s]"
                          % req.target, headers=www, header=hdr)
        try:
            decoded = base64.b64decode(cred.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            decoded = None
        if scheme.lower() == "basic" and decoded is not None and ":" in decoded:
            user, _, pw = decoded.partition(":")
            if self.users.get(user) == pw and user in self.users:
                return
            if self.readonly_users.get(user) == pw and user in self.readonly_users:
                self._authorize_readonly(req, user)
                return
            raise ESError(401, "security_exception", "unable to authenticate user [%s] for REST request [%s]"
                          % (user, req.target), headers=www, header=hdr)
        if scheme.lower() == "apikey" and decoded is not None and ":" in decoded:
            kid, _, key = decoded.partition(":")
            if kid in self.api_keys and self.api_keys[kid] == key:
                return
            raise ESError(401, "security_exception", "unable to authenticate with provided credentials and "
                          "anonymous access is not allowed for this request",
                          additional_unsuccessful_credentials="API key: invalid credentials for API key [%s]"
                          % kid, headers=www, header=hdr)
        raise ESError(401, "security_exception", "missing authentication credentials for REST request [%s]"
                      % req.target, headers=www, header=hdr)

    def _authorize_readonly(self, req, user):
        actions = {"bulk": "indices:data/write/bulk", "template": "indices:admin/index_template/put",
                   "ilm": "cluster:admin/ilm/put", "data_stream": "indices:admin/data_stream/create",
                   "pipeline": "cluster:admin/ingest/pipeline/put"}
        if req.method in ("GET", "HEAD") or req.kind not in actions:
            return
        raise ESError(403, "security_exception", "action [%s] is unauthorized for user [%s] with effective roles "
                      "[viewer], this action is granted by the cluster privileges [manage,all]"
                      % (actions[req.kind], user))

    # -- simple endpoints
    def _check_params(self, req, allowed):
        for k in req.query:
            if k not in allowed and k not in _COMMON_PARAMS:
                raise _iae("request [%s] contains unrecognized parameter: [%s]" % (req.path, k))

    def _json_body(self, req, required=True):
        if not req.decoded:
            if required:
                raise ESError(400, "parse_exception", "request body is required")
            return None
        ct = (req.header("content-type") or "").split(";")[0].strip().lower()
        if ct not in ("application/json", "application/x-ndjson") and not ct.startswith("application/vnd.elasticsearch"):
            raise PlainError(406, "Content-Type header [%s] is not supported" % (req.header("content-type") or ""))
        try:
            return strict_json(req.decoded)
        except JsonError as e:
            raise ESError(400, "x_content_parse_exception", "[%d:%d] %s" % (e.line, e.col, e.msg)) from None

    def _root(self, req):
        self._check_params(req, set())
        v = self.version
        major = _version_tuple(v)[0] if _version_tuple(v) else 8
        body = {"name": "esserver-node", "cluster_name": self.cluster_name, "cluster_uuid": self.cluster_uuid,
                "version": {"number": v, "build_flavor": self.build_flavor, "build_type": "docker",
                            "build_hash": "d9ec3fa628c7b0ba3d25692e277ba26814820b20",
                            "build_date": "2023-11-04T10:04:57.184859352Z", "build_snapshot": False,
                            "lucene_version": "9.8.0" if major >= 8 else "8.11.1",
                            "minimum_wire_compatibility_version": "7.17.0" if major >= 8 else "6.8.0",
                            "minimum_index_compatibility_version": "7.0.0" if major >= 8 else "6.0.0-beta1"},
                "tagline": "You Know, for Search"}
        return 200, body

    def _license(self, req):
        self._check_params(req, {"local", "accept_enterprise"})
        return 200, {"license": {"status": "active", "uid": "b4b0b1a8-1e3b-4a5c-9d9e-3f6f1f1e2a3b",
                                 "type": "basic", "issue_date": "2024-01-01T00:00:00.000Z",
                                 "issue_date_in_millis": 1704067200000, "max_nodes": 1000,
                                 "max_resource_units": None, "issued_to": self.cluster_name,
                                 "issuer": "elasticsearch", "start_date_in_millis": -1}}

    # -- ILM
    def _ilm_get(self, req, name=None):
        self._check_params(req, {"master_timeout", "timeout"})
        with self.lock:
            if name is None:
                return 200, {n: p for n, p in self.policies.items()}
            names = [n for n in self.policies if glob_match(name, n)] if "*" in name else \
                [n for n in name.split(",") if n in self.policies]
            if not names and "*" not in name:
                raise ESError(404, "resource_not_found_exception", "Lifecycle policy not found: [%s]" % name)
            return 200, {n: self.policies[n] for n in names}

    _ILM_PHASES = ("hot", "warm", "cold", "frozen", "delete")
    _ILM_ACTIONS = {"rollover", "set_priority", "shrink", "forcemerge", "readonly", "allocate", "migrate",
                    "delete", "searchable_snapshot", "freeze", "unfollow", "wait_for_snapshot", "downsample"}

    def _ilm_put(self, req, name):
        self._check_params(req, {"master_timeout", "timeout"})
        body = self._json_body(req)
        if not isinstance(body, dict):
            raise ESError(400, "x_content_parse_exception", "[1:1] [put_lifecycle_request] Expected START_OBJECT "
                          "but was: %s" % _token_name(body))
        for k in body:
            if k != "policy":
                raise ESError(400, "x_content_parse_exception", "[1:2] [put_lifecycle_request] unknown field [%s]" % k)
        pol = body.get("policy")
        if not isinstance(pol, dict):
            raise ESError(400, "x_content_parse_exception", "[1:2] [put_lifecycle_request] failed to parse field "
                          "[policy]")
        for k in pol:
            if k not in ("phases", "_meta"):
                raise ESError(400, "x_content_parse_exception", "[1:13] [lifecycle_policy] unknown field [%s]" % k)
        phases = pol.get("phases")
        if not isinstance(phases, dict):
            raise ESError(400, "x_content_parse_exception", "[1:13] [lifecycle_policy] failed to parse field "
                          "[phases]" if phases is not None else "[1:13] Required [phases]")
        for pname, ph in phases.items():
            if pname not in self._ILM_PHASES:
                raise _iae("Timeseries lifecycle does not support phase [%s]" % pname)
            if not isinstance(ph, dict) or any(k not in ("min_age", "actions") for k in ph):
                raise ESError(400, "x_content_parse_exception", "[1:23] [phase] failed to parse phase [%s]" % pname)
            for aname, act in (ph.get("actions") or {}).items():
                if aname not in self._ILM_ACTIONS:
                    raise ESError(400, "x_content_parse_exception", "[1:40] [phase] failed to parse field "
                                  "[actions]", caused_by={"type": "x_content_parse_exception",
                                                          "reason": "unknown named object category "
                                                          "[org.elasticsearch.xpack.core.ilm.LifecycleAction] "
                                                          "and [%s]" % aname})
                if aname == "rollover" and not any(k.startswith("max_") for k in (act or {})):
                    raise _iae("At least one max_* rollover condition must be set.")
        now = datetime.datetime.now(datetime.timezone.utc)
        with self.lock:
            old = self.policies.get(name)
            self.policies[name] = {"version": (old["version"] + 1) if old else 1,
                                   "modified_date": now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" %
                                   (now.microsecond // 1000), "policy": pol,
                                   "in_use_by": {"indices": [], "data_streams": [], "composable_templates": []}}
        return 200, {"acknowledged": True}

    def _ilm_delete(self, req, name):
        with self.lock:
            if self.policies.pop(name, None) is None:
                raise ESError(404, "resource_not_found_exception", "Lifecycle policy not found: %s" % name)
        return 200, {"acknowledged": True}

    # -- index templates
    _TPL_KEYS = {"index_patterns", "template", "priority", "composed_of", "version", "_meta", "data_stream",
                 "allow_auto_create", "ignore_missing_component_templates", "deprecated"}

    def _tpl_head(self, req, name):
        with self.lock:
            found = any(glob_match(p, t) for t in self.templates for p in name.split(","))
        return (200 if found else 404), None

    def _tpl_get(self, req, name=None):
        self._check_params(req, {"local", "master_timeout", "flat_settings", "include_defaults"})
        with self.lock:
            names = list(self.templates) if name is None else \
                [t for t in self.templates if any(glob_match(p, t) for p in name.split(","))]
            if name is not None and not names and "*" not in name:
                raise ESError(404, "resource_not_found_exception", "index template matching [%s] not found" % name)
            return 200, {"index_templates": [{"name": n, "index_template": self.templates[n]} for n in names]}

    def _tpl_put(self, req, name):
        self._check_params(req, {"create", "master_timeout", "cause"})
        body = self._json_body(req)
        if not isinstance(body, dict):
            raise ESError(400, "x_content_parse_exception", "[1:1] [index_template] Expected START_OBJECT but "
                          "was: %s" % _token_name(body))
        for k in body:
            if k not in self._TPL_KEYS:
                raise ESError(400, "x_content_parse_exception", "[1:2] [index_template] unknown field [%s]" % k)
        pats = body.get("index_patterns")
        if isinstance(pats, str):
            pats = [pats]
        if not pats:
            raise _validation(["index patterns are missing"])
        if not isinstance(pats, list) or not all(isinstance(p, str) for p in pats):
            raise ESError(400, "x_content_parse_exception", "[1:20] [index_template] failed to parse field "
                          "[index_patterns]")
        tpl = body.get("template", {})
        if not isinstance(tpl, dict):
            raise ESError(400, "x_content_parse_exception", "[1:2] [index_template] failed to parse field [template]")
        for k in tpl:
            if k not in ("settings", "mappings", "aliases", "lifecycle"):
                raise ESError(400, "x_content_parse_exception", "[1:14] [template] unknown field [%s]" % k)
        ds = body.get("data_stream")
        if ds is not None and not isinstance(ds, dict):
            raise ESError(400, "x_content_parse_exception", "[1:2] [index_template] data_stream doesn't support "
                          "values of type: %s" % _token_name(ds))
        for k in (ds or {}):
            if k not in ("hidden", "allow_custom_routing", "failure_store"):
                raise ESError(400, "x_content_parse_exception", "[1:17] [data_stream_template] unknown field [%s]" % k)
        prio = body.get("priority", 0)
        if not isinstance(prio, int) or isinstance(prio, bool) or prio < 0:
            raise _validation(["index template priority must be >= 0"])
        flat = normalize_settings(tpl.get("settings", {}))
        if "mappings" in tpl:
            validate_mappings(tpl["mappings"])
            if ds is not None:
                ts = tpl["mappings"].get("properties", {}).get("@timestamp")
                if ts is not None and ts.get("type") not in ("date", "date_nanos"):
                    raise _iae("data stream timestamp field [@timestamp] is of type [%s], but [date,date_nanos] "
                               "is expected" % ts.get("type"))
        stored = {"index_patterns": pats}
        if tpl:
            t = {}
            if "settings" in tpl:
                t["settings"] = _nest(flat)
            for k in ("mappings", "aliases", "lifecycle"):
                if k in tpl:
                    t[k] = tpl[k]
            stored["template"] = t
        stored["composed_of"] = body.get("composed_of", [])
        for k in ("priority", "version", "_meta", "allow_auto_create", "ignore_missing_component_templates"):
            if k in body:
                stored[k] = body[k]
        if ds is not None:
            stored["data_stream"] = {"hidden": ds.get("hidden", False),
                                     "allow_custom_routing": ds.get("allow_custom_routing", False)}
        with self.lock:
            if req.query.get("create") == "true" and name in self.templates:
                raise _iae("index template [%s] already exists" % name)
            for other, ot in self.templates.items():
                if other == name or ot.get("priority", 0) != prio:
                    continue
                clash = [p for p in ot["index_patterns"] if any(glob_match(p, q) or glob_match(q, p) for q in pats)]
                if clash:
                    raise _iae("index template [%s] has index patterns %s matching patterns from existing templates "
                               "[%s] with patterns (%s => %s) that have the same priority [%d], multiple index "
                               "templates may not match during index creation, please use a different priority"
                               % (name, _jlist(pats), other, other, _jlist(ot["index_patterns"]), prio))
            self.templates[name] = stored
        return 200, {"acknowledged": True}

    def _tpl_delete(self, req, name):
        with self.lock:
            if self.templates.pop(name, None) is None:
                raise ESError(404, "resource_not_found_exception", "index_template [%s] missing" % name)
        return 200, {"acknowledged": True}

    def _match_template(self, name):
        best = None
        for tname, t in self.templates.items():
            if any(glob_match(p, name) for p in t["index_patterns"]):
                if best is None or t.get("priority", 0) > best[1].get("priority", 0):
                    best = (tname, t)
        return best

    # -- data streams
    def _create_data_stream(self, name, tname, tpl):
        day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y.%m.%d")
        backing = ".ds-%s-%s-000001" % (name, day)
        body = tpl.get("template", {})
        mappings = json.loads(json.dumps(body.get("mappings", {})))
        props = mappings.setdefault("properties", {})
        props.setdefault("@timestamp", {"type": "date"})
        settings = _flatten_settings(body.get("settings", {}))
        idx = Index(backing, mappings, settings, data_stream=name)
        self.indices[backing] = idx
        self.data_streams[name] = {"name": name, "template": tname, "index": idx}
        self.indexed.setdefault(name, 0)
        return idx

    def _ds_json(self, ds):
        idx = ds["index"]
        out = {"name": ds["name"], "timestamp_field": {"name": "@timestamp"},
               "indices": [{"index_name": idx.name, "index_uuid": idx.uuid, "prefer_ilm": True,
                            "managed_by": "Index Lifecycle Management"
                            if idx.settings.get("index.lifecycle.name") else "Unmanaged"}],
               "generation": 1, "status": "GREEN", "template": ds["template"],
               "next_generation_managed_by": "Index Lifecycle Management"
               if idx.settings.get("index.lifecycle.name") else "Unmanaged",
               "prefer_ilm": True, "hidden": False, "system": False, "allow_custom_routing": False,
               "replicated": False}
        if idx.settings.get("index.lifecycle.name"):
            out["ilm_policy"] = idx.settings["index.lifecycle.name"]
        return out

    def _ds_get(self, req, name=None):
        self._check_params(req, {"expand_wildcards", "include_defaults", "master_timeout"})
        with self.lock:
            if name is None or name in ("*", "_all"):
                found = list(self.data_streams.values())
            else:
                found = []
                for n in name.split(","):
                    hits = [d for k, d in self.data_streams.items() if glob_match(n, k)]
                    if not hits and "*" not in n:
                        raise ESError(404, "index_not_found_exception", "no such index [%s]" % n,
                                      index_uuid="_na_", **{"resource.type": "index_or_alias", "resource.id": n},
                                      index=n)
                    found += hits
            return 200, {"data_streams": [self._ds_json(d) for d in found]}

    def _ds_put(self, req, name):
        self._check_params(req, {"master_timeout", "timeout"})
        validate_index_name(name)
        with self.lock:
            if name in self.data_streams:
                raise ESError(400, "resource_already_exists_exception", "data_stream [%s] already exists" % name)
            m = self._match_template(name)
            if m is None:
                raise ESError(400, "index_template_not_found_exception",
                              "no matching index template found for data stream [%s]" % name)
            if "data_stream" not in m[1]:
                raise _iae("matching index template [%s] for data stream [%s] has no data stream template"
                           % (m[0], name))
            self._create_data_stream(name, *m)
        return 200, {"acknowledged": True}

    def _ds_delete(self, req, name):
        with self.lock:
            ds = self.data_streams.pop(name, None)
            if ds is None:
                raise ESError(404, "index_not_found_exception", "no such index [%s]" % name,
                              index_uuid="_na_", index=name)
            self.indices.pop(ds["index"].name, None)
        return 200, {"acknowledged": True}

    # -- pipelines
    def _pipeline_get(self, req, pid):
        with self.lock:
            if pid not in self.pipelines:
                return 404, {}
            return 200, {pid: self.pipelines[pid]}

    def _pipeline_put(self, req, pid):
        body = self._json_body(req)
        if not isinstance(body, dict) or not isinstance(body.get("processors"), list):
            raise ESError(400, "parse_exception", "[processors] required property is missing",
                          property_name="processors")
        with self.lock:
            self.pipelines[pid] = body
        return 200, {"acknowledged": True}

    def put_pipeline(self, pid, body=None):
        with self.lock:
            self.pipelines[pid] = body or {"processors": []}

    # -- bulk
    def _bulk(self, req, default_index=None):
        t0 = time.monotonic()
        self._check_params(req, _BULK_PARAMS)
        ct = req.header("content-type")
        base = (ct or "").split(";")[0].strip().lower()
        if base not in ("application/json", "application/x-ndjson") and not base.startswith(
                "application/vnd.elasticsearch+"):
            raise PlainError(406, "Content-Type header [%s] is not supported" % (ct or ""))
        ops = self._parse_bulk(req.decoded, default_index, req.query.get("pipeline"))
        items = []
        with self.lock:
            script = self._item_script.pop(0) if self._item_script else []
            for i, op in enumerate(ops):
                items.append(self._bulk_item(op, script[i] if i < len(script) else None))
        return 200, {"took": int((time.monotonic() - t0) * 1000), "errors": any("error" in next(iter(it.values()))
                                                                          for it in items), "items": items}

    def _parse_bulk(self, data, default_index, default_pipeline):
        if not data:
            raise ESError(400, "parse_exception", "request body is required")
        if not data.endswith(b"\n"):
            raise _iae("The bulk request must be terminated by a newline [\\n]")
        lines = data.split(b"\n")[:-1]
        ops, problems = [], []
        i = 0
        while i < len(lines):
            line_no = i + 1
            raw = lines[i]
            i += 1
            if not raw.strip():
                continue
            try:
                act = strict_json(raw)
            except JsonError as e:
                raise ESError(400, "x_content_parse_exception", "[%d:%d] %s" % (e.line, e.col, e.msg)) from None
            if not isinstance(act, dict):
                raise _iae("Malformed action/metadata line [%d], expected START_OBJECT but found [%s]"
                           % (line_no, _token_name(act)))
            if not act:
                raise _iae("Malformed action/metadata line [%d], expected FIELD_NAME but found [END_OBJECT]" % line_no)
            action, meta = next(iter(act.items()))
            if action not in _WRITE_ACTIONS:
                raise _iae("Malformed action/metadata line [%d], expected one of [create, delete, index, update] but "
                           "found [%s]" % (line_no, action))
            if not isinstance(meta, dict):
                raise _iae("Malformed action/metadata line [%d], expected START_OBJECT but found [%s]"
                           % (line_no, _token_name(meta)))
            if len(act) > 1:
                raise _iae("Malformed action/metadata line [%d], expected END_OBJECT but found [FIELD_NAME]" % line_no)
            for k, v in meta.items():
                if k not in _META_KEYS:
                    raise _iae("Action/metadata line [%d] contains an unknown parameter [%s]" % (line_no, k))
                if isinstance(v, (dict, list)) and k not in ("_source", "dynamic_templates"):
                    raise _iae("Malformed action/metadata line [%d], expected a simple value for field [%s] but "
                               "found [%s]" % (line_no, k, _token_name(v)))
            op = {"action": action, "index": meta.get("_index", default_index), "line": line_no,
                  "id": None if meta.get("_id") is None else str(meta["_id"]),
                  "pipeline": meta.get("pipeline", default_pipeline), "source": None}
            if meta.get("op_type") == "create" and action == "index":
                op["action"] = "create"
            if op["index"] is None:
                problems.append("index is missing")
            if action != "delete":
                if i >= len(lines):
                    break  # ES stops at an action without its source line
                op["source"] = lines[i]
                i += 1
                if not op["source"].strip():
                    problems.append("source is missing")
            elif op["id"] is None:
                problems.append("id is missing")
            ops.append(op)
        if not ops:
            problems.append("no requests added")
        if problems:
            raise _validation(problems)
        return ops

    def _bulk_item(self, op, scripted):
        """One bulk item -> {action: {...}} (lock held)."""
        action, name = op["action"], op["index"]
        def err(status, error, index=None, doc_id=None):
            self._note(status)
            return {action: {"_index": index or name, "_id": doc_id if doc_id is not None else op["id"],
                             "status": status, "error": error}}
        try:
            validate_index_name(name)
        except ESError as e:
            return err(400, e.cause())
        if op["pipeline"] not in (None, "_none") and op["pipeline"] not in self.pipelines:
            return err(400, {"type": "illegal_argument_exception",
                             "reason": "pipeline with id [%s] does not exist" % op["pipeline"]})
        ds = self.data_streams.get(name)
        idx = ds["index"] if ds else self.indices.get(name)
        if idx is None:
            m = self._match_template(name)
            if m and "data_stream" in m[1]:
                if action != "create":
                    return err(400, {"type": "illegal_argument_exception",
                                     "reason": "only write ops with an op_type of create are allowed in data streams"})
                idx = self._create_data_stream(name, *m)
            elif not self.auto_create_index:
                return err(404, {"type": "index_not_found_exception", "reason": "no such index [%s] and "
                                 "[action.auto_create_index] is [false]" % name, "index_uuid": "_na_",
                                 "index": name})
            elif action in ("delete", "update"):
                return err(404, {"type": "index_not_found_exception", "reason": "no such index [%s]" % name,
                                 "index_uuid": "_na_", "index": name})
            else:
                body = m[1].get("template", {}) if m else {}
                idx = Index(name, body.get("mappings", {}), _flatten_settings(body.get("settings", {})))
                self.indices[name] = idx
        elif idx.data_stream and action != "create":
            if action in ("index", "update", "delete") and (ds or name.startswith(".ds-")):
                return err(400, {"type": "illegal_argument_exception",
                                 "reason": "only write ops with an op_type of create are allowed in data streams"},
                           index=idx.name)
        doc_id = op["id"] or _new_id()
        if scripted is not None and not 200 <= scripted < 300:
            if scripted == 409:  # "already there": a previous attempt got through
                if doc_id not in idx.docs:
                    self._store(idx, doc_id, op, strict_json_or_none(op["source"]))
            return err(scripted, _item_error_body(scripted, idx.name, doc_id, self._modern()), idx.name, doc_id)
        if action == "delete":
            return self._delete(idx, op, doc_id)
        f = self._take_fault("items", "bulk")
        if f:
            self._reject_acc += f.params["fraction"]
            if self._reject_acc >= 1.0 - 1e-9:
                self._reject_acc -= 1.0
                s = f.params["status"]
                return err(s, _item_error_body(s, idx.name, doc_id, self._modern()), idx.name, doc_id)
        try:
            source = self._parse_source(op, doc_id)
            if action == "update":
                return self._update(idx, op, doc_id, source)
            if doc_id in idx.docs and action == "create":
                return err(409, {"type": "version_conflict_engine_exception",
                                 "reason": "[%s]: version conflict, document already exists (current version [%d])"
                                 % (doc_id, idx.docs[doc_id].version), "index_uuid": idx.uuid, "shard": "0",
                                 "index": idx.name}, idx.name, doc_id)
            self._check_doc(idx, source, doc_id, op)
        except ESError as e:
            return err(e.status, e.cause(), idx.name, doc_id)
        prev = idx.docs.get(doc_id)
        d = self._store(idx, doc_id, op, source)
        status = 200 if prev else 201
        self._note(status)
        return {action: {"_index": idx.name, "_id": doc_id, "_version": d.version,
                         "result": "updated" if prev else "created",
                         "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": d.seq_no,
                         "_primary_term": 1, "status": status}}

    def _modern(self):
        return _version_tuple(self._version) >= (8, 8)

    def _note(self, status):
        self.item_statuses[status] = self.item_statuses.get(status, 0) + 1

    def _parse_source(self, op, doc_id):
        try:
            source = strict_json(op["source"])
        except JsonError as e:
            reason = "failed to parse: %s" % e.msg
            if self._modern():
                raise ESError(400, "document_parsing_exception", "[%d:%d] %s" % (e.line, e.col, reason),
                              caused_by={"type": "x_content_parse_exception",
                                         "reason": "[%d:%d] %s" % (e.line, e.col, e.msg)}) from None
            raise ESError(400, "mapper_parsing_exception", reason,
                          caused_by={"type": "json_parse_exception", "reason": e.msg}) from None
        if not isinstance(source, dict):
            raise ESError(400, "document_parsing_exception" if self._modern() else "mapper_parsing_exception",
                          ("[1:1] " if self._modern() else "") + "failed to parse: Malformed content, must start "
                          "with an object", caused_by={"type": "not_x_content_exception", "reason":
                                                      "Malformed content, must start with an object"})
        return source

    def _check_doc(self, idx, source, doc_id, op):
        parser = DocParser(idx.mapping, doc_id, op["source"], self._modern())
        added = parser.parse(source)
        if idx.data_stream:
            ts = source.get("@timestamp")
            if ts is None:
                raise parser.fail("@timestamp", "failed to parse: data stream timestamp field [@timestamp] is missing")
            if isinstance(ts, list):
                raise parser.fail("@timestamp", "failed to parse: data stream timestamp field [@timestamp] "
                                  "encountered multiple values")
        if added:
            idx.mapping.add({p: n for p, n in added.items() if not n.get("_unmapped")})

    def _store(self, idx, doc_id, op, source):
        prev = idx.docs.get(doc_id)
        idx.seq_no += 1
        d = Doc(doc_id, source if self.store_sources else None, (prev.version + 1) if prev else 1,
                idx.seq_no - 1, op["pipeline"])
        idx.docs[doc_id] = d
        if prev is None:
            key = idx.data_stream or idx.name
            self.indexed[key] = self.indexed.get(key, 0) + 1
        return d

    def _delete(self, idx, op, doc_id):
        prev = idx.docs.pop(doc_id, None)
        idx.seq_no += 1
        if prev is not None:
            key = idx.data_stream or idx.name
            self.indexed[key] -= 1
        status = 200 if prev else 404
        self._note(status)
        return {"delete": {"_index": idx.name, "_id": doc_id, "_version": (prev.version + 1) if prev else 1,
                           "result": "deleted" if prev else "not_found",
                           "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": idx.seq_no - 1,
                           "_primary_term": 1, "status": status}}

    def _update(self, idx, op, doc_id, body):
        prev = idx.docs.get(doc_id)
        if prev is None and not body.get("doc_as_upsert") and "upsert" not in body:
            self._note(404)
            return {"update": {"_index": idx.name, "_id": doc_id, "status": 404,
                               "error": {"type": "document_missing_exception",
                                         "reason": "[%s]: document missing" % doc_id, "index_uuid": idx.uuid,
                                         "shard": "0", "index": idx.name}}}
        merged = dict(prev.source or {}) if prev else dict(body.get("upsert", {}))
        merged.update(body.get("doc", {}))
        self._check_doc(idx, merged, doc_id, dict(op, source=dumps(merged).encode()))
        d = self._store(idx, doc_id, op, merged)
        status = 200 if prev else 201
        self._note(status)
        return {"update": {"_index": idx.name, "_id": doc_id, "_version": d.version,
                           "result": "updated" if prev else "created",
                           "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": d.seq_no,
                           "_primary_term": 1, "status": status}}

    # -- reading
    def _resolve_read(self, target):
        """Concrete indices for a comma list of names / patterns (lock held);
        raises index_not_found_exception for a missing exact name."""
        out = []
        for n in target.split(","):
            if n in ("_all", "*"):
                out += list(self.indices.values())
                continue
            if "*" in n:
                for k, ds in self.data_streams.items():
                    if glob_match(n, k):
                        out.append(ds["index"])
                out += [i for k, i in self.indices.items() if glob_match(n, k) and not k.startswith(".")]
                continue
            if n in self.data_streams:
                out.append(self.data_streams[n]["index"])
            elif n in self.indices:
                out.append(self.indices[n])
            else:
                raise ESError(404, "index_not_found_exception", "no such index [%s]" % n, index_uuid="_na_",
                              **{"resource.type": "index_or_alias", "resource.id": n}, index=n)
        seen, uniq = set(), []
        for i in out:
            if i.name not in seen:
                seen.add(i.name)
                uniq.append(i)
        return uniq

    def _query_docs(self, req, target):
        body = self._json_body(req, required=False) or {}
        if not isinstance(body, dict):
            raise ESError(400, "parse_exception", "request body or source parameter is required")
        with self.lock:
            idx = self._resolve_read(target or "_all")
            docs = [(i, d) for i in idx for d in i.docs.values()]
        q = body.get("query", {"match_all": {}})
        return body, [(i, d) for i, d in docs if _matches(q, d.source or {})]

    def _count(self, req, target=None):
        self._check_params(req, {"q", "ignore_unavailable", "allow_no_indices", "expand_wildcards"})
        _, hits = self._query_docs(req, target)
        return 200, {"count": len(hits), "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}

    def _search(self, req, target=None):
        self._check_params(req, {"size", "from", "q", "track_total_hits", "ignore_unavailable",
                                 "allow_no_indices", "expand_wildcards", "rest_total_hits_as_int"})
        body, hits = self._query_docs(req, target)
        size = int(req.query.get("size", body.get("size", 10)))
        start = int(req.query.get("from", body.get("from", 0)))
        page = hits[start:start + size]
        return 200, {"took": 1, "timed_out": False,
                     "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                     "hits": {"total": {"value": len(hits), "relation": "eq"},
                              "max_score": 1.0 if page else None,
                              "hits": [{"_index": i.name, "_id": d.id, "_score": 1.0, "_source": d.source}
                                       for i, d in page]}}

    def _get_mapping(self, req, target=None):
        with self.lock:
            idx = self._resolve_read(target or "_all")
            return 200, {i.name: {"mappings": json.loads(json.dumps(i.mapping.root))} for i in idx}

    def _refresh(self, req, target):
        with self.lock:
            self._resolve_read(target)
        return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}


class _TooLarge(ESError):
    def __init__(self):
        super().__init__(413, "", "")

    def body(self):
        return None


def strict_json_or_none(data):
    try:
        return strict_json(data)
    except JsonError:
        return None


def _jlist(items):
    return "[" + ", ".join(items) + "]"


def _get_path(doc, path):
    """Values at a dotted path (objects and dotted keys both), flattened."""
    vals = []
    def walk(v, parts):
        if not parts:
            if isinstance(v, list):
                vals.extend(v)
            else:
                vals.append(v)
            return
        if isinstance(v, list):
            for x in v:
                walk(x, parts)
            return
        if not isinstance(v, dict):
            return
        for n in range(1, len(parts) + 1):
            k = ".".join(parts[:n])
            if k in v:
                walk(v[k], parts[n:])
    walk(doc, path.split("."))
    return vals


def _text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v)


def _matches(q, doc):
    """The few queries the tests need: match_all, term(s), match, exists,
    bool must/filter/must_not/should."""
    if not isinstance(q, dict) or len(q) != 1:
        raise ESError(400, "parsing_exception", "[_na] query malformed, must start with start_object",
                      line=1, col=1)
    (kind, arg), = q.items()
    if kind == "match_all":
        return True
    if kind in ("term", "match"):
        (field, want), = arg.items()
        if isinstance(want, dict):
            want = want.get("value", want.get("query"))
        field = field[:-len(".keyword")] if field.endswith(".keyword") else field
        return any(_text(v) == _text(want) for v in _get_path(doc, field))
    if kind == "terms":
        (field, wants), = arg.items()
        return any(_text(v) in [_text(w) for w in wants] for v in _get_path(doc, field))
    if kind == "exists":
        return bool(_get_path(doc, arg["field"]))
    if kind == "bool":
        def lst(k):
            v = arg.get(k, [])
            return v if isinstance(v, list) else [v]
        ok = all(_matches(x, doc) for x in lst("must") + lst("filter"))
        ok = ok and not any(_matches(x, doc) for x in lst("must_not"))
        if lst("should"):
            ok = ok and any(_matches(x, doc) for x in lst("should"))
        return ok
    raise ESError(400, "parsing_exception", "unknown query [%s]" % kind, line=1, col=14)


# ---------------------------------------------------------------------------
# Command line (benches)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Elasticsearch API test server")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--version", default=DEFAULT_VERSION, dest="es_version")
    ap.add_argument("--user", action="append", default=[], help="user:password")
    ap.add_argument("--api-key", action="append", default=[], help="id:key")
    ap.add_argument("--no-record", action="store_true", help="do not keep requests (long benches)")
    ap.add_argument("--no-sources", action="store_true", help="count documents without keeping them")
    args = ap.parse_args(argv)
    srv = ESServer(version=args.es_version, port=args.port,
                   users=dict(u.split(":", 1) for u in args.user),
                   api_keys=dict(k.split(":", 1) for k in args.api_key),
                   record=not args.no_record, store_sources=not args.no_sources)
    srv.start()
    print("listening %s" % srv.hostport, flush=True)
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    while not done.wait(1.0):
        pass
    srv.stop()
    total = srv.count()
    print("indexed %d documents %s" % (total, dumps(srv.indexed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
