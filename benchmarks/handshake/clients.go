package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	utls "github.com/refraction-networking/utls"
	"golang.org/x/net/http2"

	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

// Modes of a client.
const (
	modeFull    = "full"    // new connection, no ticket offered
	modeResumed = "resumed" // new connection offering the last ticket received
	modePooled  = "pooled"  // a request on a kept-alive connection
)

// opResult is what one op learned about its connection.
type opResult struct {
	newConn   bool
	offered   bool // a ticket was offered
	resumed   bool // the server accepted it
	handshake time.Duration
	alpn      string
}

// client does one op at a time: a new connection with one small GET, or
// in pooled mode a GET on a kept-alive connection.
type client struct {
	kind, mode string
	cnt        *counter
	do         func(ctx context.Context) (opResult, error)
	// flush commits work the client left to the background, so that its
	// cost lands in the client's own measurement; nil when there is none.
	flush func() error
	close func()
}

func (c *client) name() string { return c.kind + " " + c.mode }

// counter counts the bytes that a client's connections read and write,
// TLS records and TCP payload only.
type counter struct {
	in, out atomic.Int64
}

type countingConn struct {
	net.Conn
	cnt *counter
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.cnt.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.cnt.out.Add(int64(n))
	return n, err
}

// dial connects to addr, reading "localhost" as 127.0.0.1 so that no
// client tries ::1 first, and counts the connection's bytes.
func (cnt *counter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, net.JoinHostPort(host, port))
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, cnt: cnt}, nil
}

// target is the server a phase measures, as clients see it.
type target struct {
	port  string // on 127.0.0.1, named localhost
	roots *x509.CertPool
}

func (t target) url() string  { return "https://localhost:" + t.port + "/" }
func (t target) addr() string { return "localhost:" + t.port }

// chromeHeaders are the headers revisit's Chrome profile adds to a
// request, given to the bare client too so that both send the same
// request.
func chromeHeaders() http.Header {
	h := http.Header{}
	for _, kv := range transport.Default().Headers() {
		if kv[1] != "" {
			h.Set(kv[0], kv[1])
		}
	}
	return h
}

// bareCache is an in-memory utls session cache that counts the tickets it
// hands out. With offer false it stores tickets and never hands one out,
// as revisit does on a first visit.
type bareCache struct {
	lru   utls.ClientSessionCache
	offer bool
	hits  atomic.Int64
}

func (c *bareCache) Get(key string) (*utls.ClientSessionState, bool) {
	if !c.offer {
		return nil, false
	}
	cs, ok := c.lru.Get(key)
	if ok {
		c.hits.Add(1)
	}
	return cs, ok
}

func (c *bareCache) Put(key string, cs *utls.ClientSessionState) { c.lru.Put(key, cs) }

// bare is utls used directly: the recipe for a Chrome 133 ClientHello that
// can resume, and HTTP over the connection with x/net's HTTP/2 client
// connection or a hand-written HTTP/1.1 exchange.
type bare struct {
	t       target
	cnt     counter
	cache   *bareCache
	h2      http2.Transport
	headers http.Header
}

func newBare(t target, mode string) *client {
	b := &bare{
		t:       t,
		cache:   &bareCache{lru: utls.NewLRUClientSessionCache(16), offer: mode == modeResumed},
		headers: chromeHeaders(),
	}
	return &client{kind: "bare", mode: mode, cnt: &b.cnt, do: b.do, close: func() {}}
}

func (b *bare) do(ctx context.Context) (opResult, error) {
	conn, err := b.cnt.dial(ctx, "tcp", b.t.addr())
	if err != nil {
		return opResult{}, err
	}
	defer conn.Close()
	uc, res, err := b.handshake(ctx, conn)
	if err != nil {
		return res, err
	}
	return res, b.get(ctx, uc)
}

