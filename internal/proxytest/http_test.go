package proxytest

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/tlstest"
)

func TestHTTPConnectAuth(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	tests := []struct {
		name     string
		auth     string
		want     int
		failures int
	}{
		{"right credentials", basicAuth("alice", "secret"), http.StatusOK, 0},
		{"scheme in lower case", strings.Replace(basicAuth("alice", "secret"), "Basic", "basic", 1),
			http.StatusOK, 0},
		{"no credentials", "", http.StatusProxyAuthRequired, 1},
		{"wrong password", basicAuth("alice", "guess"), http.StatusProxyAuthRequired, 1},
		{"wrong user", basicAuth("bob", "secret"), http.StatusProxyAuthRequired, 1},
		{"not base64", "Basic !!!", http.StatusProxyAuthRequired, 1},
		{"no colon", "Basic YWxpY2U=", http.StatusProxyAuthRequired, 1},
		{"bearer token", "Bearer secret", http.StatusProxyAuthRequired, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewHTTP(t, &Options{User: "alice", Password: "secret"})
			c, resp := connectDial(t, p.Addr(), connectRequest{target: echo, auth: tc.auth})
			if resp.StatusCode != tc.want {
				t.Fatalf("status %s, want %d", resp.Status, tc.want)
			}
			if c != nil {
				defer c.Close()
				if got := readGreeting(t, c); got != "from 127.0.0.1" {
					t.Errorf("target saw %q, want from 127.0.0.1", got)
				}
			}
			if tc.want == http.StatusProxyAuthRequired {
				want := `Basic realm="` + Realm + `"`
				if got := resp.Header.Get("Proxy-Authenticate"); got != want {
					t.Errorf("Proxy-Authenticate = %q, want %q", got, want)
				}
			}
			if p.AuthFailures() != tc.failures {
				t.Errorf("AuthFailures() = %d, want %d", p.AuthFailures(), tc.failures)
			}
		})
	}
}

// TestHTTPConnectRetryAfter407 answers the challenge on the same
// connection, as browsers and curl do.
func TestHTTPConnectRetryAfter407(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	p := NewHTTP(t, &Options{User: "alice", Password: "secret", Egress: "127.0.0.2"})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)

	steps := []struct {
		auth string
		want int
	}{
		{"", http.StatusProxyAuthRequired},
		{basicAuth("alice", "wrong"), http.StatusProxyAuthRequired},
		{basicAuth("alice", "secret"), http.StatusOK},
	}
	for i, s := range steps {
		resp, err := connectOn(c, br, connectRequest{target: echo, auth: s.auth})
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if resp.StatusCode != s.want {
			t.Fatalf("attempt %d: status %s, want %d", i+1, resp.Status, s.want)
		}
	}
	if got := readGreeting(t, br); got != "from 127.0.0.2" {
		t.Errorf("target saw %q, want from 127.0.0.2", got)
	}
	if p.Accepted() != 1 || p.AuthFailures() != 2 || p.Tunnels() != 1 {
		t.Errorf("Accepted %d, AuthFailures %d, Tunnels %d; want 1, 2, 1",
			p.Accepted(), p.AuthFailures(), p.Tunnels())
	}
}

func TestHTTPConnectFailures(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	refused := closedPort(t)
	tests := []struct {
		name       string
		opts       *Options
		req        connectRequest
		want       int
		wantTarget string
	}{
		{
			name:       "connection refused",
			req:        connectRequest{target: refused},
			want:       http.StatusBadGateway,
			wantTarget: refused,
		},
		{
			name:       "name does not resolve",
			opts:       &Options{DialTimeout: time.Second},
			req:        connectRequest{target: "no-such-host.invalid:443"},
			want:       http.StatusBadGateway,
			wantTarget: "no-such-host.invalid:443",
		},
		{
			name:       "not allowed",
			opts:       &Options{Allow: func(string) bool { return false }},
			req:        connectRequest{target: echo},
			want:       http.StatusForbidden,
			wantTarget: echo,
		},
		{
			name: "target without port",
			req:  connectRequest{target: "localhost"},
			want: http.StatusBadRequest,
		},
		{
			name: "plain GET",
			req:  connectRequest{method: http.MethodGet, target: "http://" + echo + "/"},
			want: http.StatusMethodNotAllowed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewHTTP(t, tc.opts)
			c, resp := connectDial(t, p.Addr(), tc.req)
			if c != nil {
				c.Close()
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %s, want %d", resp.Status, tc.want)
			}
			if !resp.Close {
				t.Error("error response does not close the connection")
			}
			var want []string
			if tc.wantTarget != "" {
				want = []string{tc.wantTarget}
			}
			if got := p.Targets(); !slices.Equal(got, want) {
				t.Errorf("Targets() = %q, want %q", got, want)
			}
		})
	}
}

func TestHTTPConnectGarbage(t *testing.T) {
	p := NewHTTP(t, nil)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("\x16\x03\x01\x00\x05hello\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %s, want 400", resp.Status)
	}
}

// TestHTTPConnectDomainAndEarlyData sends CONNECT to a name, with bytes
// for the target right behind the request.
func TestHTTPConnectDomainAndEarlyData(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(echo)
	target := "localhost:" + port
	p := NewHTTP(t, nil)
	c, _ := connectDial(t, p.Addr(), connectRequest{target: target, early: []byte("early bytes")})
	if c == nil {
		t.Fatal("CONNECT failed")
	}
	defer c.Close()
	c.(*bufConn).CloseWrite()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "from 127.0.0.1\nearly bytes" {
		t.Errorf("read %q, %v; want the greeting and the early bytes", got, err)
	}
	if got := p.Targets(); !slices.Equal(got, []string{target}) {
		t.Errorf("Targets() = %q, want [%s]", got, target)
	}
}

// TestHTTPSProxyTLSInside runs TLS to a target inside the TLS connection
// to an HTTPS proxy.
func TestHTTPSProxyTLSInside(t *testing.T) {
	ca := tlstest.NewCA(t)
	tlsTarget := startServer(t, "127.0.0.1:0", func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{ca.Leaf}})
		io.WriteString(tc, "inner hello\n")
		tc.Close()
	})
	p := NewHTTP(t, &Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{ca.Leaf}}})
	if !strings.HasPrefix(p.URL("", ""), "https://") {
		t.Fatalf("URL() = %s, want https", p.URL("", ""))
	}
	outer := &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"}
	c := dialThrough(t, p.URL("", ""), tlsTarget, outer)
	defer c.Close()
	inner := tls.Client(c, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"})
	inner.SetDeadline(time.Now().Add(5 * time.Second))
	if got := readGreeting(t, inner); got != "inner hello" {
		t.Errorf("read %q through both TLS layers, want inner hello", got)
	}
}

// TestHTTPSProxyRejectsPlainClient checks that an HTTPS proxy does not
// answer plain HTTP.
func TestHTTPSProxyRejectsPlainClient(t *testing.T) {
	ca := tlstest.NewCA(t)
	p := NewHTTP(t, &Options{Certificate: &ca.Leaf})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n")
	got, _ := io.ReadAll(c)
	if strings.HasPrefix(string(got), "HTTP/1.1 200") || p.Tunnels() != 0 {
		t.Errorf("plain client got %q and %d tunnels, want no tunnel", got, p.Tunnels())
	}
}
