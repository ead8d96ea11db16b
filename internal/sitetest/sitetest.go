// Package sitetest serves a generated web site for crawl tests: pages that
// link to each other in a known graph, over HTTPS (HTTP/2 and HTTP/1.1)
// on loopback, counting every fetch.
package sitetest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/tlstest"
)

// Site is a generated site of N pages, /p/0 to /p/N-1. Page i links to
// pages 2i+1 and 2i+2 (a binary tree, so page depth is known) and back to
// page 0. Extra handlers can be added with Handle before the first
// request.
type Site struct {
	*tlstest.HTTPServer
	CA *tlstest.CA
	N  int

	mux       *http.ServeMux
	pageDelay time.Duration

	// mu guards the fields below.
	mu          sync.Mutex
	hits        map[string]int
	inFlight    int         // pages being served
	maxInFlight int         // the most pages ever served at once
	starts      []time.Time // when each page request arrived, in order
}

// Options configure a Site.
type Options struct {
	// H1Only serves HTTP/1.1 only.
	H1Only bool
	// Robots is served as /robots.txt; empty means 404, unless a handler
	// for it is added with Handle.
	Robots string
	// TieTicketsToIP makes the server refuse any session ticket presented
	// from another IP than the one it was issued to, and count such
	// tickets; Site's Crossed method, from the embedded tlstest server,
	// returns the count.
	TieTicketsToIP bool
	// PageDelay is how long each page takes to serve, so that fetches
	// overlap and the site can tell how many were in flight at once.
	PageDelay time.Duration
}

// New starts a site of n pages; t.Cleanup stops it.
func New(t testing.TB, n int, opts *Options) *Site {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	s := &Site{CA: tlstest.NewCA(t), N: n, mux: http.NewServeMux(), hits: map[string]int{},
		pageDelay: opts.PageDelay}
	s.mux.HandleFunc("/p/", s.page)
	if opts.Robots != "" {
		s.mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(opts.Robots))
		})
	}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.RequestURI()]++
		s.mu.Unlock()
		s.mux.ServeHTTP(w, r)
	})
	s.HTTPServer = tlstest.NewHTTPServer(t, s.CA, counted, &tlstest.HTTPOptions{
		H1Only:         opts.H1Only,
		TieTicketsToIP: opts.TieTicketsToIP,
	})
	return s
}

// Handle adds a handler for a path pattern.
func (s *Site) Handle(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// PageURL returns the URL of page i.
func (s *Site) PageURL(i int) string { return fmt.Sprintf("%s/p/%d", s.URL, i) }

// Depth returns the link depth of page i from page 0.
func Depth(i int) int {
	d := 0
	for i > 0 {
		i = (i - 1) / 2
		d++
	}
	return d
}

func (s *Site) page(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.starts = append(s.starts, time.Now())
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if s.pageDelay > 0 {
		select {
		case <-time.After(s.pageDelay):
		case <-r.Context().Done():
			return
		}
	}
	i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
	if err != nil || i < 0 || i >= s.N {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><html><head><title>page %d</title></head><body><h1>Page %d</h1>\n", i, i)
	for _, j := range []int{2*i + 1, 2*i + 2} {
		if j < s.N {
			fmt.Fprintf(w, "<a href=\"/p/%d\">page %d</a>\n", j, j)
		}
	}
	fmt.Fprintf(w, "<a href=\"/p/0#top\">home</a> <a href=\"mailto:x@example.com\">mail</a></body></html>\n")
}

// Hits returns how often each request URI was fetched.
func (s *Site) Hits() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.hits))
	for k, v := range s.hits {
		out[k] = v
	}
	return out
}

// MaxInFlight returns the most page requests the site was serving at once.
func (s *Site) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// Starts returns when each page request arrived, in arrival order.
func (s *Site) Starts() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.starts)
}
