package proxytest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/tlstest"
)

// kind is one sort of proxy, for the tests that apply to all of them.
type kind struct {
	name    string
	start   func(t testing.TB, opts *Options) *Proxy
	tlsConf *tls.Config // the client's config for an https proxy
}

func kinds(t *testing.T) []kind {
	ca := tlstest.NewCA(t)
	return []kind{
		{name: "socks5", start: NewSOCKS5},
		{name: "http", start: NewHTTP},
		{
			name: "https",
			start: func(t testing.TB, opts *Options) *Proxy {
				o := Options{}
				if opts != nil {
					o = *opts
				}
				o.Certificate = &ca.Leaf
				return NewHTTP(t, &o)
			},
			tlsConf: &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"},
		},
	}
}

func TestEgressAddressSeenByTarget(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	for _, k := range kinds(t) {
		for _, egress := range []string{"", "127.0.0.2", "127.0.0.3"} {
			t.Run(k.name+" from "+egress, func(t *testing.T) {
				p := k.start(t, &Options{Egress: egress})
				c := dialThrough(t, p.URL("", ""), echo, k.tlsConf)
				defer c.Close()
				want := "from " + egress
				if egress == "" {
					want = "from 127.0.0.1"
				}
				if got := readGreeting(t, c); got != want {
					t.Errorf("target saw %q, want %q", got, want)
				}
				if p.Tunnels() != 1 || p.Accepted() != 1 {
					t.Errorf("Tunnels() = %d, Accepted() = %d; want 1, 1", p.Tunnels(), p.Accepted())
				}
			})
		}
	}
}

func TestAuthenticatedTunnel(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	for _, k := range kinds(t) {
		t.Run(k.name, func(t *testing.T) {
			// A password with the characters URLs and Basic auth care about.
			p := k.start(t, &Options{User: "alice", Password: "p@ss:w/rd%1", Egress: "127.0.0.3"})
			c := dialThrough(t, p.URL("alice", "p@ss:w/rd%1"), echo, k.tlsConf)
			defer c.Close()
			if got := readGreeting(t, c); got != "from 127.0.0.3" {
				t.Errorf("target saw %q, want from 127.0.0.3", got)
			}
			if p.AuthFailures() != 0 {
				t.Errorf("AuthFailures() = %d, want 0", p.AuthFailures())
			}
		})
	}
}

// TestHalfClose sends a payload, shuts the write half and expects the echo
// and then the end of stream: the half-close must cross the proxy both
// ways.
func TestHalfClose(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	payload := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	for _, k := range kinds(t) {
		t.Run(k.name, func(t *testing.T) {
			p := k.start(t, nil)
			c := dialThrough(t, p.URL("", ""), echo, k.tlsConf)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			written := make(chan error, 1)
			go func() {
				_, err := c.Write(payload)
				if err == nil {
					err = c.(interface{ CloseWrite() error }).CloseWrite()
				}
				written <- err
			}()
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("reading the echo: %v", err)
			}
			if err := <-written; err != nil {
				t.Fatalf("writing: %v", err)
			}
			want := append([]byte("from 127.0.0.1\n"), payload...)
			if !bytes.Equal(got, want) {
				t.Errorf("read %d bytes, want %d: the greeting and the payload", len(got), len(want))
			}
			waitFor(t, "the tunnel to close", func() bool { return p.Active() == 0 })
		})
	}
}

func TestKillAllMidStream(t *testing.T) {
	stream, ended := startStream(t, time.Millisecond, 0)
	echo := startEcho(t, "127.0.0.1:0")
	for _, k := range kinds(t) {
		t.Run(k.name, func(t *testing.T) {
			p := k.start(t, nil)
			c := dialThrough(t, p.URL("", ""), stream, k.tlsConf)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, make([]byte, 8<<10)); err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			if p.Active() != 1 {
				t.Fatalf("Active() = %d before KillAll, want 1", p.Active())
			}

			if n := p.KillAll(); n != 1 {
				t.Errorf("KillAll() = %d, want 1", n)
			}
			if p.Active() != 0 {
				t.Errorf("Active() = %d after KillAll, want 0", p.Active())
			}
			// The client sees the stream break, not end: no clean EOF.
			if _, err := io.Copy(io.Discard, c); err == nil || errors.Is(err, io.EOF) {
				t.Errorf("reading after KillAll ended with %v, want a connection error", err)
			}
			var ne net.Error
			if _, err := c.Read(make([]byte, 1)); errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("read after KillAll timed out instead of failing")
			}
			select {
			case err := <-ended:
				if err == nil {
					t.Error("target's writes did not fail after KillAll")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("target still streaming 5s after KillAll")
			}

			// The proxy itself lives on.
			c2 := dialThrough(t, p.URL("", ""), echo, k.tlsConf)
			defer c2.Close()
			if got := readGreeting(t, c2); got != "from 127.0.0.1" {
				t.Errorf("after KillAll the target saw %q, want from 127.0.0.1", got)
			}
			if p.Tunnels() != 2 {
				t.Errorf("Tunnels() = %d, want 2", p.Tunnels())
			}
		})
	}
}

