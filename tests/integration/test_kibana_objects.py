"""The Kibana saved objects in kibana/*.ndjson (what `setup --dashboards`
imports): their structure against a real Kibana 8 export
(tests/data/kibana/lens-export-golang-heap.json), their references, and every
field a panel, filter or control uses against the index template `setup`
installs (`expvarbeat export template`, resolved the way Elasticsearch maps a
concrete path, dynamic templates included) and against the documents
expvarbeat really writes for the sample target, a failing target and its own
/debug/vars."""

import fnmatch
import importlib.util
import json
import os
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

KIBANA_DIR = os.path.join(X.SOURCE, "kibana")
# The order the binary embeds and imports them: the data view first.
FILES = ["data-view.ndjson", "overview.ndjson", "targets.ndjson", "self.ndjson"]
DATA_VIEW_ID = "expvarbeat-*"
DASHBOARDS = {"expvarbeat-golang-overview": "[expvarbeat Golang] Overview",
              "expvarbeat-golang-targets": "[expvarbeat Golang] Targets",
              "expvarbeat-self-monitoring": "[expvarbeat] Self-monitoring"}
STRINGIFIED = {"dashboard": ["panelsJSON", "optionsJSON", "kibanaSavedObjectMeta.searchSourceJSON"],
               "search": ["kibanaSavedObjectMeta.searchSourceJSON"],
               "index-pattern": ["fieldFormatMap", "fields", "fieldAttrs", "runtimeFieldMap",
                                 "sourceFilters", "typeMeta"]}
NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
           "unsigned_long"}
# What each Lens operation needs of its source field.
OP_TYPES = {"average": NUMERIC, "sum": NUMERIC, "percentile": NUMERIC, "median": NUMERIC,
            "min": NUMERIC | {"date"}, "max": NUMERIC | {"date"},
            "last_value": NUMERIC | {"date", "keyword", "boolean"},
            "terms": {"keyword"} | NUMERIC, "date_histogram": {"date"}}
# Lens features our dashboards use that the reference export has no example of.
EXTRA_XY_LAYER_KEYS = {"splitAccessor"}


def load_bundle():
    objects = []
    for name in FILES:
        with open(os.path.join(KIBANA_DIR, name), "rb") as f:
            data = f.read()
        text = data.decode("utf-8")
        assert text.endswith("\n"), "%s: last line not terminated" % name
        for n, line in enumerate(text.split("\n")[:-1], 1):
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise AssertionError("%s:%d: not JSON: %s" % (name, n, e)) from None
            objects.append((name, n, obj))
    return objects


def dig(d, dotted):
    for k in dotted.split("."):
        d = d[k]
    return d


def decoded(obj):
    """attributes with the stringified members parsed."""
    a = json.loads(json.dumps(obj["attributes"]))
    for path in STRINGIFIED.get(obj["type"], []):
        parent = a
        keys = path.split(".")
        for k in keys[:-1]:
            parent = parent[k]
        parent[keys[-1]] = json.loads(parent[keys[-1]])
    return a


def lens_panels(dash):
    return [p for p in decoded(dash)["panelsJSON"] if p["type"] == "lens"]


def kql_field(query):
    """The field of the `field: *` / `field: value` KQL our objects use."""
    field, sep, _ = query.partition(":")
    assert sep and field.strip() and " " not in field.strip(), "unexpected KQL %r" % query
    return field.strip()


