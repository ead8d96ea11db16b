package main

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	utls "github.com/refraction-networking/utls"

	"github.com/revisit-crawl/revisit/benchmarks/internal/chain"
)

// session is the one real TLS 1.3 session every stored ticket copies, and
// the sizes of its parts.
type session struct {
	cs *utls.ClientSessionState
	// ticket is the server's opaque ticket; state utls's encoding of the
	// session, which holds the peer chain and the verified chain.
	ticket, state int
	// leaf, intermediate and root are the DER sizes of the certificates.
	leaf, intermediate, root int
}

// captureCache keeps the sessions utls stores, and never offers one.
type captureCache struct {
	mu       sync.Mutex
	sessions []*utls.ClientSessionState
}

func (c *captureCache) Get(string) (*utls.ClientSessionState, bool) { return nil, false }

func (c *captureCache) Put(_ string, cs *utls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs != nil {
		c.sessions = append(c.sessions, cs)
	}
}

// realSession makes one TLS 1.3 handshake with a local crypto/tls server
// that presents a leaf and an intermediate, speaking Chrome 133 with a
// pre_shared_key extension as the transport does, and returns the session
// the server's ticket created.
func realSession() (*session, error) {
	ch, err := chain.New()
	if err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{ch.Cert},
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"h2", "http/1.1"},
	})
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() { served <- serveOnce(ln) }()

	cc := &captureCache{}
	if err := handshake(ln.Addr().String(), ch, cc); err != nil {
		return nil, err
	}
	if err := <-served; err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if len(cc.sessions) == 0 {
		return nil, errors.New("the server sent no ticket")
	}
	return describe(cc.sessions[0], ch)
}

// serveOnce answers one connection with a short message and closes it.
func serveOnce(ln net.Listener) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write([]byte("ok"))
	return err
}

func handshake(addr string, ch *chain.Chain, cache utls.ClientSessionCache) error {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	cfg := &utls.Config{
		ServerName:         "localhost",
		RootCAs:            ch.Roots,
		ClientSessionCache: cache,
		OmitEmptyPsk:       true,
	}
	uc := utls.UClient(raw, cfg, utls.HelloCustom)
	spec, err := utls.UTLSIdToSpec(utls.HelloChrome_133)
	if err != nil {
		return err
	}
	spec.Extensions = append(spec.Extensions, &utls.UtlsPreSharedKeyExtension{})
	if err := uc.ApplyPreset(&spec); err != nil {
		return err
	}
	if err := uc.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	// TLS 1.3 tickets arrive after the handshake and are stored as the
	// client reads.
	if _, err := io.ReadAll(uc); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

func describe(cs *utls.ClientSessionState, ch *chain.Chain) (*session, error) {
	ticket, state, err := cs.ResumptionState()
	if err != nil {
		return nil, err
	}
	enc, err := state.Bytes()
	if err != nil {
		return nil, err
	}
	s := &session{cs: cs, ticket: len(ticket), state: len(enc)}
	s.leaf = len(ch.Cert.Certificate[0])
	s.intermediate = len(ch.Cert.Certificate[1])
	s.root = rootSize(ch)
	return s, nil
}

// rootSize is the DER size of the root, which the verified chain stores.
func rootSize(ch *chain.Chain) int {
	b, _ := pem.Decode(ch.RootPEM)
	if b == nil {
		return 0
	}
	return len(b.Bytes)
}
