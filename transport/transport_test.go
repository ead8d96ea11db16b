package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/transport"
)

func TestFirstVisitThenRevisit(t *testing.T) {
	for _, tc := range []struct {
		name string
		h1   bool
		alpn string
	}{{"h2", false, "h2"}, {"http1", true, "http/1.1"}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, &tlstest.HTTPOptions{H1Only: tc.h1})
			tr := e.transport(t, transport.Config{})

			_, info := get(t, tr, nil, e.srv.URL+"/a")
			h := e.srv.Hellos()[0]
			if info.Reused || info.PSKOffered || info.Resumed || h.Offered41() {
				t.Fatalf("first visit: %+v, 41 offered=%v; want a new connection without ticket", info, h.Offered41())
			}
			if info.ALPN != tc.alpn || info.TLSVersion != tls.VersionTLS13 || info.Profile != "chrome133" || info.Exit != "direct" {
				t.Fatalf("first visit facts = %+v", info)
			}

			_, info = get(t, tr, nil, e.srv.URL+"/b")
			if !info.Reused {
				t.Errorf("second request did not reuse the connection: %+v", info)
			}

			tr.CloseIdleConnections()
			got, info := get(t, tr, nil, e.srv.URL+"/c")
			hs := e.srv.Hellos()
			last := hs[len(hs)-1]
			if info.Reused || !info.PSKOffered || !info.Resumed || !got.Resumed {
				t.Fatalf("revisit: %+v, server resumed=%v; want a new resumed connection", info, got.Resumed)
			}
			if ext := last.Extensions; ext[len(ext)-1] != 41 {
				t.Fatalf("revisit ClientHello's last extension = %d, want 41", ext[len(ext)-1])
			}
		})
	}
}

func TestResumesAfterRestart(t *testing.T) {
	e := newEnv(t, nil)
	tr := e.transport(t, transport.Config{})
	get(t, tr, nil, e.srv.URL)
	tr.Close()
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}

	e.openStore(t)
	tr = e.transport(t, transport.Config{})
	got, info := get(t, tr, nil, e.srv.URL)
	if !info.PSKOffered || !info.Resumed || !got.Resumed {
		t.Fatalf("after reopening the store: %+v; want resumed", info)
	}
}

func TestFirstVisitMode(t *testing.T) {
	e := newEnv(t, nil)
	get(t, e.transport(t, transport.Config{}), nil, e.srv.URL) // leaves a ticket

	list, _ := e.store.List()
	before := list[0].Received

	tr := e.transport(t, transport.Config{FirstVisit: true})
	for range 2 {
		_, info := get(t, tr, nil, e.srv.URL)
		if info.PSKOffered || info.Resumed {
			t.Fatalf("FirstVisit transport offered a ticket: %+v", info)
		}
		tr.CloseIdleConnections()
		tr.Close()
		tr = e.transport(t, transport.Config{FirstVisit: true})
	}
	for _, h := range e.srv.Hellos()[1:] {
		if h.Offered41() {
			t.Fatal("FirstVisit transport sent extension 41")
		}
	}

	tr = e.transport(t, transport.Config{})
	_, info := get(t, tr, transport.WithFirstVisit(context.Background()), e.srv.URL)
	if info.PSKOffered {
		t.Fatal("WithFirstVisit request offered a ticket")
	}
	list, _ = e.store.List()
	if list[0].Received <= before {
		t.Errorf("first-visit connections stored no ticket: received %d, before %d", list[0].Received, before)
	}
}

// A server that accepts only P-256 answers Chrome's key shares with a
// HelloRetryRequest, which utls cannot complete while offering a ticket.
func TestHelloRetryRequestServer(t *testing.T) {
	e := newEnv(t, &tlstest.HTTPOptions{Config: &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}}})
	var retried []string
	trace := &transport.Trace{ResumptionRetry: func(server string, err error) { retried = append(retried, server) }}
	ctx := transport.WithTrace(context.Background(), trace)

	tr := e.transport(t, transport.Config{})
	get(t, tr, ctx, e.srv.URL)
	tr.Close()

	tr = e.transport(t, transport.Config{})
	_, info := get(t, tr, ctx, e.srv.URL)
	if len(retried) != 1 || !info.Retried || info.PSKOffered {
		t.Fatalf("revisit of an HRR server: retried=%v facts=%+v; want one retry without ticket", retried, info)
	}
	tr.Close()

	tr = e.transport(t, transport.Config{})
	_, info = get(t, tr, ctx, e.srv.URL)
	if info.PSKOffered || info.Retried || len(retried) != 1 {
		t.Fatalf("marked server: facts=%+v retries=%d; want no ticket offered and no retry", info, len(retried))
	}
}

