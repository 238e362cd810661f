#!/usr/bin/env python3
"""kibanaserver: a strict stand-in for Kibana 8.x's status and saved-objects
import APIs (stdlib only).

Kibana cannot run here, so `expvarbeat setup --dashboards` is tested against
this server.  It answers the way Kibana 8.11 does: `GET /api/status` in
Kibana 8's shape (7.x's shape for a 7.x version), `POST
/api/saved_objects/_import` with the checks Kibana's route makes, in
Kibana's order (space, authentication, kbn-xsrf, media type, multipart
payload, `file` part with an .ndjson name, NDJSON lines, then per object
unsupported_type / missing_references / conflict), and Kibana's response
shape including per-object errors.  Objects are stored per space, so a test
can check that every dashboard landed with every reference resolved.

    with KibanaServer(users={"elastic": "changeme"}) as kb:
        kb.url                           # http://127.0.0.1:PORT
        kb.add_space("team-a")
        kb.objects("team-a")             # {(type, id): object}
        kb.requests                      # every request, recorded
        kb.set_version("7.10.0"); kb.down(); kb.up()

Also runnable: `python3 kibanaserver.py --port 0` prints
"listening 127.0.0.1:PORT" as its first line.
"""

import argparse
import base64
import http.server
import json
import re
import signal
import sys
import threading
import urllib.parse
import uuid

DEFAULT_VERSION = "8.11.0"
MAX_IMPORT_BYTES = 26214400  # savedObjects.maxImportPayloadBytes
MAX_IMPORT_OBJECTS = 10000  # savedObjects.maxImportExportSize

# Importable types Kibana 8.11 knows, with the icon its import answer names.
TYPES = {
    "index-pattern": "indexPatternApp",
    "dashboard": "dashboardApp",
    "lens": "lensApp",
    "visualization": "visualizeApp",
    "search": "discoverApp",
    "config": "advancedSettings",
    "tag": "tag",
}

_SPACE_ID = re.compile(r"^[a-z0-9_\-]+$")


def version_tuple(v):
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)", v or "")
    if not m:
        raise ValueError("not a version: %r" % (v,))
    return tuple(int(x) for x in m.groups())


class KibanaError(Exception):
    """An error answered as Kibana's {"statusCode","error","message"}."""

    REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
               413: "Request Entity Too Large", 415: "Unsupported Media Type"}

    def __init__(self, status, message, attributes=None):
        super().__init__(message)
        self.status, self.message, self.attributes = status, message, attributes

    def body(self):
        b = {"statusCode": self.status, "error": self.REASONS.get(self.status, "Error"),
             "message": self.message}
        if self.attributes is not None:
            b["attributes"] = self.attributes
        return b


def _bad(message, attributes=None):
    return KibanaError(400, message, attributes)


class Request:
    """One recorded request."""

    def __init__(self, method, target, headers, body):
        self.method, self.target = method, target
        self.path, _, self.query = target.partition("?")
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.status = None  # what the server answered
        self.response = None  # the decoded JSON answer

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "<%s %s -> %s>" % (self.method, self.target, self.status)


# ---------------------------------------------------------------------------
# multipart/form-data, strictly (what hapi's parser and Kibana's route reject)


def _content_type_params(value):
    parts = [p.strip() for p in value.split(";")]
    params = {}
    for p in parts[1:]:
        if not p:
            continue
        k, eq, v = p.partition("=")
        if not eq:
            raise _bad("Invalid content-type header")
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1]
        params[k.strip().lower()] = v
    return parts[0].lower(), params


