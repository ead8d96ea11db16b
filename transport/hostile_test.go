package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/transport"
)

// faultServer accepts TCP connections on 127.0.0.1 and hands each to a
// script with its number, from 1. A script that returns leaves its
// connection to be closed; one that stalls ends when the client gives up
// or the test ends.
type faultServer struct {
	ca  *tlstest.CA
	url string // https://localhost:PORT

	// mu guards conns.
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newFaultServer(t *testing.T, ca *tlstest.CA, script func(n int, c *net.TCPConn)) *faultServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &faultServer{ca: ca, conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	var n atomic.Int32
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			wg.Go(func() {
				defer func() {
					c.Close()
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
				}()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				script(int(n.Add(1)), c.(*net.TCPConn))
			})
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s.url = "https://localhost:" + port
	return s
}

// serverTLS is the TLS config of a well-behaved server offering protos.
func serverTLS(ca *tlstest.CA, protos ...string) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{ca.Leaf}, NextProtos: protos}
}

// handshake runs the server side of a TLS handshake on c.
func handshake(c net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	tc := tls.Server(c, cfg)
	return tc, tc.Handshake()
}

// serveGood answers every HTTP/1.1 request on c with "good", or on
// HTTP/2 every stream, until the client goes.
func serveGood(c net.Conn, ca *tlstest.CA) {
	tc, err := handshake(c, serverTLS(ca, "h2", "http/1.1"))
	if err != nil {
		return
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		p, err := newPeer(tc, 0, nil)
		if err != nil {
			return
		}
		for id := p.request(); id != 0; id = p.request() {
			p.respond(id, "good")
		}
		return
	}
	br := bufio.NewReader(tc)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
	}
}

// readRequestH1 reads one request head from tc.
func readRequestH1(tc *tls.Conn) error {
	_, err := http.ReadRequest(bufio.NewReader(tc))
	return err
}

// h2Head writes a response HEADERS frame for stream id with extra fields;
// end ends the stream.
func h2Head(p *h2Peer, id uint32, end bool, fields ...string) error {
	return p.write(func() error {
		p.buf.Reset()
		p.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		for i := 0; i+1 < len(fields); i += 2 {
			p.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
		return p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.buf.Bytes(),
			EndHeaders: true, EndStream: end})
	})
}

// firstRequestH2 completes the handshake and the HTTP/2 preface and
// returns the peer and the first request's stream.
func firstRequestH2(c net.Conn, ca *tlstest.CA) (*h2Peer, uint32, error) {
	tc, err := handshake(c, serverTLS(ca, "h2"))
	if err != nil {
		return nil, 0, err
	}
	p, err := newPeer(tc, 1, nil)
	if err != nil {
		return nil, 0, err
	}
	id := p.request()
	if id == 0 {
		return nil, 0, errors.New("no request")
	}
	return p, id, nil
}

// faultCase is a server misbehaving on its first connection; later
// connections are served well.
type faultCase struct {
	name string
	// fault runs on the first connection.
	fault func(c *net.TCPConn, ca *tlstest.CA)
	// want are substrings of the error, any of them.
	want []string
	// handshake: the error must wrap transport.ErrHandshake.
	handshake bool
}

