#!/usr/bin/env python3
"""Writes the Kibana 8 saved objects expvarbeat ships (kibana/*.ndjson).

The NDJSON files are what the binary embeds and imports; this script is the
reviewable source they come from: each dashboard is a short table of panels
and series, expanded here into Lens state of the exact shape Kibana 8 exports
(formBased layers, by-value `lens` panels, `<panel>:indexpattern-datasource-
layer-<layer>` references).  Edit the tables, run `python3 kibana/generate.py`,
commit both; tests/integration/test_kibana_objects.py fails when they differ.

Overview reproduces every series of Metricbeat's six Timelion panels (spec
§5.2): `.es(metric=agg:field)` → a date histogram with that aggregation,
`.derivative()` → `differences`, `.movingaverage(30)` → `moving_average`
(window 30), `.yaxis(2)` → the right axis, `.bars()` → a bar layer.
Timelion's `.condition(lt,1,null).points()` (hide zero GC counts) has no Lens
equivalent; those series are plain lines on the right axis.
"""

import json
import os
import sys

DATA_VIEW = "expvarbeat-*"
CORE_MIGRATION = "8.8.0"
MIGRATION = {"index-pattern": "8.0.0", "search": "8.0.0", "dashboard": "8.9.0"}
BYTES = {"id": "bytes", "params": {"decimals": 2}}
PERCENT = {"id": "percent", "params": {"decimals": 1}}
ERROR_KQL = "error.message: *"

# The fields mappings/fields.yml marks `format: bytes`, plus event.duration (ns).
BYTE_FIELDS = [
    "golang.heap.allocations.active", "golang.heap.allocations.allocated",
    "golang.heap.allocations.idle", "golang.heap.allocations.total",
    "golang.heap.gc.next_gc_limit", "golang.heap.system.obtained",
    "golang.heap.system.released", "golang.heap.system.stack", "golang.heap.system.total",
    "golang.heap.allocations.rate.bytes_per_sec",
]
DURATION_FORMAT = {"id": "duration", "params": {"inputFormat": "nanoseconds",
                                                "outputFormat": "humanizePrecise",
                                                "outputPrecision": 1}}

OP_NAMES = {"average": "Average", "max": "Maximum", "min": "Minimum", "sum": "Sum",
            "differences": "Differences", "moving_average": "Moving average",
            "count": "Count", "percentile": "Percentile"}


def dumps(v):
    """Compact and key-sorted, as Kibana exports and so the files diff well."""
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# ---------------------------------------------------------------------------
# Lens columns


def date_histogram():
    return {"dataType": "date", "isBucketed": True, "label": "@timestamp",
            "operationType": "date_histogram",
            "params": {"dropPartials": False, "includeEmptyRows": True, "interval": "auto"},
            "scale": "interval", "sourceField": "@timestamp"}


def field_metric(op, field, label=None, fmt=None, kql=None, data_type="number"):
    params = {"emptyAsNull": True}
    if fmt:
        params["format"] = fmt
    col = {"dataType": data_type, "isBucketed": False,
           "label": label or "%s of %s" % (OP_NAMES[op], field),
           "operationType": op, "params": params, "scale": "ratio", "sourceField": field}
    if label:
        col["customLabel"] = True
    if kql:
        col["filter"] = {"language": "kuery", "query": kql}
    return col


def count(label=None, kql=None):
    """Count of documents; label=None keeps Lens' own label."""
    col = field_metric("count", "___records___", label, kql=kql)
    col["params"] = {"emptyAsNull": label is None}
    col["label"] = label or "Count of records"
    return col


def percentile(field, pct, label):
    col = field_metric("percentile", field, label)
    col["params"] = {"percentile": pct}
    return col


def reference_op(op, ref, label=None, fmt=None):
    col = {"dataType": "number", "isBucketed": False, "label": label or OP_NAMES[op],
           "operationType": op, "references": [ref], "scale": "ratio"}
    params = {"window": 30} if op == "moving_average" else {}
    if fmt:
        params["format"] = fmt
    if params:
        col["params"] = params
    if label:
        col["customLabel"] = True
    return col