def parse_multipart(content_type, body):
    """Returns [(headers dict lower-cased, data bytes)] or raises KibanaError."""
    mtype, params = _content_type_params(content_type or "")
    if mtype != "multipart/form-data":
        raise KibanaError(415, "Unsupported Media Type")
    boundary = params.get("boundary")
    if not boundary or len(boundary) > 70:
        raise _bad("Invalid content-type header: multipart missing boundary")
    delim = b"--" + boundary.encode("latin-1")
    if not body.startswith(delim):
        raise _bad("Invalid multipart payload format")
    parts = []
    pos = len(delim)
    while True:
        if body.startswith(b"--", pos):  # the close delimiter
            rest = body[pos + 2:]
            if rest not in (b"", b"\r\n"):
                raise _bad("Invalid multipart payload format")
            return parts
        if not body.startswith(b"\r\n", pos):
            raise _bad("Invalid multipart payload format")
        end = body.find(b"\r\n" + delim, pos + 2)
        if end < 0:
            raise _bad("Invalid multipart payload format")
        raw = body[pos + 2:end]
        if raw.startswith(b"\r\n"):  # a part without headers
            head, data = b"", raw[2:]
        else:
            head, sep, data = raw.partition(b"\r\n\r\n")
            if not sep:
                raise _bad("Invalid multipart payload format")
        headers = {}
        for line in head.split(b"\r\n") if head else []:
            k, colon, v = line.decode("latin-1").partition(":")
            if not colon or not k.strip():
                raise _bad("Invalid multipart payload format")
            headers[k.strip().lower()] = v.strip()
        parts.append((headers, data))
        pos = end + 2 + len(delim)


def _disposition(headers):
    cd = headers.get("content-disposition")
    if cd is None:
        raise _bad("Invalid multipart payload format")
    kind, params = _content_type_params(cd)
    if kind != "form-data" or "name" not in params:
        raise _bad("Invalid multipart payload format")
    return params.get("name"), params.get("filename")


def import_file(content_type, body):
    """The `file` part's (filename, bytes), as Kibana's import route wants."""
    parts = parse_multipart(content_type, body)
    found = None
    for headers, data in parts:
        name, filename = _disposition(headers)
        if name == "file":
            if filename is None:
                raise _bad("[request body.file]: expected value of type [Stream] but got [string]")
            found = (filename, data)
    if found is None:
        raise _bad("[request body.file]: expected value of type [Stream] but got [undefined]")
    ext = found[0].rpartition(".")[2] if "." in found[0] else ""
    if ext.lower() != "ndjson":
        raise _bad("Invalid file extension .%s" % ext if ext else "Invalid file extension ")
    return found