// connectionFaults are the ways a server can drop a connection, at every
// stage of a request, on both protocols.
func connectionFaults() []faultCase {
	reset := []string{"reset", "broken pipe", "EOF"}
	return []faultCase{
		{name: "reset before the handshake", handshake: true, want: reset,
			fault: func(c *net.TCPConn, _ *tlstest.CA) {
				// Once the ClientHello is in, so that the client's
				// dial has succeeded.
				c.Read(make([]byte, 1))
				tlstest.Reset(c)
			}},
		{name: "reset mid-handshake", handshake: true, want: reset,
			fault: func(c *net.TCPConn, ca *tlstest.CA) {
				// The ClientHello is read, half the server's flight written.
				handshake(&tlstest.HalfWriter{TCPConn: c, Limit: 300}, serverTLS(ca, "h2", "http/1.1"))
			}},
		{name: "h1 reset after the headers", want: reset,
			fault: h1Fault("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true)},
		{name: "h1 reset mid-body", want: reset,
			fault: h1Fault("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"+strings.Repeat("x", 500), true)},
		{name: "h1 reset mid-chunk", want: reset,
			fault: h1Fault("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n"+strings.Repeat("x", 500), true)},
		{name: "h1 closed short of Content-Length", want: []string{"unexpected EOF"},
			fault: h1Fault("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort", false)},
		{name: "h2 reset after the headers", want: reset,
			fault: func(c *net.TCPConn, ca *tlstest.CA) {
				p, id, err := firstRequestH2(c, ca)
				if err != nil {
					return
				}
				h2Head(p, id, false, "content-length", "1000")
				tlstest.Reset(c)
			}},
		{name: "h2 reset mid-body", want: reset,
			fault: func(c *net.TCPConn, ca *tlstest.CA) {
				p, id, err := firstRequestH2(c, ca)
				if err != nil {
					return
				}
				h2Head(p, id, false, "content-length", "1000")
				p.write(func() error { return p.fr.WriteData(id, false, make([]byte, 500)) })
				tlstest.Reset(c)
			}},
		{name: "h2 header block that never ends", want: []string{"http2"},
			fault: func(c *net.TCPConn, ca *tlstest.CA) {
				p, id, err := firstRequestH2(c, ca)
				if err != nil {
					return
				}
				// Each 0x88 byte decodes to ":status: 200", 42 bytes of
				// header list: the block outgrows any limit at once.
				chunk := bytes.Repeat([]byte{0x88}, 16384)
				p.write(func() error {
					return p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: chunk})
				})
				for p.write(func() error { return p.fr.WriteContinuation(id, false, chunk) }) == nil {
				}
			}},
	}
}

// h1Fault is a server that completes the handshake offering HTTP/1.1,
// reads the request, writes response, and then resets the connection, or
// closes it cleanly if reset is false.
func h1Fault(response string, reset bool) func(*net.TCPConn, *tlstest.CA) {
	return func(c *net.TCPConn, ca *tlstest.CA) {
		tc, err := handshake(c, serverTLS(ca, "http/1.1"))
		if err != nil || readRequestH1(tc) != nil {
			return
		}
		io.WriteString(tc, response)
		if reset {
			tlstest.Reset(c)
		} else {
			tc.Close()
		}
	}
}

// tlsFaults are servers that fail the handshake, or are not TLS at all.
func tlsFaults(t *testing.T, ca *tlstest.CA) []faultCase {
	now := time.Now()
	otherName := ca.Issue(t, now.Add(-time.Hour), now.Add(time.Hour), "elsewhere.example")
	expired := ca.Issue(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "localhost")
	unknown := tlstest.NewCA(t).Leaf
	alien := func(c *net.TCPConn, cfg *tls.Config) {
		if tc, err := handshake(c, cfg); err == nil {
			readRequestH1(tc)
		}
	}
	withCert := func(cert tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	}
	return []faultCase{
		{name: "no common group", handshake: true, want: []string{"handshake failure"},
			fault: func(c *net.TCPConn, ca *tlstest.CA) {
				cfg := serverTLS(ca, "http/1.1")
				cfg.MinVersion, cfg.CurvePreferences = tls.VersionTLS13, []tls.CurveID{tls.CurveP521}
				alien(c, cfg)
			}},
		{name: "no common version", handshake: true, want: []string{"protocol version"},
			fault: func(c *net.TCPConn, ca *tlstest.CA) {
				cfg := serverTLS(ca, "http/1.1")
				cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
				alien(c, cfg)
			}},
		{name: "certificate for another name", handshake: true, want: []string{"not localhost", "valid for"},
			fault: func(c *net.TCPConn, ca *tlstest.CA) {
				alien(c, withCert(otherName))
			}},
		{name: "expired certificate", handshake: true, want: []string{"expired"},
			fault: func(c *net.TCPConn, ca *tlstest.CA) {
				alien(c, withCert(expired))
			}},
		{name: "unknown authority", handshake: true, want: []string{"unknown authority"},
			fault: func(c *net.TCPConn, _ *tlstest.CA) {
				alien(c, withCert(unknown))
			}},
		{name: "client certificate required", want: []string{"certificate required"},
			fault: func(c *net.TCPConn, ca *tlstest.CA) {
				cfg := serverTLS(ca, "http/1.1")
				cfg.ClientAuth = tls.RequireAnyClientCert
				alien(c, cfg)
			}},
		{name: "plain HTTP on the HTTPS port", handshake: true, want: []string{"does not look like a TLS handshake"},
			fault: func(c *net.TCPConn, _ *tlstest.CA) {
				c.Read(make([]byte, 1024))
				io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			}},
	}
}

