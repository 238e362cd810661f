#!/bin/sh
# The benchmark suite in one command: installs what it compares against
# (scripts/install-deps --bench), builds the daemon and the benchmarks in
# Release into build-bench/, runs everything on loopback and prints one
# table.  A full run (no options) writes bench/RESULTS.md and takes about
# 8 minutes; --quick is a 2-minute smoke run written to build-bench/.
# Usage: bench/run.sh [--quick] [--only decode,outputs,compare,scale]
#                     [--seconds N] [--scale 1000,10000] [--out FILE]
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps --bench
build=${EXPVARBEAT_BENCH_BUILD:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DEXPVARBEAT_WERROR=OFF > /dev/null
cmake --build "$build" -j"$(nproc)" --target expvarbeat benchmarks kafka_mock > /dev/null
EXPVARBEAT_BENCH_BUILD="$(pwd)/$build" exec python3 bench/bench.py "$@"
