package crawler_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"golang.org/x/net/http2"

	"github.com/revisit-crawl/revisit/crawler"
	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/internal/proxytest"
	"github.com/revisit-crawl/revisit/internal/sitetest"
	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/transport"
)

// The hostile crawls run on names under hostile.test, which hostileNet
// resolves to loopback, so that every fault has a host of its own, as it
// would on the web: the frontier's politeness works per host name, and a
// fault must not hold back the other hosts.
const hostileDomain = "hostile.test"

// maxAttempts is the frontier's attempt limit in the hostile crawls: a
// fault worth retrying gives exactly this many records.
const maxAttempts = 2

// hostileNet is the name service of a hostile crawl, as a dial function
// for the transport: the names it knows reach 127.0.0.1 on the port of the
// URL; any other fails as the lookup of a name that does not exist would.
type hostileNet struct {
	// mu guards known.
	mu    sync.Mutex
	known map[string]bool
}

func (n *hostileNet) add(names ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.known == nil {
		n.known = map[string]bool{}
	}
	for _, name := range names {
		n.known[name] = true
	}
}

func (n *hostileNet) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	ok := n.known[host]
	n.mu.Unlock()
	if !ok {
		dnsErr := &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		return nil, &net.OpError{Op: "dial", Net: network, Err: dnsErr}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
}

// listen runs script on every connection accepted on 127.0.0.1 and
// returns the port. Cleanup closes the listener and the connections still
// open, and waits for the scripts.
func listen(t *testing.T, script func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					c.Close()
					mu.Lock()
					delete(open, c)
					mu.Unlock()
				}()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				script(c.(*net.TCPConn))
			})
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// tlsConfig serves cert, offering protos.
func tlsConfig(cert tls.Certificate, protos ...string) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: protos}
}

// serveTLS runs the server side of a handshake, then serve.
func serveTLS(cfg *tls.Config, serve func(tc *tls.Conn, raw *net.TCPConn)) func(*net.TCPConn) {
	return func(c *net.TCPConn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() != nil {
			return
		}
		serve(tc, c)
	}
}

// serveH1 reads requests and answers each with h until h returns false.
func serveH1(h func(w io.Writer, raw *net.TCPConn, req *http.Request) bool) func(*tls.Conn, *net.TCPConn) {
	return func(tc *tls.Conn, raw *net.TCPConn) {
		br := bufio.NewReader(tc)
		for {
			req, err := http.ReadRequest(br)
			if err != nil || !h(tc, raw, req) {
				return
			}
		}
	}
}

// serveH2 runs Go's HTTP/2 server on the connection with a handler that
// can reach the TCP connection under it.
func serveH2(h func(raw *net.TCPConn) http.Handler) func(*tls.Conn, *net.TCPConn) {
	return func(tc *tls.Conn, raw *net.TCPConn) {
		(&http2.Server{}).ServeConn(tc, &http2.ServeConnOpts{Handler: h(raw)})
	}
}

// trickle writes s one byte every 20ms, over and over, until a write
// fails: the client went away.
func trickle(w io.Writer, s string) {
	for i := 0; ; i++ {
		if _, err := w.Write([]byte{s[i%len(s)]}); err != nil {
			return
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bombs are 16 MiB of zeros, gzipped and brotli-compressed: a few KiB
// on the wire each, sixteen times the hostile crawls' MaxBodySize once
// decoded.
var bombs = sync.OnceValue(func() map[string][]byte {
	var gz, br bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	bw := brotli.NewWriterLevel(&br, brotli.DefaultCompression)
	zeros := make([]byte, 1<<20)
	for range 16 {
		zw.Write(zeros)
		bw.Write(zeros)
	}
	zw.Close()
	bw.Close()
	return map[string][]byte{"gzip": gz.Bytes(), "br": br.Bytes()}
})

// writeChunked writes a response whose body goes in 4 KiB chunks.
func writeChunked(w io.Writer, head string, body []byte) {
	bw := bufio.NewWriter(w)
	bw.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + head + "\r\n")
	for len(body) > 0 {
		n := min(len(body), 4096)
		fmt.Fprintf(bw, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	bw.WriteString("0\r\n\r\n")
	bw.Flush()
}

// h1Fault answers one HTTP/1.1 request by its path; false ends the
// connection.
func h1Fault(w io.Writer, raw *net.TCPConn, req *http.Request) bool {
	const html = "Content-Type: text/html\r\n"
	switch req.URL.Path {
	case "/reset-headers":
		io.WriteString(w, "HTTP/1.1 200 OK\r\n"+html+"Content-Length: 1000\r\n\r\n")
		tlstest.Reset(raw)
	case "/reset-body":
		io.WriteString(w, "HTTP/1.1 200 OK\r\n"+html+"Content-Length: 1000\r\n\r\n"+strings.Repeat("<p>", 150))
		tlstest.Reset(raw)
	case "/slow-headers":
		io.WriteString(w, "HTTP/1.1 200 OK\r\n")
		trickle(w, "X-Slow: yes\r\n")
	case "/slow-body":
		io.WriteString(w, "HTTP/1.1 200 OK\r\n"+html+"Content-Length: 1000000\r\n\r\n")
		trickle(w, "<p>")
	case "/gzip-bomb", "/br-bomb":
		coding := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/"), "-bomb")
		writeChunked(w, html+"Content-Encoding: "+coding+"\r\n", bombs()[coding])
		return true
	case "/length-long":
		// Content-Length promises more than comes before the close.
		io.WriteString(w, "HTTP/1.1 200 OK\r\n"+html+"Content-Length: 1000\r\n\r\n<p>short")
	case "/length-short":
		// Content-Length promises less than comes: the rest, which
		// looks like a response of its own, is left on the connection.
		body := "<p>just this</p>"
		io.WriteString(w, fmt.Sprintf("HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s", html, len(body), body)+
			"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle")
		return true
	default:
		io.WriteString(w, "HTTP/1.1 200 OK\r\n"+html+"Content-Length: 12\r\n\r\n<p>fine</p>\n")
		return true
	}
	return false
}

// h2Fault answers HTTP/2 requests by their path.
func h2Fault(raw *net.TCPConn) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/reset-headers":
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			tlstest.Reset(raw)
		case "/reset-body":
			w.Header().Set("Content-Length", "1000")
			w.Write(bytes.Repeat([]byte("<p>"), 150))
			w.(http.Flusher).Flush()
			tlstest.Reset(raw)
		case "/slow-body":
			trickle(w, "<p>")
		case "/br-bomb":
			w.Header().Set("Content-Encoding", "br")
			w.Write(bombs()["br"])
		}
	})
}

