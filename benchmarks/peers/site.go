package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/revisit-crawl/revisit/benchmarks/internal/chain"
)

// statsPath answers the driver with the site's counters; no page links to
// it, so crawlers never see it.
const statsPath = "/_bench/stats"

// robotsTxt allows every path to every agent.
const robotsTxt = "# Every path may be crawled.\nUser-agent: *\nDisallow:\n"

// siteStats is what the site saw since its counters were last reset.
type siteStats struct {
	Requests int64 `json:"requests"`
	Pages    int64 `json:"pages"`
	Distinct int64 `json:"distinct"`
	Robots   int64 `json:"robots"`
	NotFound int64 `json:"not_found"`
	HTTP2    int64 `json:"http2"`
	HTTP1    int64 `json:"http1"`
	Bytes    int64 `json:"bytes"`
	// Conns counts the connections that carried these requests.
	Conns int64 `json:"conns"`
}

// connKey is the context key of a connection's used flag.
type connKey struct{}

// site serves the generated pages and counts what it serves. It is safe
// for concurrent use.
type site struct {
	pages *pageSet

	requests, pagesServed, robots, notFound atomic.Int64
	http2, http1, bytes, conns              atomic.Int64
	// hits counts the responses of each page, to tell distinct pages from
	// fetches made twice.
	hits []atomic.Int32
}

func newSite(pages *pageSet) *site {
	return &site{pages: pages, hits: make([]atomic.Int32, pages.len())}
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == statsPath {
		s.serveStats(w, r)
		return
	}
	s.requests.Add(1)
	if used, ok := r.Context().Value(connKey{}).(*atomic.Bool); ok && !used.Swap(true) {
		s.conns.Add(1)
	}
	if r.ProtoMajor == 2 {
		s.http2.Add(1)
	} else {
		s.http1.Add(1)
	}
	if r.URL.Path == "/robots.txt" {
		s.robots.Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		s.write(w, []byte(robotsTxt))
		return
	}
	i, ok := s.pages.lookup(r.URL.Path)
	if !ok {
		s.notFound.Add(1)
		http.NotFound(w, r)
		return
	}
	s.pagesServed.Add(1)
	s.hits[i].Add(1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	s.write(w, s.pages.body(i))
}

func (s *site) write(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	n, _ := w.Write(body)
	s.bytes.Add(int64(n))
}

// serveStats returns the counters as JSON; with ?reset=1 it zeroes them
// after reading, so that each crawl is counted on its own.
func (s *site) serveStats(w http.ResponseWriter, r *http.Request) {
	st := siteStats{
		Requests: s.requests.Load(), Pages: s.pagesServed.Load(), Robots: s.robots.Load(),
		NotFound: s.notFound.Load(), HTTP2: s.http2.Load(), HTTP1: s.http1.Load(),
		Bytes: s.bytes.Load(), Conns: s.conns.Load(),
	}
	for i := range s.hits {
		if s.hits[i].Load() > 0 {
			st.Distinct++
		}
	}
	if r.URL.Query().Get("reset") == "1" {
		s.reset()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}

func (s *site) reset() {
	for _, c := range []*atomic.Int64{&s.requests, &s.pagesServed, &s.robots, &s.notFound,
		&s.http2, &s.http1, &s.bytes, &s.conns} {
		c.Store(0)
	}
	for i := range s.hits {
		s.hits[i].Store(0)
	}
}

// runSite is the site mode: it generates the pages, serves them over
// HTTPS until interrupted, and prints its root URL once it listens.
func runSite(args []string) error {
	fs := flag.NewFlagSet("site", flag.ExitOnError)
	n := fs.Int("pages", 10000, "pages on the site")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	caFile := fs.String("ca", "", "write the root certificate (PEM) to this file")
	fs.Parse(args)
	if *n < 20 {
		return fmt.Errorf("site: -pages %d: want at least 20", *n)
	}

	c, err := chain.New()
	if err != nil {
		return err
	}
	if *caFile != "" {
		if err := os.WriteFile(*caFile, c.RootPEM, 0o644); err != nil {
			return err
		}
	}
	pages := generate(*n)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newSite(pages),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{c.Cert}},
		ReadHeaderTimeout: 10 * time.Second,
		Protocols:         new(http.Protocols),
		// Each connection gets a flag, so that the first request on it
		// counts it; the driver's own connection carries no counted request.
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, new(atomic.Bool))
		},
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	fmt.Printf("https://%s\n", ln.Addr())
	fmt.Fprintf(os.Stderr, "site: %d pages, %.1f MB of HTML, %d links, at https://%s\n",
		pages.len(), float64(pages.size)/1e6, pages.links, ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ServeTLS(ln, "", ""); err != http.ErrServerClosed {
		return err
	}
	return nil
}