def terms(field, size, order_by, label=None):
    col = {"dataType": "string", "isBucketed": True,
           "label": label or "Top %d values of %s" % (size, field),
           "operationType": "terms",
           "params": {"exclude": [], "excludeIsRegex": False, "include": [],
                      "includeIsRegex": False, "missingBucket": False, "orderBy": order_by,
                      "orderDirection": "desc", "otherBucket": True,
                      "parentFormat": {"id": "terms"}, "size": size},
           "scale": "ordinal", "sourceField": field}
    if label:
        col["customLabel"] = True
    return col


def error_rate_formula(cid, label):
    """Lens formula `count(kql='error.message: *') / count()` as Kibana stores
    it: the visible formula column and its hidden X0/X1/X2 helper columns."""
    text = "count(kql='%s') / count()" % ERROR_KQL
    helper = "Part of %s" % label
    x0 = count(helper, kql=ERROR_KQL)
    x1 = count(helper)
    x2 = {"customLabel": True, "dataType": "number", "isBucketed": False, "label": helper,
          "operationType": "math",
          "params": {"tinymathAst": {"args": [cid + "X0", cid + "X1"],
                                     "location": {"max": len(text), "min": 0},
                                     "name": "divide", "text": text, "type": "function"}},
          "references": [cid + "X0", cid + "X1"], "scale": "ratio"}
    formula = {"customLabel": True, "dataType": "number", "isBucketed": False, "label": label,
               "operationType": "formula",
               "params": {"format": PERCENT, "formula": text, "isFormulaBroken": False},
               "references": [cid + "X2"], "scale": "ratio"}
    return {cid + "X0": x0, cid + "X1": x1, cid + "X2": x2, cid: formula}


# ---------------------------------------------------------------------------
# Series → columns.  A series is (label, agg, field, transforms, options):
# transforms is a list of "differences"/"mavg"; options may hold "axis"
# ("right"), "fmt".


def series_columns(lid, n, s):
    label, agg, field, transforms, opts = s
    fmt = opts.get("fmt")
    cols = {}
    cid = "%s-c%d" % (lid, n)
    if not transforms:
        cols[cid] = field_metric(agg, field, label, fmt)
        return cols, cid
    prev = cid + "-" + agg
    cols[prev] = field_metric(agg, field, None, fmt)
    for i, t in enumerate(transforms):
        last = i == len(transforms) - 1
        op = "moving_average" if t == "mavg" else t
        this = cid if last else "%s-%s" % (cid, op)
        cols[this] = reference_op(op, prev, label if last else None, fmt)
        prev = this
    return cols, cid


def xy_layer(lid, series, series_type):
    """A date-histogram layer: (formBased layer, lnsXY layer)."""
    x = lid + "-x"
    cols = {x: date_histogram()}
    accessors, y_config = [], []
    for n, s in enumerate(series, 1):
        c, acc = series_columns(lid, n, s)
        cols.update(c)
        accessors.append(acc)
        if s[4].get("axis") == "right":
            y_config.append({"axisMode": "right", "forAccessor": acc})
    ds = {"columnOrder": list(cols), "columns": cols, "incompleteColumns": {}}
    vis = {"accessors": accessors, "layerId": lid, "layerType": "data", "position": "top",
           "seriesType": series_type, "showGridlines": False, "xAccessor": x,
           "yConfig": y_config}
    return ds, vis


def split_layer(lid, metric_cols, accessor, series_type, split):
    """A date-histogram layer broken down by a terms column."""
    x = lid + "-x"
    cols = {x: date_histogram(), lid + "-split": split}
    cols.update(metric_cols)
    order = [lid + "-split", x] + list(metric_cols)
    ds = {"columnOrder": order, "columns": cols, "incompleteColumns": {}}
    vis = {"accessors": [accessor], "layerId": lid, "layerType": "data", "position": "top",
           "seriesType": series_type, "showGridlines": False, "splitAccessor": lid + "-split",
           "xAccessor": x, "yConfig": []}
    return ds, vis


