package nginxtest

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

func TestFetchHTTP2(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	want := []byte("hello from nginx\n")
	if err := os.WriteFile(filepath.Join(s.Root(), "a.txt"), want, 0o600); err != nil {
		t.Fatal(err)
	}

	resp, body := fetch(t, h2Client(t, s), "GET", s.URL()+"/a.txt?x=1", nil)
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" || !bytes.Equal(body, want) {
		t.Fatalf("GET /a.txt = %s %s %q, want 200 HTTP/2.0 %q", resp.Proto, resp.Status, body, want)
	}
	if v := resp.TLS.Version; v != tls.VersionTLS13 {
		t.Errorf("TLS version = %x, want TLS 1.3", v)
	}

	reqs := waitRequests(t, s, 1)
	got := reqs[len(reqs)-1]
	wantReq := Request{
		Proto: "HTTP/2.0", TLSVersion: "TLSv1.3", Method: "GET", URI: "/a.txt?x=1",
		Status: 200, BodyBytesSent: int64(len(want)), Line: "GET /a.txt?x=1 HTTP/2.0",
		ConnRequests: 1,
	}
	if got.Proto != wantReq.Proto || got.TLSVersion != wantReq.TLSVersion ||
		got.Method != wantReq.Method || got.URI != wantReq.URI || got.Status != wantReq.Status ||
		got.BodyBytesSent != wantReq.BodyBytesSent || got.Line != wantReq.Line ||
		got.ConnRequests != wantReq.ConnRequests || got.Resumed {
		t.Errorf("access log = %+v, want %+v", got, wantReq)
	}
	if got.BytesSent <= got.BodyBytesSent || got.RequestLength == 0 || got.Conn == 0 {
		t.Errorf("access log = %+v, want headers counted and a connection number", got)
	}
	if d := time.Since(got.Time); d < 0 || d > time.Minute {
		t.Errorf("access log time %v is %v from now", got.Time, d)
	}
	if !strings.HasPrefix(got.RemoteAddr, "127.0.0.1:") {
		t.Errorf("RemoteAddr = %q, want 127.0.0.1:port", got.RemoteAddr)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	c := h2Client(t, s)
	for _, code := range []int{204, 404, 429, 503} {
		resp, _ := fetch(t, c, "GET", s.URL()+"/status/"+strconv.Itoa(code), nil)
		if resp.StatusCode != code {
			t.Errorf("GET /status/%d = %d, want %d", code, resp.StatusCode, code)
		}
	}
}