func TestIdleTunnelCloses(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	for _, k := range kinds(t) {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			p := k.start(t, &Options{IdleTimeout: 150 * time.Millisecond})
			c := dialThrough(t, p.URL("", ""), echo, k.tlsConf)
			defer c.Close()
			readGreeting(t, c)
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatalf("Read on an idle tunnel = %d bytes, want the end", n)
			}
			if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
				t.Errorf("idle tunnel closed after %v, want about 150ms", d)
			}
			waitFor(t, "the tunnel to close", func() bool { return p.Active() == 0 })
		})
	}
}

// TestOneWayTrafficIsNotIdle streams for about three idle timeouts in one
// direction only: the tunnel must stay open.
func TestOneWayTrafficIsNotIdle(t *testing.T) {
	const chunks = 16
	stream, _ := startStream(t, 50*time.Millisecond, chunks)
	for _, k := range kinds(t) {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			p := k.start(t, &Options{IdleTimeout: 300 * time.Millisecond})
			c := dialThrough(t, p.URL("", ""), stream, k.tlsConf)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil || len(got) != chunks<<10 {
				t.Errorf("read %d bytes, %v; want %d bytes and the end", len(got), err, chunks<<10)
			}
		})
	}
}

func TestSilentClientTimesOut(t *testing.T) {
	for _, k := range kinds(t) {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			p := k.start(t, &Options{HandshakeTimeout: 150 * time.Millisecond})
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, c); err != nil {
				t.Errorf("silent client: %v, want the proxy to hang up", err)
			}
			if p.Accepted() != 1 || p.Tunnels() != 0 {
				t.Errorf("Accepted() = %d, Tunnels() = %d; want 1, 0", p.Accepted(), p.Tunnels())
			}
		})
	}
}

func TestCloseStopsTunnelsAndListener(t *testing.T) {
	stream, _ := startStream(t, time.Millisecond, 0)
	for _, k := range kinds(t) {
		t.Run(k.name, func(t *testing.T) {
			p := k.start(t, nil)
			c := dialThrough(t, p.URL("", ""), stream, k.tlsConf)
			defer c.Close()
			start := time.Now()
			p.Close()
			p.Close()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Close took %v with a tunnel open", d)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, c); err == nil {
				t.Error("tunnel still readable after Close")
			}
			if c2, err := net.Dial("tcp", p.Addr()); err == nil {
				c2.Close()
				t.Error("proxy still accepts after Close")
			}
		})
	}
}

func TestURL(t *testing.T) {
	for _, k := range kinds(t) {
		p := k.start(t, nil)
		tests := []struct {
			user, pass string
			want       string
		}{
			{"", "", k.name + "://" + p.Addr()},
			{"alice", "secret", k.name + "://alice:secret@" + p.Addr()},
			{"a b", "p@ss:1", k.name + "://a%20b:p%40ss%3A1@" + p.Addr()},
		}
		for _, tc := range tests {
			if got := p.URL(tc.user, tc.pass); got != tc.want {
				t.Errorf("%s: URL(%q, %q) = %s, want %s", k.name, tc.user, tc.pass, got, tc.want)
			}
		}
		if !strings.HasPrefix(p.Addr(), "127.0.0.1:") {
			t.Errorf("%s: Addr() = %s, want 127.0.0.1:port", k.name, p.Addr())
		}
	}
}

func TestConstructorsRejectBadOptions(t *testing.T) {
	ca := tlstest.NewCA(t)
	tests := []struct {
		name  string
		start func(testing.TB, *Options) *Proxy
		opts  *Options
		want  string // in the Fatal message
	}{
		{"egress not an IP", NewSOCKS5, &Options{Egress: "proxy.example"}, "proxy.example"},
		{"egress not an IP, http", NewHTTP, &Options{Egress: "127.0.0.300"}, "127.0.0.300"},
		{"tls config for socks5", NewSOCKS5, &Options{TLSConfig: &tls.Config{}}, "TLS"},
		{"certificate for socks5", NewSOCKS5, &Options{Certificate: &ca.Leaf}, "TLS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fatalCatcher{TB: t}
			func() {
				defer func() {
					if r := recover(); r != nil && r != ft {
						panic(r)
					}
				}()
				tc.start(ft, tc.opts)
			}()
			if !strings.Contains(ft.msg, tc.want) {
				t.Errorf("Fatal message %q, want it to mention %q", ft.msg, tc.want)
			}
		})
	}
}

// fatalCatcher stands in for a test to catch what a constructor passes to
// Fatal. Like the real Fatal it does not return: it panics with itself.
type fatalCatcher struct {
	testing.TB
	msg string
}

func (f *fatalCatcher) Helper() {}

func (f *fatalCatcher) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(f)
}

func (f *fatalCatcher) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}