def field_uses(objects):
    """[(field, need, where)]: need is a Lens operation, 'filter', 'control',
    'column', 'format' or 'sort'."""
    uses = []
    for _, _, obj in objects:
        a = decoded(obj)
        where = "%s %s" % (obj["type"], obj["id"])
        if obj["type"] == "index-pattern":
            uses += [(f, "format", where) for f in a["fieldFormatMap"]]
            uses.append((a["timeFieldName"], "date_histogram", where))
        if obj["type"] == "search":
            src = a["kibanaSavedObjectMeta"]["searchSourceJSON"]
            uses += [(f, "column", where) for f in a["columns"]]
            uses += [(s[0], "max", where + " sort") for s in a["sort"]]
            uses.append((kql_field(src["query"]["query"]), "filter", where + " query"))
        if obj["type"] != "dashboard":
            continue
        for flt in a["kibanaSavedObjectMeta"]["searchSourceJSON"]["filter"]:
            uses.append((flt["meta"]["key"], "terms", where + " filter"))
        for c in json.loads(a["controlGroupInput"]["panelsJSON"]).values():
            uses.append((c["explicitInput"]["fieldName"], "terms", where + " control"))
        for p in lens_panels(obj):
            for lid, layer in p["embeddableConfig"]["attributes"]["state"]["datasourceStates"][
                    "formBased"]["layers"].items():
                for cid, col in layer["columns"].items():
                    w = "%s panel %s column %s" % (where, p["panelIndex"], cid)
                    if col.get("sourceField") not in (None, "___records___"):
                        uses.append((col["sourceField"], col["operationType"], w))
                    if "filter" in col:
                        uses.append((kql_field(col["filter"]["query"]), "filter", w))
                    sort = col.get("params", {}).get("sortField")
                    if sort:
                        uses.append((sort, "max", w + " sortField"))
    return uses


# ---------------------------------------------------------------------------
# Elasticsearch's mapping of a concrete path


def json_kind(v):
    """match_mapping_type of a JSON value, as Elasticsearch detects it."""
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, X.Num):
        return "long" if v.is_int() else "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    raise AssertionError("unexpected value %r" % (v,))


def resolve(mappings, path, value):
    """The mapping Elasticsearch gives `path` holding `value`: explicit
    properties first (aliases followed), then the first dynamic template that
    matches.  None when it would not be mapped as a field."""
    props = mappings["properties"]
    parts = path.split(".")
    for i, p in enumerate(parts):
        m = props.get(p)
        if m is None:
            break
        if i == len(parts) - 1:
            if m.get("type") == "alias":
                return resolve(mappings, m["path"], value)
            return m if "type" in m and m["type"] != "object" else None
        if m.get("enabled") is False or m.get("type") in ("flattened",):
            return None
        props = m.get("properties", {})
    kind = json_kind(value)
    for entry in mappings.get("dynamic_templates", []):
        (_, t), = entry.items()
        mmt = t.get("match_mapping_type", "*")
        if mmt != "*" and mmt != kind and not (isinstance(mmt, list) and kind in mmt):
            continue
        if "path_match" in t and not fnmatch.fnmatchcase(path, t["path_match"]):
            continue
        if "match" in t and not fnmatch.fnmatchcase(parts[-1], t["match"]):
            continue
        if "path_unmatch" in t and fnmatch.fnmatchcase(path, t["path_unmatch"]):
            continue
        return t["mapping"]
    # Plain dynamic mapping (date_detection is off in our template).
    return {"long": {"type": "long"}, "double": {"type": "float"},
            "string": {"type": "text"}, "boolean": {"type": "boolean"}}.get(kind)


def aggregatable(m):
    if m.get("doc_values") is False or m.get("index") is False:
        return False
    return m["type"] in NUMERIC | {"keyword", "date", "boolean"}


def leaves(doc, prefix=""):
    out = {}
    for k, v in doc.items():
        p = prefix + k
        if isinstance(v, dict) and v:
            out.update(leaves(v, p + "."))
        elif isinstance(v, list):
            if v:
                out[p] = v[0]
        else:
            out[p] = v
    return out


# ---------------------------------------------------------------------------
# Sample documents


def sample_docs():
    """Documents for the sample target, a target that fails and expvarbeat's
    own /debug/vars, all with the default config's namespace, and heap
    documents with the extras on."""
    docs = []
    with X.TargetServer() as srv:
        srv.route("/debug/vars", X.capture("expvartarget"))
        srv.route("/missing", X.GoStatus(404))
        srv.route("/t2", X.capture("expvartarget-t2"))
        ok = X.run_expvarbeat(["test", "target", srv.url(), "--namespace", "expvarbeat"])
        assert ok.rc == 0, ok.describe()
        docs += ok.docs()
        bad = X.run_expvarbeat(["test", "target", srv.url("/missing"), "--namespace",
                                "expvarbeat"])
        assert bad.rc != 0, bad.describe()
        docs += bad.docs()
        docs += self_docs(srv)
        docs += extras_docs(srv)
    return docs


