package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// h1Conn is an HTTP/1.1 connection: one request at a time, kept alive
// between them.
type h1Conn struct {
	t    *Transport
	pool *hostPool
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	base ConnInfo
	// proxyAuth is set for plain HTTP through an HTTP proxy: requests then
	// go to the proxy in absolute form with these credentials.
	proxyAuth string
	absolute  bool
	// idleTimer closes the connection when it has been idle too long. It
	// is set while the connection is in the pool's idle list.
	idleTimer *time.Timer
}

// dialPlain connects for a plain-HTTP origin. Through an HTTP or HTTPS
// proxy the requests go to the proxy in absolute form, which proxies
// allow for any port (many refuse CONNECT to port 80); through SOCKS5 a
// tunnel is opened.
func (t *Transport) dialPlain(ctx context.Context, ex *exit, id *identity, p *hostPool, addr string, tr *Trace) (pooledConn, ConnInfo, error) {
	info := ConnInfo{Exit: id.label, Profile: t.profile.Name, Server: addr, ALPN: "http/1.1",
		ExitIP: id.ip, id: id}
	start := time.Now()
	httpProxy := !ex.direct() && (ex.proxy.Scheme == "http" || ex.proxy.Scheme == "https")
	var conn net.Conn
	var err error
	if httpProxy {
		conn, err = t.dialProxyOnly(ctx, ex, tr)
	} else {
		conn, err = t.dialTunnel(ctx, ex, addr, tr)
	}
	if err != nil {
		return nil, info, err
	}
	info.DialTime = time.Since(start)
	c := t.newH1(p, conn, info)
	if httpProxy {
		c.absolute = true
		c.proxyAuth = proxyAuthorization(ex)
	}
	return c, info, nil
}

// dialProxyOnly connects to an HTTP or HTTPS proxy itself.
func (t *Transport) dialProxyOnly(ctx context.Context, ex *exit, tr *Trace) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.DialTimeout)
	defer cancel()
	conn, err := t.dialTCP(ctx, proxyHostPort(ex.proxy), tr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: dial: %v", ErrProxy, ex.label, err)
	}
	if ex.proxy.Scheme != "https" {
		return conn, nil
	}
	tc := tls.Client(conn, &tls.Config{ServerName: ex.proxy.Hostname(), RootCAs: t.cfg.RootCAs})
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: %s: tls: %v", ErrProxy, ex.label, err)
	}
	return tc, nil
}

func (t *Transport) newH1(p *hostPool, conn net.Conn, info ConnInfo) *h1Conn {
	return &h1Conn{
		t:    t,
		pool: p,
		conn: conn,
		br:   bufio.NewReaderSize(conn, 16<<10),
		bw:   bufio.NewWriterSize(conn, 8<<10),
		base: info,
	}
}

func (c *h1Conn) close() { c.conn.Close() }

// roundTrip writes req and reads the response head. The body is read by
// the caller; the connection goes back to the pool when it is read to the
// end, and is closed if the body is closed early.
func (c *h1Conn) roundTrip(req *http.Request) (*http.Response, error) {
	stop := bindDeadline(req.Context(), c.conn)
	var headerTimer *time.Timer
	if d := c.t.cfg.ResponseHeaderTimeout; d > 0 {
		headerTimer = time.AfterFunc(d, func() { c.conn.SetReadDeadline(time.Unix(1, 0)) })
	}
	resp, err := c.exchange(req)
	if headerTimer != nil && !headerTimer.Stop() {
		// The timer cut the read short, whatever error that gave (a
		// timeout, or a header line cut in half), or fired just as the
		// head arrived, leaving the connection unusable for the body;
		// discard closes it.
		resp, err = nil, fmt.Errorf("transport: %s: no response headers within %v", c.base.Server, c.t.cfg.ResponseHeaderTimeout)
	}
	if err != nil {
		stop()
		if ctxErr := req.Context().Err(); ctxErr != nil {
			err = ctxErr
		}
		c.discard()
		return nil, err
	}
	reuse := !resp.Close && !req.Close
	if resp.Body == http.NoBody || resp.Body == nil {
		resp.Body = http.NoBody
		c.done(stop, reuse)
		return resp, nil
	}
	resp.Body = &h1Body{rc: resp.Body, conn: c.conn, onDone: func(eof bool) { c.done(stop, reuse && eof) }}
	return resp, nil
}

