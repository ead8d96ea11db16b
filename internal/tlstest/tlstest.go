// Package tlstest starts local TLS servers for tests: a throwaway CA, and a
// server on loopback that records what each client offered (extensions in
// wire order, whether the handshake resumed) and can tie every ticket it
// issues to the client address it was issued to.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// CA is a certificate authority and one leaf it issued, valid for
// localhost, 127.0.0.1, 127.0.0.2 and 127.0.0.3. [CA.Issue] makes more.
type CA struct {
	// Pool trusts the CA.
	Pool *x509.CertPool
	// Leaf is the server certificate with its chain (leaf, CA).
	Leaf tls.Certificate
	// PEM is the CA certificate in PEM form.
	PEM []byte

	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	serial atomic.Int64
}

// NewCA returns a fresh CA with a leaf for the loopback names.
func NewCA(t testing.TB) *CA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "revisit test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	ca := &CA{
		Pool: pool,
		PEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		cert: caCert,
		key:  caKey,
	}
	ca.serial.Store(1)
	ca.Leaf = ca.Issue(t, now.Add(-time.Hour), now.Add(30*24*time.Hour),
		"localhost", "127.0.0.1", "127.0.0.2", "127.0.0.3", "::1")
	return ca
}

// Issue returns a server certificate with its chain (leaf, CA) for names,
// each a DNS name (wildcards such as *.example.test allowed) or an IP
// address, valid from notBefore to notAfter. Tests use it for servers
// under other names, and for expired or not yet valid certificates.
func (ca *CA) Issue(t testing.TB, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial.Add(1)),
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if len(names) > 0 {
		tmpl.Subject = pkix.Name{CommonName: names[0]}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
}

// Hello is what the server saw of one handshake.
type Hello struct {
	// Extensions are the ClientHello's extension types in wire order.
	Extensions []uint16
	ServerName string
	// Remote is the client's address.
	Remote net.Addr
	// Resumed reports a resumed handshake.
	Resumed bool
	// Err is the handshake's error, if it failed.
	Err error
}

// Offered41 reports whether the ClientHello carried pre_shared_key.
func (h Hello) Offered41() bool {
	for _, e := range h.Extensions {
		if e == 41 {
			return true
		}
	}
	return false
}

// Options configure a Server.
type Options struct {
	// Config, if set, is cloned as the server's TLS config; Certificates
	// are filled in from the CA when empty.
	Config *tls.Config
	// TieTicketsToIP makes the server refuse (by a full handshake) any
	// ticket presented from another IP than the one it was issued to, and
	// count such crossings.
	TieTicketsToIP bool
	// Handle serves one connection after the handshake. Nil writes
	// "ok\n" and closes.
	Handle func(*tls.Conn)
}

// Server is a TLS server on 127.0.0.1 that records handshakes.
type Server struct {
	Addr string
	ln   net.Listener
	wg   sync.WaitGroup

	// mu guards the fields below.
	// sent counts the bytes written to clients, TLS records included.
	sent atomic.Int64

	mu       sync.Mutex
	hellos   []Hello
	crossed  int
	pending  map[net.Conn]*Hello
	issuedTo map[string]int
}

// NewServer starts a server; t.Cleanup stops it.
func NewServer(t testing.TB, ca *CA, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, pending: map[net.Conn]*Hello{}}
	cfg := &tls.Config{}
	if opts.Config != nil {
		cfg = opts.Config.Clone()
	}
	if len(cfg.Certificates) == 0 {
		cfg.Certificates = []tls.Certificate{ca.Leaf}
	}
	if opts.TieTicketsToIP {
		s.tieToIP(cfg)
	}
	handle := opts.Handle
	if handle == nil {
		handle = func(c *tls.Conn) { io.WriteString(c, "ok\n") }
	}
	s.wg.Add(1)
	go s.serve(cfg, handle)
	t.Cleanup(s.Close)
	return s
}

// tieToIP wraps each ticket with the IP it is issued to and refuses it
// from any other.
func (s *Server) tieToIP(cfg *tls.Config) {
	// One fixed ticket key for the configs cloned below; left alone, each
	// clone would make keys of its own and no ticket would ever resume.
	var key [32]byte
	rand.Read(key[:])
	cfg.SetSessionTicketKeys([][32]byte{key})
	// The connection's address is not in ConnectionState, so the
	// per-connection config made here captures it; the IP travels inside
	// the encrypted ticket, in the session's Extra.
	cfg.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		ip, _, _ := net.SplitHostPort(hi.Conn.RemoteAddr().String())
		c := cfg.Clone()
		c.GetConfigForClient = nil
		c.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
			ss.Extra = append(ss.Extra, []byte("ip="+ip))
			return c.EncryptTicket(cs, ss)
		}
		c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
			ss, err := c.DecryptTicket(identity, cs)
			if err != nil || ss == nil {
				return ss, err
			}
			for _, e := range ss.Extra {
				if string(e) == "ip="+ip {
					return ss, nil
				}
			}
			s.mu.Lock()
			s.crossed++
			s.mu.Unlock()
			return nil, nil
		}
		return c, nil
	}
}

