package proxytest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Default deadlines, used where Options leaves them zero.
const (
	defaultHandshakeTimeout = 5 * time.Second
	defaultIdleTimeout      = 10 * time.Second
	defaultDialTimeout      = 5 * time.Second
)

// Options configure a proxy. A nil *Options, like the zero value, gives an
// open proxy that dials from the system's choice of address with the
// default deadlines.
type Options struct {
	// User and Password are the credentials clients must present. An
	// empty User means no authentication.
	User, Password string

	// Egress is the local IP address targets are dialed from, such as
	// "127.0.0.2". Empty lets the system choose.
	Egress string

	// Allow, when set, is asked for every requested target (host:port as
	// the client sent it). A false answer refuses the request: SOCKS5
	// reply 0x02, HTTP 403.
	Allow func(target string) bool

	// TLSConfig makes the HTTP proxy serve HTTPS: clients talk TLS to
	// the proxy before sending CONNECT. It is cloned. Not for SOCKS5.
	TLSConfig *tls.Config

	// Certificate is a shorthand for a TLSConfig holding only this
	// certificate. Ignored when TLSConfig is set.
	Certificate *tls.Certificate

	// HandshakeTimeout bounds the client's side of the handshake: TLS,
	// authentication and request, until the tunnel opens. Zero means 5
	// seconds.
	HandshakeTimeout time.Duration

	// IdleTimeout closes a tunnel in which no byte moved either way for
	// this long. Zero means 10 seconds.
	IdleTimeout time.Duration

	// DialTimeout bounds the dial to a target. Zero means 5 seconds.
	DialTimeout time.Duration
}

// handshakeFunc runs a proxy protocol on a fresh client connection. On
// success it has dialed and answered the client, and returns the target
// with any bytes the client already sent past its request.
type handshakeFunc func(ctx context.Context, p *Proxy, client net.Conn) (
	target net.Conn, early []byte, err error)

// Proxy is a running proxy. Its methods are safe for concurrent use.
type Proxy struct {
	scheme    string
	opts      Options
	tlsConfig *tls.Config
	handshake handshakeFunc
	ln        net.Listener

	accepted     atomic.Int64
	tunnels      atomic.Int64
	authFailures atomic.Int64
	active       atomic.Int64

	wg        sync.WaitGroup
	closeOnce sync.Once

	// mu guards the fields below.
	mu       sync.Mutex
	targets  []string
	sessions map[*session]struct{}
	closed   bool
	egress   net.IP // nil: the system's choice
}

// start resolves the options, listens and serves until the test's
// cleanup.
func start(t testing.TB, scheme string, opts *Options, hs handshakeFunc) *Proxy {
	t.Helper()
	p := &Proxy{scheme: scheme, handshake: hs, sessions: map[*session]struct{}{}}
	if opts != nil {
		p.opts = *opts
	}
	p.opts.HandshakeTimeout = orDefault(p.opts.HandshakeTimeout, defaultHandshakeTimeout)
	p.opts.IdleTimeout = orDefault(p.opts.IdleTimeout, defaultIdleTimeout)
	p.opts.DialTimeout = orDefault(p.opts.DialTimeout, defaultDialTimeout)
	if err := p.SetEgress(p.opts.Egress); err != nil {
		t.Fatal(err)
	}
	switch {
	case p.opts.TLSConfig != nil:
		p.tlsConfig = p.opts.TLSConfig.Clone()
	case p.opts.Certificate != nil:
		p.tlsConfig = &tls.Config{Certificates: []tls.Certificate{*p.opts.Certificate}}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxytest: listen: %v", err)
	}
	p.ln = ln
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Addr returns the proxy's address, such as "127.0.0.1:41234".
func (p *Proxy) Addr() string {
	return p.ln.Addr().String()
}

// URL returns the proxy's URL with the given credentials, such as
// "socks5://user:pass@127.0.0.1:41234". Both empty leave out the user
// information. The scheme is socks5, http or https.
func (p *Proxy) URL(user, pass string) string {
	u := url.URL{Scheme: p.scheme, Host: p.Addr()}
	if user != "" || pass != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// Accepted returns how many client connections the proxy accepted.
func (p *Proxy) Accepted() int { return int(p.accepted.Load()) }

// Tunnels returns how many tunnels the proxy opened: requests that were
// dialed and answered with success.
func (p *Proxy) Tunnels() int { return int(p.tunnels.Load()) }

// AuthFailures returns how many times a client failed to authenticate:
// wrong or missing credentials, or (SOCKS5) no acceptable method offered
// while authentication is required.
func (p *Proxy) AuthFailures() int { return int(p.authFailures.Load()) }

// Active returns how many tunnels are open now.
func (p *Proxy) Active() int { return int(p.active.Load()) }

// Targets returns the target of every CONNECT request so far, as
// host:port in the form the client sent it, in order. Requests that were
// refused or failed to dial are included.
func (p *Proxy) Targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

// KillAll abruptly resets every connection the proxy holds, on both the
// client and the target side, tunnels and handshakes in progress alike,
// and waits until they are gone. It returns how many open tunnels it
// killed. The proxy keeps accepting new connections.
func (p *Proxy) KillAll() int {
	p.mu.Lock()
	var victims []*session
	for s := range p.sessions {
		victims = append(victims, s)
	}
	p.mu.Unlock()

	killed := 0
	for _, s := range victims {
		if s.kill() {
			killed++
		}
	}
	for _, s := range victims {
		<-s.done
	}
	return killed
}

// Close stops the proxy: it closes the listener, resets every connection
// and waits for all goroutines. It is registered as the test's cleanup,
// and may also be called earlier, more than once.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.ln.Close()
		p.KillAll()
		p.wg.Wait()
	})
}