func (c *h1Conn) exchange(req *http.Request) (*http.Response, error) {
	if err := c.writeRequest(req); err != nil {
		return nil, fmt.Errorf("transport: write request to %s: %w", c.base.Server, err)
	}
	for {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, fmt.Errorf("transport: read response from %s: %w", c.base.Server, err)
		}
		// Skip interim responses; 101 is final.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		if tc, ok := c.conn.(*tlsConn); ok {
			st := tc.ConnectionState()
			resp.TLS = &st
		}
		return resp, nil
	}
}

// done ends a request's use of the connection: back to the pool, or
// closed.
func (c *h1Conn) done(stop func() bool, reuse bool) {
	if !stop() {
		reuse = false
	}
	if c.br.Buffered() > 0 {
		// The server sent more than the response it announced (a
		// Content-Length too short): the rest would be read as the
		// next request's response.
		// TODO: bytes that arrive later, while the connection is idle,
		// still are; browsers check an idle connection for data before
		// they reuse it.
		reuse = false
	}
	if !reuse {
		c.discard()
		return
	}
	t, p := c.t, c.pool
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || len(p.idle) >= t.cfg.MaxIdleConnsPerHost {
		p.open--
		p.wakeAllLocked()
		t.dropIfEmptyLocked(p)
		go c.close()
		return
	}
	if c.idleTimer == nil {
		c.idleTimer = time.AfterFunc(t.cfg.IdleConnTimeout, c.expire)
	} else {
		c.idleTimer.Reset(t.cfg.IdleConnTimeout)
	}
	p.idle = append(p.idle, c)
	p.wakeAllLocked()
}

// expire runs when the connection was idle for IdleConnTimeout.
func (c *h1Conn) expire() {
	t, p := c.t, c.pool
	t.mu.Lock()
	if i := slices.Index(p.idle, c); i >= 0 {
		p.idle = slices.Delete(p.idle, i, i+1)
	}
	p.open--
	p.wakeAllLocked()
	t.dropIfEmptyLocked(p)
	t.mu.Unlock()
	c.close()
}

// discard closes a connection that cannot be reused.
func (c *h1Conn) discard() {
	t, p := c.t, c.pool
	t.mu.Lock()
	p.open--
	p.wakeAllLocked()
	t.dropIfEmptyLocked(p)
	t.mu.Unlock()
	c.close()
}