// handshake runs the TLS handshake with a fresh Config and spec, as utls
// writes into both.
func (b *bare) handshake(ctx context.Context, conn net.Conn) (uc *utls.UConn, res opResult, err error) {
	defer func() {
		// utls panics on some misconfigurations instead of failing.
		if r := recover(); r != nil {
			err = fmt.Errorf("bare: utls panic: %v", r)
		}
	}()
	res.newConn = true
	spec, err := utls.UTLSIdToSpec(utls.HelloChrome_133)
	if err != nil {
		return nil, res, err
	}
	spec.Extensions = append(spec.Extensions, &utls.UtlsPreSharedKeyExtension{})
	cfg := &utls.Config{
		ServerName:         "localhost",
		RootCAs:            b.t.roots,
		OmitEmptyPsk:       true,
		ClientSessionCache: b.cache,
	}
	uc = utls.UClient(conn, cfg, utls.HelloCustom)
	hits := b.cache.hits.Load()
	if err := uc.ApplyPreset(&spec); err != nil {
		return nil, res, err
	}
	start := time.Now()
	err = uc.HandshakeContext(ctx)
	res.handshake = time.Since(start)
	res.offered = b.cache.hits.Load() > hits
	if err != nil {
		return nil, res, fmt.Errorf("bare: handshake: %w", err)
	}
	st := uc.ConnectionState()
	res.resumed, res.alpn = st.DidResume, st.NegotiatedProtocol
	return uc, res, nil
}

// get sends one GET with Chrome's headers on the connection and reads the
// response, over the protocol ALPN chose.
func (b *bare) get(ctx context.Context, uc *utls.UConn) error {
	req, err := http.NewRequestWithContext(ctx, "GET", b.t.url(), nil)
	if err != nil {
		return err
	}
	req.Header = b.headers.Clone()
	if uc.ConnectionState().NegotiatedProtocol != "h2" {
		req.Close = true
		if err := req.Write(uc); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(uc), req)
		if err != nil {
			return err
		}
		return drain(resp)
	}
	cc, err := b.h2.NewClientConn(uc)
	if err != nil {
		return err
	}
	defer cc.Close()
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return err
	}
	return drain(resp)
}

func drain(resp *http.Response) error {
	_, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return err
}

// revisit is revisit's transport with a ticket store in its own bbolt
// file. A full client never offers a ticket (Config.FirstVisit) but
// still stores those it receives; full and resumed clients close their
// connection after each op.
type revisit struct {
	t     target
	mode  string
	cnt   counter
	store *ticketstore.Store
	tr    *transport.Transport
}

func newRevisit(t target, mode, dir string) (*client, error) {
	r := &revisit{t: t, mode: mode}
	file := filepath.Join(dir, fmt.Sprintf("tickets-%s-%s.db", t.port, mode))
	st, err := ticketstore.Open(file, nil)
	if err != nil {
		return nil, err
	}
	r.store = st
	r.tr, err = transport.New(transport.Config{
		Tickets:     st,
		RootCAs:     t.roots,
		DialContext: r.cnt.dial,
		FirstVisit:  mode == modeFull,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	c := &client{kind: "revisit", mode: mode, cnt: &r.cnt, do: r.do, flush: st.Flush}
	c.close = func() {
		r.tr.Close()
		r.store.Close()
	}
	return c, nil
}

func (r *revisit) do(ctx context.Context) (opResult, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", r.t.url(), nil)
	if err != nil {
		return opResult{}, err
	}
	resp, err := r.tr.RoundTrip(req)
	if err != nil {
		return opResult{}, err
	}
	info, _ := transport.Info(resp)
	err = drain(resp)
	if r.mode != modePooled {
		r.tr.CloseIdleConnections()
	}
	res := opResult{
		newConn:   !info.Reused,
		offered:   info.PSKOffered,
		resumed:   info.Resumed,
		handshake: info.HandshakeTime,
		alpn:      info.ALPN,
	}
	return res, err
}

// newClients makes the clients a phase compares, in report order.
func newClients(t target, dir string) ([]*client, error) {
	clients := []*client{newBare(t, modeFull), newBare(t, modeResumed)}
	for _, mode := range []string{modeFull, modeResumed, modePooled} {
		c, err := newRevisit(t, mode, dir)
		if err != nil {
			closeClients(clients)
			return nil, err
		}
		clients = append(clients, c)
	}
	return clients, nil
}

func closeClients(cs []*client) {
	for _, c := range cs {
		c.close()
	}
}