def xy_visualization(layers, y_title, y_right_title=None, preferred="line"):
    axes = {"x": True, "yLeft": True, "yRight": True}
    vis = {"axisTitlesVisibilitySettings": dict(axes), "fittingFunction": "None",
           "gridlinesVisibilitySettings": dict(axes),
           "labelsOrientation": {"x": 0, "yLeft": 0, "yRight": 0}, "layers": layers,
           "legend": {"isVisible": True, "position": "right"},
           "preferredSeriesType": preferred, "tickLabelsVisibilitySettings": dict(axes),
           "valueLabels": "hide", "yTitle": y_title}
    if y_right_title:
        vis["yRightTitle"] = y_right_title
    return vis


def lens(vis_type, ds_layers, visualization):
    refs = [{"id": DATA_VIEW, "name": "indexpattern-datasource-layer-" + lid,
             "type": "index-pattern"} for lid in ds_layers]
    state = {"adHocDataViews": {}, "datasourceStates": {"formBased": {"layers": ds_layers}},
             "filters": [], "internalReferences": [],
             "query": {"language": "kuery", "query": ""}, "visualization": visualization}
    return {"references": refs, "state": state, "title": "", "type": "lens",
            "visualizationType": vis_type}


def xy_panel(pid, title, grid, layers, y_title, y_right_title=None):
    """layers: [(series_type, [series...])]."""
    ds, vis = {}, []
    for i, (series_type, series) in enumerate(layers):
        lid = "%s-l%d" % (pid, i)
        d, v = xy_layer(lid, series, series_type)
        ds[lid] = d
        vis.append(v)
    return lens_panel(pid, title, grid, lens("lnsXY", ds, xy_visualization(vis, y_title,
                                                                           y_right_title)))


def lens_panel(pid, title, grid, attributes):
    x, y, w, h = grid
    return {"embeddableConfig": {"attributes": attributes, "enhancements": {},
                                 "hidePanelTitles": False},
            "gridData": {"h": h, "i": pid, "w": w, "x": x, "y": y},
            "panelIndex": pid, "title": title, "type": "lens"}


def S(label, agg, field, *transforms, **opts):
    return (label, agg, field, list(transforms), opts)


# ---------------------------------------------------------------------------
# Dashboards


