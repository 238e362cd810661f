#!/bin/sh
# Bounded fuzzing: builds the libFuzzer harnesses with clang (ASan + UBSan)
# in build-fuzz/, seeds each corpus from tests/data, runs each harness for
# EXPVARBEAT_FUZZ_SECONDS (default 60) and prints its executions.  Exits
# non-zero on the first crash, leak, UB report or timeout; the input is left
# in build-fuzz/artifacts/.  Usage: fuzz/run.sh [HARNESS...]
set -eu
cd "$(dirname "$0")/.."
src=$PWD
out=$src/build-fuzz
secs=${EXPVARBEAT_FUZZ_SECONDS:-60}
jobs=$(nproc 2>/dev/null || echo 2)

# Warnings are the gcc -Werror build's job; clang's differ (-Wformat=2).
CC=clang cmake -S . -B "$out" -DEXPVARBEAT_FUZZ=ON -DEXPVARBEAT_TESTS=OFF \
    -DEXPVARBEAT_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out" -j"$jobs" --target fuzz_decode fuzz_config fuzz_es_bulk fuzz_url >/dev/null

# Seeds: real captures and golden inputs, every config fixture, every canned
# bulk response (prefixed with its item count, the harness's first byte).
seed() {
    corpus=$out/corpus/$1
    mkdir -p "$corpus"
    echo "$corpus"
}
c=$(seed fuzz_decode)
for f in tests/data/*.json tests/data/*.txt tests/data/golden/*input*.json; do
    [ -f "$f" ] && cp "$f" "$c/seed-$(basename "$f")"
done
c=$(seed fuzz_config)
find tests/data/config -name '*.yml' | while read -r f; do
    cp "$f" "$c/seed-$(echo "$f" | tr / _)"
done
c=$(seed fuzz_es_bulk)
for f in tests/data/es/*.json tests/data/es/*.html; do
    [ -f "$f" ] || continue
    n=$(grep -o '"status"' "$f" | wc -l)
    [ "$n" -gt 0 ] || n=1
    { printf "\\$(printf %03o "$n")"; cat "$f"; } >"$c/seed-$(basename "$f")"
done

c=$(seed fuzz_url)
n=0
grep -h -o -E '(https?|http\+unix)://[^" ]*|"[a-z0-9.:]*:[0-9]+"' tests/data/config/*.yml tests/data/config/*/*.yml \
    | tr -d '"' | sort -u | while read -r h; do
    n=$((n + 1))
    printf '%s\n/basepath\n/debug/vars\nq=1\n' "$h" >"$c/seed-$n"
done
printf 'http://user:pass@127.0.0.1:6060\n\n/debug/vars\n' >"$c/seed-userinfo"
printf 'http+unix:///run/app.sock\n\n/debug/vars\n' >"$c/seed-unix"

mkdir -p "$out/artifacts"
harnesses=${*:-fuzz_decode fuzz_config fuzz_es_bulk fuzz_url}
for h in $harnesses; do
    regress=tests/data/fuzz/$h
    [ -d "$regress" ] || regress=
    log=$out/$h.log
    dict=$src/fuzz/json.dict
    [ "$h" = fuzz_config ] && dict=$src/fuzz/config.dict
    [ "$h" = fuzz_url ] && dict=$src/fuzz/url.dict
    # Seeds and earlier crashes must still pass before new inputs are tried.
    if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$out/fuzz/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -dict="$dict" -artifact_prefix="$out/artifacts/$h-" \
        "$out/corpus/$h" $regress >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $h FAILED (log: $log, input: $out/artifacts/$h-*)"
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    echo "fuzz: $h ${secs}s ${execs:-?} executions, $cov, corpus $(ls "$out/corpus/$h" | wc -l) files"
done
