package transport

import (
	"context"
	"time"
)

// Trace holds hooks called as a request's connection is made, in the
// manner of net/http/httptrace. Any field may be nil. Hooks run on the
// goroutine making the request and must not block.
type Trace struct {
	// GetConn is called before a connection is taken from the pool or
	// dialled, with the exit's label and the origin (host:port).
	GetConn func(exit, origin string)
	// GotConn is called with the connection a request will use.
	GotConn func(ConnInfo)
	// DialStart and DialDone bracket the TCP dial to the server or to the
	// proxy; addr is the address dialled.
	DialStart func(addr string)
	DialDone  func(addr string, err error)
	// ProxyConnected is called when a proxy opened a tunnel to target, or
	// failed to.
	ProxyConnected func(exit, target string, err error)
	// TLSHandshakeStart is called before the handshake; pskOffered says
	// whether a ticket will be offered.
	TLSHandshakeStart func(server string, pskOffered bool)
	// TLSHandshakeDone is called after it, with the connection's facts.
	TLSHandshakeDone func(info ConnInfo, err error)
	// TicketReceived is called when the server sends a session ticket and
	// it is stored; it may run on a connection's reading goroutine.
	TicketReceived func(server string)
	// ResumptionRetry is called when a server answered a ticket with a
	// HelloRetryRequest, which utls cannot complete with a ticket: the
	// transport marks the server and dials again without one.
	ResumptionRetry func(server string, err error)
}

// WithTrace returns a context whose requests call the hooks of tr.
func WithTrace(ctx context.Context, tr *Trace) context.Context {
	return context.WithValue(ctx, keyTrace, tr)
}

func traceOf(ctx context.Context) *Trace {
	tr, _ := ctx.Value(keyTrace).(*Trace)
	if tr == nil {
		return &Trace{}
	}
	return tr
}

// ConnInfo describes a connection and the handshake that made it.
type ConnInfo struct {
	// Exit is the exit's label: "direct" or scheme://user@host:port, with
	// " ip=ADDRESS" when the address it leaves from was observed; never
	// with a password.
	Exit string
	// Profile is the profile's name.
	Profile string
	// Server is the server key, host:port.
	Server string
	// TLSVersion is the negotiated version, for example tls.VersionTLS13.
	TLSVersion uint16
	// ALPN is the negotiated application protocol: "h2" or "http/1.1".
	ALPN string
	// Reused reports that the request reused a pooled connection.
	Reused bool
	// PSKOffered reports that the handshake offered a ticket, and Resumed
	// that the server accepted it.
	PSKOffered bool
	Resumed    bool
	// HandshakeTime is how long the TLS handshake took; DialTime how long
	// the TCP dial and any proxy tunnel took.
	HandshakeTime time.Duration
	DialTime      time.Duration
	// Retried reports that a first handshake offering a ticket failed on a
	// HelloRetryRequest and this connection was made without one.
	Retried bool
	// ExitIP is the address the exit was observed to leave from, by the
	// exit probe or Config.ExitIP, when known.
	ExitIP string

	// id is the identity the connection belongs to.
	id *identity
}