def overview_panels():
    H = "golang.heap."
    b = {"fmt": BYTES}
    return [
        xy_panel("heap-summary", "Heap Summary", (0, 0, 48, 12), [("line", [
            S("System Total Memory", "average", H + "system.total", **b),
            S("Bytes Allocated (min)", "min", H + "allocations.allocated", "mavg", **b),
            S("Bytes Allocated (max)", "max", H + "allocations.allocated", "mavg", **b),
            S("GC Limit", "average", H + "gc.next_gc_limit", **b),
            S("GC Cycles (count)", "average", H + "gc.pause.count", axis="right"),
        ])], "Bytes", "Count"),
        xy_panel("heap", "Heap", (0, 12, 16, 16), [("line", [
            S("Heap Total", "average", H + "allocations.total", "differences", "mavg", **b),
            S("Heap Inuse", "average", H + "allocations.active", "mavg", **b),
            S("Heap Allocated", "average", H + "allocations.allocated", "mavg", **b),
            S("Heap Idle", "average", H + "allocations.idle", "mavg", **b),
        ])], "Bytes"),
        xy_panel("system", "System", (16, 12, 16, 16), [("line", [
            S("System Total", "average", H + "system.total", **b),
            S("System Obtained", "average", H + "system.obtained", **b),
            S("System Stack", "average", H + "system.stack", **b),
            S("System Released", "average", H + "system.released", **b),
        ])], "Bytes"),
        xy_panel("objects", "Objects", (32, 12, 16, 16), [("line", [
            S("Object Count", "max", H + "allocations.objects", "mavg"),
            S("Allocation Rate", "max", H + "allocations.total", "differences", "mavg",
              axis="right", fmt=BYTES),
        ])], "Count", "Rate"),
        xy_panel("gc-durations", "GC durations", (0, 28, 24, 16), [
            ("bar", [S("Sum of GC pause durations (ns)", "max", H + "gc.pause.sum.ns")]),
            ("line", [
                S("Total GC Pause (ns) Rate", "max", H + "gc.total_pause.ns", "differences",
                  "mavg"),
                S("Max GC Pause (ns)", "max", H + "gc.pause.max.ns", "mavg"),
                S("Avg GC Pause (ns)", "average", H + "gc.pause.avg.ns", "mavg"),
                S("GC Pause count", "max", H + "gc.pause.count", axis="right"),
            ])], "Durations (ns)", "Count"),
        xy_panel("gc-count", "GC count", (24, 28, 24, 16), [
            ("bar", [S("GC Count", "max", H + "gc.pause.count")]),
            ("line", [
                S("GC Rate", "max", H + "gc.total_count", "differences", "mavg"),
                S("CPU Fraction", "max", H + "gc.cpu_fraction", axis="right"),
            ])], "Count", "Fraction"),
        # Beyond Metricbeat: empty unless heap.pause_percentiles / heap.rates are on.
        xy_panel("gc-percentiles", "GC pause percentiles", (0, 44, 24, 16), [("line", [
            S("p50 GC pause (ns)", "average", H + "gc.pause.p50.ns"),
            S("p90 GC pause (ns)", "average", H + "gc.pause.p90.ns"),
            S("p99 GC pause (ns)", "max", H + "gc.pause.p99.ns"),
        ])], "Durations (ns)"),
        xy_panel("rates", "Allocation and GC rates", (24, 44, 24, 16), [("line", [
            S("Allocation rate (bytes/s)", "average", H + "allocations.rate.bytes_per_sec", **b),
            S("GC rate (per second)", "average", H + "gc.rate.per_sec", axis="right"),
        ])], "Bytes per second", "GCs per second"),
    ]


def targets_panels():
    addr = "service.address"
    p1 = "target-docs"
    lid = p1 + "-l0"
    cnt = {lid + "-count": count("Documents")}
    ds, vis = split_layer(lid, cnt, lid + "-count", "bar_stacked",
                          terms(addr, 10, {"columnId": lid + "-count", "type": "column"}))
    docs = lens_panel(p1, "Documents per interval by target", (0, 0, 24, 15),
                      lens("lnsXY", {lid: ds}, xy_visualization([vis], "Documents",
                                                                preferred="bar_stacked")))
    p2 = "target-error-rate"
    lid = p2 + "-l0"
    ds, vis = split_layer(lid, error_rate_formula(lid + "-rate", "Error rate"), lid + "-rate",
                          "line", terms(addr, 10, {"fallback": False, "type": "alphabetical"}))
    rate = lens_panel(p2, "Error rate by target (documents with error.message)", (24, 0, 24, 15),
                      lens("lnsXY", {lid: ds}, xy_visualization([vis], "Error rate")))
    p3 = "target-duration"
    dur = xy_panel_percentiles(p3, (0, 15, 24, 15))
    return [docs, rate, dur, last_seen_panel("target-last-seen", (24, 15, 24, 15)),
            search_panel("target-errors", (0, 30, 48, 15))]


def xy_panel_percentiles(pid, grid):
    lid = pid + "-l0"
    cols = {lid + "-x": date_histogram()}
    for pct in (50, 95, 99):
        cols["%s-p%d" % (lid, pct)] = percentile("event.duration", pct, "p%d" % pct)
    acc = [c for c in cols if c != lid + "-x"]
    ds = {"columnOrder": list(cols), "columns": cols, "incompleteColumns": {}}
    vis = {"accessors": acc, "layerId": lid, "layerType": "data", "position": "top",
           "seriesType": "line", "showGridlines": False, "xAccessor": lid + "-x",
           "yConfig": []}
    return lens_panel(pid, "Scrape duration percentiles (event.duration)", grid,
                      lens("lnsXY", {lid: ds}, xy_visualization([vis], "Duration")))


