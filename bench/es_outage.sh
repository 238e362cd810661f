#!/bin/sh
# Elasticsearch outage and catch-up: N real Go expvar targets scraped into
# the fake Elasticsearch (tests/integration/esserver.py), which is DOWN for
# the first OUTAGE seconds.  Prints expvarbeat's peak RSS during the outage,
# how many documents it held, and how fast it delivered the backlog once
# Elasticsearch came up (docs/s through the output; the Python server is
# the slower side, so this is a lower bound).
# Usage: bench/es_outage.sh [N=100] [OUTAGE=60] [PERIOD=10s] [QUEUE=3200]
set -eu
cd "$(dirname "$0")/.."
n=${1:-100}
outage=${2:-60}
period=${3:-10s}
queue=${4:-3200}
work=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

[ -x build/expvarbeat ] || { cmake -S . -B build >/dev/null && cmake --build build -j >/dev/null; }
. bench/lib.sh
es_port=$(free_port)
http_port=$(free_port)
start_targets "$n"

{
    echo "metricbeat.max_start_delay: ${period}"
    echo "logging.level: warning"
    echo "http: {enabled: true, host: 127.0.0.1, port: ${http_port}}"
    echo "queue.mem: {events: ${queue}, flush: {min_events: 1600, timeout: 1s}}"
    echo "output.elasticsearch: {hosts: ['http://127.0.0.1:${es_port}'], backoff: {max: 2s}}"
    modules_yaml "$period"
} > "$work/bench.yml"

build/expvarbeat -e -c "$work/bench.yml" --path.data "$work/data" 2> "$work/log" &
beat=$!
pids="$pids $beat"
stat() { curl -s "http://127.0.0.1:${http_port}/stats" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }

peak=$(peak_rss "$beat" "$outage")
held=$(stat "s['libbeat']['pipeline']['events']['active']")
delayed=$(stat "s['metricbeat']['golang']['expvar']['delayed'] + s['metricbeat']['golang']['heap']['delayed']")
echo "outage ${outage}s, $n targets x 2 metricsets, period $period, queue $queue:"
echo "  peak RSS during outage: $((peak / 1024)) MiB; documents held: $held; scrape turns delayed: $delayed"

python3 tests/integration/esserver.py --port "$es_port" --no-record --no-sources > "$work/es.out" &
pids="$pids $!"
start=$(date +%s.%N)
while [ "$(stat "s['libbeat']['output']['events']['acked']")" -lt "$held" ]; do sleep 0.05; done
end=$(date +%s.%N)
acked=$(stat "s['libbeat']['output']['events']['acked']")
python3 -c "print('  backlog delivered: %d docs in %.2fs = %.0f docs/s' % ($acked, $end - $start, $acked / ($end - $start)))"
dropped=$(stat "s['libbeat']['output']['events']['dropped']")
echo "  dropped: $dropped"
kill -TERM "$beat"; wait "$beat" || true