func TestPerHostConnectionLimit(t *testing.T) {
	ca := tlstest.NewCA(t)
	var mu sync.Mutex
	active, peak := 0, 0
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		active++
		peak = max(peak, active)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		active--
		mu.Unlock()
		w.Write([]byte("ok"))
	})
	srv := tlstest.NewHTTPServer(t, ca, slow, &tlstest.HTTPOptions{H1Only: true})
	tr, err := transport.New(transport.Config{RootCAs: ca.Pool, MaxConnsPerHost: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			resp, err := tr.RoundTrip(mustReq(t, srv.URL))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n := len(srv.Hellos()); n > 2 {
		t.Errorf("server saw %d connections, want at most 2", n)
	}
	if peak != 2 {
		t.Errorf("server handled %d requests at once, want 2 (the limit, reached)", peak)
	}
}

// rawServer accepts TCP connections on loopback and hands each to serve.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

func TestCancelledContext(t *testing.T) {
	// A server that never answers the ClientHello.
	addr := rawServer(t, func(c net.Conn) {
		io.Copy(io.Discard, c)
		c.Close()
	})
	tr, _ := transport.New(transport.Config{})
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+addr+"/", nil)
	_, err := tr.RoundTrip(req)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("RoundTrip with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestServerClosesMidHandshake(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		c.Read(make([]byte, 100))
		c.Close()
	})
	tr, _ := transport.New(transport.Config{})
	defer tr.Close()
	_, err := tr.RoundTrip(mustReq(t, "https://"+addr+"/"))
	if !errors.Is(err, transport.ErrHandshake) {
		t.Fatalf("RoundTrip to a server that hangs up: %v, want ErrHandshake", err)
	}
}

func TestBadRequests(t *testing.T) {
	tr, _ := transport.New(transport.Config{})
	defer tr.Close()
	for _, tc := range []struct {
		name string
		req  *http.Request
		want error
	}{
		{"ftp", mustReq(t, "ftp://example.com/x"), transport.ErrUnsupportedScheme},
		{"header injection", withHeader(mustReq(t, "https://127.0.0.1:1/"), "X-A", "1\r\nEvil: 2"), nil},
	} {
		_, err := tr.RoundTrip(tc.req)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: error = %v, want %v", tc.name, err, tc.want)
		}
	}
	_, err := tr.RoundTrip(withContext(mustReq(t, "https://example.com/"),
		transport.WithProxy(context.Background(), mustURL(t, "ftp://u:pw@127.0.0.1:1"))))
	if !errors.Is(err, transport.ErrUnsupportedScheme) {
		t.Errorf("ftp proxy: error = %v, want ErrUnsupportedScheme", err)
	}
}

func mustReq(t testing.TB, u string) *http.Request {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func withHeader(r *http.Request, k, v string) *http.Request {
	r.Header[k] = []string{v}
	return r
}

func mustURL(t testing.TB, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func withContext(r *http.Request, ctx context.Context) *http.Request { return r.WithContext(ctx) }

func TestProfiles(t *testing.T) {
	p, err := transport.Lookup("chrome")
	if err != nil || p.Name != "chrome133" {
		t.Fatalf("Lookup(chrome) = %v, %v", p, err)
	}
	if got := p.H2.Akamai(); got != "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p" {
		t.Errorf("chrome133 Akamai = %s", got)
	}
	if _, err := transport.Lookup("netscape"); !errors.Is(err, transport.ErrUnknownProfile) {
		t.Errorf("Lookup(netscape) error = %v", err)
	}
	spec, err := p.ClientHelloSpec()
	if err != nil {
		t.Fatal(err)
	}
	last := spec.Extensions[len(spec.Extensions)-1]
	if fmt.Sprintf("%T", last) != "*tls.UtlsPreSharedKeyExtension" {
		t.Errorf("last extension of the chrome spec is %T, want the PSK extension", last)
	}
}

// TestOneKeyShareFallback: a TLS 1.3 server that accepts only P-256 picks
// Firefox's third key share, which utls cannot complete; the transport
// sends that share alone from then on, and later connections resume.
func TestOneKeyShareFallback(t *testing.T) {
	ff, err := transport.Lookup("firefox")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, &tlstest.HTTPOptions{Config: &tls.Config{
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.CurveP256},
	}})
	tr := e.transport(t, transport.Config{Profile: ff})
	var resumed []bool
	for i := range 3 {
		req := mustReq(t, e.srv.URL+"/")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		info, _ := transport.Info(resp)
		resumed = append(resumed, info.Resumed)
		tr.CloseIdleConnections()
	}
	if !slices.Equal(resumed, []bool{false, true, true}) {
		t.Errorf("resumed = %v, want [false true true]", resumed)
	}
	// One failed handshake in all: later connections start with the
	// share the server takes.
	var failed int
	for _, h := range e.srv.Hellos() {
		if h.Err != nil {
			failed++
		}
	}
	if n := len(e.srv.Hellos()); n != 4 || failed != 1 {
		t.Errorf("server saw %d handshakes, %d failed; want 4, 1 failed", n, failed)
	}
}