def last_seen_panel(pid, grid):
    lid = pid + "-l0"
    seen = field_metric("max", "@timestamp", "Last seen", data_type="date")
    cols = {lid + "-target": terms("service.address", 100,
                                   {"columnId": lid + "-seen", "type": "column"}, "Target"),
            lid + "-seen": seen,
            lid + "-docs": count("Documents"),
            lid + "-errors": count("Errors", kql=ERROR_KQL),
            lid + "-duration": field_metric("average", "event.duration", "Avg scrape duration")}
    ds = {"columnOrder": list(cols), "columns": cols, "incompleteColumns": {}}
    vis = {"columns": [{"columnId": c, "isTransposed": False} for c in cols],
           "layerId": lid, "layerType": "data"}
    return lens_panel(pid, "Targets: last seen", grid, lens("lnsDatatable", {lid: ds}, vis))


ERRORS_SEARCH_ID = "expvarbeat-scrape-errors"


def search_panel(pid, grid):
    x, y, w, h = grid
    return {"embeddableConfig": {"enhancements": {}},
            "gridData": {"h": h, "i": pid, "w": w, "x": x, "y": y},
            "panelIndex": pid, "panelRefName": "panel_" + pid, "title": "Latest scrape errors",
            "type": "search", "version": CORE_MIGRATION}


