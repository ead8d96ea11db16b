package fpserver

import (
	"errors"
	"net"
	"sync"

	"github.com/revisit-crawl/revisit/internal/h2fp"
	"github.com/revisit-crawl/revisit/internal/ja4"
)

// Visit is what the server saw of one connection. Its pointers and slices
// may be shared with other Visits of the same connection: treat them as
// read-only.
type Visit struct {
	// Remote is the client's address.
	Remote string

	// Hello is the parsed ClientHello, nil when HelloErr is set.
	Hello *ja4.Hello
	// HelloErr says why no ClientHello was recorded.
	HelloErr error
	// JA4 and JA4R are Hello's fingerprints, "" without a Hello.
	JA4, JA4R string
	// Offered41 reports a pre_shared_key extension in the ClientHello:
	// the client offered to resume a session.
	Offered41 bool

	// HandshakeErr is the error of the TLS handshake; the fields below
	// are zero when it is set.
	HandshakeErr error
	// DidResume reports that the handshake resumed a session.
	DidResume bool
	// TLSVersion is the negotiated version, such as tls.VersionTLS13.
	TLSVersion uint16
	// ALPN is the negotiated protocol, "" when the client offered none
	// that the server accepts.
	ALPN string

	// Raw holds the first plaintext bytes the client sent, up to
	// Options.MaxRecord.
	Raw []byte
	// H2 is Raw parsed as HTTP/2 when ALPN is h2, and H1 is Raw parsed
	// as HTTP/1.1 requests otherwise.
	H2 *h2fp.Conn
	H1 []*h2fp.H1Request
	// ParseErr is the error of parsing Raw. What was parsed before it is
	// still in H2 or H1.
	ParseErr error
	// Closed reports that the connection has ended. While it is open, Raw
	// and what was parsed from it hold what had arrived when Visits was
	// called.
	Closed bool
}

// IsH2 reports whether the connection negotiated HTTP/2.
func (v *Visit) IsH2() bool { return v.ALPN == "h2" }

// conn is the server's record of one connection.
type conn struct {
	// raw is the accepted connection, closed by Server.Close.
	raw net.Conn

	// mu guards the fields below.
	mu    sync.Mutex
	visit Visit
	// rec is the plaintext connection, nil until the handshake is done.
	rec *recordConn
}

// setHello fills in the ClientHello the Recorder saw.
func (c *conn) setHello(r ja4.Recorded) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &c.visit
	v.Hello, v.HelloErr = r.Hello, r.Err
	if r.Hello != nil {
		v.JA4, v.JA4R = r.Hello.JA4(), r.Hello.JA4R()
		v.Offered41 = r.Hello.HasPSK
	}
}

// setHandshake records the handshake's outcome and, on success, the
// connection whose plaintext is recorded.
func (c *conn) setHandshake(rc *recordConn, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.visit.HandshakeErr = err
	if err != nil {
		return
	}
	st := rc.ConnectionState()
	c.visit.DidResume = st.DidResume
	c.visit.TLSVersion = st.Version
	c.visit.ALPN = st.NegotiatedProtocol
	c.rec = rc
}

// snapshot returns the Visit, parsing what an open connection has sent
// so far.
func (c *conn) snapshot() Visit {
	c.mu.Lock()
	v, rc := c.visit, c.rec
	c.mu.Unlock()
	if !v.Closed && rc != nil {
		v.Raw = rc.recorded()
		parse(&v)
	}
	return v
}

// finish parses what the connection sent, once it has ended.
func (c *conn) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec != nil {
		c.visit.Raw = c.rec.recorded()
		parse(&c.visit)
	}
	c.visit.Closed = true
}

func parse(v *Visit) {
	if v.IsH2() {
		v.H2, v.ParseErr = h2fp.Parse(v.Raw)
		return
	}
	v.H1, v.ParseErr = h2fp.ParseH1All(v.Raw)
}

// recorded finds the Recorder's entry for the connection from remote: the
// latest one, since an earlier connection may have had the same address.
func recorded(entries []ja4.Recorded, remote string) ja4.Recorded {
	for i := len(entries) - 1; i >= 0; i-- {
		if e := entries[i]; e.Remote != nil && e.Remote.String() == remote {
			return e
		}
	}
	return ja4.Recorded{Err: ErrNoHello}
}

// ErrNoHello is a Visit's HelloErr when the connection ended before the
// server read anything from it.
var ErrNoHello = errors.New("fpserver: no client hello read")
