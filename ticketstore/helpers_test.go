package ticketstore_test

import (
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	utls "github.com/refraction-networking/utls"

	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/ticketstore"
)

// site is a local TLS server and the server key a client uses for it.
type site struct {
	ca     *tlstest.CA
	srv    *tlstest.Server
	server string // server key: localhost:port
}

func newSite(t testing.TB, cfg *tls.Config) *site {
	t.Helper()
	ca := tlstest.NewCA(t)
	srv := tlstest.NewServer(t, ca, &tlstest.Options{Config: cfg})
	_, port, _ := net.SplitHostPort(srv.Addr)
	return &site{ca: ca, srv: srv, server: net.JoinHostPort("localhost", port)}
}

// visit makes one connection to the site the way the transport does:
// Chrome 133's ClientHello with pre_shared_key appended, the partition's
// cache bound to the server key, and a read to the end so that TLS 1.3
// tickets are received. It reports whether the handshake resumed.
func (s *site) visit(t testing.TB, p *ticketstore.Partition) (resumed bool, c *ticketstore.Cache) {
	t.Helper()
	c, err := p.Cache(s.server)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.DialTimeout("tcp", s.srv.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	cfg := &utls.Config{
		ServerName:         "localhost",
		RootCAs:            s.ca.Pool,
		ClientSessionCache: c,
		OmitEmptyPsk:       true,
	}
	uc := utls.UClient(raw, cfg, utls.HelloCustom)
	spec, err := utls.UTLSIdToSpec(utls.HelloChrome_133)
	if err != nil {
		t.Fatal(err)
	}
	spec.Extensions = append(spec.Extensions, &utls.UtlsPreSharedKeyExtension{})
	if err := uc.ApplyPreset(&spec); err != nil {
		t.Fatal(err)
	}
	if err := uc.Handshake(); err != nil {
		t.Fatalf("handshake with %s: %v", s.server, err)
	}
	if _, err := io.ReadAll(uc); err != nil {
		t.Fatalf("read from %s: %v", s.server, err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("cache error: %v", err)
	}
	return uc.ConnectionState().DidResume, c
}

// lastHello returns what the server saw of the latest handshake.
func (s *site) lastHello(t testing.TB) tlstest.Hello {
	t.Helper()
	hs := s.srv.Hellos()
	if len(hs) == 0 {
		t.Fatal("server saw no handshake")
	}
	return hs[len(hs)-1]
}

// captureCache records the sessions utls stores, to make real session
// states for tests that need many.
type captureCache struct {
	mu       sync.Mutex
	sessions []*utls.ClientSessionState
}

func (c *captureCache) Get(string) (*utls.ClientSessionState, bool) { return nil, false }

func (c *captureCache) Put(_ string, cs *utls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs != nil {
		c.sessions = append(c.sessions, cs)
	}
}

// realSession returns a session state from a real TLS handshake of the
// given version with a local server.
func realSession(t testing.TB, version uint16) *utls.ClientSessionState {
	t.Helper()
	s := newSite(t, &tls.Config{MinVersion: version, MaxVersion: version})
	raw, err := net.DialTimeout("tcp", s.srv.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	cc := &captureCache{}
	uc := utls.UClient(raw, &utls.Config{ServerName: "localhost", RootCAs: s.ca.Pool,
		ClientSessionCache: cc}, utls.HelloGolang)
	if err := uc.Handshake(); err != nil {
		t.Fatal(err)
	}
	io.ReadAll(uc)
	if len(cc.sessions) == 0 {
		t.Fatal("server sent no session")
	}
	return cc.sessions[0]
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openStore(t testing.TB, path string, opts *ticketstore.Options) *ticketstore.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "tickets.db")
	}
	s, err := ticketstore.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func partitionOf(t testing.TB, s *ticketstore.Store, proxy, profile string) *ticketstore.Partition {
	t.Helper()
	exit, err := ticketstore.ParseExit(proxy)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Partition(exit, profile)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