# The heap extras the Overview dashboard shows (heap.pause_percentiles
# [50, 90, 99], heap.rates): they exist only in documents written with them on.
HEAP_EXTRAS = {"heap.pause_percentiles": [50, 90, 99], "heap.rates": True,
               "heap.restart_reset": True}


def extras_docs(srv):
    """Heap documents of a daemon with the extras on: the first has the GC
    window's percentiles (146 GCs in the capture), later ones the rates."""
    cfg = {"metricbeat.modules": [X.golang_module(srv.url("/t2"), metricsets=("heap",),
                                                  period="200ms", **HEAP_EXTRAS)]}

    def both(docs):
        heaps = [d.get("golang", {}).get("heap", {}) for d in docs]
        return (any("p50" in h.get("gc", {}).get("pause", {}) for h in heaps) and
                any("rate" in h.get("gc", {}) for h in heaps))
    with X.Daemon(cfg) as d:
        d.wait_for(both, 20, "heap documents with percentiles and rates")
        return d.stop()


def self_docs(srv):
    port = X.free_port()
    cfg = {"metricbeat.modules": [X.golang_module(srv.url(), namespace="app", period="1s")],
           "http.enabled": True, "http.host": "127.0.0.1", "http.port": port}
    url = "http://127.0.0.1:%d/debug/vars" % port

    def up():
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False
    with X.Daemon(cfg) as d:
        X.wait_until(lambda: up() or not d.running(), 15, "the daemon's /debug/vars")
        assert d.running(), d.describe()
        res = X.run_expvarbeat(["test", "target", url, "--namespace", "expvarbeat"])
        assert res.rc == 0, res.describe()
        return res.docs()


# ---------------------------------------------------------------------------


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects = load_bundle()
        cls.by_id = {(o["type"], o["id"]): o for _, _, o in cls.objects}
        with open(os.path.join(X.DATA, "kibana", "lens-export-golang-heap.json")) as f:
            cls.ref = json.load(f)


