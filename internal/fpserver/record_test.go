package fpserver

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/tlstest"
)

// extCount returns the extension count in a JA4's first part.
func extCount(t testing.TB, ja4 string) int {
	t.Helper()
	n, err := strconv.Atoi(ja4[6:8])
	if len(ja4) < 10 || err != nil {
		t.Fatalf("bad JA4 %q", ja4)
	}
	return n
}

// TestJA4AndResumption checks the recorded ClientHellos: two fresh clients
// give the same JA4, and a client that resumes offers one extension more
// (pre_shared_key).
func TestJA4AndResumption(t *testing.T) {
	ca := tlstest.NewCA(t)
	s := New(t, ca, nil, nil)
	c1, tr1 := goClient(t, ca)
	c2, _ := goClient(t, ca)
	get(t, c1, s.URL())
	get(t, c2, s.URL())
	tr1.CloseIdleConnections()
	get(t, c1, s.URL())

	vs := s.Visits()
	if len(vs) != 3 {
		t.Fatalf("got %d visits, want 3", len(vs))
	}
	first, other, again := vs[0], vs[1], vs[2]
	if first.Hello == nil || first.JA4 != first.Hello.JA4() || first.JA4R != first.Hello.JA4R() {
		t.Fatalf("visit 0: JA4 %q JA4R %q, not the Hello's", first.JA4, first.JA4R)
	}
	if first.JA4[:4] != "t13d" || first.JA4[8:10] != "h2" {
		t.Errorf("JA4 = %q, want TLS 1.3 with SNI and h2 (t13d....h2_...)", first.JA4)
	}
	if other.JA4 != first.JA4 {
		t.Errorf("fresh clients' JA4 = %q and %q, want them equal", first.JA4, other.JA4)
	}
	if !again.DidResume || !again.Offered41 || first.DidResume || first.Offered41 {
		t.Errorf("resumed, offered 41: first %v %v, revisit %v %v; want false false, true true",
			first.DidResume, first.Offered41, again.DidResume, again.Offered41)
	}
	if got, want := extCount(t, again.JA4), extCount(t, first.JA4)+1; got != want {
		t.Errorf("revisit JA4 %q has %d extensions, want %d", again.JA4, got, want)
	}
}

func TestTLS12Resumption(t *testing.T) {
	ca := tlstest.NewCA(t)
	s := New(t, ca, nil, &Options{MaxVersion: tls.VersionTLS12})
	c, tr := goClient(t, ca)
	get(t, c, s.URL())
	tr.CloseIdleConnections()
	get(t, c, s.URL())
	vs := s.Visits()
	if len(vs) != 2 || vs[0].TLSVersion != tls.VersionTLS12 || !vs[1].DidResume {
		t.Fatalf("visits = %+v, want two TLS 1.2 visits, the second resumed", vs)
	}
}

func TestMaxRecord(t *testing.T) {
	ca := tlstest.NewCA(t)
	s := New(t, ca, nil, &Options{MaxRecord: 30})
	c, _ := goClient(t, ca)
	if got := get(t, c, s.URL()); got != "ok\n" {
		t.Errorf("body = %q, want ok", got)
	}
	v := onlyVisit(t, s)
	if len(v.Raw) != 30 || v.ParseErr != nil || !v.H2.Truncated || len(v.H2.Frames) != 0 {
		t.Errorf("visit kept %d bytes, parse error %v, H2 %+v; want 30 bytes cut in a frame",
			len(v.Raw), v.ParseErr, v.H2)
	}
}

// TestVisitsWhileOpen reads a visit while its request is still being
// served, and again once the connection has ended.
func TestVisitsWhileOpen(t *testing.T) {
	ca := tlstest.NewCA(t)
	arrived, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	})
	s := New(t, ca, h, nil)
	c, tr := goClient(t, ca)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := fetch(c, s.URL()+"/slow"); err != nil {
			t.Error(err)
		}
	}()
	<-arrived
	v := onlyVisit(t, s)
	slow := v.H2 != nil && len(v.H2.Headers) == 1 && v.H2.Headers[0].Get(":path") == "/slow"
	if v.Closed || !slow {
		t.Errorf("open visit = closed %v, H2 %+v; want the /slow request", v.Closed, v.H2)
	}
	close(release)
	wg.Wait()
	tr.CloseIdleConnections()
	s.Close()
	if v := onlyVisit(t, s); !v.Closed || len(v.H2.Headers) != 1 {
		t.Errorf("closed visit = closed %v, H2 %+v; want closed with one request", v.Closed, v.H2)
	}
}

// TestCloseWithOpenConnections closes the server under a client that
// keeps its connection and one that never finishes its handshake.
func TestCloseWithOpenConnections(t *testing.T) {
	ca := tlstest.NewCA(t)
	s := New(t, ca, nil, nil)
	c, _ := goClient(t, ca)
	get(t, c, s.URL())
	idle, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	waitFor(t, "two connections", func() bool { return len(s.Visits()) == 2 })
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	for i, v := range s.Visits() {
		if !v.Closed {
			t.Errorf("visit %d open after Close", i)
		}
	}
}

// TestConcurrentClients reads visits while several clients connect.
func TestConcurrentClients(t *testing.T) {
	ca := tlstest.NewCA(t)
	s := New(t, ca, nil, nil)
	const clients = 8
	var wg sync.WaitGroup
	for range clients {
		c, _ := goClient(t, ca)
		wg.Go(func() {
			if _, err := fetch(c, s.URL()); err != nil {
				t.Error(err)
			}
		})
	}
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stop:
				return
			default:
				s.Visits()
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-polled
	vs := s.Visits()
	if len(vs) != clients {
		t.Fatalf("got %d visits, want %d", len(vs), clients)
	}
	for i, v := range vs {
		if v.H2 == nil || len(v.H2.Headers) != 1 || v.JA4 != vs[0].JA4 {
			t.Errorf("visit %d = JA4 %q, H2 %+v; want one request and JA4 %q",
				i, v.JA4, v.H2, vs[0].JA4)
		}
	}
}

func TestNotTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	s := New(t, ca, nil, nil)
	raw, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	raw.Close()
	waitFor(t, "the visit to end", func() bool {
		vs := s.Visits()
		return len(vs) == 1 && vs[0].Closed
	})
	v := onlyVisit(t, s)
	if v.HandshakeErr == nil || v.HelloErr == nil || v.Hello != nil || v.H1 != nil {
		t.Errorf("visit = %+v, want handshake and hello errors, nothing parsed", v)
	}
	if errors.Is(v.HelloErr, ErrNoHello) {
		t.Errorf("HelloErr = %v, want the Recorder's error for bytes that are not TLS", v.HelloErr)
	}
}

// waitFor polls cond until it holds, failing the test after 5 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
