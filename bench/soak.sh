#!/bin/sh
# Soak: expvarbeat under AddressSanitizer (leak checking on) scraping N real
# Go expvar endpoints (bench/gotargets) plus a few that refuse connections,
# both metricsets, for S seconds; documents go to rotating files.  Every
# 10 s: VmRSS, malloc's bytes in use and the events queued; the growth after
# the warm-up (the first 60 s, or a fifth of the run if shorter) is printed.
# At the end the daemon gets SIGTERM and must exit 0 with no ASan/LSan report.
# Usage: bench/soak.sh [N=200] [SECONDS=300] [PERIOD=1s]
#   SOAK_SANITIZE=0  use a plain build (build-soak-plain): RSS without the
#                    ASan allocator's quarantine, no leak check
set -eu
cd "$(dirname "$0")/.."
n=${1:-200}
secs=${2:-300}
period=${3:-1s}
bad=5 # targets that refuse connections: error documents and log lines
work=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM # dash runs the EXIT trap only on exit, not on a signal

if [ "${SOAK_SANITIZE:-1}" = 1 ]; then
    build=build-soak-asan
    cmake -S . -B "$build" -DEXPVARBEAT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DEXPVARBEAT_TESTS=OFF >/dev/null
else
    build=build-soak-plain
    cmake -S . -B "$build" -DEXPVARBEAT_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target expvarbeat >/dev/null

. bench/lib.sh
start_targets "$n"
i=0
while [ "$i" -lt "$bad" ]; do
    # a port nobody listens on, below the ephemeral range (no other
    # program on the machine is handed it meanwhile)
    echo "127.0.0.1:$((20000 + i))" >> "$work/addrs"
    i=$((i + 1))
done

# Go's MemStats rings (PauseNs, PauseEnd: 256 entries) fill one entry per
# GC, so a fresh target's body grows from ~3.9 KB to ~11 KB over its first
# 256 GCs, and the queued documents with it: that is data growing, not the
# daemon.  Fill the rings first (the listeners share one Go heap), so the RSS
# measured below is the daemon's own.  SOAK_PREFILL=0 skips this.
if [ "${SOAK_PREFILL:-1}" = 1 ]; then
    python3 - "$work/addrs" <<'PY'
import json, sys, time, urllib.request
addr = open(sys.argv[1]).readline().strip()
deadline = time.time() + 600
while time.time() < deadline:
    for _ in range(200):
        body = urllib.request.urlopen("http://%s/debug/vars" % addr).read()
    gcs = json.loads(body)["memstats"]["NumGC"]
    if gcs >= 300:
        print("soak: Go targets' GC rings full (NumGC %d, body %d bytes)" % (gcs, len(body)))
        break
PY
fi

port=$(free_port)
{
    echo "metricbeat.max_start_delay: 0s"
    echo "http: {enabled: true, host: 127.0.0.1, port: $port}"
    echo "logging.level: info"
    echo "output.file: {path: \"$work/out\", filename: out, rotate_every_kb: 10240, number_of_files: 2}"
    modules_yaml "$period"
} > "$work/soak.yml"
chmod 600 "$work/soak.yml"

echo "soak: $n targets (+$bad refusing) x 2 metricsets, period $period, ${secs}s, $build"
# A small quarantine: ASan's default (256 MiB of freed blocks kept resident)
# would be all the RSS growth there is to see.
ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/expvarbeat" -e -c "$work/soak.yml" --path.data "$work/data" 2> "$work/log" &
beat=$!
pids="$pids $beat"

warm=60
[ "$warm" -gt $((secs / 5)) ] && warm=$((secs / 5))
t=0
base=""
# Beside RSS: malloc's bytes in use (/debug/vars memstats.HeapAlloc, from
# mallinfo2) and the events waiting in the queue (/stats), which tell a
# leak from a queue that is fuller at one sample than at another.
inside() {
    python3 - "$port" <<'PY'
import json, sys, urllib.request
o = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def get(p):
    with o.open("http://127.0.0.1:%s%s" % (sys.argv[1], p), timeout=5) as r:
        return json.load(r)
try:
    heap = get("/debug/vars")["memstats"]["HeapAlloc"] // 1024 or "-"  # ASan: no mallinfo
    q = get("/stats")["libbeat"]["pipeline"]["events"]["active"]
    print(heap, q)
except Exception:
    print("? ?")
PY
}
echo "t(s)  VmRSS(KiB)  HeapAlloc(KiB)  queued"
while [ "$t" -le "$secs" ]; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$beat/status")
    set -- $(inside)
    echo "$t  $rss  $1  $2"
    [ "$t" -ge "$warm" ] && [ -z "$base" ] && base=$rss && base_t=$t && hbase=$1
    last=$rss
    hlast=$1
    [ "$t" -ge "$secs" ] && break
    sleep 10 # the sampling interval of the measurement
    t=$((t + 10))
done

kill -TERM "$beat"
rc=0
wait "$beat" || rc=$?
pids=${pids% "$beat"}
reports=$(grep -c -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$work/log" || true)
lines=$(wc -l < "$work/log")
errors=$(grep -c 'Error fetching data' "$work/log" || true)
echo "exit status: $rc; sanitizer reports: $reports; log lines: $lines ($errors failed-scrape lines)"
tail -n 3 "$work/log"
growth=$((last - base))
echo "RSS after warm-up (${base_t}s): ${base} KiB; at end: ${last} KiB; growth: ${growth} KiB" \
    "($(awk "BEGIN {printf \"%.1f\", $growth * 100 / $base}")%)"
[ "$hbase" = - ] || echo "malloc in use after warm-up: ${hbase} KiB; at end: ${hlast} KiB"
if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ]; then
    grep -E -A 30 'AddressSanitizer|LeakSanitizer|runtime error:' "$work/log" | head -n 60
    echo "soak: FAILED"
    exit 1
fi
echo "soak: no leak reported"