class TestStructure(Base):
    def test_bundle_holds_the_data_view_first_and_the_three_dashboards(self):
        first = self.objects[0][2]
        self.assertEqual(("index-pattern", DATA_VIEW_ID), (first["type"], first["id"]))
        dv = decoded(first)
        self.assertEqual("@timestamp", dv["timeFieldName"])
        self.assertEqual({"expvarbeat-*", "metricbeat-*"}, set(dv["title"].split(",")))
        titles = {o["id"]: o["attributes"]["title"] for _, _, o in self.objects
                  if o["type"] == "dashboard"}
        self.assertEqual(DASHBOARDS, titles)
        self.assertEqual(len(self.objects), len(self.by_id), "duplicate type/id")

    def test_envelope_matches_a_kibana_8_export(self):
        ref_keys = set(self.ref) - {"created_at"}
        for name, n, o in self.objects:
            with self.subTest(file=name, line=n):
                self.assertEqual(ref_keys, set(o), "top-level keys")
                self.assertEqual(self.ref["coreMigrationVersion"], o["coreMigrationVersion"])
                self.assertRegex(o["typeMigrationVersion"], r"^[78]\.\d+\.\d+$")
                self.assertIs(False, o["managed"])
                self.assertIsInstance(o["attributes"], dict)
                for r in o["references"]:
                    self.assertEqual({"id", "name", "type"}, set(r))
                # Import needs these as strings; each must also parse.
                for path in STRINGIFIED.get(o["type"], []):
                    self.assertIsInstance(dig(o["attributes"], path), str, path)
                decoded(o)

    def test_dashboard_attributes_match_the_export(self):
        ref = set(self.ref["attributes"])
        for _, _, o in self.objects:
            if o["type"] != "dashboard":
                continue
            with self.subTest(id=o["id"]):
                self.assertEqual(ref, set(o["attributes"]))
                self.assertIs(False, o["attributes"]["timeRestore"])
                a = decoded(o)
                self.assertEqual(set(self.ref["attributes"]["optionsJSON"]), set(a["optionsJSON"]))
                cg = o["attributes"]["controlGroupInput"]
                self.assertEqual(set(self.ref["attributes"]["controlGroupInput"]), set(cg))
                controls = json.loads(cg["panelsJSON"])
                self.assertEqual(["service.address"],
                                 [c["explicitInput"]["fieldName"] for c in controls.values()])
                for cid, c in controls.items():
                    self.assertEqual(cid, c["explicitInput"]["id"])
                    self.assertEqual("optionsListControl", c["type"])

    def test_every_reference_resolves(self):
        seen = set()
        for _, _, o in self.objects:
            for r in o["references"]:
                target = (r["type"], r["id"])
                self.assertIn(target, self.by_id, "%s %s → %s" % (o["type"], o["id"], r))
                if r["type"] == "index-pattern":
                    self.assertEqual(DATA_VIEW_ID, r["id"])
                else:  # imported before what refers to it
                    self.assertIn(target, seen, "%s refers to %s before it" % (o["id"], r))
            seen.add((o["type"], o["id"]))

    def test_dashboard_references_cover_panels_filters_and_controls(self):
        for _, _, o in self.objects:
            if o["type"] != "dashboard":
                continue
            with self.subTest(id=o["id"]):
                refs = {r["name"]: r for r in o["references"]}
                self.assertEqual(len(refs), len(o["references"]), "duplicate reference names")
                a = decoded(o)
                want = set()
                for i, flt in enumerate(a["kibanaSavedObjectMeta"]["searchSourceJSON"]["filter"]):
                    self.assertEqual("kibanaSavedObjectMeta.searchSourceJSON.filter[%d].meta.index"
                                     % i, flt["meta"]["indexRefName"])
                    want.add(flt["meta"]["indexRefName"])
                for cid in json.loads(o["attributes"]["controlGroupInput"]["panelsJSON"]):
                    want.add("controlGroup_%s:optionsListDataView" % cid)
                ids = [p["panelIndex"] for p in a["panelsJSON"]]
                self.assertEqual(len(ids), len(set(ids)), "duplicate panelIndex")
                for p in a["panelsJSON"]:
                    self.assertEqual(p["panelIndex"], p["gridData"]["i"])
                    g = p["gridData"]
                    self.assertTrue(0 <= g["x"] and g["x"] + g["w"] <= 48, p["panelIndex"])
                    if "panelRefName" in p:
                        name = "%s:%s" % (p["panelIndex"], p["panelRefName"])
                        self.assertIn(name, refs)
                        self.assertEqual(p["type"], refs[name]["type"])
                        want.add(name)
                        continue
                    for r in p["embeddableConfig"]["attributes"]["references"]:
                        name = "%s:%s" % (p["panelIndex"], r["name"])
                        self.assertEqual(r["id"], refs.get(name, {}).get("id"), name)
                        want.add(name)
                self.assertEqual(want, set(refs))

    def test_search_source_index_reference(self):
        for _, _, o in self.objects:
            if o["type"] != "search":
                continue
            src = decoded(o)["kibanaSavedObjectMeta"]["searchSourceJSON"]
            self.assertIn(src["indexRefName"], {r["name"] for r in o["references"]})


