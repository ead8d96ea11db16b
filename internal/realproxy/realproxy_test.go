package realproxy

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/revisit-crawl/revisit/internal/childproc"
)

// flavors are the constructors under test, by program name.
var flavors = []struct {
	name  string
	start func(testing.TB, *Options) *Proxy
}{
	{"microsocks", NewMicrosocks},
	{"tinyproxy", NewTinyproxy},
}

// startGreeter starts a server on 127.0.0.1 that writes "from IP\n",
// naming the address each connection came from, and closes. It returns
// the server's address.
func startGreeter(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "from %s\n", host)
			c.Close()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// dialThrough opens a tunnel to target through the proxy at proxyURL, by
// SOCKS5 or HTTP CONNECT after the URL's scheme, with its credentials.
func dialThrough(proxyURL, target string) (net.Conn, error) {
	u, err := url.Parse(proxyURL)
	if err != nil {
		return nil, err
	}
	user := u.User.Username()
	pass, _ := u.User.Password()
	fwd := &net.Dialer{Timeout: 5 * time.Second}
	if u.Scheme == "socks5" {
		var auth *proxy.Auth
		if user != "" {
			auth = &proxy.Auth{User: user, Password: pass}
		}
		d, err := proxy.SOCKS5("tcp", u.Host, auth, fwd)
		if err != nil {
			return nil, err
		}
		return d.Dial("tcp", target)
	}
	c, err := fwd.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req := fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)
	if user != "" {
		creds := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		req += "Proxy-Authorization: Basic " + creds + "\r\n"
	}
	io.WriteString(c, req+"\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, &statusError{resp.StatusCode}
	}
	c.SetDeadline(time.Time{})
	return &readerConn{Conn: c, r: br}, nil
}

// statusError is a CONNECT refused with an HTTP status.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("CONNECT answered %d", e.code) }

// readerConn reads through the buffer that held the CONNECT response.
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// greeting reads what the greeter wrote through a tunnel to it.
func greeting(t testing.TB, proxyURL, greeter string) string {
	t.Helper()
	c, err := dialThrough(proxyURL, greeter)
	if err != nil {
		t.Fatalf("tunnel to %s through %s: %v", greeter, proxyURL, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading through the tunnel: %v (got %q)", err, b)
	}
	return strings.TrimSpace(string(b))
}

func TestTunnelLeavesFromEgress(t *testing.T) {
	greeter := startGreeter(t)
	for _, f := range flavors {
		for _, egress := range []string{"127.0.0.2", "127.0.0.3"} {
			t.Run(f.name+"/"+egress, func(t *testing.T) {
				p := f.start(t, &Options{User: "alice", Password: "s3cret", Egress: egress})
				if !strings.HasPrefix(p.Addr(), "127.0.0.1:") || p.Name() != f.name {
					t.Errorf("Addr() = %s, Name() = %s", p.Addr(), p.Name())
				}
				if got, want := greeting(t, p.URL("alice", "s3cret"), greeter), "from "+egress; got != want {
					t.Errorf("target saw %q, want %q", got, want)
				}
			})
		}
	}
}

func TestOpenProxy(t *testing.T) {
	greeter := startGreeter(t)
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			p := f.start(t, nil)
			if u := p.URL("", ""); strings.Contains(u, "@") {
				t.Errorf("URL(\"\", \"\") = %s, want no user information", u)
			}
			if got := greeting(t, p.URL("", ""), greeter); got != "from 127.0.0.1" {
				t.Errorf("target saw %q, want from 127.0.0.1", got)
			}
		})
	}
}

func TestRefusesWrongCredentials(t *testing.T) {
	greeter := startGreeter(t)
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			p := f.start(t, &Options{User: "alice", Password: "right-password"})
			for _, creds := range []struct{ user, pass string }{
				{"alice", "wrong-password"}, {"bob", "right-password"}, {"", ""},
			} {
				c, err := dialThrough(p.URL(creds.user, creds.pass), greeter)
				if err == nil {
					c.Close()
					t.Fatalf("credentials %q/%q opened a tunnel", creds.user, creds.pass)
				}
				// tinyproxy 1.11.1 answers wrong credentials with 401.
				var se *statusError
				if errors.As(err, &se) && se.code != http.StatusProxyAuthRequired &&
					se.code != http.StatusUnauthorized {
					t.Errorf("credentials %q/%q: %v, want 401 or 407", creds.user, creds.pass, err)
				}
			}
			if got := greeting(t, p.URL("alice", "right-password"), greeter); got != "from 127.0.0.1" {
				t.Errorf("after refusals, target saw %q", got)
			}
		})
	}
}