def errors_search():
    source = {"filter": [], "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
              "query": {"language": "kuery", "query": ERROR_KQL}}
    attrs = {"columns": ["service.address", "event.dataset", "error.message"],
             "description": "Documents whose scrape failed, newest first.", "grid": {},
             "hideChart": False, "isTextBasedQuery": False,
             "kibanaSavedObjectMeta": {"searchSourceJSON": dumps(source)},
             "sort": [["@timestamp", "desc"]], "timeRestore": False,
             "title": "[expvarbeat] Scrape errors"}
    return envelope("search", ERRORS_SEARCH_ID, attrs,
                    [{"id": DATA_VIEW, "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                      "type": "index-pattern"}])


def self_panels():
    E = "golang.expvarbeat.expvarbeat."
    return [
        xy_panel("self-events", "Events per interval", (0, 0, 24, 15), [("line", [
            S("Published", "max", E + "events.published", "differences"),
            S("Acked", "max", E + "events.acked", "differences"),
            S("Dropped", "max", E + "events.dropped", "differences"),
            S("Retried", "max", E + "events.retried", "differences"),
        ])], "Events"),
        xy_panel("self-queue", "Queue depth", (24, 0, 24, 15), [("line", [
            S("Queue active (max)", "max", E + "queue.active"),
        ])], "Events in queue"),
        xy_panel("self-scrapes", "Scrapes skipped and delayed per interval", (0, 15, 48, 15),
                 [("line", [
                     S("expvar skipped", "max", E + "scrapes.expvar.skipped", "differences"),
                     S("expvar delayed", "max", E + "scrapes.expvar.delayed", "differences"),
                     S("heap skipped", "max", E + "scrapes.heap.skipped", "differences"),
                     S("heap delayed", "max", E + "scrapes.heap.delayed", "differences"),
                 ])], "Scrapes"),
    ]


# ---------------------------------------------------------------------------
# Saved objects


def envelope(type_, id_, attributes, references):
    return {"attributes": attributes, "coreMigrationVersion": CORE_MIGRATION, "id": id_,
            "managed": False, "references": references, "type": type_,
            "typeMigrationVersion": MIGRATION[type_]}


def data_view():
    fmt = {f: {"id": "bytes"} for f in BYTE_FIELDS}
    fmt["event.duration"] = DURATION_FORMAT
    attrs = {"allowNoIndex": True, "fieldAttrs": "{}",
             "fieldFormatMap": dumps(fmt), "fields": "[]",
             "name": "expvarbeat and metricbeat", "runtimeFieldMap": "{}",
             "sourceFilters": "[]", "timeFieldName": "@timestamp",
             "title": "expvarbeat-*,metricbeat-*", "typeMeta": "{}"}
    return envelope("index-pattern", DATA_VIEW, attrs, [])


def control_group(cid):
    panels = {cid: {"explicitInput": {"enhancements": {}, "fieldName": "service.address",
                                      "id": cid, "selectedOptions": [], "title": "Target"},
                    "grow": False, "order": 0, "type": "optionsListControl", "width": "medium"}}
    ignore = {"ignoreFilters": False, "ignoreQuery": False, "ignoreTimerange": False,
              "ignoreValidations": False}
    return {"chainingSystem": "HIERARCHICAL", "controlStyle": "oneLine",
            "ignoreParentSettingsJSON": dumps(ignore),
            "panelsJSON": dumps(panels)}


def phrase_filter(field, value):
    return {"$state": {"store": "appState"},
            "meta": {"alias": None, "disabled": False, "field": field,
                     "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index",
                     "key": field, "negate": False, "params": {"query": value}, "type": "phrase"},
            "query": {"match_phrase": {field: value}}}


def dashboard(id_, title, description, panels, control_id, filters=(), searches=()):
    refs = []
    if filters:
        refs.append({"id": DATA_VIEW, "type": "index-pattern",
                     "name": "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index"})
    for p in panels:
        if "panelRefName" in p:
            refs.append({"id": searches[p["panelRefName"]], "type": p["type"],
                         "name": "%s:%s" % (p["panelIndex"], p["panelRefName"])})
            continue
        for r in p["embeddableConfig"]["attributes"]["references"]:
            refs.append(dict(r, name="%s:%s" % (p["panelIndex"], r["name"])))
    refs.append({"id": DATA_VIEW, "type": "index-pattern",
                 "name": "controlGroup_%s:optionsListDataView" % control_id})
    source = {"filter": list(filters), "query": {"language": "kuery", "query": ""}}
    options = {"hidePanelTitles": False, "syncColors": False, "syncCursor": True,
               "syncTooltips": False, "useMargins": True}
    attrs = {"controlGroupInput": control_group(control_id), "description": description,
             "kibanaSavedObjectMeta": {"searchSourceJSON": dumps(source)},
             "optionsJSON": dumps(options),
             "panelsJSON": dumps(panels), "timeRestore": False,
             "title": title, "version": 1}
    return envelope("dashboard", id_, attrs, [dict(sorted(r.items())) for r in refs])


def bundle():
    """{file name: [objects]} in the order the binary embeds them."""
    return {
        "data-view.ndjson": [data_view()],
        "overview.ndjson": [dashboard(
            "expvarbeat-golang-overview", "[expvarbeat Golang] Overview",
            "Go heap, system memory, objects and GC of every scraped service: the series of "
            "Metricbeat's golang Overview dashboard, as Lens panels, plus GC pause "
            "percentiles and allocation/GC rates (heap.pause_percentiles, heap.rates).",
            overview_panels(), "overview-service-address")],
        "targets.ndjson": [errors_search(), dashboard(
            "expvarbeat-golang-targets", "[expvarbeat Golang] Targets",
            "Scrape health per target (service.address): documents, error rate, scrape "
            "durations, last document and the latest errors.",
            targets_panels(), "targets-service-address",
            filters=[phrase_filter("event.module", "golang")],
            searches={"panel_target-errors": ERRORS_SEARCH_ID})],
        "self.ndjson": [dashboard(
            "expvarbeat-self-monitoring", "[expvarbeat] Self-monitoring",
            "expvarbeat's own counters from its /debug/vars, as the default config scrapes "
            "them (expvar.namespace: expvarbeat).",
            self_panels(), "self-service-address")],
    }


def render(objects):
    return "".join(dumps(o) + "\n" for o in objects)


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, objects in bundle().items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(render(objects))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
