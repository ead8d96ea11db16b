package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"
)

// exit is one way out: direct, or one proxy with one credential. The
// transport keeps one per distinct proxy URL (password included), with the
// identities it was seen as: one, or one per address an exit probe
// observed.
type exit struct {
	owner *Transport
	proxy *url.URL // nil for direct
	label string   // no password
	// key tells exits apart in the pool: the full proxy URL, password
	// included. It is kept in memory only and never printed.
	key      string
	rotating bool   // declared rotating: no tickets, cookies in memory
	probe    string // the exit probe's URL, asked before each new connection; "" for none
	staticIP string // the address known without a probe, or ""

	// mu guards the fields below.
	mu      sync.Mutex
	ids     map[string]*identity // by observed address
	current *identity            // of the newest connection
}

func (e *exit) direct() bool { return e.proxy == nil }

// dialTunnel returns a TCP connection to target (host:port) through the
// exit: dialled directly, or a tunnel opened by the proxy. The whole of it
// is bounded by ctx and by the transport's DialTimeout.
func (t *Transport) dialTunnel(ctx context.Context, ex *exit, target string, tr *Trace) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.DialTimeout)
	defer cancel()
	if ex.direct() {
		return t.dialTCP(ctx, target, tr)
	}
	proxyAddr := proxyHostPort(ex.proxy)
	conn, err := t.dialTCP(ctx, proxyAddr, tr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: dial: %w", ErrProxy, ex.label, err)
	}
	conn, err = t.openTunnel(ctx, ex, conn, target)
	if tr.ProxyConnected != nil {
		tr.ProxyConnected(ex.label, target, err)
	}
	return conn, err
}

func (t *Transport) dialTCP(ctx context.Context, addr string, tr *Trace) (net.Conn, error) {
	if tr.DialStart != nil {
		tr.DialStart(addr)
	}
	dial := t.dialer.DialContext
	if t.cfg.DialContext != nil {
		dial = t.cfg.DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if tr.DialDone != nil {
		tr.DialDone(addr, err)
	}
	return conn, err
}

// openTunnel speaks the proxy's protocol on conn. While it does, the
// connection's deadline follows ctx, so a silent proxy cannot hold the
// caller past its deadline or cancellation.
func (t *Transport) openTunnel(ctx context.Context, ex *exit, raw net.Conn, target string) (net.Conn, error) {
	stop := bindDeadline(ctx, raw)
	conn := raw
	var err error
	switch ex.proxy.Scheme {
	case "http":
		conn, err = t.connectHTTP(raw, ex, target)
	case "https":
		tc := tls.Client(raw, &tls.Config{
			ServerName: ex.proxy.Hostname(),
			RootCAs:    t.cfg.RootCAs,
			NextProtos: []string{"http/1.1"},
		})
		if err = tc.HandshakeContext(ctx); err != nil {
			err = fmt.Errorf("%w: %s: tls: %w", ErrProxy, ex.label, err)
			break
		}
		conn, err = t.connectHTTP(tc, ex, target)
	case "socks5", "socks5h":
		err = socks5Connect(raw, ex, target)
	default:
		err = fmt.Errorf("%w: proxy %s", ErrUnsupportedScheme, ex.label)
	}
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		raw.Close()
		return nil, err
	}
	return conn, nil
}

// bindDeadline makes conn's I/O fail when ctx ends, and sets ctx's
// deadline on it. The returned stop clears both; it reports false if ctx
// had already ended.
func bindDeadline(ctx context.Context, conn net.Conn) (stop func() bool) {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stopAfter := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() bool {
		ok := stopAfter()
		if ok {
			conn.SetDeadline(time.Time{})
		}
		return ok
	}
}

// proxyHostPort returns the proxy's address with the scheme's default port
// filled in.
func proxyHostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		default:
			port = "1080"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
