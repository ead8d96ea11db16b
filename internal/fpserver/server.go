package fpserver

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/revisit-crawl/revisit/internal/ja4"
	"github.com/revisit-crawl/revisit/internal/tlstest"
	"golang.org/x/net/http2"
)

// DefaultMaxRecord is the number of plaintext bytes a Server keeps per
// connection when Options.MaxRecord is zero.
const DefaultMaxRecord = 256 << 10

// Options configure a Server. A nil *Options and zero fields mean the
// defaults given for each field.
type Options struct {
	// NextProtos are the ALPN protocols the server accepts, in order of
	// preference. Nil means h2, then http/1.1. A connection that
	// negotiates anything but h2, or no protocol, is served as HTTP/1.1.
	NextProtos []string
	// MaxRecord caps the plaintext bytes kept per connection; later bytes
	// are served but not recorded. Zero means DefaultMaxRecord.
	MaxRecord int
	// HTTP2 serves the h2 connections, and its fields are what the server
	// announces in its SETTINGS. Nil means a zero http2.Server.
	HTTP2 *http2.Server
	// Certificates replace the CA's leaf when not empty.
	Certificates []tls.Certificate
	// MaxVersion caps the TLS version; zero means TLS 1.3. The minimum is
	// always TLS 1.2.
	MaxVersion uint16
}

// Server is an HTTPS server on 127.0.0.1 that records what every client
// sent. Its methods are safe for concurrent use.
type Server struct {
	addr    string
	rec     *ja4.Recorder
	cfg     *tls.Config
	handler http.Handler
	h2      *http2.Server
	// base is the http.Server both protocols take their settings from.
	base      *http.Server
	maxRecord int
	// done is closed by Close, to release HTTP/1.1 connections whose
	// handler hijacked them.
	done      chan struct{}
	closeOnce sync.Once
	// wg counts the accept loop and the connection goroutines.
	wg sync.WaitGroup

	// mu guards the fields below. It is never held while taking a
	// connection's lock.
	mu sync.Mutex
	// conns holds every accepted connection in accept order.
	conns  []*conn
	closed bool
	// running counts handlers in flight; idle is signalled when it
	// drops to zero.
	running int
	idle    *sync.Cond
}

// New starts a server that answers with h, or with a short text/plain
// "ok" when h is nil. t.Cleanup closes it.
func New(t testing.TB, ca *tlstest.CA, h http.Handler, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fpserver: listen: %v", err)
	}
	s := &Server{
		addr:      ln.Addr().String(),
		rec:       ja4.NewRecorder(ln),
		cfg:       tlsConfig(ca, opts),
		handler:   h,
		h2:        opts.HTTP2,
		base:      &http.Server{ErrorLog: log.New(io.Discard, "", 0)},
		maxRecord: opts.MaxRecord,
		done:      make(chan struct{}),
	}
	s.idle = sync.NewCond(&s.mu)
	if s.handler == nil {
		s.handler = http.HandlerFunc(ok)
	}
	if s.h2 == nil {
		s.h2 = &http2.Server{}
	}
	if s.maxRecord == 0 {
		s.maxRecord = DefaultMaxRecord
	}
	s.wg.Add(1)
	go s.acceptLoop()
	t.Cleanup(s.Close)
	return s
}

func tlsConfig(ca *tlstest.CA, opts *Options) *tls.Config {
	cfg := &tls.Config{
		Certificates: opts.Certificates,
		NextProtos:   opts.NextProtos,
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   opts.MaxVersion,
	}
	if len(cfg.Certificates) == 0 {
		cfg.Certificates = []tls.Certificate{ca.Leaf}
	}
	if cfg.NextProtos == nil {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	if cfg.MaxVersion == 0 {
		cfg.MaxVersion = tls.VersionTLS13
	}
	return cfg
}

func ok(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// URL returns the server's base URL, https://localhost:PORT.
func (s *Server) URL() string {
	_, port, _ := net.SplitHostPort(s.addr)
	return "https://localhost:" + port
}

// Addr returns the address the server listens on, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.addr }

// Visits returns one Visit per accepted connection, in accept order. The
// connections still open are parsed from what they have sent so far.
func (s *Server) Visits() []Visit {
	s.mu.Lock()
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	visits := make([]Visit, len(conns))
	for i, c := range conns {
		visits[i] = c.snapshot()
	}
	return visits
}

// Close stops accepting, closes every connection and waits for the
// server's goroutines and for the handlers that have started. Visits
// keeps working afterwards. Close may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := slices.Clone(s.conns)
		s.mu.Unlock()

		close(s.done)
		s.rec.Close()
		for _, c := range conns {
			c.raw.Close()
		}
		s.wg.Wait()

		s.mu.Lock()
		for s.running > 0 {
			s.idle.Wait()
		}
		s.mu.Unlock()
	})
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		raw, err := s.rec.Accept()
		if err != nil {
			return
		}
		c := &conn{raw: raw, visit: Visit{Remote: raw.RemoteAddr().String()}}
		if !s.add(c) {
			raw.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
		}()
	}
}

// add files a new connection unless the server is closed.
func (s *Server) add(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns = append(s.conns, c)
	return true
}

// track wraps h to count its calls in flight, so that Close can wait for
// the handlers that x/net's HTTP/2 server runs on goroutines of its own.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.running++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.running--
			if s.running == 0 {
				s.idle.Broadcast()
			}
			s.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}