func (s *Server) serve(cfg *tls.Config, handle func(*tls.Conn)) {
	defer s.wg.Done()
	base := cfg.GetConfigForClient
	cfg = cfg.Clone()
	cfg.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		s.mu.Lock()
		if h := s.pending[hi.Conn]; h != nil {
			h.Extensions = append([]uint16(nil), hi.Extensions...)
			h.ServerName = hi.ServerName
		}
		s.mu.Unlock()
		if base != nil {
			return base(hi)
		}
		return nil, nil
	}
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleConn(c, cfg, handle)
		}()
	}
}

func (s *Server) handleConn(c net.Conn, cfg *tls.Config, handle func(*tls.Conn)) {
	defer c.Close()
	c = &countingConn{Conn: c, n: &s.sent}
	h := &Hello{Remote: c.RemoteAddr()}
	s.mu.Lock()
	s.pending[c] = h
	s.mu.Unlock()
	tc := tls.Server(c, cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	err := tc.Handshake()
	s.mu.Lock()
	delete(s.pending, c)
	h.Err = err
	h.Resumed = err == nil && tc.ConnectionState().DidResume
	s.hellos = append(s.hellos, *h)
	s.mu.Unlock()
	if err != nil {
		return
	}
	handle(tc)
	tc.Close()
}

// BytesSent returns how many bytes the server has written to clients, TLS
// framing included: what the clients received.
func (s *Server) BytesSent() int64 { return s.sent.Load() }

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// Hellos returns what the server saw so far, in order of completion.
func (s *Server) Hellos() []Hello {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Hello(nil), s.hellos...)
}

// Crossed returns how many tickets were presented from another IP than the
// one they were issued to.
func (s *Server) Crossed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crossed
}

// Close stops the server and waits for its connections.
func (s *Server) Close() {
	if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return
	}
	s.wg.Wait()
}

// HTTPServer is an HTTPS server on 127.0.0.1 speaking HTTP/2 and
// HTTP/1.1 (or HTTP/1.1 only), recording each handshake like Server.
type HTTPServer struct {
	*Server
	// URL is the server's base URL, https://localhost:PORT.
	URL string
}

// HTTPOptions configure an HTTPServer.
type HTTPOptions struct {
	// Config is cloned as the TLS config, as in Options.
	Config *tls.Config
	// H1Only turns HTTP/2 off.
	H1Only bool
	// TieTicketsToIP is as in Options.
	TieTicketsToIP bool
	// H2 configures the HTTP/2 server (stream limits, windows); nil
	// means x/net's defaults.
	H2 *http2.Server
}

// NewHTTPServer starts an HTTPS server running h; t.Cleanup stops it.
func NewHTTPServer(t testing.TB, ca *CA, h http.Handler, opts *HTTPOptions) *HTTPServer {
	t.Helper()
	if opts == nil {
		opts = &HTTPOptions{}
	}
	cfg := &tls.Config{}
	if opts.Config != nil {
		cfg = opts.Config.Clone()
	}
	cfg.NextProtos = []string{"h2", "http/1.1"}
	if opts.H1Only {
		cfg.NextProtos = []string{"http/1.1"}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	hs := &HTTPServer{}
	hs.Server = NewServer(t, ca, &Options{
		Config:         cfg,
		TieTicketsToIP: opts.TieTicketsToIP,
		Handle: func(c *tls.Conn) {
			c.SetDeadline(time.Time{})
			ln := &oneConnListener{conn: c, done: make(chan struct{})}
			if c.ConnectionState().NegotiatedProtocol == "h2" {
				h2s := opts.H2
				if h2s == nil {
					h2s = &http2.Server{}
				}
				h2s.ServeConn(c, &http2.ServeConnOpts{BaseConfig: srv, Handler: h})
				return
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
				ConnState: func(_ net.Conn, st http.ConnState) {
					if st == http.StateClosed || st == http.StateHijacked {
						ln.closeOnce()
					}
				}}
			go srv.Serve(ln)
			<-ln.done
		},
	})
	_, port, _ := net.SplitHostPort(hs.Addr)
	hs.URL = "https://localhost:" + port
	return hs
}

// oneConnListener hands one connection to http.Server and then blocks
// until it is closed, so that Serve runs exactly that connection.
type oneConnListener struct {
	mu   sync.Mutex
	conn net.Conn
	done chan struct{}
	once sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) closeOnce() { l.once.Do(func() { close(l.done) }) }
func (l *oneConnListener) Close() error {
	l.closeOnce()
	return nil
}
func (l *oneConnListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