// writeRequest writes the request head in the profile's header order, and
// the body, if any, with Content-Length or chunked.
func (c *h1Conn) writeRequest(req *http.Request) error {
	w := c.bw
	target := req.URL.RequestURI()
	if c.absolute {
		target = req.URL.Scheme + "://" + req.URL.Host + target
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	fmt.Fprintf(w, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
	if c.proxyAuth != "" {
		fmt.Fprintf(w, "Proxy-Authorization: %s\r\n", c.proxyAuth)
	}
	connection := "keep-alive"
	if req.Close {
		connection = "close"
	}
	for _, h := range c.t.orderH1(req.Header, connection) {
		for _, v := range h.values {
			fmt.Fprintf(w, "%s: %s\r\n", h.name, v)
		}
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	chunked := hasBody && req.ContentLength <= 0
	switch {
	case chunked:
		w.WriteString("Transfer-Encoding: chunked\r\n")
	case hasBody || (req.ContentLength == 0 && methodWantsLength(method)):
		fmt.Fprintf(w, "Content-Length: %d\r\n", max(req.ContentLength, 0))
	}
	w.WriteString("\r\n")
	if hasBody {
		if err := writeBody(w, req.Body, chunked); err != nil {
			return err
		}
	}
	return w.Flush()
}

func methodWantsLength(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}

func writeBody(w *bufio.Writer, body io.ReadCloser, chunked bool) error {
	defer body.Close()
	if !chunked {
		_, err := io.Copy(w, body)
		return err
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			fmt.Fprintf(w, "%x\r\n", n)
			w.Write(buf[:n])
			w.WriteString("\r\n")
		}
		if errors.Is(err, io.EOF) {
			_, err = w.WriteString("0\r\n\r\n")
			return err
		}
		if err != nil {
			return err
		}
	}
}

// h1Body reports, once, whether the body was read to its end before it
// was closed.
type h1Body struct {
	rc     io.ReadCloser
	conn   net.Conn
	onDone func(eof bool)
	once   sync.Once
}

// maxDrain is how much of an unread body Close reads to keep the
// connection; a longer rest costs a new connection instead.
const maxDrain = 64 << 10

func (b *h1Body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if errors.Is(err, io.EOF) {
		b.once.Do(func() { b.onDone(true) })
	}
	return n, err
}

// Close drains a short unread rest, briefly, so that the connection can
// serve another request; otherwise the connection is closed, which also
// ends an endless body at once.
func (b *h1Body) Close() error {
	b.once.Do(func() {
		b.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := io.CopyN(io.Discard, b.rc, maxDrain+1)
		b.onDone(n <= maxDrain && err == io.EOF)
	})
	return b.rc.Close()
}

// h1Header is one header line's name, in the case it is written, and its
// values.
type h1Header struct {
	name   string
	values []string
}

// orderH1 returns the request's headers in the profile's HTTP/1.1 order
// and case, with Connection set to connection where the profile puts it;
// names the profile does not know follow, sorted. Other hop-by-hop
// headers the transport writes itself are left out.
func (t *Transport) orderH1(h http.Header, connection string) []h1Header {
	h = maps.Clone(h)
	if h == nil {
		h = make(http.Header, 1)
	}
	h["Connection"] = []string{connection}
	return t.h1Order.apply(h, func(key string, _ []string) bool { return skipH1[key] })
}

// headerOrder is a profile's header list made ready for use on every
// request.
type headerOrder struct {
	fields []headerField
	// keys are the names in canonical form; defaults the default values
	// as shared one-element slices (nil: no default), never modified;
	// known the set of keys.
	keys     []string
	defaults [][]string
	known    map[string]bool
}

func newHeaderOrder(fields []headerField) *headerOrder {
	o := &headerOrder{fields: fields, known: make(map[string]bool, len(fields))}
	for _, f := range fields {
		key := http.CanonicalHeaderKey(f.name)
		o.keys = append(o.keys, key)
		o.known[key] = true
		var def []string
		if f.value != "" {
			def = []string{f.value}
		}
		o.defaults = append(o.defaults, def)
	}
	return o
}

// apply returns h in the order of the list, then the names the list
// lacks, sorted; skip leaves headers out.
func (o *headerOrder) apply(h http.Header, skip func(key string, vs []string) bool) []h1Header {
	out := make([]h1Header, 0, len(h))
	for i, key := range o.keys {
		if vs := h[key]; len(vs) > 0 && !skip(key, vs) {
			out = append(out, h1Header{o.fields[i].name, joinCookie(key, vs)})
		}
	}
	var rest []string
	for key, vs := range h {
		if !o.known[key] && len(vs) > 0 && !skip(key, vs) {
			rest = append(rest, key)
		}
	}
	slices.Sort(rest)
	for _, key := range rest {
		out = append(out, h1Header{key, joinCookie(key, h[key])})
	}
	return out
}

// skipH1 are headers the HTTP/1.1 writer sets itself or that do not belong
// on the wire.
var skipH1 = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true,
	"Proxy-Connection": true, "Keep-Alive": true, "Upgrade": true, "Te": true, "Trailer": true,
}

// joinCookie sends several cookies as one header, as browsers do.
func joinCookie(key string, vs []string) []string {
	if key == "Cookie" && len(vs) > 1 {
		return []string{strings.Join(vs, "; ")}
	}
	return vs
}