// fault is one hostile URL of the crawl and what its records must show.
type fault struct {
	host string // the first label of the host name
	path string
	port string
	// want holds substrings of the URL's error, one of which each record
	// must show; nil means the page (or a redirect) must be fetched
	// without error.
	want []string
	// tries is how many records the URL must get: 1, or maxAttempts for
	// errors that may pass.
	tries int
}

func (f fault) url() string {
	if f.port == "" {
		return fmt.Sprintf("https://%s.%s%s", f.host, hostileDomain, f.path)
	}
	return fmt.Sprintf("https://%s.%s:%s%s", f.host, hostileDomain, f.port, f.path)
}

// hostileWeb is a set of hostile servers and a good site linking to them.
type hostileWeb struct {
	ca     *tlstest.CA
	cert   tls.Certificate // *.hostile.test
	net    *hostileNet
	faults []fault

	// mu guards hits.
	mu   sync.Mutex
	hits map[string]int // requests to the good servers, by host and path
}

func newHostileWeb(t *testing.T) *hostileWeb {
	t.Helper()
	ca := tlstest.NewCA(t)
	now := time.Now()
	w := &hostileWeb{
		ca:   ca,
		cert: ca.Issue(t, now.Add(-time.Hour), now.Add(time.Hour), "*."+hostileDomain),
		net:  &hostileNet{},
		hits: map[string]int{},
	}
	return w
}

// add registers faults served on port, each on a host of its own.
func (w *hostileWeb) add(port string, faults ...fault) {
	for _, f := range faults {
		f.port = port
		w.faults = append(w.faults, f)
		w.net.add(f.host + "." + hostileDomain)
	}
}

// counted counts each request to a good server.
func (w *hostileWeb) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.hits[r.Host+r.URL.Path]++
		w.mu.Unlock()
		h.ServeHTTP(rw, r)
	})
}

