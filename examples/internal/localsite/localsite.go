// Package localsite serves a small web site over HTTPS on 127.0.0.1 for
// the examples, so that each runs offline: a throwaway certificate
// authority, pages that link to each other, and a catalogue of quotes to
// scrape.
package localsite

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"html"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Site is a running local site.
type Site struct {
	// URL is the site's root, https://localhost:PORT.
	URL string
	// RootCAs trusts the site's certificate.
	RootCAs *x509.CertPool

	srv *http.Server
	tls *tls.Config

	// mu guards seen and byConn.
	mu   sync.Mutex
	seen []Visit
	// byConn maps a connection whose handshake outcome is not yet known
	// to its entry in seen.
	byConn map[net.Conn]int
}

// Visit is what the server saw of one TLS handshake.
type Visit struct {
	// Offered41 reports a ClientHello carrying pre_shared_key.
	Offered41 bool
	// Last41 reports that it was the ClientHello's last extension.
	Last41 bool
	// Resumed reports that the server resumed the session.
	Resumed bool
}

// Options shape a Site.
type Options struct {
	// Pages is the number of linked pages, /p/0 to /p/Pages-1; page i
	// links to 2i+1 and 2i+2. Zero means 100.
	Pages int
	// Quotes is the number of quote pages, /quotes/1 and on, each with
	// ten quotes and a link to the next. Zero means 5.
	Quotes int
	// Latency is added to every response, to make crawls take a while.
	Latency time.Duration
	// Addr is the address to listen on. Empty means 127.0.0.1 and a free
	// port.
	Addr string
}

// Start starts a site.
func Start(opts Options) (*Site, error) {
	if opts.Pages <= 0 {
		opts.Pages = 100
	}
	if opts.Quotes <= 0 {
		opts.Quotes = 5
	}
	cert, roots, err := selfSigned()
	if err != nil {
		return nil, err
	}
	s := &Site{RootCAs: roots, byConn: map[net.Conn]int{}}
	s.tls = &tls.Config{
		Certificates: []tls.Certificate{cert},
		// The ClientHello's extensions are seen here; whether the
		// handshake resumed is known once it is done.
		GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			v := Visit{}
			for i, e := range hi.Extensions {
				if e == 41 {
					v.Offered41, v.Last41 = true, i == len(hi.Extensions)-1
				}
			}
			s.mu.Lock()
			s.byConn[hi.Conn] = len(s.seen)
			s.seen = append(s.seen, v)
			s.mu.Unlock()
			return nil, nil
		},
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.home)
	mux.HandleFunc("/p/", pages(opts.Pages))
	mux.HandleFunc("/quotes/", quotes(opts.Quotes))
	s.srv = &http.Server{
		Handler:           withLatency(mux, opts.Latency),
		TLSConfig:         s.tls,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.connState,
	}
	go s.srv.ServeTLS(ln, "", "")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s.URL = "https://localhost:" + port
	return s, nil
}

// connState notes, when a connection's first request arrives, whether its
// handshake resumed.
func (s *Site) connState(c net.Conn, st http.ConnState) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byConn[tc.NetConn()]
	if !ok {
		return
	}
	switch st {
	case http.StateActive:
		s.seen[i].Resumed = tc.ConnectionState().DidResume
		delete(s.byConn, tc.NetConn())
	case http.StateClosed, http.StateHijacked:
		delete(s.byConn, tc.NetConn())
	}
}

// Visits returns what the server saw of each handshake so far.
func (s *Site) Visits() []Visit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Visit(nil), s.seen...)
}

// Close stops the site.
func (s *Site) Close() error { return s.srv.Close() }

func withLatency(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><html><head><title>revisit local site</title></head><body>
<h1>revisit local site</h1><a href="/p/0">pages</a> <a href="/quotes/1">quotes</a></body></html>`)
}

func pages(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || i < 0 || i >= n {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>Page %d</title></head><body><h1>Page %d</h1>", i, i)
		for _, j := range []int{2*i + 1, 2*i + 2} {
			if j < n {
				fmt.Fprintf(w, `<a href="/p/%d">page %d</a> `, j, j)
			}
		}
		fmt.Fprint(w, "</body></html>")
	}
}

var authors = []string{"Ada Lovelace", "Grace Hopper", "Alan Kay", "Barbara Liskov", "Ken Thompson"}
var tags = []string{"computing", "design", "history", "languages", "systems", "teaching"}

func quotes(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/quotes/"))
		if err != nil || page < 1 || page > n {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>Quotes, page %d</title></head><body>", page)
		for q := range 10 {
			id := (page-1)*10 + q
			fmt.Fprintf(w, `<div class="quote" data-id="%d"><span class="text">Quote number %d, %s.</span>`,
				id, id, html.EscapeString("on <things> & more"))
			fmt.Fprintf(w, `<small class="author">%s</small><div class="tags">`, authors[id%len(authors)])
			for t := range 2 {
				fmt.Fprintf(w, `<a class="tag" href="/tag/%s">%s</a>`, tags[(id+t)%len(tags)], tags[(id+t)%len(tags)])
			}
			fmt.Fprint(w, "</div></div>\n")
		}
		if page < n {
			fmt.Fprintf(w, `<li class="next"><a href="/quotes/%d">Next</a></li>`, page+1)
		}
		fmt.Fprint(w, "</body></html>")
	}
}

// selfSigned makes a certificate for localhost that is its own authority.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots, nil
}