// serve accepts client connections until the listener closes.
func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		p.accepted.Add(1)
		s := p.track(c)
		if s == nil {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(s)
			p.run(s)
		}()
	}
}

// track registers a new session, or returns nil once the proxy is closed.
func (p *Proxy) track(c net.Conn) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	s := newSession(c)
	p.sessions[s] = struct{}{}
	return s
}

func (p *Proxy) untrack(s *session) {
	p.mu.Lock()
	delete(p.sessions, s)
	p.mu.Unlock()
	close(s.done)
}

func (p *Proxy) addTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.targets = append(p.targets, target)
}

// allowed reports whether the Allow option lets target through.
func (p *Proxy) allowed(target string) bool {
	return p.opts.Allow == nil || p.opts.Allow(target)
}

// credentialsOK reports whether user and pass match, or no credentials
// are required.
func (p *Proxy) credentialsOK(user, pass string) bool {
	return p.opts.User == "" || user == p.opts.User && pass == p.opts.Password
}

// run serves one client connection: the proxy handshake, then the tunnel.
func (p *Proxy) run(s *session) {
	defer s.closeAll()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !s.setCancel(cancel) {
		return
	}

	client := s.raw
	if p.tlsConfig != nil {
		client = tls.Server(s.raw, p.tlsConfig)
		s.setClient(client)
	}
	client.SetDeadline(time.Now().Add(p.opts.HandshakeTimeout))
	target, early, err := p.handshake(ctx, p, client)
	if err != nil {
		return
	}
	if !s.setTarget(target) {
		return
	}
	client.SetDeadline(time.Time{})

	p.tunnels.Add(1)
	p.active.Add(1)
	defer p.active.Add(-1)
	p.pipe(s, client, target, early)
}

// dial connects to target from the egress address within the dial
// timeout.
func (p *Proxy) dial(ctx context.Context, target string) (net.Conn, error) {
	d := net.Dialer{Timeout: p.opts.DialTimeout}
	p.mu.Lock()
	if p.egress != nil {
		d.LocalAddr = &net.TCPAddr{IP: p.egress}
	}
	p.mu.Unlock()
	return d.DialContext(ctx, "tcp", target)
}

// SetEgress changes the local address later tunnels dial their targets
// from, as a rotating gateway changes its exit under one credential;
// tunnels already open keep theirs. An empty ip lets the system choose.
func (p *Proxy) SetEgress(ip string) error {
	var egress net.IP
	if ip != "" {
		if egress = net.ParseIP(ip); egress == nil {
			return fmt.Errorf("proxytest: egress %q is not an IP address", ip)
		}
	}
	p.mu.Lock()
	p.egress = egress
	p.mu.Unlock()
	return nil
}

// session is one client connection and, once dialed, its target.
type session struct {
	raw  net.Conn
	done chan struct{} // closed when the session has ended

	// mu guards the fields below.
	mu       sync.Mutex
	client   net.Conn // raw, or the TLS connection over it
	target   net.Conn
	cancel   context.CancelFunc
	tunneled bool
	killed   bool
}

func newSession(c net.Conn) *session {
	return &session{raw: c, client: c, done: make(chan struct{})}
}

func (s *session) setCancel(cancel context.CancelFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancel = cancel
	return !s.killed
}

func (s *session) setClient(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.client = c
}

// setTarget records the dialed target. It returns false, having closed
// the target, when the session was killed meanwhile.
func (s *session) setTarget(target net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed {
		target.Close()
		return false
	}
	s.target, s.tunneled = target, true
	return true
}

// kill resets both connections and cancels a dial in progress. It
// reports whether the session had an open tunnel.
func (s *session) kill() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed {
		return false
	}
	s.killed = true
	if s.cancel != nil {
		s.cancel()
	}
	reset(s.raw)
	if s.target != nil {
		reset(s.target)
	}
	return s.tunneled
}

// closeAll closes both connections in the ordinary way. Closing a TLS
// client may block on its close_notify, so it happens outside the lock.
func (s *session) closeAll() {
	s.mu.Lock()
	client, target := s.client, s.target
	s.mu.Unlock()
	client.Close()
	if target != nil {
		target.Close()
	}
}

// reset closes c so that the peer gets a TCP reset rather than an orderly
// end of stream, as when a proxy process dies.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
