#!/bin/sh
# Kafka outage and catch-up: N real Go expvar targets scraped into
# librdkafka's mock cluster (tests/tools/kafka_mock, real protocol on
# loopback) whose brokers are all DOWN for the first OUTAGE seconds.  Prints
# peak RSS during the outage, documents held, and messages/s delivered once
# the brokers are back.
# Usage: bench/kafka_outage.sh [N=100] [OUTAGE=60] [PERIOD=1s] [QUEUE=20000] [COMPRESSION=gzip]
set -eu
cd "$(dirname "$0")/.."
n=${1:-100}
outage=${2:-60}
period=${3:-1s}
queue=${4:-20000}
codec=${5:-gzip}
work=$(mktemp -d)
pids=""
trap 'exec 3>&- 2>/dev/null; for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

[ -x build/tests/tools/kafka_mock ] || { cmake -S . -B build >/dev/null && cmake --build build -j >/dev/null; }
. bench/lib.sh
http_port=$(free_port)

mkfifo "$work/mock.in"
build/tests/tools/kafka_mock -t bench:6 < "$work/mock.in" > "$work/mock.out" 2>/dev/null &
pids="$pids $!"
exec 3> "$work/mock.in"
while ! grep -q '^bootstrap' "$work/mock.out"; do sleep 0.1; done
bootstrap=$(sed -n 's/^bootstrap //p' "$work/mock.out")
echo "down all" >&3

start_targets "$n"

{
    echo "metricbeat.max_start_delay: ${period}"
    echo "logging.level: error"
    echo "http: {enabled: true, host: 127.0.0.1, port: ${http_port}}"
    echo "queue.mem: {events: ${queue}, flush: {min_events: 1600, timeout: 1s}}"
    echo "output.kafka: {hosts: ['${bootstrap%%,*}'], topic: bench, compression: ${codec}, backoff: {max: 2s}}"
    modules_yaml "$period"
} > "$work/bench.yml"

build/expvarbeat -e -c "$work/bench.yml" --path.data "$work/data" 2> "$work/log" &
beat=$!
pids="$pids $beat"
stat() { curl -s "http://127.0.0.1:${http_port}/stats" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }

peak=$(peak_rss "$beat" "$outage")
held=$(stat "s['libbeat']['pipeline']['events']['active']")
echo "outage ${outage}s, $n targets x 2 metricsets, period $period, queue $queue, $codec:"
echo "  peak RSS during outage: $((peak / 1024)) MiB; documents held: $held"

echo "up all" >&3
start=$(date +%s.%N)
while [ "$(stat "s['libbeat']['output']['events']['acked']")" -lt "$held" ]; do sleep 0.02; done
end=$(date +%s.%N)
acked=$(stat "s['libbeat']['output']['events']['acked']")
python3 -c "print('  backlog delivered: %d messages in %.2fs after the brokers came back = %.0f msg/s (reconnect included)' % ($acked, $end - $start, $acked / ($end - $start)))"
echo "  dropped: $(stat "s['libbeat']['output']['events']['dropped']")"
kill -TERM "$beat"; wait "$beat" || true