// TestConnectionFaults: a server that resets or closes the connection at
// any stage of a request, or whose TLS handshake fails, gives the request
// an error that says so, on both protocols; the connection's pool slot is
// freed, so the next request to the same server, with one connection
// allowed, succeeds on a new connection.
func TestConnectionFaults(t *testing.T) {
	ca := tlstest.NewCA(t)
	for _, tc := range append(connectionFaults(), tlsFaults(t, ca)...) {
		t.Run(tc.name, func(t *testing.T) {
			s := newFaultServer(t, ca, func(n int, c *net.TCPConn) {
				if n == 1 {
					tc.fault(c, ca)
					return
				}
				serveGood(c, ca)
			})
			tr, err := transport.New(transport.Config{RootCAs: ca.Pool, MaxConnsPerHost: 1,
				TLSHandshakeTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()

			body, err := fetchCtx(t, tr, s.url+"/fault", 0)
			if err == nil {
				t.Fatalf("GET from a server whose %s = %q, want an error", tc.name, body)
			}
			// Whether the body or the head sees a reset that follows the
			// head closely is a race; either way there must be an error,
			// never a short body that looks complete.
			if tc.handshake && !errors.Is(err, transport.ErrHandshake) {
				t.Errorf("error %q does not wrap ErrHandshake", err)
			}
			t.Logf("error: %v", err)
			if !containsAny(err.Error(), tc.want) {
				t.Errorf("error %q says none of %q", err, tc.want)
			}
			if body, err := fetchCtx(t, tr, s.url+"/next", 0); err != nil || body != "good" {
				t.Errorf("next GET = %q, %v; want good", body, err)
			}
		})
	}
}

// fetchCtx GETs url. The request ends after timeout, if above zero; a
// deadline that only a hang would reach fails the test.
func fetchCtx(t *testing.T, tr http.RoundTripper, url string, timeout time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	reqCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := tr.RoundTrip(req)
	if ctx.Err() != nil {
		t.Fatalf("GET %s hung until the test's deadline", url)
	}
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if ctx.Err() != nil {
		t.Fatalf("reading %s hung until the test's deadline", url)
	}
	if err != nil {
		return string(b), fmt.Errorf("body: %w", err)
	}
	return string(b), nil
}

// trickle writes one byte of s every 20ms, then the next, and so on
// around s, until a write fails: the client went away.
func trickle(w io.Writer, s string) {
	for i := 0; ; i++ {
		if _, err := w.Write([]byte{s[i%len(s)]}); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stall reads from r until the client goes away.
func stall(r io.Reader) { io.Copy(io.Discard, r) }

// TestSlowServers: servers that never answer, or answer one byte at a
// time forever, end with an error once the configured timeout passes; the
// next request to the same server, with one connection allowed, succeeds.
func TestSlowServers(t *testing.T) {
	ca := tlstest.NewCA(t)
	headerTimeout := []string{"no response headers within"}
	for _, tc := range []struct {
		name  string
		fault func(c *net.TCPConn)
		// ctxTimeout bounds the request; the transport's timeouts are
		// 300ms.
		ctxTimeout time.Duration
		want       []string
	}{
		{name: "accepts and never answers", want: []string{"tls handshake failed", "deadline"},
			fault: func(c *net.TCPConn) { stall(c) }},
		{name: "h1 never answers the request", want: headerTimeout,
			fault: func(c *net.TCPConn) {
				if tc, err := handshake(c, serverTLS(ca, "http/1.1")); err == nil {
					stall(tc)
				}
			}},
		{name: "h1 headers trickle", want: headerTimeout,
			fault: func(c *net.TCPConn) {
				if tc, err := handshake(c, serverTLS(ca, "http/1.1")); err == nil && readRequestH1(tc) == nil {
					io.WriteString(tc, "HTTP/1.1 200 OK\r\n")
					trickle(tc, "X-Slow: y\r\n")
				}
			}},
		{name: "h1 body trickles", ctxTimeout: time.Second, want: []string{"timeout", "deadline"},
			fault: func(c *net.TCPConn) {
				if tc, err := handshake(c, serverTLS(ca, "http/1.1")); err == nil && readRequestH1(tc) == nil {
					io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
					trickle(tc, "<p>")
				}
			}},
		{name: "h2 never answers the request", want: headerTimeout,
			fault: func(c *net.TCPConn) {
				if p, _, err := firstRequestH2(c, ca); err == nil {
					p.drain()
				}
			}},
		{name: "h2 headers trickle", want: headerTimeout,
			fault: func(c *net.TCPConn) {
				p, id, err := firstRequestH2(c, ca)
				if err != nil {
					return
				}
				// HEADERS without END_HEADERS, then one-byte
				// CONTINUATION frames, a literal field that never ends.
				p.write(func() error {
					return p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: []byte{0x88}})
				})
				for {
					err := p.write(func() error { return p.fr.WriteContinuation(id, false, []byte{'a'}) })
					if err != nil {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}},
		{name: "h2 body trickles", ctxTimeout: time.Second, want: []string{"deadline"},
			fault: func(c *net.TCPConn) {
				p, id, err := firstRequestH2(c, ca)
				if err != nil {
					return
				}
				// The trickle goes on after the client gave up on the
				// stream, while the connection answers other requests.
				h2Head(p, id, false)
				go func() {
					for {
						err := p.write(func() error { return p.fr.WriteData(id, false, []byte{'x'}) })
						if err != nil {
							return
						}
						time.Sleep(20 * time.Millisecond)
					}
				}()
				for id := p.request(); id != 0; id = p.request() {
					p.respond(id, "good")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFaultServer(t, ca, func(n int, c *net.TCPConn) {
				if n == 1 {
					tc.fault(c)
					return
				}
				serveGood(c, ca)
			})
			tr, err := transport.New(transport.Config{RootCAs: ca.Pool, MaxConnsPerHost: 1,
				TLSHandshakeTimeout: 300 * time.Millisecond, ResponseHeaderTimeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()

			body, err := fetchCtx(t, tr, s.url+"/slow", tc.ctxTimeout)
			if err == nil {
				t.Fatalf("GET = %q, want an error", body)
			}
			t.Logf("error: %v", err)
			if !containsAny(err.Error(), tc.want) {
				t.Errorf("error %q says none of %q", err, tc.want)
			}
			if body, err := fetchCtx(t, tr, s.url+"/next", 0); err != nil || body != "good" {
				t.Errorf("next GET = %q, %v; want good", body, err)
			}
		})
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestBytesAfterTheBody: a server whose Content-Length is short of what it
// sends leaves bytes on the connection that look like the next response.
// The connection must not carry another request: the next one gets its
// own response on a new connection, not the leftover.
func TestBytesAfterTheBody(t *testing.T) {
	ca := tlstest.NewCA(t)
	var conns atomic.Int32
	s := newFaultServer(t, ca, func(n int, c *net.TCPConn) {
		conns.Add(1)
		tc, err := handshake(c, serverTLS(ca, "http/1.1"))
		if err != nil {
			return
		}
		br := bufio.NewReader(tc)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.URL.Path == "/short" {
				io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nshort"+
					"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle")
				continue
			}
			io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
		}
	})
	tr, err := transport.New(transport.Config{RootCAs: ca.Pool, MaxConnsPerHost: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if body, err := fetchCtx(t, tr, s.url+"/short", 0); err != nil || body != "short" {
		t.Fatalf("GET /short = %q, %v; want short", body, err)
	}
	if body, err := fetchCtx(t, tr, s.url+"/next", 0); err != nil || body != "good" {
		t.Errorf("GET /next = %q, %v; want good, on a connection of its own", body, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}