// TestKillAndRestart kills the process under an open tunnel, and starts it
// again on the same address.
func TestKillAndRestart(t *testing.T) {
	// The target holds its connections open until the test ends.
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				io.WriteString(c, "hello\n")
				<-release
			})
		}
	})
	defer wg.Wait()
	defer target.Close()
	defer close(release)

	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) {
			p := f.start(t, &Options{User: "alice", Password: "s3cret", Egress: "127.0.0.2"})
			c, err := dialThrough(p.URL("alice", "s3cret"), target.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			if line, err := br.ReadString('\n'); line != "hello\n" {
				t.Fatalf("first line through the tunnel: %q, %v", line, err)
			}

			p.Kill()
			if rest, err := br.ReadString('\n'); isTimeout(err) {
				t.Fatalf("tunnel still open after Kill (read %q)", rest)
			}
			if c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second); err == nil {
				c.Close()
				t.Fatalf("%s still accepts connections after Kill", p.Addr())
			}

			addr := p.Addr()
			if err := p.Restart(); err != nil {
				t.Fatal(err)
			}
			if p.Addr() != addr {
				t.Errorf("Addr() = %s after Restart, want %s", p.Addr(), addr)
			}
			c2, err := dialThrough(p.URL("alice", "s3cret"), target.Addr().String())
			if err != nil {
				t.Fatalf("tunnel after Restart: %v", err)
			}
			c2.Close()
			if n := strings.Count(p.Output(), "--- "+f.name+" on "+addr); n != 2 {
				t.Errorf("Output() names %d runs, want 2:\n%s", n, p.Output())
			}
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestPortTaken hands the constructor a port that another socket holds:
// the child fails to bind it, and the next port is tried.
func TestPortTaken(t *testing.T) {
	for _, f := range []*flavor{microsocks, tinyproxy} {
		t.Run(f.name, func(t *testing.T) {
			held, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			var picked []string
			pick := func(t testing.TB) string {
				addr := childproc.FreeAddr(t)
				if len(picked) == 0 {
					addr = held.Addr().String()
				}
				picked = append(picked, addr)
				return addr
			}
			p := start(t, f, nil, pick)
			if len(picked) != 2 || p.Addr() != picked[1] {
				t.Fatalf("picked %q, runs on %s; want the second", picked, p.Addr())
			}
			if !strings.Contains(p.Output(), "--- "+f.name+" on "+picked[0]) {
				t.Errorf("Output() does not show the failed run:\n%s", p.Output())
			}
		})
	}
}

func TestCheckOptions(t *testing.T) {
	tests := []struct {
		flavor *flavor
		opts   Options
		ok     bool
	}{
		{microsocks, Options{User: "a", Password: "p@ss:w rd"}, true},
		{microsocks, Options{User: "a"}, false},
		{microsocks, Options{Password: "p"}, false},
		{microsocks, Options{User: strings.Repeat("u", 256), Password: "p"}, false},
		{microsocks, Options{Egress: "localhost"}, false},
		{tinyproxy, Options{User: "alice", Password: "Ab-9._"}, true},
		{tinyproxy, Options{User: "alice", Password: "p@ss"}, false},
		{tinyproxy, Options{User: "al ice", Password: "p"}, false},
		{tinyproxy, Options{Egress: "127.0.0.3"}, true},
	}
	for _, tc := range tests {
		p := &Proxy{flavor: tc.flavor, opts: tc.opts}
		if err := p.checkOptions(); (err == nil) != tc.ok {
			t.Errorf("%s: checkOptions(%+v) = %v, want ok %v", tc.flavor.name, tc.opts, err, tc.ok)
		}
	}
}

func TestLookPath(t *testing.T) {
	_, err := lookPath("microsocks", "/nonexistent/microsocks")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("lookPath(/nonexistent/microsocks) = %v, want ErrNotFound", err)
	}
	if _, err := lookPath("no-such-proxy", ""); !errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), "Debian package: no-such-proxy") {
		t.Errorf("lookPath(no-such-proxy) = %v, want ErrNotFound naming the package", err)
	}
}
