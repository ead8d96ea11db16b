package proxytest

import (
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSOCKS5AddressTypes(t *testing.T) {
	echo4 := startEcho(t, "127.0.0.1:0")
	echo6 := startEcho(t, "[::1]:0")
	_, port4, _ := net.SplitHostPort(echo4)
	tests := []struct {
		name   string
		target string
		want   string // greeting
	}{
		{"ipv4", echo4, "from 127.0.0.1"},
		{"ipv6", echo6, "from ::1"},
		{"domain name resolved by the proxy", "localhost:" + port4, "from 127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewSOCKS5(t, nil)
			c, code, err := socksDial(t, p.Addr(), splitTarget(t, tc.target))
			if err != nil {
				t.Fatalf("SOCKS5 CONNECT %s: reply %#x, %v", tc.target, code, err)
			}
			defer c.Close()
			if got := readGreeting(t, c); got != tc.want {
				t.Errorf("target saw %q, want %q", got, tc.want)
			}
			if got := p.Targets(); !slices.Equal(got, []string{tc.target}) {
				t.Errorf("Targets() = %q, want [%s]", got, tc.target)
			}
		})
	}
}

func TestSOCKS5Auth(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	tests := []struct {
		name     string
		opts     *Options
		req      socksRequest
		wantErr  error // nil: the tunnel opens
		failures int
	}{
		{
			name: "right credentials",
			opts: &Options{User: "alice", Password: "secret"},
			req:  socksRequest{user: "alice", pass: "secret"},
		},
		{
			name:     "wrong password",
			opts:     &Options{User: "alice", Password: "secret"},
			req:      socksRequest{user: "alice", pass: "guess"},
			wantErr:  errAuthRejected,
			failures: 1,
		},
		{
			name:     "wrong user",
			opts:     &Options{User: "alice", Password: "secret"},
			req:      socksRequest{user: "bob", pass: "secret"},
			wantErr:  errAuthRejected,
			failures: 1,
		},
		{
			name:     "client offers no authentication",
			opts:     &Options{User: "alice", Password: "secret"},
			req:      socksRequest{methods: []byte{0}},
			wantErr:  errMethodRejected,
			failures: 1,
		},
		{
			name: "open proxy picks no authentication",
			req:  socksRequest{methods: []byte{2, 0}},
		},
		{
			name:    "open proxy refuses username/password only",
			req:     socksRequest{user: "alice", pass: "secret"},
			wantErr: errMethodRejected,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewSOCKS5(t, tc.opts)
			req := splitTarget(t, echo)
			req.user, req.pass, req.methods = tc.req.user, tc.req.pass, tc.req.methods
			c, _, err := socksDial(t, p.Addr(), req)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("socksDial error = %v, want %v", err, tc.wantErr)
			}
			if c != nil {
				defer c.Close()
				if got := readGreeting(t, c); got != "from 127.0.0.1" {
					t.Errorf("target saw %q, want from 127.0.0.1", got)
				}
			}
			if p.AuthFailures() != tc.failures {
				t.Errorf("AuthFailures() = %d, want %d", p.AuthFailures(), tc.failures)
			}
			wantTunnels := 0
			if tc.wantErr == nil {
				wantTunnels = 1
			}
			if p.Tunnels() != wantTunnels {
				t.Errorf("Tunnels() = %d, want %d", p.Tunnels(), wantTunnels)
			}
		})
	}
}

func TestSOCKS5Replies(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	echo6 := startEcho(t, "[::1]:0")
	refused := closedPort(t)
	deny := func(target string) bool { return !strings.HasPrefix(target, "127.0.0.1:") }
	tests := []struct {
		name       string
		opts       *Options
		req        socksRequest
		want       byte
		wantTarget string // recorded target, if any
	}{
		{
			name:       "connection refused",
			req:        splitTarget(t, refused),
			want:       ReplyConnectionRefused,
			wantTarget: refused,
		},
		{
			name:       "name does not resolve",
			opts:       &Options{DialTimeout: time.Second},
			req:        socksRequest{host: "no-such-host.invalid", port: 80},
			want:       ReplyHostUnreachable,
			wantTarget: "no-such-host.invalid:80",
		},
		{
			name:       "not allowed",
			opts:       &Options{Allow: deny},
			req:        splitTarget(t, echo),
			want:       ReplyNotAllowed,
			wantTarget: echo,
		},
		{
			name:       "ipv6 target from an ipv4 egress",
			opts:       &Options{Egress: "127.0.0.2"},
			req:        splitTarget(t, echo6),
			want:       ReplyGeneralFailure,
			wantTarget: echo6,
		},
		{
			name: "bind",
			req:  socksRequest{cmd: 2, host: "127.0.0.1", port: 1},
			want: ReplyCommandUnsupported,
		},
		{
			name: "udp associate",
			req:  socksRequest{cmd: 3, host: "127.0.0.1", port: 1},
			want: ReplyCommandUnsupported,
		},
		{
			name: "unknown address type",
			req:  socksRequest{atyp: 9, host: "x", port: 1},
			want: ReplyAddressUnsupported,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewSOCKS5(t, tc.opts)
			c, code, err := socksDial(t, p.Addr(), tc.req)
			if c != nil {
				c.Close()
			}
			if !errors.Is(err, errReply) || code != tc.want {
				t.Fatalf("reply %#x, error %v; want reply %#x", code, err, tc.want)
			}
			var want []string
			if tc.wantTarget != "" {
				want = []string{tc.wantTarget}
			}
			if got := p.Targets(); !slices.Equal(got, want) {
				t.Errorf("Targets() = %q, want %q", got, want)
			}
			if p.Tunnels() != 0 {
				t.Errorf("Tunnels() = %d, want 0", p.Tunnels())
			}
		})
	}
}

// TestSOCKS5BoundAddress checks that the success reply names the address
// the proxy dialed from.
func TestSOCKS5BoundAddress(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	p := NewSOCKS5(t, &Options{Egress: "127.0.0.3"})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte{5, 1, 0})
	c.Write(socksConnect(splitTarget(t, echo)))
	reply := make([]byte, 2+10)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	ip := net.IP(reply[2+4 : 2+8])
	port := int(reply[2+8])<<8 | int(reply[2+9])
	if reply[3] != 0 || reply[5] != 1 || !ip.Equal(net.IPv4(127, 0, 0, 3)) || port == 0 {
		t.Errorf("reply % x: code %d, bound %s:%d; want 0 and 127.0.0.3 with a port",
			reply[2:], reply[3], ip, port)
	}
	if got := readGreeting(t, c); got != "from 127.0.0.3" {
		t.Errorf("target saw %q, want from 127.0.0.3", got)
	}
}

// TestSOCKS5EarlyData sends the greeting, the request and the first bytes
// for the target in one write, without waiting for any reply.
func TestSOCKS5EarlyData(t *testing.T) {
	echo := startEcho(t, "127.0.0.1:0")
	p := NewSOCKS5(t, nil)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	msg := append([]byte{5, 1, 0}, socksConnect(splitTarget(t, echo))...)
	if _, err := c.Write(append(msg, "early bytes"...)); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	// Method choice (2 bytes) and reply (10 bytes) come first.
	if len(got) < 12 || string(got[12:]) != "from 127.0.0.1\nearly bytes" {
		t.Errorf("read %q, want the replies, the greeting and the early bytes", got)
	}
}