class TestLensShape(Base):
    """Our Lens panels use the keys and shapes of the real export."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ref_panels = cls.ref["attributes"]["panelsJSON"]
        cls.ref_cols, cls.ref_params, cls.ref_vis, cls.ref_xy_layer = {}, {}, set(), set()
        cls.all_col_keys = set()
        for p in cls.ref_panels:
            st = p["embeddableConfig"]["attributes"]["state"]
            cls.ref_vis |= set(st["visualization"])
            for vl in st["visualization"]["layers"]:
                cls.ref_xy_layer |= set(vl)
            for layer in st["datasourceStates"]["formBased"]["layers"].values():
                cls.ref_layer_keys = set(layer)
                for c in layer["columns"].values():
                    op = c["operationType"]
                    cls.ref_cols.setdefault(op, set()).update(c)
                    cls.ref_params.setdefault(op, set()).update(c.get("params", {}))
                    cls.all_col_keys |= set(c)
        cls.core_col_keys = set.intersection(*[set(c) for p in cls.ref_panels for layer in
                                              p["embeddableConfig"]["attributes"]["state"][
                                                  "datasourceStates"]["formBased"]["layers"]
                                              .values() for c in layer["columns"].values()])
        # Every reference example carries params, but a `differences` column
        # has none to store.
        cls.core_col_keys.discard("params")

    def panels(self):
        for _, _, o in self.objects:
            if o["type"] == "dashboard":
                for p in lens_panels(o):
                    yield o["id"], p

    def test_panel_and_attribute_keys(self):
        rp = self.ref_panels[0]
        ra = rp["embeddableConfig"]["attributes"]
        for dash, p in self.panels():
            with self.subTest(dashboard=dash, panel=p["panelIndex"]):
                self.assertEqual(set(rp), set(p))
                self.assertEqual(set(rp["embeddableConfig"]), set(p["embeddableConfig"]))
                a = p["embeddableConfig"]["attributes"]
                self.assertEqual(set(ra), set(a))
                self.assertEqual(set(ra["state"]), set(a["state"]))
                self.assertEqual(["formBased"], list(a["state"]["datasourceStates"]))
                self.assertIn(a["visualizationType"], ("lnsXY", "lnsDatatable"))
                self.assertEqual("lens", a["type"])

    def test_layers_and_columns(self):
        for dash, p in self.panels():
            a = p["embeddableConfig"]["attributes"]
            layers = a["state"]["datasourceStates"]["formBased"]["layers"]
            ref_names = {r["name"]: r["id"] for r in a["references"]}
            for lid, layer in layers.items():
                with self.subTest(dashboard=dash, panel=p["panelIndex"], layer=lid):
                    self.assertEqual(self.ref_layer_keys, set(layer))
                    self.assertEqual(DATA_VIEW_ID,
                                     ref_names.get("indexpattern-datasource-layer-" + lid))
                    cols = layer["columns"]
                    self.assertEqual(sorted(cols), sorted(layer["columnOrder"]))
                    for cid, c in cols.items():
                        self.check_column(cid, c, cols)

    def check_column(self, cid, c, cols):
        keys = set(c)
        self.assertLessEqual(self.core_col_keys, keys, cid)
        self.assertLessEqual(keys, self.all_col_keys, cid)
        op = c["operationType"]
        if op in self.ref_cols:
            self.assertLessEqual(keys, self.ref_cols[op], cid)
            self.assertLessEqual(set(c.get("params", {})), self.ref_params[op], cid)
        if op == "moving_average":
            self.assertEqual(30, c["params"]["window"])
        if c["isBucketed"]:
            self.assertIn(op, ("date_histogram", "terms"), cid)
        for r in c.get("references", []):
            self.assertIn(r, cols, "%s refers to a column not in its layer" % cid)
            self.assertFalse(cols[r]["isBucketed"], cid)
        if "references" in c:
            self.assertNotIn("sourceField", c, cid)
        else:
            self.assertIn("sourceField", c, cid)
        if op == "terms":
            ob = c["params"]["orderBy"]
            if ob["type"] == "column":
                self.assertIn(ob["columnId"], cols, cid)

    def test_visualization_refers_to_its_columns(self):
        for dash, p in self.panels():
            a = p["embeddableConfig"]["attributes"]
            layers = a["state"]["datasourceStates"]["formBased"]["layers"]
            vis = a["state"]["visualization"]
            with self.subTest(dashboard=dash, panel=p["panelIndex"]):
                if a["visualizationType"] == "lnsXY":
                    self.check_xy(vis, layers)
                else:
                    self.check_datatable(vis, layers)

    def check_xy(self, vis, layers):
        self.assertLessEqual(set(vis), self.ref_vis)
        self.assertEqual(sorted(layers), sorted(vl["layerId"] for vl in vis["layers"]))
        for vl in vis["layers"]:
            self.assertLessEqual(set(vl), self.ref_xy_layer | EXTRA_XY_LAYER_KEYS)
            cols = layers[vl["layerId"]]["columns"]
            self.assertEqual("date_histogram", cols[vl["xAccessor"]]["operationType"])
            self.assertTrue(vl["accessors"])
            for acc in vl["accessors"]:
                self.assertFalse(cols[acc]["isBucketed"], acc)
            if "splitAccessor" in vl:
                self.assertEqual("terms", cols[vl["splitAccessor"]]["operationType"])
            for yc in vl["yConfig"]:
                self.assertIn(yc["forAccessor"], vl["accessors"])
                self.assertIn(yc["axisMode"], ("auto", "left", "right"))
            # Every column is shown or feeds one that is.
            used = set(vl["accessors"]) | {vl["xAccessor"], vl.get("splitAccessor")}
            for cid in list(used):
                stack = [cid]
                while stack:
                    for r in cols.get(stack.pop(), {}).get("references", []):
                        used.add(r)
                        stack.append(r)
            self.assertEqual(set(cols), used - {None})

    def check_datatable(self, vis, layers):
        # Kibana 8's lnsDatatable state (no example in the reference export).
        self.assertEqual({"columns", "layerId", "layerType"}, set(vis))
        self.assertEqual("data", vis["layerType"])
        layer = layers[vis["layerId"]]
        self.assertEqual(layer["columnOrder"], [c["columnId"] for c in vis["columns"]])
        for c in vis["columns"]:
            self.assertEqual({"columnId", "isTransposed"}, set(c))


class TestOverviewSeries(Base):
    """Every series of Metricbeat's six Timelion panels (spec §5.2)."""

    # (panel, agg, field, transforms): .derivative() → differences,
    # .movingaverage(30) → moving_average.
    METRICBEAT = [
        ("heap-summary", "average", "system.total", []),
        ("heap-summary", "min", "allocations.allocated", ["moving_average"]),
        ("heap-summary", "max", "allocations.allocated", ["moving_average"]),
        ("heap-summary", "average", "gc.next_gc_limit", []),
        ("heap-summary", "average", "gc.pause.count", []),
        ("heap", "average", "allocations.total", ["differences", "moving_average"]),
        ("heap", "average", "allocations.active", ["moving_average"]),
        ("heap", "average", "allocations.allocated", ["moving_average"]),
        ("heap", "average", "allocations.idle", ["moving_average"]),
        ("system", "average", "system.total", []),
        ("system", "average", "system.obtained", []),
        ("system", "average", "system.stack", []),
        ("system", "average", "system.released", []),
        ("objects", "max", "allocations.objects", ["moving_average"]),
        ("objects", "max", "allocations.total", ["differences", "moving_average"]),
        ("gc-durations", "max", "gc.pause.sum.ns", []),
        ("gc-durations", "max", "gc.total_pause.ns", ["differences", "moving_average"]),
        ("gc-durations", "max", "gc.pause.max.ns", ["moving_average"]),
        ("gc-durations", "average", "gc.pause.avg.ns", ["moving_average"]),
        ("gc-durations", "max", "gc.pause.count", []),
        ("gc-count", "max", "gc.pause.count", []),
        ("gc-count", "max", "gc.total_count", ["differences", "moving_average"]),
        ("gc-count", "max", "gc.cpu_fraction", []),
    ]
    # Beyond Metricbeat: heap.pause_percentiles and heap.rates.
    EXTRAS = [
        ("gc-percentiles", "average", "gc.pause.p50.ns", []),
        ("gc-percentiles", "average", "gc.pause.p90.ns", []),
        ("gc-percentiles", "max", "gc.pause.p99.ns", []),
        ("rates", "average", "allocations.rate.bytes_per_sec", []),
        ("rates", "average", "gc.rate.per_sec", []),
    ]

    def shown_series(self):
        dash = self.by_id[("dashboard", "expvarbeat-golang-overview")]
        out = []
        for p in lens_panels(dash):
            a = p["embeddableConfig"]["attributes"]
            layers = a["state"]["datasourceStates"]["formBased"]["layers"]
            for vl in a["state"]["visualization"]["layers"]:
                cols = layers[vl["layerId"]]["columns"]
                for acc in vl["accessors"]:
                    chain, c = [], cols[acc]
                    while "references" in c:
                        chain.insert(0, c["operationType"])
                        c = cols[c["references"][0]]
                    field = c["sourceField"]
                    self.assertTrue(field.startswith("golang.heap."), field)
                    out.append((p["panelIndex"], c["operationType"],
                                field[len("golang.heap."):], chain))
        return out

    def test_every_metricbeat_series_is_there(self):
        self.assertEqual(sorted(self.METRICBEAT + self.EXTRAS), sorted(self.shown_series()))