func (w *hostileWeb) hitsFor(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for k, v := range w.hits {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// transport returns a transport on the hostile name service with short
// timeouts, so that the slow faults end quickly.
func (w *hostileWeb) transport(t *testing.T, cfg transport.Config) *transport.Transport {
	t.Helper()
	cfg.RootCAs = w.ca.Pool
	cfg.DialContext = w.net.DialContext
	cfg.DialTimeout = 2 * time.Second
	cfg.TLSHandshakeTimeout = time.Second
	cfg.ResponseHeaderTimeout = time.Second
	tr, err := transport.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// openFrontier opens the crawl state at path with quick retries and the
// hostile crawls' attempt limit.
func openFrontier(t *testing.T, path string, opts frontier.Options) *frontier.Bolt {
	t.Helper()
	opts.NoSync, opts.PerHost, opts.MaxAttempts = true, 2, maxAttempts
	opts.RetryDelay, opts.MaxRetryDelay, opts.BackoffBase = 10*time.Millisecond, 50*time.Millisecond, 10*time.Millisecond
	f, err := frontier.Open(path, &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// checkRecords checks that each fault's URL got the records it must, each
// naming the URL, and that no URL was fetched more than maxAttempts times.
func checkRecords(t *testing.T, sink *memSink, faults []fault) {
	t.Helper()
	recs := sink.byURL()
	for _, f := range faults {
		rs := recs[f.url()]
		if len(rs) > 0 {
			t.Logf("%s: %s", f.url(), describe(rs))
		}
		if len(rs) != f.tries {
			t.Errorf("%s: %d records, want %d: %s", f.url(), len(rs), f.tries, describe(rs))
			continue
		}
		for _, r := range rs {
			switch {
			case f.want == nil && (r.Error != "" || r.Status >= 400):
				t.Errorf("%s: status %d, error %q; want the page", f.url(), r.Status, r.Error)
			case f.want != nil && !strings.Contains(r.Error, r.URL):
				t.Errorf("%s: error %q does not name the URL", f.url(), r.Error)
			case f.want != nil && !containsAny(r.Error, f.want):
				t.Errorf("%s: error %q says none of %q", f.url(), r.Error, f.want)
			}
		}
	}
	for u, rs := range recs {
		if len(rs) > maxAttempts {
			t.Errorf("%s fetched %d times, more than the %d attempts allowed", u, len(rs), maxAttempts)
		}
	}
}

func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

func describe(rs []*crawler.Record) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "[status %d, error %q] ", r.Status, r.Error)
	}
	return b.String()
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// checkSettled checks that the frontier holds nothing in flight, and that
// reopening the state and running again fetches nothing more.
func checkSettled(t *testing.T, f *frontier.Bolt, reopen func() *frontier.Bolt, rerun func(*frontier.Bolt) int) {
	t.Helper()
	st, err := f.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued != 0 || st.Leased != 0 || st.Delayed != 0 || st.Done+st.Failed != st.Seen {
		t.Errorf("frontier after the crawl: %+v, want every URL done or failed", st)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close the frontier: %v", err)
	}
	f = reopen()
	again, err := f.Stats(t.Context())
	if err != nil || again != st {
		t.Errorf("reopened frontier: %+v, %v; want %+v", again, err, st)
	}
	if n := rerun(f); n != 0 {
		t.Errorf("running again on the same state fetched %d pages, want none", n)
	}
}

// TestHostileWeb crawls a good site that links to servers failing in
// every way a server or a network can: connections reset at each stage
// of a request on HTTP/1.1 and HTTP/2, TLS handshakes that fail, servers
// that stall or trickle, bodies that lie or explode, bad redirects,
// malformed HTML and links, and a name that does not resolve. Each fault
// becomes a recorded error naming its URL (retried when it may pass,
// never more than the frontier allows), the good pages on other hosts are
// all fetched, the crawl ends, and its state can be reopened and run
// again.
func TestHostileWeb(t *testing.T) {
	w := newHostileWeb(t)
	bombs() // before any server waits on it
	now := time.Now()
	reset := []string{"reset", "EOF", "broken pipe"}

	// Faults before or during the TLS handshake: a listener each.
	w.add(listen(t, func(c *net.TCPConn) {
		c.Read(make([]byte, 1)) // the ClientHello has arrived
		tlstest.Reset(c)
	}), fault{host: "reset-handshake", path: "/", want: []string{"tls handshake failed"}, tries: maxAttempts})
	w.add(listen(t, func(c *net.TCPConn) {
		// Half of the server's first flight, then RST.
		tls.Server(&tlstest.HalfWriter{TCPConn: c, Limit: 300}, tlsConfig(w.cert)).Handshake()
	}), fault{host: "reset-mid-handshake", path: "/", want: []string{"tls handshake failed"}, tries: maxAttempts})
	w.add(listen(t, func(c *net.TCPConn) { io.Copy(io.Discard, c) }),
		fault{host: "silent", path: "/", want: []string{"did not finish it within"}, tries: maxAttempts})
	w.add(listen(t, func(c *net.TCPConn) {
		c.Read(make([]byte, 4096))
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	}), fault{host: "plain-http", path: "/", want: []string{"does not look like a TLS handshake"}, tries: maxAttempts})
	for _, tc := range []struct {
		host string
		cfg  *tls.Config
		want string
	}{
		{"no-common-group", &tls.Config{Certificates: []tls.Certificate{w.cert},
			MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.CurveP521}}, "handshake failure"},
		{"wrong-name", tlsConfig(w.ca.Issue(t, now.Add(-time.Hour), now.Add(time.Hour), "elsewhere.example")),
			"certificate is valid for elsewhere.example"},
		{"expired", tlsConfig(w.ca.Issue(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "*."+hostileDomain)),
			"expired"},
		{"unknown-ca", tlsConfig(tlstest.NewCA(t).Issue(t, now.Add(-time.Hour), now.Add(time.Hour), "*."+hostileDomain)),
			"unknown authority"},
	} {
		w.add(listen(t, serveTLS(tc.cfg, func(*tls.Conn, *net.TCPConn) {})),
			fault{host: tc.host, path: "/", want: []string{tc.want}, tries: maxAttempts})
	}

	// Faults in the exchange: one HTTP/1.1 and one HTTP/2 server, a host
	// name per fault.
	h1Port := listen(t, serveTLS(tlsConfig(w.cert, "http/1.1"), serveH1(h1Fault)))
	w.add(h1Port,
		fault{host: "h1-reset-headers", path: "/reset-headers", want: reset, tries: maxAttempts},
		fault{host: "h1-reset-body", path: "/reset-body", want: reset, tries: maxAttempts},
		fault{host: "h1-slow-headers", path: "/slow-headers", want: []string{"no response headers within"}, tries: maxAttempts},
		fault{host: "h1-slow-body", path: "/slow-body", want: []string{"no complete response within"}, tries: maxAttempts},
		fault{host: "h1-gzip-bomb", path: "/gzip-bomb", want: []string{"body too large"}, tries: 1},
		fault{host: "h1-br-bomb", path: "/br-bomb", want: []string{"body too large"}, tries: 1},
		fault{host: "length-long", path: "/length-long", want: []string{"unexpected EOF"}, tries: maxAttempts},
		fault{host: "length-short", path: "/length-short", tries: 1},
		fault{host: "length-short", path: "/after-short", tries: 1},
	)
	w.add(listen(t, serveTLS(tlsConfig(w.cert, "h2"), serveH2(h2Fault))),
		fault{host: "h2-reset-headers", path: "/reset-headers", want: reset, tries: maxAttempts},
		fault{host: "h2-reset-body", path: "/reset-body", want: reset, tries: maxAttempts},
		fault{host: "h2-slow-body", path: "/slow-body", want: []string{"no complete response within"}, tries: maxAttempts},
		fault{host: "h2-br-bomb", path: "/br-bomb", want: []string{"body too large"}, tries: 1},
	)

	// A server off the crawl's scope, which a redirect chain leads to.
	elsewhere := tlstest.NewHTTPServer(t, w.ca, w.counted(http.NotFoundHandler()), &tlstest.HTTPOptions{
		Config: tlsConfig(w.ca.Issue(t, now.Add(-time.Hour), now.Add(time.Hour), "elsewhere.example"))})
	w.net.add("elsewhere.example")
	_, elsewherePort, _ := net.SplitHostPort(elsewhere.Addr)
	landing := "https://elsewhere.example:" + elsewherePort + "/landing"

	// The good server: the index, good pages on hosts of their own, bad
	// redirects and malformed pages.
	good := http.NewServeMux()
	good.HandleFunc("/p/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		io.WriteString(rw, "<title>fine</title><p>a good page</p>")
	})
	for path, loc := range map[string]string{
		"/redirect/malformed": "http://[::1",
		"/redirect/port":      "https://redirects." + hostileDomain + ":99999/x",
		"/redirect/long":      "/" + strings.Repeat("a", 10<<10),
		"/redirect/away":      "/redirect/away2",
		"/redirect/away2":     landing,
	} {
		good.HandleFunc(path, func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Location", loc)
			rw.WriteHeader(http.StatusFound)
		})
	}
	for path, body := range malformedPages {
		good.HandleFunc(path, func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(rw, body)
		})
	}
	good.HandleFunc("/html/t/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		io.WriteString(rw, "<p>a link target</p>")
	})
	goodSrv := tlstest.NewHTTPServer(t, w.ca, w.counted(good), &tlstest.HTTPOptions{Config: tlsConfig(w.cert)})
	_, goodPort, _ := net.SplitHostPort(goodSrv.Addr)
	var goodPages []fault
	for i := range 4 {
		goodPages = append(goodPages, fault{host: fmt.Sprintf("good%d", i), path: fmt.Sprintf("/p/%d", i), tries: 1})
	}
	w.add(goodPort, goodPages...)
	w.add(goodPort,
		fault{host: "redirects", path: "/redirect/malformed", want: []string{"bad redirect", "missing ']'"}, tries: 1},
		fault{host: "redirects", path: "/redirect/port", want: []string{"port out of range"}, tries: 1},
		fault{host: "redirects", path: "/redirect/long", want: []string{"bad redirect: target refused"}, tries: 1},
		fault{host: "redirects", path: "/redirect/away", tries: 1},
		fault{host: "pages", path: "/html/unclosed", tries: 1},
		fault{host: "pages", path: "/html/nul", tries: 1},
		fault{host: "pages", path: "/html/bad-utf8", tries: 1},
		fault{host: "pages", path: "/html/deep", want: []string{"parse", "open stack of elements"}, tries: 1},
		fault{host: "pages", path: "/html/bad-base", tries: 1},
		fault{host: "pages", path: "/html/unparsable-base", tries: 1},
		fault{host: "pages", path: "/html/links", tries: 1},
		fault{host: "www", path: "/", tries: 1},
	)
	// Reached by following links and redirects.
	followed := []fault{
		{host: "redirects", path: "/redirect/away2", port: goodPort, tries: 1},
		{host: "pages", path: "/html/t/unclosed", port: goodPort, tries: 1},
		{host: "pages", path: "/html/t/nul", port: goodPort, tries: 1},
		{host: "pages", path: "/html/t/utf8", port: goodPort, tries: 1},
		{host: "pages", path: "/html/t/base", port: goodPort, tries: 1},
		{host: "pages", path: "/html/t/unparsable-base", port: goodPort, tries: 1},
		{host: "pages", path: "/html/t/links", port: goodPort, tries: 1},
		// A link whose host is invalid Punycode: fetched, and fails as
		// a name that does not resolve would.
		{host: "xn--a", path: "/", want: []string{"no such host"}, tries: maxAttempts},
	}
	// And a name that does not resolve.
	nx := fault{host: "nx", path: "/", port: goodPort, want: []string{"lookup nx." + hostileDomain + ": no such host"},
		tries: maxAttempts}

	var index strings.Builder
	index.WriteString("<!doctype html><title>links to hostile servers</title>\n")
	for _, f := range append(w.faults, nx) {
		fmt.Fprintf(&index, "<a href=\"%s\">%s</a>\n", f.url(), f.host)
	}
	good.HandleFunc("/{$}", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		io.WriteString(rw, index.String())
	})
	seed := fmt.Sprintf("https://www.%s:%s/", hostileDomain, goodPort)

	path := filepath.Join(t.TempDir(), "state.db")
	front := openFrontier(t, path, frontier.Options{})
	sink := &memSink{}
	tr := w.transport(t, transport.Config{})
	newCrawler := func(f frontier.Frontier) *crawler.Crawler {
		c, err := crawler.New(crawler.Config{
			Frontier: f, Transport: tr, Sink: sink, Scope: crawler.ScopeDomain, MaxDepth: 2,
			Concurrency: 16, MaxBodySize: 1 << 20, FetchTimeout: 2 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.OnHTML("a[href]", func(e *crawler.Element) { e.Follow("href") })
		return c
	}
	run(t, newCrawler(front), seed)

	checkRecords(t, sink, append(append(w.faults, followed...), nx))
	unclosed2 := fault{host: "pages", path: "/html/t/unclosed2", port: goodPort}.url()
	deep := fault{host: "pages", path: "/html/t/deep", port: goodPort}.url()
	for _, u := range []string{landing, unclosed2, deep} {
		if rs := sink.byURL()[u]; len(rs) > 0 {
			t.Errorf("%s fetched: %s", u, describe(rs))
		}
	}
	if n := w.hitsFor("elsewhere.example"); n != 0 {
		t.Errorf("the server off the crawl's scope got %d requests", n)
	}
	for u := range sink.byURL() {
		if len(u) > 8192 || strings.ContainsAny(u, "\x00\x01\x7f") {
			t.Errorf("a record for a URL the frontier should have refused: %.100q", u)
		}
	}
	// The page after one whose Content-Length fell short of its body is
	// its own, not the leftover.
	for _, r := range sink.byURL()[fault{host: "length-short", path: "/after-short", port: h1Port}.url()] {
		if r.Bytes != int64(len("<p>fine</p>\n")) {
			t.Errorf("the page after a short Content-Length: %d bytes, want its own %d", r.Bytes, len("<p>fine</p>\n"))
		}
	}
	away := sink.byURL()[fault{host: "redirects", path: "/redirect/away2", port: goodPort}.url()]
	if len(away) == 1 && away[0].Redirect != landing {
		t.Errorf("redirect off the scope recorded as %+v, want its target %s", away[0], landing)
	}

	checkSettled(t, front,
		func() *frontier.Bolt { front = openFrontier(t, path, frontier.Options{}); return front },
		func(f *frontier.Bolt) int {
			before := sink.count()
			run(t, newCrawler(f), seed)
			return sink.count() - before
		})
}

// malformedPages are pages whose HTML or links are broken. Each links to
// a target under /html/t/ that must be fetched, unless it cannot be
// parsed at all.
var malformedPages = map[string]string{
	"/html/unclosed": `<html><body><div><p><a href="/html/t/unclosed">x<table><tr><td><b><i>` +
		`<a href="/html/t/unclosed2`,
	"/html/nul":      "<p>a\x00b</p><a href=\"/html/t/nul\">n\x00l</a>\x00\x00<a\x00 href=x>",
	"/html/bad-utf8": "<p>\xff\xfe\xc3\x28 \xed\xa0\x80</p><a href=\"/html/t/utf8\">\xe2\x82</a><a href=\"\xff\">",
	// Nested 100,000 deep, the parser gives up: the page is an error.
	"/html/deep": strings.Repeat("<div>", 100_000) + `<a href="/html/t/deep">deep</a>`,
	// A base that is no http(s) URL is ignored, as browsers do.
	"/html/bad-base":        `<base href="javascript:void(0)"><a href="t/base">relative</a>`,
	"/html/unparsable-base": `<base href="http://[::1"><a href="t/unparsable-base">relative</a>`,
	"/html/links":           malformedLinks(),
}

// badLinks are links that cannot be followed; the page must not fail for
// them.
var badLinks = []string{
	"http://[::1", "%zz", "javascript:alert(1)", "mailto:someone@example.com", "data:text/html,x",
	"/ctl\x01x", "/del\x7fx", "/" + strings.Repeat("a", 10<<10), "/?" + strings.Repeat("q=1&", 3<<10),
	"https://pages." + hostileDomain + ":99999/", "https://pages." + hostileDomain + ":-1/",
	"https://a\u2488." + hostileDomain + "/", "https://user:pw@pages." + hostileDomain + "/",
	"https://999.1.1.1/", "http://", "https://",
	// Invalid Punycode that the frontier accepts: fetched, and recorded.
	"https://xn--a." + hostileDomain + "/",
}

func malformedLinks() string {
	var b strings.Builder
	for _, l := range badLinks {
		fmt.Fprintf(&b, "<a href=\"%s\">bad</a>\n", l)
	}
	b.WriteString(`<a href="/html/t/links">good</a>`)
	return b.String()
}

// robotsVia fetches robots.txt for the frontier through the crawl's
// transport, as a crawler's command would: up to five redirects (RFC
// 9309), at most 512 KiB of body, and no deadline of its own, so that
// only the frontier's RobotsTimeout ends a robots.txt that never does.
func robotsVia(rt http.RoundTripper) frontier.RobotsFunc {
	return func(ctx context.Context, target string) (int, []byte, error) {
		for hop := 0; ; hop++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			if err != nil {
				return 0, nil, err
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				return 0, nil, err
			}
			loc := resp.Header.Get("Location")
			if resp.StatusCode/100 == 3 && loc != "" && hop < 5 {
				resp.Body.Close()
				next, err := req.URL.Parse(loc)
				if err != nil {
					return resp.StatusCode, nil, nil
				}
				target = next.String()
				continue
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, 512<<10))
			resp.Body.Close()
			return resp.StatusCode, body, err
		}
	}
}

