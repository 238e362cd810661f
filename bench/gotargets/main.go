// gotargets: many real expvar endpoints from one Go process, for benchmarks.
// Every listener serves the standard library's expvar.Handler, so each
// answer is exactly what a Go service sends (runtime memstats, cmdline and a
// few custom vars that change between scrapes).
// Usage: gotargets -n 100 > addrs.txt   (one "127.0.0.1:PORT" per line)
package main

import (
	"expvar"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 100, "number of listeners")
	flag.Parse()

	requests := expvar.NewInt("requests")
	start := time.Now()
	expvar.Publish("uptime_seconds", expvar.Func(func() interface{} { return time.Since(start).Seconds() }))
	stats := expvar.NewMap("stats")
	stats.Add("hits", 0)
	stats.AddFloat("load", 0.5)

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		stats.Add("hits", 1)
		expvar.Handler().ServeHTTP(w, r)
	})
	for i := 0; i < *n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			os.Exit(1)
		}
		fmt.Println(ln.Addr().String())
		go http.Serve(ln, handler)
	}
	os.Stdout.Sync()
	select {}
}
