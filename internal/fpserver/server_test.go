package fpserver

import (
	"crypto/tls"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/h2fp"
	"github.com/revisit-crawl/revisit/internal/tlstest"
)

// goClient returns a net/http client trusting ca, with its own transport
// and session cache.
func goClient(t testing.TB, ca *tlstest.CA) (*http.Client, *http.Transport) {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			RootCAs:            ca.Pool,
			ClientSessionCache: tls.NewLRUClientSessionCache(8),
		},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, tr
}

// fetch gets url and returns the body.
func fetch(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// get fetches url and fails the test on error. Call it only from the
// test's goroutine.
func get(t testing.TB, c *http.Client, url string) string {
	t.Helper()
	body, err := fetch(c, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return body
}

// onlyVisit returns the server's single visit.
func onlyVisit(t testing.TB, s *Server) Visit {
	t.Helper()
	vs := s.Visits()
	if len(vs) != 1 {
		t.Fatalf("got %d visits, want 1", len(vs))
	}
	return vs[0]
}

func TestH2Visit(t *testing.T) {
	ca := tlstest.NewCA(t)
	s := New(t, ca, nil, nil)
	c, _ := goClient(t, ca)
	if got := get(t, c, s.URL()+"/a"); got != "ok\n" {
		t.Errorf("body = %q, want ok", got)
	}
	get(t, c, s.URL()+"/b")

	v := onlyVisit(t, s)
	if v.HandshakeErr != nil || v.ParseErr != nil {
		t.Fatalf("visit errors: handshake %v, parse %v", v.HandshakeErr, v.ParseErr)
	}
	if !v.IsH2() || v.TLSVersion != tls.VersionTLS13 || v.DidResume || v.Offered41 {
		t.Errorf("visit = ALPN %q version %x resumed %v 41 %v, want h2, TLS 1.3, fresh",
			v.ALPN, v.TLSVersion, v.DidResume, v.Offered41)
	}
	if v.Closed {
		t.Error("Closed = true while the client keeps the connection")
	}
	h2 := v.H2
	if !slices.Contains(h2.Settings, h2fp.Setting{ID: 2, Val: 0}) || len(h2.WindowUpdates) == 0 {
		t.Errorf("settings %v, window updates %v: want ENABLE_PUSH 0 and an update",
			h2.Settings, h2.WindowUpdates)
	}
	// Go writes its pseudo-headers in this order, unlike any browser.
	if len(h2.Headers) != 2 || h2.Headers[0].PseudoOrder() != "a,m,p,s" {
		t.Fatalf("headers = %+v, want two requests in order a,m,p,s", h2.Headers)
	}
	if got := h2.Headers[1].Get(":path"); got != "/b" {
		t.Errorf("second :path = %q, want /b", got)
	}
	if !strings.HasSuffix(h2.Akamai(), "|a,m,p,s") {
		t.Errorf("Akamai() = %q, want it to end in a,m,p,s", h2.Akamai())
	}
	// The second request finds :authority in the dynamic table.
	if f := h2.Headers[1].Fields[0]; f.Rep != h2fp.Indexed || f.Index < 62 {
		t.Errorf("second :authority = %v index %d, want indexed from the dynamic table",
			f.Rep, f.Index)
	}
}

func TestH1Visit(t *testing.T) {
	ca := tlstest.NewCA(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+tlsName(r.TLS))
	})
	s := New(t, ca, h, &Options{NextProtos: []string{"http/1.1"}})
	c, _ := goClient(t, ca)
	if got := get(t, c, s.URL()+"/one"); got != "HTTP/1.1 tls1.3" {
		t.Errorf("body = %q, want HTTP/1.1 tls1.3", got)
	}
	get(t, c, s.URL()+"/two")

	v := onlyVisit(t, s)
	if v.ALPN != "http/1.1" || v.H2 != nil || v.ParseErr != nil {
		t.Fatalf("visit = ALPN %q, H2 %v, parse error %v; want http/1.1", v.ALPN, v.H2, v.ParseErr)
	}
	if len(v.H1) != 2 || v.H1[0].Target != "/one" || v.H1[1].Target != "/two" {
		t.Fatalf("H1 = %+v, want requests /one and /two", v.H1)
	}
	want := []string{"Host", "User-Agent", "Accept-Encoding"}
	if got := v.H1[0].Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("header order = %q, want %q", got, want)
	}
}

func tlsName(st *tls.ConnectionState) string {
	if st == nil {
		return "no TLS"
	}
	return strings.ToLower(strings.ReplaceAll(tls.VersionName(st.Version), " ", ""))
}

func TestH2HandlerSeesTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+tlsName(r.TLS))
	})
	s := New(t, ca, h, nil)
	c, _ := goClient(t, ca)
	if got := get(t, c, s.URL()); got != "HTTP/2.0 tls1.3" {
		t.Errorf("body = %q, want HTTP/2.0 tls1.3", got)
	}
}

// TestH1Hijack lets a handler take the connection over; the server must
// still record it and close cleanly.
func TestH1Hijack(t *testing.T) {
	ca := tlstest.NewCA(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nhi\n")
		buf.Flush()
	})
	s := New(t, ca, h, &Options{NextProtos: []string{"http/1.1"}})
	c, _ := goClient(t, ca)
	if got := get(t, c, s.URL()+"/h"); got != "hi\n" {
		t.Errorf("body = %q, want hi", got)
	}
	s.Close()
	if v := onlyVisit(t, s); len(v.H1) != 1 || v.H1[0].Target != "/h" {
		t.Errorf("H1 = %+v, want the /h request", v.H1)
	}
}