// skips collects what the frontier's OnSkip reports.
type skips struct {
	mu      sync.Mutex
	reasons map[string]error
}

func (s *skips) add(req frontier.Request, reason error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reasons[req.URL] = reason
}

func (s *skips) get(u string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reasons[u]
}

// TestHostileRobots: hosts whose robots.txt is binary garbage, 5 MB long,
// a 500 or a 503, a redirect loop or a trickle that never ends. Each host
// is treated as frontier documents (RFC 9309): garbage parses to no rules,
// so everything is allowed; a file past 500 KiB is read up to there; a
// loop past five redirects counts as unavailable, so everything is
// allowed; 5xx and no answer (the trickle, cut by RobotsTimeout) are
// retried, then the host is disallowed and its URLs fail with
// ErrRobotsUnavailable, never fetched. The other hosts are crawled, and
// the crawl ends.
func TestHostileRobots(t *testing.T) {
	w := newHostileWeb(t)
	filler := strings.Repeat("# nothing to see here, just filling a robots.txt to five megabytes\n", 5<<20/68)
	robots := map[string]func(http.ResponseWriter, *http.Request){
		"robots-good": func(rw http.ResponseWriter, r *http.Request) {
			io.WriteString(rw, "User-agent: *\nDisallow: /private\n")
		},
		"robots-missing": http.NotFound,
		"robots-binary": func(rw http.ResponseWriter, r *http.Request) {
			b := make([]byte, 64<<10)
			for i := range b {
				b[i] = byte(i*7 + i>>8) // every byte value, ':' and newlines included
			}
			rw.Write(b)
		},
		"robots-huge": func(rw http.ResponseWriter, r *http.Request) {
			io.WriteString(rw, "User-agent: *\nDisallow: /private\n"+filler+"Disallow: /page\n")
		},
		"robots-500": func(rw http.ResponseWriter, r *http.Request) {
			http.Error(rw, "oops", http.StatusInternalServerError)
		},
		"robots-503": func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Retry-After", "0")
			http.Error(rw, "later", http.StatusServiceUnavailable)
		},
		"robots-loop": func(rw http.ResponseWriter, r *http.Request) {
			http.Redirect(rw, r, "/robots.txt", http.StatusFound)
		},
		"robots-trickle": func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Content-Type", "text/plain")
			trickle(rw, "User-agent: *\n")
		},
	}
	type want struct {
		page, private bool  // fetched
		skip          error // the reason OnSkip gives for what is not
		robotsFetches int
	}
	wants := map[string]want{
		"robots-good":    {page: true, skip: frontier.ErrDisallowed, robotsFetches: 1},
		"robots-missing": {page: true, private: true, robotsFetches: 1},
		"robots-binary":  {page: true, private: true, robotsFetches: 1},
		"robots-huge":    {page: true, skip: frontier.ErrDisallowed, robotsFetches: 1},
		"robots-500":     {skip: frontier.ErrRobotsUnavailable, robotsFetches: maxAttempts},
		"robots-503":     {skip: frontier.ErrRobotsUnavailable, robotsFetches: maxAttempts},
		"robots-loop":    {page: true, private: true, robotsFetches: 6},
		"robots-trickle": {skip: frontier.ErrRobotsUnavailable, robotsFetches: maxAttempts},
	}

	var index strings.Builder
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(rw http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		if h := robots[strings.TrimSuffix(host, "."+hostileDomain)]; h != nil {
			h(rw, r)
			return
		}
		http.NotFound(rw, r)
	})
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/" {
			io.WriteString(rw, index.String())
			return
		}
		io.WriteString(rw, "<p>a page</p>")
	})
	srv := tlstest.NewHTTPServer(t, w.ca, w.counted(mux), &tlstest.HTTPOptions{Config: tlsConfig(w.cert)})
	_, port, _ := net.SplitHostPort(srv.Addr)
	for host := range robots {
		for _, path := range []string{"/page", "/private"} {
			w.add(port, fault{host: host, path: path})
			fmt.Fprintf(&index, "<a href=\"https://%s.%s:%s%s\">x</a>\n", host, hostileDomain, port, path)
		}
	}
	w.net.add("www." + hostileDomain)

	sk := &skips{reasons: map[string]error{}}
	tr := w.transport(t, transport.Config{})
	front := openFrontier(t, filepath.Join(t.TempDir(), "state.db"), frontier.Options{
		Robots: robotsVia(tr), RobotsAttempts: maxAttempts, RobotsRetryDelay: 10 * time.Millisecond,
		RobotsTimeout: time.Second, OnSkip: sk.add,
	})
	sink := &memSink{}
	c, err := crawler.New(crawler.Config{Frontier: front, Transport: tr, Sink: sink, Scope: crawler.ScopeDomain,
		MaxDepth: 1, FetchTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.OnHTML("a[href]", func(e *crawler.Element) { e.Follow("href") })
	run(t, c, fmt.Sprintf("https://www.%s:%s/", hostileDomain, port))

	recs := sink.byURL()
	for host, want := range wants {
		robotsTxt := fmt.Sprintf("%s.%s:%s/robots.txt", host, hostileDomain, port)
		if n := w.hitsFor(robotsTxt); n != want.robotsFetches {
			t.Errorf("%s: robots.txt fetched %d times, want %d", host, n, want.robotsFetches)
		}
		for path, fetched := range map[string]bool{"/page": want.page, "/private": want.private} {
			u := fault{host: host, path: path, port: port}.url()
			rs := recs[u]
			if got := len(rs) == 1 && rs[0].Status == 200; got != fetched {
				t.Errorf("%s: fetched = %v (%s), want %v", u, got, describe(rs), fetched)
			}
			if fetched {
				continue
			}
			if err := sk.get(u); !errors.Is(err, want.skip) {
				t.Errorf("%s skipped for %v, want %v", u, err, want.skip)
			}
			if n := w.hitsFor(strings.TrimPrefix(u, "https://")); n != 0 {
				t.Errorf("%s: the server saw %d requests for a URL robots.txt keeps out", u, n)
			}
		}
	}
	st, err := front.Stats(t.Context())
	if err != nil || st.Queued+st.Leased+st.Delayed != 0 {
		t.Errorf("frontier after the crawl: %+v, %v; want everything settled", st, err)
	}
}

// TestProxyDiesMidCrawl: the SOCKS5 proxy every fetch goes through drops
// all its connections while a body is streaming. The fetch it cut is
// recorded with the error and retried on a new tunnel, and the crawl
// fetches every page.
func TestProxyDiesMidCrawl(t *testing.T) {
	site := sitetest.New(t, 15, nil)
	killed := make(chan struct{})
	var calls atomic.Int32
	site.Handle("/stream", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		io.WriteString(rw, "<p>first half</p>")
		if calls.Add(1) == 1 {
			rw.(http.Flusher).Flush()
			select {
			case <-killed:
			case <-r.Context().Done():
			}
		}
		io.WriteString(rw, "<p>second half</p>")
	})
	p := proxytest.NewSOCKS5(t, nil)
	proxy, err := url.Parse(p.URL("", ""))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transport.New(transport.Config{RootCAs: site.CA.Pool,
		Proxy: func(*http.Request) (*url.URL, error) { return proxy, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	// Once the head of the first /stream is in, the proxy dies: the body
	// is cut, not the exchange, which the transport would retry itself.
	var once sync.Once
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := tr.RoundTrip(req)
		if err == nil && req.URL.Path == "/stream" {
			once.Do(func() {
				p.KillAll()
				close(killed)
			})
		}
		return resp, err
	})
	front := openFrontier(t, filepath.Join(t.TempDir(), "state.db"), frontier.Options{})
	sink := &memSink{}
	c, err := crawler.New(crawler.Config{Frontier: front, Transport: rt, Sink: sink, MaxDepth: -1,
		FetchTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.OnHTML("a[href]", func(e *crawler.Element) { e.Follow("href") })
	run(t, c, site.URL+"/stream", site.PageURL(0))

	recs := sink.byURL()
	rs := recs[site.URL+"/stream"]
	if len(rs) != 2 || !strings.Contains(rs[0].Error, site.URL+"/stream") || rs[1].Error != "" || rs[1].Attempt != 2 {
		t.Errorf("records of the page the proxy died under: %s; want an error naming it, then the page", describe(rs))
	} else {
		t.Logf("the cut fetch: %s", rs[0].Error)
	}
	// Other fetches in flight at the kill may have failed too; in the end
	// every page is fetched.
	for i := range site.N {
		rs := recs[site.PageURL(i)]
		if len(rs) == 0 || rs[len(rs)-1].Error != "" {
			t.Errorf("page %d: %s, want fetched in the end", i, describe(rs))
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestPageOfManyLinks: a page of a million links (fewer under the race
// detector, which makes parsing ten times slower) is parsed, every link
// reaches OnHTML, and the few the filter lets through are fetched.
func TestPageOfManyLinks(t *testing.T) {
	site := sitetest.New(t, 1, nil)
	var page strings.Builder
	for i := range manyLinks {
		fmt.Fprintf(&page, "<a href=%d>", i)
	}
	site.Handle("/many", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		io.WriteString(rw, page.String())
	})
	site.Handle("/{n}", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		io.WriteString(rw, "<p>one of many</p>")
	})
	h := newHarness(t, site)
	sink := h.sink
	c, err := crawler.New(crawler.Config{Frontier: h.front, Transport: h.tr, Sink: sink, MaxDepth: 1,
		MaxBodySize: 32 << 20,
		Filter: func(u *url.URL) bool {
			n, err := strconv.Atoi(strings.TrimPrefix(u.Path, "/"))
			return err == nil && n%(manyLinks/10) == 0
		}})
	if err != nil {
		t.Fatal(err)
	}
	var links atomic.Int64
	c.OnHTML("a[href]", func(e *crawler.Element) {
		links.Add(1)
		e.Follow("href")
	})
	run(t, c, site.URL+"/many")
	if n := links.Load(); n != manyLinks {
		t.Errorf("OnHTML saw %d links, want %d", n, manyLinks)
	}
	recs := sink.byURL()
	if rs := recs[site.URL+"/many"]; len(rs) != 1 || rs[0].Error != "" {
		t.Errorf("the page of many links: %s", describe(rs))
	}
	if len(recs) != 11 {
		t.Errorf("%d pages fetched, want the page and the 10 links let through", len(recs))
	}
}

// TestIDNSeedKeepsScope: a seed with an internationalized host name is
// stored in Punycode; the links on its pages are in the crawl's scope
// all the same.
func TestIDNSeedKeepsScope(t *testing.T) {
	w := newHostileWeb(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		io.WriteString(rw, `<a href="/next">next</a>`)
	})
	srv := tlstest.NewHTTPServer(t, w.ca, mux, &tlstest.HTTPOptions{Config: tlsConfig(w.cert)})
	_, port, _ := net.SplitHostPort(srv.Addr)
	w.net.add("xn--bcher-kva." + hostileDomain)
	front := openFrontier(t, filepath.Join(t.TempDir(), "state.db"), frontier.Options{})
	sink := &memSink{}
	c, err := crawler.New(crawler.Config{Frontier: front, Transport: w.transport(t, transport.Config{}),
		Sink: sink, MaxDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.OnHTML("a[href]", func(e *crawler.Element) { e.Follow("href") })
	run(t, c, fmt.Sprintf("https://BÜCHER.%s:%s/", hostileDomain, port))
	next := fmt.Sprintf("https://xn--bcher-kva.%s:%s/next", hostileDomain, port)
	if rs := sink.byURL()[next]; len(rs) != 1 || rs[0].Error != "" {
		t.Errorf("%s: %s; want the link on the IDN seed followed", next, describe(rs))
	}
}
