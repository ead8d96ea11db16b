package fpserver

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// handshakeTimeout bounds a client that connects and then stalls.
const handshakeTimeout = 10 * time.Second

// serve runs one connection: handshake, then HTTP/2 or HTTP/1.1 until the
// connection ends, then the final parse of what it sent.
func (s *Server) serve(c *conn) {
	defer c.raw.Close()
	defer c.finish()

	tc := tls.Server(c.raw, s.cfg)
	tc.SetDeadline(time.Now().Add(handshakeTimeout))
	err := tc.Handshake()
	// The Recorder has filed the ClientHello by now: the handshake's
	// first read did it.
	c.setHello(recorded(s.rec.Hellos(), c.raw.RemoteAddr().String()))
	rc := &recordConn{Conn: tc, max: s.maxRecord, closed: make(chan struct{})}
	c.setHandshake(rc, err)
	if err != nil {
		return
	}
	tc.SetDeadline(time.Time{})

	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		s.h2.ServeConn(rc, &http2.ServeConnOpts{BaseConfig: s.base, Handler: s.track(s.handler)})
		return
	}
	s.serveH1(rc)
}

// serveH1 runs net/http on the one connection rc and returns once it is
// closed. Handlers get rc's TLS state, which net/http only fills in for
// a *tls.Conn.
func (s *Server) serveH1(rc *recordConn) {
	st := rc.ConnectionState()
	// stopped is closed when net/http is done with the connection: it
	// closed it, or a handler hijacked it.
	stopped := make(chan struct{})
	var once sync.Once
	srv := &http.Server{
		Handler:  s.track(withTLS(s.handler, &st)),
		ErrorLog: s.base.ErrorLog,
		ConnState: func(_ net.Conn, cs http.ConnState) {
			if cs == http.StateClosed || cs == http.StateHijacked {
				once.Do(func() { close(stopped) })
			}
		},
	}
	srv.Serve(&oneConnListener{conn: rc, done: s.done})
	<-stopped
}

// withTLS gives h's requests the TLS state st.
func withTLS(h http.Handler, st *tls.ConnectionState) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			r = r.WithContext(r.Context())
			r.TLS = st
		}
		h.ServeHTTP(w, r)
	})
}

// recordConn is a TLS connection that keeps a copy of the first max bytes
// read from it.
type recordConn struct {
	*tls.Conn
	max int
	// closed is closed by the first Close.
	closed    chan struct{}
	closeOnce sync.Once

	// mu guards buf. buf only ever grows, so the bytes of a slice taken
	// under mu never change afterwards.
	mu  sync.Mutex
	buf []byte
}

// Read reads from the TLS connection and records what it returns.
func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if room := c.max - len(c.buf); room > 0 {
			c.buf = append(c.buf, p[:min(n, room)]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

// Close closes the TLS connection.
func (c *recordConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// recorded returns the bytes recorded so far. The caller must not modify
// them.
func (c *recordConn) recorded() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf[:len(c.buf):len(c.buf)]
}

// oneConnListener hands its connection to http.Server.Serve once, then
// blocks until that connection is closed or the server shuts down, so
// that Serve runs exactly one connection and returns after it.
type oneConnListener struct {
	done <-chan struct{}

	// mu guards conn, which is nil once handed out.
	mu   sync.Mutex
	conn *recordConn
	// waitFor is the handed-out connection's closed channel.
	waitFor chan struct{}
}

// Accept returns the connection on its first call; later calls wait.
func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	if c != nil {
		l.waitFor = c.closed
	}
	wait := l.waitFor
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	select {
	case <-wait:
	case <-l.done:
	}
	return nil, net.ErrClosed
}

// Close does nothing: the connection outlives Serve's listener.
func (l *oneConnListener) Close() error { return nil }

// Addr returns a placeholder; net/http only reads it for logs.
func (l *oneConnListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
