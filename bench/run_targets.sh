#!/bin/sh
# Resource use of expvarbeat scraping N real Go expvar endpoints on loopback
# for S seconds with both metricsets, documents written to the console
# (discarded).  Prints /usr/bin/time -v's CPU and peak RSS lines.
# Usage: bench/run_targets.sh [N=100] [SECONDS=60] [PERIOD=10s]
set -eu
cd "$(dirname "$0")/.."
n=${1:-100}
secs=${2:-60}
period=${3:-10s}
work=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

[ -x build/expvarbeat ] || { cmake -S . -B build >/dev/null && cmake --build build -j >/dev/null; }
. bench/lib.sh
start_targets "$n"

{
    echo "metricbeat.max_start_delay: ${period}"
    echo "logging.level: warning"
    echo "output.console: {}"
    modules_yaml "$period"
} > "$work/bench.yml"

echo "expvarbeat: $n targets x 2 metricsets, period $period, ${secs}s"
/usr/bin/time -v -o "$work/time" timeout -s TERM "$secs" build/expvarbeat -e -c "$work/bench.yml" \
    > "$work/docs.ndjson" 2> "$work/log" || true
[ -s "$work/log" ] && tail -5 "$work/log" >&2
docs=$(wc -l < "$work/docs.ndjson")
errors=$(grep -c '"error":' "$work/docs.ndjson" || true)
echo "documents: $docs (error documents: $errors)"
grep -E 'User time|System time|Percent of CPU|Maximum resident' "$work/time"