class TestDataView(Base):
    def test_bytes_formats_follow_fields_yml(self):
        want = set()
        stack = []
        with open(os.path.join(X.SOURCE, "mappings", "fields.yml"), encoding="utf-8") as f:
            for line in f:
                s = line.strip()
                indent = len(line) - len(line.lstrip())
                if s.startswith("- name:"):
                    while stack and stack[-1][0] >= indent:
                        stack.pop()
                    stack.append((indent, s[len("- name:"):].strip().strip('"')))
                elif s.startswith("- key:"):
                    stack = []
                elif s == "format: bytes":
                    want.add(".".join(n for _, n in stack))
        self.assertTrue(want)
        fmt = decoded(self.by_id[("index-pattern", DATA_VIEW_ID)])["fieldFormatMap"]
        self.assertEqual(want, {k for k, v in fmt.items() if v["id"] == "bytes"})


class TestGenerated(Base):
    def test_files_are_what_generate_py_writes(self):
        spec = importlib.util.spec_from_file_location("kibana_generate",
                                                      os.path.join(KIBANA_DIR, "generate.py"))
        gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
        bundle = gen.bundle()
        self.assertEqual(FILES, list(bundle))
        for name, objects in bundle.items():
            with open(os.path.join(KIBANA_DIR, name), encoding="utf-8") as f:
                self.assertEqual(gen.render(objects), f.read(),
                                 "%s is stale: run python3 kibana/generate.py" % name)


