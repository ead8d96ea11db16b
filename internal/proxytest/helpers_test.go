package proxytest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file holds the targets behind the proxies and two minimal proxy
// clients. They are for these tests only.

// startServer listens on addr and runs handle for every connection until
// cleanup, which closes the listener and waits for the handlers. It
// returns the listening address.
func startServer(t testing.TB, addr string, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// startEcho starts a server that first writes "from IP\n", naming the
// address the connection came from, then echoes until the client
// half-closes, and then closes.
func startEcho(t testing.TB, addr string) string {
	t.Helper()
	return startServer(t, addr, func(c net.Conn) {
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		fmt.Fprintf(c, "from %s\n", host)
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	})
}

// startStream starts a server that writes 1 KiB chunks every interval:
// count of them and then closes, or with count 0 until a write fails. Each
// handler's final write error is sent on the returned channel.
func startStream(t testing.TB, interval time.Duration, count int) (string, <-chan error) {
	t.Helper()
	ended := make(chan error, 16)
	addr := startServer(t, "127.0.0.1:0", func(c net.Conn) {
		chunk := []byte(strings.Repeat("x", 1023) + "\n")
		var err error
		for i := 0; count == 0 || i < count; i++ {
			if _, err = c.Write(chunk); err != nil {
				break
			}
			time.Sleep(interval)
		}
		ended <- err
	})
	return addr, ended
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// readGreeting reads the echo server's first line.
func readGreeting(t testing.TB, r io.Reader) string {
	t.Helper()
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := r.Read(b); err != nil {
			t.Fatalf("reading the greeting: %v (got %q)", err, line)
		}
		if b[0] == '\n' {
			return string(line)
		}
		line = append(line, b...)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var (
	errMethodRejected = errors.New("socks client: no acceptable method")
	errAuthRejected   = errors.New("socks client: authentication rejected")
	errReply          = errors.New("socks client: request refused")
)

// socksRequest is what the test SOCKS5 client sends.
type socksRequest struct {
	user, pass string
	methods    []byte // nil: username/password if user is set, else none
	cmd        byte   // 0 means CONNECT
	atyp       byte   // 0 means derived from host
	host       string
	port       int
	early      []byte // sent right after the request, without waiting
}

// socksDial runs a SOCKS5 handshake with the proxy at addr. It returns
// the connection and the reply code; err wraps errReply when the code is
// not success, and the connection is then closed.
func socksDial(t testing.TB, addr string, r socksRequest) (net.Conn, byte, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	code, err := socksHandshake(c, r)
	if err != nil {
		c.Close()
		return nil, code, err
	}
	c.SetDeadline(time.Time{})
	return c, code, nil
}

func socksHandshake(c net.Conn, r socksRequest) (byte, error) {
	methods := r.methods
	if methods == nil {
		methods = []byte{0}
		if r.user != "" {
			methods = []byte{2}
		}
	}
	if _, err := c.Write(append([]byte{5, byte(len(methods))}, methods...)); err != nil {
		return 0, err
	}
	var choice [2]byte
	if _, err := io.ReadFull(c, choice[:]); err != nil {
		return 0, err
	}
	switch choice[1] {
	case 0:
	case 2:
		msg := append([]byte{1, byte(len(r.user))}, r.user...)
		msg = append(append(msg, byte(len(r.pass))), r.pass...)
		if _, err := c.Write(msg); err != nil {
			return 0, err
		}
		var status [2]byte
		if _, err := io.ReadFull(c, status[:]); err != nil {
			return 0, err
		}
		if status[1] != 0 {
			return 0, errAuthRejected
		}
	default:
		return 0, fmt.Errorf("%w: %#x", errMethodRejected, choice[1])
	}

	if _, err := c.Write(append(socksConnect(r), r.early...)); err != nil {
		return 0, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return 0, err
	}
	bound := map[byte]int{1: 4, 4: 16}[hdr[3]]
	if _, err := io.ReadFull(c, make([]byte, bound+2)); err != nil {
		return hdr[1], err
	}
	if hdr[1] != 0 {
		return hdr[1], fmt.Errorf("%w: reply %#x", errReply, hdr[1])
	}
	return 0, nil
}

// socksConnect encodes the request.
func socksConnect(r socksRequest) []byte {
	cmd := r.cmd
	if cmd == 0 {
		cmd = 1
	}
	msg := []byte{5, cmd, 0}
	ip := net.ParseIP(r.host)
	switch {
	case r.atyp != 0:
		msg = append(append(msg, r.atyp, byte(len(r.host))), r.host...)
	case ip == nil:
		msg = append(append(msg, 3, byte(len(r.host))), r.host...)
	case ip.To4() != nil:
		msg = append(append(msg, 1), ip.To4()...)
	default:
		msg = append(append(msg, 4), ip.To16()...)
	}
	return binary.BigEndian.AppendUint16(msg, uint16(r.port))
}

// splitTarget turns "host:port" into a socksRequest.
func splitTarget(t testing.TB, target string) socksRequest {
	t.Helper()
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return socksRequest{host: host, port: n}
}

// bufConn reads through the buffer that held the proxy's response.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes the connection to the proxy.
func (c *bufConn) CloseWrite() error {
	return c.Conn.(interface{ CloseWrite() error }).CloseWrite()
}

// connectRequest is what the test HTTP client sends.
type connectRequest struct {
	target  string
	auth    string // Proxy-Authorization value, if any
	method  string // "" means CONNECT
	early   []byte // sent right after the request, without waiting
	tlsConf *tls.Config
}

// connectDial sends a CONNECT request to the proxy at addr, over TLS when
// tlsConf is set. On 200 it returns the tunnel; otherwise the connection
// is closed and only the response is returned.
func connectDial(t testing.TB, addr string, r connectRequest) (net.Conn, *http.Response) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.tlsConf != nil {
		c = tls.Client(c, r.tlsConf)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := connectOn(c, br, r)
	if err != nil {
		c.Close()
		t.Fatalf("CONNECT %s: %v", r.target, err)
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, resp
	}
	c.SetDeadline(time.Time{})
	return &bufConn{Conn: c, r: br}, resp
}

// connectOn writes one request on c and reads the response from br.
func connectOn(c net.Conn, br *bufio.Reader, r connectRequest) (*http.Response, error) {
	method := r.method
	if method == "" {
		method = http.MethodConnect
	}
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\n", method, r.target, r.target)
	if r.auth != "" {
		req += "Proxy-Authorization: " + r.auth + "\r\n"
	}
	if _, err := c.Write(append([]byte(req+"\r\n"), r.early...)); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	// ReadResponse takes whatever follows a 200 without Content-Length
	// for its body, but after CONNECT that is the tunnel.
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
	}
	return resp, nil
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// dialThrough opens a tunnel to target through the proxy at proxyURL,
// choosing the client by the URL's scheme and taking the credentials from
// it. tlsConf is the client's config for an https proxy.
func dialThrough(t testing.TB, proxyURL, target string, tlsConf *tls.Config) net.Conn {
	t.Helper()
	u, err := url.Parse(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	user := u.User.Username()
	pass, _ := u.User.Password()
	switch u.Scheme {
	case "socks5":
		r := splitTarget(t, target)
		r.user, r.pass = user, pass
		c, _, err := socksDial(t, u.Host, r)
		if err != nil {
			t.Fatalf("SOCKS5 to %s: %v", target, err)
		}
		return c
	case "http", "https":
		r := connectRequest{target: target}
		if user != "" {
			r.auth = basicAuth(user, pass)
		}
		if u.Scheme == "https" {
			r.tlsConf = tlsConf
		}
		c, resp := connectDial(t, u.Host, r)
		if c == nil {
			t.Fatalf("CONNECT %s: %s", target, resp.Status)
		}
		return c
	}
	t.Fatalf("unknown scheme in %s", proxyURL)
	return nil
}
