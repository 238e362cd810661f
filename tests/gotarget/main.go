// gotarget: a real Go service for expvarbeat's integration tests.
//
// It publishes its variables with the standard library's expvar package and
// serves them with expvar.Handler on /debug/vars, exactly like a production Go
// program.  It listens on the loopback address given by -addr (port 0 allowed)
// and prints "listening HOST:PORT" as its first stdout line so a test learns
// the port without racing.
//
// Vars (one of every expvar kind, plus the awkward values real services emit):
//
//	运行时间     expvar.Int, seconds since start (non-ASCII key)
//	requests     expvar.Int, +1 per /debug/vars request (so documents change)
//	temperature  expvar.Float, changes per request (17 significant digits)
//	whole        expvar.Float holding 20.0 (Go prints "20")
//	tiny         expvar.Float 1.5e-300
//	delta        expvar.Int -42
//	status       expvar.String with a quote, a backslash, a tab and é
//	stats        expvar.Map{cache: Map{hits, misses}, errors: Int, load: Float}
//	build        expvar.Func → struct with a nil pointer (JSON null), a slice
//	             holding a nil pointer (null inside an array), an int slice,
//	             a nested object with a nil pointer and a map with a Cyrillic key
//	big          expvar.Func → uint64(1<<63 + 12345), above INT64_MAX
//	goroutines   expvar.Func → runtime.NumGoroutine()
//
// -gc calls runtime.GC() before serving each /debug/vars request, so NumGC
// grows between scrapes.  Requests are served one at a time, and every body
// served is recorded: GET /served returns them as a JSON array of strings,
// in order, so a test can compare each document with the exact body that
// produced it.  Standard library only; builds offline with Go 1.19.
package main

import (
	"bytes"
	"encoding/json"
	"expvar"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"
)

type nested struct {
	Depth int      `json:"depth"`
	Ratio float64  `json:"ratio"`
	OK    bool     `json:"ok"`
	Nil   *float64 `json:"nil"`
}

type buildInfo struct {
	Version   string            `json:"version"`
	GoVersion string            `json:"go_version"`
	Pid       int               `json:"pid"`
	Owner     *string           `json:"owner"`
	Labels    map[string]string `json:"labels"`
	Ports     []int             `json:"ports"`
	Slots     []*int            `json:"slots"`
	Nested    nested            `json:"nested"`
}

// recorder keeps a copy of what the handler wrote.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

const maxServed = 10000

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	gc := flag.Bool("gc", false, "run runtime.GC() before every /debug/vars request")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("bad -addr %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("refusing to listen on non-loopback address %q", *addr)
	}

	start := time.Now()
	uptime := expvar.NewInt("运行时间")
	requests := expvar.NewInt("requests")
	temperature := expvar.NewFloat("temperature")
	temperature.Set(21.092765262963823)
	expvar.NewFloat("whole").Set(20.0)
	expvar.NewFloat("tiny").Set(1.5e-300)
	expvar.NewInt("delta").Set(-42)
	expvar.NewString("status").Set("ok \"quoted\" \\ tab\t é")

	stats := expvar.NewMap("stats")
	cache := new(expvar.Map).Init()
	hits, misses := new(expvar.Int), new(expvar.Int)
	cache.Set("hits", hits)
	cache.Set("misses", misses)
	stats.Set("cache", cache)
	stats.Set("errors", new(expvar.Int))
	load := new(expvar.Float)
	load.Set(0.5)
	stats.Set("load", load)

	seven := 7
	expvar.Publish("build", expvar.Func(func() interface{} {
		return buildInfo{
			Version:   "1.2.3",
			GoVersion: runtime.Version(),
			Pid:       os.Getpid(),
			Owner:     nil,
			Labels:    map[string]string{"env": "test", "ключ": "значение"},
			Ports:     []int{18080, 18081},
			Slots:     []*int{nil, &seven},
			Nested:    nested{Depth: 3, Ratio: 0.25, OK: true},
		}
	}))
	expvar.Publish("big", expvar.Func(func() interface{} { return uint64(1<<63 + 12345) }))
	expvar.Publish("goroutines", expvar.Func(func() interface{} { return runtime.NumGoroutine() }))

	go func() {
		for range time.Tick(time.Second) {
			uptime.Set(int64(time.Since(start) / time.Second))
		}
	}()

	var mu sync.Mutex
	var served []string
	vars := expvar.Handler()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/vars", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests.Add(1)
		n := requests.Value()
		temperature.Set(20 + float64(n)/3)
		hits.Add(3)
		misses.Add(1)
		if *gc {
			runtime.GC()
		}
		rec := &recorder{ResponseWriter: w}
		vars.ServeHTTP(rec, r)
		if len(served) < maxServed {
			served = append(served, rec.body.String())
		}
	})
	mux.HandleFunc("/served", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		out, err := json.Marshal(served)
		mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen %s: %v", *addr, err)
	}
	fmt.Printf("listening %s\n", ln.Addr().String())
	log.Fatal(http.Serve(ln, mux))
}