class TestFields(Base):
    """Every field used exists in the template with a type suited to its use,
    and appears in documents expvarbeat writes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        res = X.run_expvarbeat(["export", "template"])
        assert res.rc == 0, res.describe()
        cls.mappings = json.loads(res.stdout)["template"]["mappings"]
        cls.values = {}
        for d in sample_docs():
            for path, v in leaves(d).items():
                cls.values.setdefault(path, v)
        cls.uses = field_uses(o for o in cls.objects)

    def test_uses_found(self):
        fields = {f for f, _, _ in self.uses}
        # A few that must be there, so an empty walk cannot pass.
        for f in ("golang.heap.gc.total_count", "service.address", "event.duration",
                  "error.message", "golang.expvarbeat.expvarbeat.events.acked",
                  "golang.expvarbeat.expvarbeat.scrapes.heap.delayed"):
            self.assertIn(f, fields)

    def test_every_field_is_in_the_documents(self):
        missing = sorted({"%s (%s)" % (f, w) for f, _, w in self.uses if f not in self.values})
        self.assertEqual([], missing)

    def test_every_field_is_mapped_for_its_use(self):
        problems = []
        for f, need, where in self.uses:
            if f not in self.values:
                continue  # reported by the test above
            m = resolve(self.mappings, f, self.values[f])
            if m is None:
                problems.append("%s: not mapped (%s)" % (f, where))
                continue
            t = m["type"]
            if need in OP_TYPES or need in ("differences", "moving_average"):
                ok = t in OP_TYPES.get(need, NUMERIC) and aggregatable(m)
            elif need == "format":
                ok = t in NUMERIC
            else:  # filter, column: any mapped, searchable field
                ok = m.get("index") is not False
            if not ok:
                problems.append("%s: %s cannot serve %s (%s)" % (f, t, need, where))
        self.assertEqual([], problems)

    def test_self_counters_map_as_doubles(self):
        m = resolve(self.mappings, "golang.expvarbeat.expvarbeat.events.acked",
                    self.values["golang.expvarbeat.expvarbeat.events.acked"])
        self.assertEqual("double", m["type"])
        self.assertEqual("match_only_text",
                         resolve(self.mappings, "error.message", "x")["type"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
