package transport

import (
	"context"
	"net/http"
	"time"

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

func (c *h2Conn) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.cc.Shutdown(ctx); err != nil {
		c.cc.Close()
	}
}

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
