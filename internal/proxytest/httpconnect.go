package proxytest

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
)

// Realm is the realm the HTTP proxy names in its Proxy-Authenticate
// challenge.
const Realm = "proxytest"

// maxRequestBody bounds the body of a request the HTTP proxy discards.
const maxRequestBody = 1 << 20

// NewHTTP starts an HTTP CONNECT proxy. With opts.User set it requires
// Basic credentials in Proxy-Authorization and answers 407 with a
// Proxy-Authenticate challenge otherwise, keeping the connection open for
// another attempt. With opts.TLSConfig or opts.Certificate it serves HTTPS
// and its URL has the https scheme. It stops at the end of the test.
//
// Answers: 200 when the tunnel is open; 400 for a malformed request or
// target; 403 when Options.Allow refuses; 405 for any method but CONNECT;
// 502 when the dial fails, 504 when it times out.
func NewHTTP(t testing.TB, opts *Options) *Proxy {
	t.Helper()
	scheme := "http"
	if opts != nil && (opts.TLSConfig != nil || opts.Certificate != nil) {
		scheme = "https"
	}
	return start(t, scheme, opts, httpHandshake)
}

// httpHandshake reads CONNECT requests until one is authorized, then
// dials and answers.
func httpHandshake(ctx context.Context, p *Proxy, client net.Conn) (net.Conn, []byte, error) {
	br := bufio.NewReader(client)
	for {
		req, err := http.ReadRequest(br)
		if errors.Is(err, io.EOF) {
			return nil, nil, err
		}
		if err != nil {
			writeStatus(client, http.StatusBadRequest, "", false)
			return nil, nil, fmt.Errorf("%w: %v", errProtocol, err)
		}
		io.Copy(io.Discard, io.LimitReader(req.Body, maxRequestBody))
		req.Body.Close()

		if req.Method != http.MethodConnect {
			writeStatus(client, http.StatusMethodNotAllowed, "Allow: CONNECT\r\n", false)
			return nil, nil, fmt.Errorf("%w: method %s", errProtocol, req.Method)
		}
		if !p.basicOK(req.Header.Get("Proxy-Authorization")) {
			p.authFailures.Add(1)
			challenge := fmt.Sprintf("Proxy-Authenticate: Basic realm=%q\r\n", Realm)
			writeStatus(client, http.StatusProxyAuthRequired, challenge, !req.Close)
			if req.Close {
				return nil, nil, errAuth
			}
			continue
		}
		return httpConnect(ctx, p, client, br, req.RequestURI)
	}
}

// httpConnect dials an authorized CONNECT target and answers the client.
func httpConnect(ctx context.Context, p *Proxy, client net.Conn, br *bufio.Reader,
	target string) (net.Conn, []byte, error) {
	if _, port, err := net.SplitHostPort(target); err != nil || port == "" {
		writeStatus(client, http.StatusBadRequest, "", false)
		return nil, nil, fmt.Errorf("%w: target %q", errProtocol, target)
	}
	p.addTarget(target)
	if !p.allowed(target) {
		writeStatus(client, http.StatusForbidden, "", false)
		return nil, nil, fmt.Errorf("proxytest: %s not allowed", target)
	}
	conn, err := p.dial(ctx, target)
	if err != nil {
		writeStatus(client, statusFor(err), "", false)
		return nil, nil, err
	}
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	early, _ := br.Peek(br.Buffered())
	return conn, early, nil
}

// basicOK reports whether a Proxy-Authorization value carries the proxy's
// credentials, or none are required.
func (p *Proxy) basicOK(header string) bool {
	if p.opts.User == "" {
		return true
	}
	scheme, encoded, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return false
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return false
	}
	user, pass, ok := strings.Cut(string(decoded), ":")
	return ok && p.credentialsOK(user, pass)
}

// writeStatus writes a response without a body. Unless keep is set it
// announces that the proxy closes the connection.
func writeStatus(w io.Writer, code int, headers string, keep bool) {
	if !keep {
		headers += "Connection: close\r\n"
	}
	status := http.StatusText(code)
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\n\r\n", code, status, headers)
}

// statusFor maps a dial error to a response status.
func statusFor(err error) int {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}
