package ja4

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// selfSigned returns a throwaway certificate for example.com and
// 127.0.0.1.
func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.com"},
		DNSNames:     []string{"example.com"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// listen opens a TCP listener on a random loopback port, closed at cleanup.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// handshake is what the test TLS server learned from one connection.
type handshake struct {
	info    *tls.ClientHelloInfo // nil when no ClientHello was parsed
	resumed bool
	err     error
}

// tlsServer is a crypto/tls server for tests. It completes handshakes,
// writes "hi" and closes, reporting each connection on done.
type tlsServer struct {
	cert tls.Certificate
	// ticketKey is shared by the per-connection configs so that tickets
	// from one connection resume on another.
	ticketKey [32]byte
	done      chan handshake
	wg        sync.WaitGroup
}

// serveTLS serves TLS on ln until cleanup, which closes ln and waits for
// the server's goroutines.
func serveTLS(t testing.TB, ln net.Listener) *tlsServer {
	t.Helper()
	s := &tlsServer{cert: selfSigned(t), done: make(chan handshake, 64)}
	rand.Read(s.ticketKey[:])
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *tlsServer) handle(raw net.Conn) {
	defer raw.Close()
	var info *tls.ClientHelloInfo
	cfg := &tls.Config{
		Certificates:     []tls.Certificate{s.cert},
		SessionTicketKey: s.ticketKey,
		GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			info = hi
			return nil, nil
		},
	}
	c := tls.Server(raw, cfg)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	err := c.Handshake()
	if err == nil {
		_, err = c.Write([]byte("hi"))
	}
	// Never block the handler: a test that stops listening must not hang
	// the cleanup.
	select {
	case s.done <- handshake{info: info, resumed: c.ConnectionState().DidResume, err: err}:
	default:
	}
}

// next waits for the next connection the server finished with.
func (s *tlsServer) next(t testing.TB) handshake {
	t.Helper()
	select {
	case h := <-s.done:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("tls server: no connection finished within 10s")
		return handshake{}
	}
}
