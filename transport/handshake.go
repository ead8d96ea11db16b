package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	utls "github.com/refraction-networking/utls"

	"github.com/revisit-crawl/revisit/ticketstore"
)

// tlsConn is a utls connection whose ConnectionState has crypto/tls's
// type, so that net/http and x/net/http2 fill in Response.TLS.
type tlsConn struct {
	*utls.UConn
}

// ConnectionState returns the connection's state as crypto/tls describes
// it.
func (c *tlsConn) ConnectionState() tls.ConnectionState {
	s := c.UConn.ConnectionState()
	return tls.ConnectionState{
		Version:                     s.Version,
		HandshakeComplete:           s.HandshakeComplete,
		DidResume:                   s.DidResume,
		CipherSuite:                 s.CipherSuite,
		NegotiatedProtocol:          s.NegotiatedProtocol,
		NegotiatedProtocolIsMutual:  true,
		ServerName:                  s.ServerName,
		PeerCertificates:            s.PeerCertificates,
		VerifiedChains:              s.VerifiedChains,
		SignedCertificateTimestamps: s.SignedCertificateTimestamps,
		OCSPResponse:                s.OCSPResponse,
	}
}

// sessionCache is what utls sees of the partition for one connection: the
// partition's cache bound to the server key, with offering switched off on
// a first visit, and a hook on every ticket stored.
type sessionCache struct {
	c      *ticketstore.Cache
	offer  bool
	server string
	onPut  func(server string)
}

func (s *sessionCache) Get(key string) (*utls.ClientSessionState, bool) {
	if !s.offer {
		return nil, false
	}
	return s.c.Get(key)
}

func (s *sessionCache) Put(key string, cs *utls.ClientSessionState) {
	s.c.Put(key, cs)
	if cs != nil && s.onPut != nil {
		s.onPut(s.server)
	}
}

// errHelloRetry marks a handshake that failed because the server answered
// a ticket with a HelloRetryRequest, which utls cannot finish with a PSK.
type errHelloRetry struct{ err error }

func (e errHelloRetry) Error() string { return e.err.Error() }
func (e errHelloRetry) Unwrap() error { return e.err }

// errKeyShare marks a handshake that failed because the server picked a
// key share utls cannot finish: utls keeps the private key of only the
// first classical share, so a server taking a later one (Firefox's P-256
// share) fails. The next classical share, sent alone, may do.
type errKeyShare struct{ err error }

func (e errKeyShare) Error() string { return e.err.Error() }
func (e errKeyShare) Unwrap() error { return e.err }

// handshakeParams are what one TLS handshake needs.
type handshakeParams struct {
	ex     *exit
	id     *identity // of the connection; its partition holds the tickets
	server string    // host:port, the server key
	host   string    // SNI and the name verified
	offer  bool      // false: offer no ticket
	// share, when above zero, keeps only that classical key share (by
	// its place among the classical ones, from 0) beside any hybrid and
	// GREASE share, for a server that picks a share utls cannot finish.
	share int
	trace *Trace
}

// classicalShares counts the key shares of spec that are neither hybrid
// nor GREASE.
func classicalShares(spec *utls.ClientHelloSpec) int {
	n := 0
	forEachShare(spec, func(ks *utls.KeyShareExtension) {
		for _, share := range ks.KeyShares {
			if isClassical(share.Group) {
				n++
			}
		}
	})
	return n
}

// keepShare removes every classical key share but the k-th.
func keepShare(spec *utls.ClientHelloSpec, k int) {
	forEachShare(spec, func(ks *utls.KeyShareExtension) {
		var kept []utls.KeyShare
		i := 0
		for _, share := range ks.KeyShares {
			if !isClassical(share.Group) || i == k {
				kept = append(kept, share)
			}
			if isClassical(share.Group) {
				i++
			}
		}
		ks.KeyShares = kept
	})
}

func forEachShare(spec *utls.ClientHelloSpec, fn func(*utls.KeyShareExtension)) {
	for _, ext := range spec.Extensions {
		if ks, ok := ext.(*utls.KeyShareExtension); ok {
			fn(ks)
		}
	}
}

func isClassical(g utls.CurveID) bool {
	return g != utls.X25519MLKEM768 && !isGREASEGroup(g)
}

func isGREASEGroup(g utls.CurveID) bool { return g&0x0f0f == 0x0a0a }

// handshake runs the profile's TLS handshake on raw. The ticket, if one is
// offered, is taken from the partition before the ClientHello is built.
func (t *Transport) handshake(ctx context.Context, raw net.Conn, p handshakeParams) (conn *tlsConn, info ConnInfo, err error) {
	info = ConnInfo{Exit: p.id.label, Profile: t.profile.Name, Server: p.server, ExitIP: p.id.ip, id: p.id}
	cfg := &utls.Config{
		ServerName:         p.host,
		RootCAs:            t.cfg.RootCAs,
		InsecureSkipVerify: t.cfg.InsecureSkipVerify,
		OmitEmptyPsk:       true,
	}
	var cache *sessionCache
	if p.id.part != nil {
		tc, err := p.id.part.Cache(p.server)
		if err != nil {
			return nil, info, err
		}
		cache = &sessionCache{c: tc, offer: p.offer && tc.Load(), server: p.server, onPut: p.trace.TicketReceived}
		cfg.ClientSessionCache = cache
	}
	uc := utls.UClient(raw, cfg, utls.HelloCustom)
	defer func() {
		// utls panics on some misconfigurations instead of failing.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s via %s: utls panic: %v", ErrHandshake, p.server, p.ex.label, r)
		}
	}()
	spec, err := t.profile.spec()
	if err != nil {
		return nil, info, err
	}
	if p.share > 0 {
		keepShare(&spec, p.share)
	}
	if err := uc.ApplyPreset(&spec); err != nil {
		return nil, info, fmt.Errorf("%w: %s: apply profile %s: %v", ErrHandshake, p.server, t.profile.Name, err)
	}

	offered := cache != nil && cache.offer
	if p.trace.TLSHandshakeStart != nil {
		p.trace.TLSHandshakeStart(p.server, offered)
	}
	hctx, cancel := context.WithTimeout(ctx, t.cfg.TLSHandshakeTimeout)
	defer cancel()
	start := time.Now()
	err = uc.HandshakeContext(hctx)
	info.HandshakeTime = time.Since(start)
	info.PSKOffered = cache != nil && cache.c.Offered()
	if err != nil {
		if hctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("server did not finish it within %v: %w", t.cfg.TLSHandshakeTimeout, err)
		}
		err = fmt.Errorf("%w: %s via %s: %w", ErrHandshake, p.server, p.ex.label, err)
		switch msg := err.Error(); {
		case info.PSKOffered && strings.Contains(msg, "HelloRetryRequest"):
			err = errHelloRetry{err}
		case strings.Contains(msg, "invalid server key share") && p.share+1 < classicalShares(&spec):
			err = errKeyShare{err}
		}
		if p.trace.TLSHandshakeDone != nil {
			p.trace.TLSHandshakeDone(info, err)
		}
		return nil, info, err
	}
	st := uc.ConnectionState()
	info.TLSVersion = st.Version
	info.ALPN = st.NegotiatedProtocol
	info.Resumed = st.DidResume
	if p.trace.TLSHandshakeDone != nil {
		p.trace.TLSHandshakeDone(info, nil)
	}
	return &tlsConn{uc}, info, nil
}
