package transport

import (
	"net/http"

	"golang.org/x/net/http2"
)

// h2Conn is an HTTP/2 connection shared by many requests.
type h2Conn struct {
	cc   *http2.ClientConn
	base ConnInfo
}

func (c *h2Conn) roundTrip(req *http.Request) (*http.Response, error) {
	return c.cc.RoundTrip(req)
}

// close closes the connection at once; the pool only closes HTTP/2
// connections that carry no stream, or when the transport is closed.
func (c *h2Conn) close() { c.cc.Close() }

// wrapConn puts HTTP over a fresh TLS connection: HTTP/2 when ALPN chose
// it, HTTP/1.1 otherwise.
func (t *Transport) wrapConn(p *hostPool, conn *tlsConn, info ConnInfo) (pooledConn, ConnInfo, error) {
	if info.ALPN != "h2" {
		return t.newH1(p, conn, info), info, nil
	}
	cc, err := t.h2.NewClientConn(conn)
	if err != nil {
		conn.Close()
		return nil, info, err
	}
	return &h2Conn{cc: cc, base: info}, info, nil
}