func TestResumption(t *testing.T) {
	// second returns the server for the second connection, given the
	// first one.
	tests := []struct {
		name        string
		second      func(t *testing.T, first *Server, keyFile string) *Server
		wantResumed bool
	}{
		{"same server", func(t *testing.T, s *Server, _ string) *Server { return s }, true},
		{"after restart", func(t *testing.T, s *Server, _ string) *Server {
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			return s
		}, true},
		{"other server, same key file", func(t *testing.T, s *Server, keyFile string) *Server {
			return Start(t, serverOpts(s, keyFile))
		}, true},
		{"other server, own key", func(t *testing.T, s *Server, _ string) *Server {
			return Start(t, serverOpts(s, ""))
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keyFile := filepath.Join(t.TempDir(), "ticket.key")
			first := Start(t, &Options{TicketKeyFile: keyFile})
			page := filepath.Join(first.Root(), "a.txt")
			if err := os.WriteFile(page, []byte("a"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := &tls.Config{
				RootCAs:            first.CA().Pool,
				ServerName:         "localhost",
				ClientSessionCache: tls.NewLRUClientSessionCache(8),
				NextProtos:         []string{"http/1.1"},
			}
			resumed, local := tlsGet(t, first.Addr(), cfg, "/a.txt")
			if resumed || logged(t, first, local).Resumed {
				t.Fatal("first connection resumed")
			}

			s := tc.second(t, first, keyFile)
			resumed, local = tlsGet(t, s.Addr(), cfg, "/a.txt")
			if resumed != tc.wantResumed {
				t.Errorf("second connection resumed = %v, want %v", resumed, tc.wantResumed)
			}
			r := logged(t, s, local)
			if r.Resumed != tc.wantResumed || r.TLSVersion != "TLSv1.3" || r.Proto != "HTTP/1.1" {
				t.Errorf("access log = %+v, want Resumed %v over TLSv1.3 and HTTP/1.1",
					r, tc.wantResumed)
			}
		})
	}
}

// serverOpts returns options for a second server with s's certificate.
func serverOpts(s *Server, keyFile string) *Options {
	return &Options{
		CertFile:      filepath.Join(s.dir, "cert.pem"),
		KeyFile:       filepath.Join(s.dir, "key.pem"),
		Root:          s.Root(),
		TicketKeyFile: keyFile,
	}
}

func TestUploadRoundTrip(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	c := h2Client(t, s)
	body := make([]byte, 5<<20)
	rand.Read(body)

	resp, _ := fetch(t, c, "PUT", s.URL()+"/upload/dir/big.bin", bytes.NewReader(body))
	if resp.StatusCode != http.StatusCreated || resp.Proto != "HTTP/2.0" {
		t.Fatalf("PUT = %s %s, want 201 over HTTP/2.0", resp.Proto, resp.Status)
	}
	resp, got := fetch(t, c, "GET", s.URL()+"/upload/dir/big.bin", nil)
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("GET after PUT = %s, %d bytes (equal: %v), want 200 and the %d bytes put",
			resp.Status, len(got), bytes.Equal(got, body), len(body))
	}
	onDisk, err := os.ReadFile(filepath.Join(s.Root(), "upload", "dir", "big.bin"))
	if err != nil || !bytes.Equal(onDisk, body) {
		t.Errorf("file in Root: %d bytes, %v; want the body put", len(onDisk), err)
	}

	reqs := waitRequests(t, s, 2)
	put, get := reqs[len(reqs)-2], reqs[len(reqs)-1]
	if put.Method != "PUT" || put.RequestLength < int64(len(body)) {
		t.Errorf("PUT logged as %+v, want a request of at least %d bytes", put, len(body))
	}
	if get.Method != "GET" || get.BodyBytesSent != int64(len(body)) {
		t.Errorf("GET logged as %+v, want %d body bytes sent", get, len(body))
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		clientMax uint16 // the client's MaxVersion; 0: TLS 1.3
		wantErr   bool
		wantProto string // negotiated ALPN
	}{
		{"default h2", Options{}, 0, false, "h2"},
		{"default refuses 1.2", Options{}, tls.VersionTLS12, true, ""},
		{"TLS12", Options{TLS12: true}, tls.VersionTLS12, false, "h2"},
		{"H1Only", Options{H1Only: true}, 0, false, "http/1.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := Start(t, &tc.opts)
			c, err := tls.Dial("tcp", s.Addr(), &tls.Config{
				RootCAs:    s.CA().Pool,
				ServerName: "localhost",
				NextProtos: []string{"h2", "http/1.1"},
				MaxVersion: tc.clientMax,
			})
			if tc.wantErr {
				if err == nil {
					c.Close()
					t.Fatal("handshake succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if p := c.ConnectionState().NegotiatedProtocol; p != tc.wantProto {
				t.Errorf("ALPN = %q, want %q", p, tc.wantProto)
			}
		})
	}
}

// TestKeepaliveRequests checks that nginx moves the client to a new
// connection after KeepaliveRequests requests.
func TestKeepaliveRequests(t *testing.T) {
	t.Parallel()
	s := Start(t, &Options{KeepaliveRequests: 2})
	c := h2Client(t, s)
	const n = 5
	for range n {
		if resp, _ := fetch(t, c, "GET", s.URL()+"/status/204", nil); resp.StatusCode != 204 {
			t.Fatalf("GET /status/204 = %s", resp.Status)
		}
	}
	conns := map[uint64]int{}
	for _, r := range waitRequests(t, s, n) {
		conns[r.Conn]++
		if r.ConnRequests > 2 {
			t.Errorf("request %d on one connection, want at most 2: %+v", r.ConnRequests, r)
		}
	}
	if len(conns) != 3 {
		t.Errorf("%d requests over %d connections, want 3: %v", n, len(conns), conns)
	}
}

// TestMaxConcurrentStreams reads the server's SETTINGS frame.
func TestMaxConcurrentStreams(t *testing.T) {
	t.Parallel()
	s := Start(t, &Options{MaxConcurrentStreams: 3})
	c, err := tls.Dial("tcp", s.Addr(), &tls.Config{
		RootCAs: s.CA().Pool, ServerName: "localhost", NextProtos: []string{"h2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		sf, ok := f.(*http2.SettingsFrame)
		if !ok || sf.IsAck() {
			continue
		}
		v, ok := sf.Value(http2.SettingMaxConcurrentStreams)
		if !ok || v != 3 {
			t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (sent: %v), want 3", v, ok)
		}
		return
	}
}

// TestDiedUnexpectedly checks that Stop reports an nginx that died.
func TestDiedUnexpectedly(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	s.mu.Lock()
	p := s.p
	s.mu.Unlock()
	p.Kill()
	if err := s.Stop(); !errors.Is(err, ErrExited) {
		t.Errorf("Stop() after nginx died = %v, want ErrExited", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop() = %v, want nil", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart() after Stop = %v", err)
	}
	if _, err := net.Dial("tcp", s.Addr()); err != nil {
		t.Errorf("after Restart: %v", err)
	}
}

// recorder stands in for a test to see whether Start skips or fails.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, format
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) {
	r.failed, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// run calls Start with r and reports whether it returned.
func (r *recorder) run(opts *Options) (started bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(r, opts)
		started = true
	}()
	<-done
	return started
}

func TestMissingNginx(t *testing.T) {
	tests := []struct {
		env                     string
		wantSkipped, wantFailed bool
	}{
		{"", true, false},
		{"0", true, false},
		{"1", false, true},
	}
	for _, tc := range tests {
		t.Run("env="+tc.env, func(t *testing.T) {
			t.Setenv(EnvIntegration, tc.env)
			r := &recorder{TB: t}
			r.run(&Options{Binary: filepath.Join(t.TempDir(), "no-nginx")})
			if r.skipped != tc.wantSkipped || r.failed != tc.wantFailed {
				t.Errorf("%s=%q: skipped %v, failed %v; want %v, %v",
					EnvIntegration, tc.env, r.skipped, r.failed, tc.wantSkipped, tc.wantFailed)
			}
		})
	}
}

// TestAddrInUse checks that Start fails, with nginx's reason, on an
// address another server holds, rather than taking that server for nginx.
func TestAddrInUse(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	r := &recorder{TB: t}
	if r.run(&Options{Addr: s.Addr()}) {
		t.Fatal("second Start on the same address returned")
	}
	if !r.failed || !strings.Contains(r.msg, "Address already in use") {
		t.Errorf("second Start: failed %v with %q, want it to fail with nginx's bind error",
			r.failed, r.msg)
	}
}
