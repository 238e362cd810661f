# Shared by the bench scripts (sourced, not run).  Expects $work (a temp
# dir) and $pids (background processes to kill on exit) in the caller.

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Builds and starts bench/gotargets with $1 real expvar listeners; their
# addresses end up in $work/addrs.
start_targets() {
    GOPROXY=off GO111MODULE=off GOCACHE="$work/gocache" go build -o "$work/gotargets" \
        bench/gotargets/main.go
    : > "$work/addrs"
    "$work/gotargets" -n "$1" >> "$work/addrs" &
    pids="$pids $!"
    # waiting for a child to print its ports, not for the system under test
    while [ "$(wc -l < "$work/addrs")" -lt "$1" ]; do sleep 0.1; done
}

# The golang module over every address in $work/addrs, period $1.
modules_yaml() {
    echo "metricbeat.modules:"
    echo "  - module: golang"
    echo "    metricsets: [expvar, heap]"
    echo "    period: $1"
    echo "    expvar.namespace: bench"
    echo "    hosts:"
    sed 's/^/      - /' "$work/addrs"
}

# Peak VmRSS (KiB) of process $1 sampled once a second for $2 seconds.
peak_rss() {
    peak=0
    i=0
    while [ "$i" -lt "$2" ]; do
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$1/status")
        [ "$rss" -gt "$peak" ] && peak=$rss
        sleep 1 # the sampling interval of the measurement
        i=$((i + 1))
    done
    echo "$peak"
}
