package transport_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"golang.org/x/net/http2"

	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

// BenchmarkHandshake compares, on new connections to a local HTTP/1.1
// server, a full handshake, a resumed one and a request on a pooled
// connection, for revisit's transport and for net/http with crypto/tls
// doing the same requests. Each op is one GET; "new connection" ops ask
// the server to close afterwards. The server runs in the same process, so
// ns/op includes its CPU; B/op-received is what the client read off the
// wire. resumed/op reports the share of handshakes that resumed.
func BenchmarkHandshake(b *testing.B) {
	ca := tlstest.NewCA(b)
	srv := tlstest.NewHTTPServer(b, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), &tlstest.HTTPOptions{H1Only: true})

	revisit := func(b *testing.B, firstVisit bool) http.RoundTripper {
		st, err := ticketstore.Open(filepath.Join(b.TempDir(), "t.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		tr, err := transport.New(transport.Config{RootCAs: ca.Pool, Tickets: st, FirstVisit: firstVisit})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tr.Close() })
		return tr
	}
	std := func(b *testing.B, tickets bool) http.RoundTripper {
		cfg := &tls.Config{RootCAs: ca.Pool}
		if tickets {
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(64)
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		b.Cleanup(tr.CloseIdleConnections)
		return tr
	}

	cases := []struct {
		name    string
		rt      func(*testing.B) http.RoundTripper
		newConn bool
	}{
		{"revisit/full", func(b *testing.B) http.RoundTripper { return revisit(b, true) }, true},
		{"revisit/resumed", func(b *testing.B) http.RoundTripper { return revisit(b, false) }, true},
		{"revisit/pooled", func(b *testing.B) http.RoundTripper { return revisit(b, false) }, false},
		{"nethttp/full", func(b *testing.B) http.RoundTripper { return std(b, false) }, true},
		{"nethttp/resumed", func(b *testing.B) http.RoundTripper { return std(b, true) }, true},
		{"nethttp/pooled", func(b *testing.B) http.RoundTripper { return std(b, true) }, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			rt := tc.rt(b)
			do := func() {
				req, _ := http.NewRequest("GET", srv.URL+"/", nil)
				req.Close = tc.newConn
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			do() // warm up: the first connection leaves a ticket
			hellos := len(srv.Hellos())
			sent := srv.BytesSent()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				do()
			}
			b.StopTimer()
			b.ReportMetric(float64(srv.BytesSent()-sent)/float64(b.N), "B/op-received")
			resumed, n := 0, 0
			for _, h := range srv.Hellos()[hellos:] {
				n++
				if h.Resumed {
					resumed++
				}
			}
			if n > 0 {
				b.ReportMetric(float64(resumed)/float64(n), "resumed/op")
			}
		})
	}
}

// BenchmarkH2 measures revisit's HTTP/2 client connection against x/net's
// http2.Transport (over crypto/tls) on one pooled connection to the same
// local Go server, both sending Chrome's navigation headers: small GETs
// issued from parallel goroutines, and a 4 MiB download, which exercises
// receive flow control. The server runs in the process: its CPU and
// allocations are in the figures, the same for both.
func BenchmarkH2(b *testing.B) {
	ca := tlstest.NewCA(b)
	big := make([]byte, 4<<20)
	srv := tlstest.NewHTTPServer(b, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(big)
			return
		}
		io.WriteString(w, "ok")
	}), nil)
	clients := []struct {
		name string
		rt   func(b *testing.B) http.RoundTripper
	}{
		{"revisit", func(b *testing.B) http.RoundTripper {
			tr, err := transport.New(transport.Config{RootCAs: ca.Pool})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { tr.Close() })
			return tr
		}},
		{"xnet", func(b *testing.B) http.RoundTripper {
			tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}
			b.Cleanup(tr.CloseIdleConnections)
			return tr
		}},
	}
	// x/net gets the same headers revisit adds, so that the server does
	// the same work for both.
	chrome := http.Header{}
	for _, kv := range transport.Default().Headers() {
		if kv[1] != "" {
			chrome.Set(kv[0], kv[1])
		}
	}
	get := func(b *testing.B, rt http.RoundTripper, path string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if _, ok := rt.(*http2.Transport); ok {
			req.Header = chrome.Clone()
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, c := range clients {
		b.Run("small/"+c.name, func(b *testing.B) {
			rt := c.rt(b)
			get(b, rt, "/")
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					get(b, rt, "/")
				}
			})
		})
		b.Run("4MiB/"+c.name, func(b *testing.B) {
			rt := c.rt(b)
			get(b, rt, "/")
			b.ReportAllocs()
			b.SetBytes(int64(len(big)))
			b.ResetTimer()
			for b.Loop() {
				get(b, rt, "/big")
			}
		})
	}
}