def parse_ndjson(data):
    """The objects of an import file: blank lines and the export summary line
    skipped; a line that is not JSON fails the whole import (400)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _bad("Unexpected token in JSON at position %d" % e.start) from None
    objs = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise _bad("Unexpected token in JSON at position %d" % e.pos) from None
        if isinstance(obj, dict) and "exportedCount" in obj:
            continue
        if not isinstance(obj, dict):
            raise _bad("Unexpected token in JSON at position 0: expected an object")
        objs.append(obj)
    if len(objs) > MAX_IMPORT_OBJECTS:
        raise _bad("Can't import more than %d objects" % MAX_IMPORT_OBJECTS)
    return objs


# ---------------------------------------------------------------------------
# The import itself


def _title(obj):
    a = obj.get("attributes")
    t = a.get("title") if isinstance(a, dict) else None
    return t if isinstance(t, str) else None


def _meta(obj):
    m = {"icon": TYPES.get(obj.get("type"), "questionInCircle")}
    t = _title(obj)
    if t is not None:
        m["title"] = t
    return m


def _err(obj, error):
    e = {"id": obj.get("id"), "type": obj.get("type")}
    t = _title(obj)
    if t is not None:
        e["title"] = t
    e["meta"] = _meta(obj)
    e["error"] = error
    return e


def _shape_problem(obj, kibana_version):
    """Why bulkCreate would reject the object (schema, migration), or None."""
    if not isinstance(obj.get("id"), str) or not obj["id"]:
        return "[id]: expected value of type [string] but got [%s]" % type(obj.get("id")).__name__
    if not isinstance(obj.get("attributes"), dict):
        return "[attributes]: expected value of type [object] but got [%s]" % \
            type(obj.get("attributes")).__name__
    refs = obj.get("references", [])
    if not isinstance(refs, list):
        return "[references]: expected value of type [array] but got [%s]" % type(refs).__name__
    for i, r in enumerate(refs):
        if not isinstance(r, dict):
            return "[references.%d]: expected value of type [object]" % i
        for k in ("name", "type", "id"):
            if not isinstance(r.get(k), str):
                return "[references.%d.%s]: expected value of type [string] but got [undefined]" % (i, k)
    for key in ("typeMigrationVersion", "coreMigrationVersion"):
        v = obj.get(key)
        if v is None:
            continue
        try:
            newer = version_tuple(v) > version_tuple(kibana_version)
        except ValueError:
            return "Document \"%s\" has an invalid \"%s\" [%s]" % (obj["id"], key, v)
        if newer:
            return ("Document \"%s\" belongs to a more recent version of Kibana [%s] when the last "
                    "known version is [%s]." % (obj["id"], v, kibana_version))
    for field in ("panelsJSON", "visState", "uiStateJSON", "optionsJSON"):
        v = obj["attributes"].get(field)
        if v is not None:
            try:
                json.loads(v)
            except (TypeError, ValueError):
                return "Unexpected token in JSON at position 0 (attributes.%s)" % field
    return None


def run_import(store, objs, overwrite, kibana_version, types=TYPES):
    """Imports into `store` ({(type, id): obj}) as Kibana does; returns the
    answer body.  Objects with errors are left out; the others are written."""
    seen = set()
    dups = []
    for o in objs:
        key = "%s:%s" % (o.get("type"), o.get("id"))
        if key in seen and key not in dups:
            dups.append(key)
        seen.add(key)
    if dups:
        raise _bad("Non-unique import objects detected: [%s]" % ",".join(dups))
    errors, ok = [], []
    for o in objs:
        if o.get("type") not in types:
            errors.append(_err(o, {"type": "unsupported_type"}))
        else:
            ok.append(o)
    importing = {(o.get("type"), o.get("id")) for o in ok}
    valid = []
    for o in ok:
        refs = o.get("references") if isinstance(o.get("references"), list) else []
        missing = []
        for r in refs:
            if not isinstance(r, dict):
                continue
            k = (r.get("type"), r.get("id"))
            if k not in importing and k not in store and {"type": k[0], "id": k[1]} not in missing:
                missing.append({"type": k[0], "id": k[1]})
        if missing:
            errors.append(_err(o, {"type": "missing_references", "references": missing}))
        else:
            valid.append(o)
    results = []
    for o in valid:
        key = (o["type"], o.get("id"))
        exists = key in store
        if exists and not overwrite:
            errors.append(_err(o, {"type": "conflict"}))
            continue
        problem = _shape_problem(o, kibana_version)
        if problem:
            errors.append(_err(o, {"type": "unknown", "message": problem, "statusCode": 400}))
            continue
        stored = dict(o)
        stored.setdefault("references", [])
        store[key] = stored
        r = {"type": o["type"], "id": o["id"], "meta": _meta(o)}
        if exists:
            r["overwrite"] = True
        results.append(r)
    body = {"successCount": len(results), "success": not errors, "warnings": []}
    if results:
        body["successResults"] = results
    if errors:
        body["errors"] = errors
    return body


# ---------------------------------------------------------------------------
# HTTP


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kibanaserver"

    def log_message(self, *args):
        pass

    def _body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if te == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        kb = self.server.kibana
        body = self._body()
        req = Request(self.command, self.path, list(self.headers.items()), body)
        try:
            status, answer = kb._dispatch(req)
        except KibanaError as e:
            status, answer = e.status, e.body()
        except Exception as e:  # a server bug: answer 500 and keep it for the test
            kb._note_error(e)
            status, answer = 500, {"statusCode": 500, "error": "Internal Server Error",
                                   "message": "An internal server error occurred."}
        req.status, req.response = status, answer
        kb._record(req)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("kbn-name", "kibanaserver")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class KibanaServer:
    """The server.  Every public method is thread-safe."""

    def __init__(self, version=DEFAULT_VERSION, users=None, api_keys=None, port=0, spaces=(),
                 base_path="", types=None):
        self.lock = threading.RLock()
        self.base_path = base_path.rstrip("/")  # server.basePath with rewriteBasePath: true
        self.types = set(TYPES if types is None else types)  # the types registered (importable)
        self._version = version
        self.users = dict(users or {})  # username -> password
        self.api_keys = dict(api_keys or {})  # id -> key
        self.port = port
        self.uuid = str(uuid.uuid4())
        self.requests = []
        self.errors = []  # exceptions in handlers: a test server bug, never silent
        self.spaces = {"default": {}}
        for s in spaces:
            self.add_space(s)
        self._httpd = None
        self._thread = None

    # -- lifecycle
    def start(self):
        httpd = _HTTPServer(("127.0.0.1", self.port), _Handler)
        httpd.kibana = self
        self.port = httpd.server_address[1]
        t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True, name="kibana-http")
        with self.lock:
            self._httpd, self._thread = httpd, t
        t.start()
        return self

    def stop(self):
        with self.lock:
            httpd, t = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            t.join(10)

    def down(self):
        """Stops listening (connections refused); up() listens again on the same port."""
        self.stop()

    def up(self):
        self.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def hostport(self):
        return "127.0.0.1:%d" % self.port

    # -- knobs and state
    def set_version(self, version):
        with self.lock:
            self._version = version

    @property
    def version(self):
        with self.lock:
            return self._version

    def add_space(self, space_id):
        if not _SPACE_ID.match(space_id):
            raise ValueError("invalid space id %r" % space_id)
        with self.lock:
            self.spaces.setdefault(space_id, {})

    def objects(self, space="default"):
        """{(type, id): object} stored in that space (a copy)."""
        with self.lock:
            return {k: json.loads(json.dumps(v)) for k, v in self.spaces[space].items()}

    def put_object(self, obj, space="default"):
        with self.lock:
            self.spaces[space][(obj["type"], obj["id"])] = json.loads(json.dumps(obj))

    def requests_for(self, path_suffix):
        with self.lock:
            return [r for r in self.requests if r.path.endswith(path_suffix)]

    def _record(self, req):
        with self.lock:
            self.requests.append(req)

    def _note_error(self, e):
        import traceback
        with self.lock:
            self.errors.append("".join(traceback.format_exception(type(e), e, e.__traceback__)))

    # -- request handling, in Kibana's order: route (space), auth, xsrf, handler
    def _dispatch(self, req):
        path = req.path
        if self.base_path:
            if not (path + "/").startswith(self.base_path + "/"):
                raise KibanaError(404, "Not Found")
            path = path[len(self.base_path):]
        space = "default"
        m = re.match(r"^/s/([^/]+)(/.*)$", path)
        if m:
            space, path = urllib.parse.unquote(m.group(1)), m.group(2)
        with self.lock:
            known = space in self.spaces
        if path == "/api/status":
            route = "status"
        elif path == "/api/saved_objects/_import":
            route = "import"
        else:
            raise KibanaError(404, "Not Found")
        self._authenticate(req)
        if not known:
            raise KibanaError(404, "Saved object [space/%s] not found" % space)
        if route == "status":
            if req.method != "GET":
                raise KibanaError(404, "Not Found")
            return 200, self._status_body()
        if req.method != "POST":
            raise KibanaError(404, "Not Found")
        if req.header("kbn-xsrf") is None:
            raise _bad("Request must contain a kbn-xsrf header.")
        return self._import(req, space)

    def _authenticate(self, req):
        with self.lock:
            users, keys = dict(self.users), dict(self.api_keys)
        if not users and not keys:
            return
        auth = req.header("Authorization") or ""
        scheme, _, cred = auth.partition(" ")
        try:
            decoded = base64.b64decode(cred.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            decoded = None
        if decoded is not None and ":" in decoded:
            a, b = decoded.split(":", 1)
            if scheme.lower() == "basic" and a in users and users[a] == b:
                return
            if scheme.lower() == "apikey" and a in keys and keys[a] == b:
                return
        raise KibanaError(401, "[security_exception]: unable to authenticate user")

    def _status_body(self):
        v = self.version
        version = {"number": v, "build_hash": "b7ed7ba9d0a5e5e5e4e2e0e1c9f5d2a3b4c6d7e8",
                   "build_number": 68000, "build_snapshot": False}
        if version_tuple(v) >= (8, 0, 0):
            version["build_flavor"] = "traditional"
            version["build_date"] = "2023-11-04T10:04:57.000Z"
            status = {"overall": {"level": "available", "summary": "All services are available"},
                      "core": {"elasticsearch": {"level": "available", "summary": "Elasticsearch is available"},
                               "savedObjects": {"level": "available", "summary": "SavedObjects service has completed migrations and is available"}},
                      "plugins": {}}
        else:  # Kibana 7's legacy shape
            status = {"overall": {"state": "green", "title": "Green", "nickname": "Looking good",
                                  "icon": "success", "since": "2020-11-09T10:00:00.000Z"},
                      "statuses": []}
        return {"name": "kibana", "uuid": self.uuid, "version": version, "status": status,
                "metrics": {"last_updated": "2023-11-04T10:05:00.000Z", "collection_interval_in_millis": 5000}}

    def _import(self, req, space):
        q = urllib.parse.parse_qs(req.query, keep_blank_values=True)
        for k in q:
            if k not in ("overwrite", "createNewCopies", "compatibilityMode"):
                raise _bad("[request query.%s]: definition for this key is missing" % k)
        flags = {}
        for k in ("overwrite", "createNewCopies", "compatibilityMode"):
            v = q.get(k, ["false"])[-1]
            if v not in ("true", "false"):
                raise _bad("[request query.%s]: expected value of type [boolean] but got [string]" % k)
            flags[k] = v == "true"
        if flags["overwrite"] and flags["createNewCopies"]:
            raise _bad("[request query]: cannot use [overwrite] with [createNewCopies]")
        if len(req.body) > MAX_IMPORT_BYTES:
            raise KibanaError(413, "Payload content length greater than maximum allowed: %d" % MAX_IMPORT_BYTES)
        _, data = import_file(req.header("Content-Type"), req.body)
        objs = parse_ndjson(data)
        with self.lock:
            store = self.spaces[space]
            return 200, run_import(store, objs, flags["overwrite"], self._version, self.types)


# ---------------------------------------------------------------------------
# A client, for tests: the manual import path (what Kibana's UI sends)


def multipart_body(data, filename="export.ndjson", boundary="kbnboundary7MA4YWxkTrZu0gW",
                   name="file"):
    """(content type, body) of a form with one file part."""
    body = (b"--" + boundary.encode() + b"\r\n" +
            ('Content-Disposition: form-data; name="%s"; filename="%s"\r\n' % (name, filename)).encode() +
            b"Content-Type: application/ndjson\r\n\r\n" + data + b"\r\n--" + boundary.encode() + b"--\r\n")
    return "multipart/form-data; boundary=" + boundary, body


def http_request(url, method="GET", body=None, headers=None, timeout=20):
    """(status, decoded JSON) from a loopback URL, never through a proxy."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def post_import(base_url, ndjson, space=None, overwrite=False, filename="export.ndjson", xsrf=True,
                auth=None, content_type=None, body=None):
    """POSTs an import the way Kibana's UI does; returns (status, answer)."""
    ctype, payload = multipart_body(ndjson, filename)
    headers = {"Content-Type": content_type or ctype}
    if xsrf:
        headers["kbn-xsrf"] = "true"
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
    url = base_url + ("/s/%s" % space if space else "") + "/api/saved_objects/_import"
    if overwrite:
        url += "?overwrite=true"
    return http_request(url, "POST", payload if body is None else body, headers)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Kibana status/import API test server")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--version", default=DEFAULT_VERSION, dest="kb_version")
    ap.add_argument("--user", action="append", default=[], help="user:password")
    ap.add_argument("--api-key", action="append", default=[], help="id:key")
    ap.add_argument("--space", action="append", default=[])
    args = ap.parse_args(argv)
    srv = KibanaServer(version=args.kb_version, port=args.port,
                       users=dict(u.split(":", 1) for u in args.user),
                       api_keys=dict(k.split(":", 1) for k in args.api_key), spaces=args.space)
    srv.start()
    print("listening %s" % srv.hostport, flush=True)
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    while not done.wait(1.0):
        pass
    srv.stop()
    for space, objs in srv.spaces.items():
        print("space %s: %d objects" % (space, len(objs)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
