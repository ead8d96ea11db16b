package transport

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// connectHTTP asks an HTTP proxy for a tunnel to target with CONNECT, in
// the form Chrome sends.
func (t *Transport) connectHTTP(conn net.Conn, ex *exit, target string) (net.Conn, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Connection: keep-alive\r\n", target, target)
	fmt.Fprintf(&b, "User-Agent: %s\r\n", t.profile.UserAgent)
	if auth := proxyAuthorization(ex); auth != "" {
		fmt.Fprintf(&b, "Proxy-Authorization: %s\r\n", auth)
	}
	b.WriteString("\r\n")
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return nil, fmt.Errorf("%w: %s: write CONNECT: %v", ErrProxy, ex.label, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: read CONNECT response: %v", ErrProxy, ex.label, err)
	}
	resp.Body.Close()
	// No tunnel exists yet, so only the proxy can have answered, and a 401
	// is it refusing the credentials too: tinyproxy 1.11.1 (Debian 12)
	// sends 401 for wrong credentials where RFC 9110 asks for 407.
	refused := resp.StatusCode == http.StatusProxyAuthRequired ||
		resp.StatusCode == http.StatusUnauthorized
	switch {
	case refused:
		return nil, proxyAuthError(ex, resp.Status)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("%w: %s: CONNECT %s: %s", ErrProxy, ex.label, target, resp.Status)
	}
	if br.Buffered() > 0 {
		// The server spoke before the client did; keep what was read.
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// proxyAuthorization returns the Basic credentials for an HTTP proxy, or
// "" when its URL has none.
func proxyAuthorization(ex *exit) string {
	u := ex.proxy.User
	if u == nil {
		return ""
	}
	pass, _ := u.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass))
}

// proxyAuthError names the proxy and the user, never the password.
func proxyAuthError(ex *exit, detail string) error {
	user := ""
	if ex.proxy.User != nil {
		user = ex.proxy.User.Username()
	}
	if user == "" {
		return fmt.Errorf("%w: %s asks for credentials and none were given (%s)", ErrProxyAuth, ex.label, detail)
	}
	return fmt.Errorf("%w: %s refused user %q (%s)", ErrProxyAuth, ex.label, user, detail)
}

// bufferedConn is a conn whose first bytes were already read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
