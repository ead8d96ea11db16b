package transport

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/revisit-crawl/revisit/ticketstore"
)

// Config configures a [Transport]. The zero value is usable: Chrome 133,
// direct connections, no ticket store, system roots, the defaults below.
type Config struct {
	// Profile is the browser fingerprint to speak. Nil means [Default].
	Profile *Profile

	// Tickets keeps the session tickets servers send, per (exit,
	// profile) partition. Nil means none are kept and none offered.
	Tickets *ticketstore.Store

	// Proxy returns the proxy for a request (http, https or socks5, with
	// optional user:password), or nil for a direct connection. Nil means
	// direct. A proxy chosen with [WithProxy] on the request's context
	// takes precedence.
	Proxy func(*http.Request) (*url.URL, error)

	// Rotating reports proxies whose exit address may change from one
	// connection to the next. No ticket is stored or offered through
	// them: a ticket would show up from another address.
	Rotating func(proxy *url.URL) bool

	// Proxies, when Proxy is nil, is a pool of exits: each request goes
	// through the one its host hashes to, so that a site always sees the
	// same visitor, unless that exit's identity is retired (see
	// [Transport.Retire]); then through the next one in the list that is
	// not. When all are retired, requests fail with ErrAllRetired.
	Proxies []*url.URL

	// ExitIP, if set, returns the address a proxy's traffic leaves from,
	// as observed through it, or "". It is asked once per proxy; a known
	// address becomes part of the exit's identity, so tickets and cookies
	// are partitioned by (proxy, observed address). ExitProbe does the
	// same for exits that change.
	ExitIP func(proxy *url.URL) string

	// ExitProbe is the URL of a service that answers with the client's
	// address as plain text. When set, each new connection through a
	// proxy that is not rotating first asks it, on a connection of its
	// own through the same proxy, where the proxy's traffic leaves from:
	// tickets and cookies are then kept per (proxy, observed address), so
	// a gateway that changes its exit under one credential never has a
	// ticket offered from another address than the one it was issued to,
	// and an address's tickets come back into use when it returns. The
	// exit can still change between the probe and the connection it
	// precedes; see the README.
	ExitProbe string

	// Cookies keeps a cookie jar per identity (exit, observed address and
	// profile) with RFC 6265 rules: in the ticket store's partition, so
	// that cookies survive restarts beside the tickets, or in memory for
	// rotating proxies and without a store. Cookies never cross
	// identities. A request that has a Cookie header of its own gets none
	// from the jar.
	Cookies bool

	// RefusalLimit is how many tickets in a row servers may refuse (by a
	// full handshake) through one identity before tickets are offered
	// there no more for RefusalPause. Zero means 3 and 1 hour.
	RefusalLimit int
	RefusalPause time.Duration

	// DialContext, if set, makes the TCP connections to servers and to
	// proxies, in place of a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// FirstVisit, when set, makes every new connection offer no ticket;
	// tickets received are still stored. See also [WithFirstVisit].
	FirstVisit bool

	// RootCAs are the roots trusted for servers and HTTPS proxies. Nil
	// means the system's.
	RootCAs *x509.CertPool
	// InsecureSkipVerify turns off certificate verification.
	InsecureSkipVerify bool

	// DialTimeout bounds the TCP dial plus any proxy tunnel. Zero means
	// 30s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake. Zero means 10s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after
	// the request is written. An HTTP/1.1 connection that runs out of it
	// is closed; an HTTP/2 one only if nothing at all arrived on it
	// meanwhile, and then it takes no new requests. Zero means none
	// beyond the request's context.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes connections idle for longer. Zero means 90s.
	IdleConnTimeout time.Duration
	// MaxConnsPerHost bounds the connections, open and being dialled, to
	// one origin through one exit. Zero means 6, Chrome's limit.
	MaxConnsPerHost int
	// MaxIdleConnsPerHost bounds the idle HTTP/1.1 connections kept per
	// origin and exit. Zero means 6.
	MaxIdleConnsPerHost int
	// NoTicketFor is how long a server that answered a ticket with a
	// HelloRetryRequest is offered none. Zero means 24h.
	NoTicketFor time.Duration

	// LocalAddr, if set, is the local address direct connections are
	// dialled from.
	LocalAddr net.Addr

	// Logger receives debug events and warnings. Nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Profile == nil {
		c.Profile = Default()
	}
	c.DialTimeout = durationOr(c.DialTimeout, 30*time.Second)
	c.TLSHandshakeTimeout = durationOr(c.TLSHandshakeTimeout, 10*time.Second)
	c.IdleConnTimeout = durationOr(c.IdleConnTimeout, 90*time.Second)
	c.NoTicketFor = durationOr(c.NoTicketFor, 24*time.Hour)
	c.RefusalPause = durationOr(c.RefusalPause, time.Hour)
	if c.RefusalLimit <= 0 {
		c.RefusalLimit = 3
	}
	if c.MaxConnsPerHost <= 0 {
		c.MaxConnsPerHost = 6
	}
	if c.MaxIdleConnsPerHost <= 0 {
		c.MaxIdleConnsPerHost = 6
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Transport is an http.RoundTripper that speaks for a browser profile over
// utls connections, direct or through proxies, keeps connections alive per
// (exit, origin), and offers and stores TLS session tickets in the
// partition of the exit each connection went through. It is safe for
// concurrent use. Create one with [New].
type Transport struct {
	cfg     Config
	profile *Profile
	dialer  *net.Dialer
	log     *slog.Logger
	now     func() time.Time
	// h1Order and h2Order are the profile's header lists, ready for use.
	h1Order, h2Order *headerOrder
	// keyShare maps servers (host:port) that need a ClientHello with one
	// classical key share to its place among the profile's; see
	// errKeyShare.
	keyShare sync.Map

	// mu guards the fields below.
	mu     sync.Mutex
	exits  map[string]*exit
	pools  map[poolKey]*hostPool
	closed bool
}

// New returns a transport.
func New(cfg Config) (*Transport, error) {
	cfg = cfg.withDefaults()
	t := &Transport{
		cfg:     cfg,
		profile: cfg.Profile,
		dialer:  &net.Dialer{KeepAlive: 30 * time.Second, LocalAddr: cfg.LocalAddr},
		log:     cfg.Logger,
		now:     time.Now,
		exits:   make(map[string]*exit),
		pools:   make(map[poolKey]*hostPool),
		h1Order: newHeaderOrder(cfg.Profile.h1Headers),
		h2Order: newHeaderOrder(cfg.Profile.headers),
	}
	return t, nil
}

// Profile returns the profile the transport speaks.
func (t *Transport) Profile() *Profile { return t.profile }

// exitFor returns the exit for a proxy URL (nil: direct), creating it and
// its ticket partition on first use.
func (t *Transport) exitFor(proxy *url.URL) (*exit, error) {
	key := ""
	if proxy != nil {
		key = proxy.String()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	if ex, ok := t.exits[key]; ok {
		return ex, nil
	}
	id, err := ticketstore.ExitFromURL(proxy)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedScheme, err)
	}
	ex := &exit{owner: t, proxy: proxy, label: id.Label(), key: key, ids: map[string]*identity{}}
	ex.rotating = proxy != nil && t.cfg.Rotating != nil && t.cfg.Rotating(proxy)
	switch {
	case proxy == nil && t.cfg.LocalAddr != nil:
		// Direct connections from a chosen source address are an exit of
		// their own: servers see that address.
		ex.staticIP, _, _ = net.SplitHostPort(t.cfg.LocalAddr.String())
	case proxy == nil || ex.rotating:
	case t.cfg.ExitProbe != "":
		ex.probe = t.cfg.ExitProbe
	case t.cfg.ExitIP != nil:
		ex.staticIP = t.cfg.ExitIP(proxy)
	}
	t.exits[key] = ex
	return ex, nil
}

// chooseExit picks the request's exit: the context's choice, else the
// Proxy function's, else direct.
func (t *Transport) chooseExit(req *http.Request) (*exit, error) {
	if c, ok := req.Context().Value(keyProxy).(proxyChoice); ok {
		return t.exitFor(c.u)
	}
	if t.cfg.Proxy == nil && len(t.cfg.Proxies) > 0 {
		u, err := t.chooseFromPool(req)
		if err != nil {
			return nil, err
		}
		return t.exitFor(u)
	}
	if t.cfg.Proxy == nil {
		return t.exitFor(nil)
	}
	u, err := t.cfg.Proxy(req)
	if err != nil {
		return nil, err
	}
	return t.exitFor(u)
}

// RoundTrip sends one request. It adds the profile's default headers that
// the request lacks, decodes gzip, deflate, br and zstd bodies when the
// Accept-Encoding was the profile's, and attaches the connection's facts
// to the response (see [Info]).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || req.URL.Host == "" {
		closeBody(req)
		return nil, errors.New("transport: request has no URL host")
	}
	scheme := strings.ToLower(req.URL.Scheme)
	if scheme != "http" && scheme != "https" {
		closeBody(req)
		return nil, fmt.Errorf("%w: %q in %s", ErrUnsupportedScheme, req.URL.Scheme, req.URL.Redacted())
	}
	if err := checkHeaders(req.Header); err != nil {
		closeBody(req)
		return nil, err
	}
	ex, err := t.chooseExit(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	decode := req.Header.Get("Accept-Encoding") == ""
	key := poolKey{exit: ex.key, origin: scheme + "://" + canonicalAddr(req.URL)}
	out := req
	for attempt := 0; ; attempt++ {
		u, err := t.getConn(req.Context(), ex, key)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		sent := t.withDefaults(out, u.info.ALPN == "h2")
		jar := u.info.id.cookies()
		if jar != nil && len(req.Header.Values("Cookie")) == 0 {
			addCookies(sent, jar.Cookies(req.URL))
		}
		resp, err := u.conn.roundTrip(sent)
		u.info.id.noteRequest(err)
		if err == nil {
			if jar != nil {
				if set := resp.Cookies(); len(set) > 0 {
					jar.SetCookies(req.URL, set)
				}
			}
			resp.Request = req
			return finishResponse(resp, u.info, decode), nil
		}
		if !mayRetry(err, attempt, u.info, out) {
			return nil, err
		}
		// A pooled connection the server had already closed, or a request
		// the server refused unprocessed: once more, as browsers do.
		t.log.DebugContext(req.Context(), "transport: retrying on a new connection",
			"url", req.URL.Redacted(), "err", err)
		if out, err = rewind(out); err != nil {
			return nil, err
		}
	}
}

// maxUnprocessedRetries bounds how often a request an HTTP/2 server
// refused unprocessed (REFUSED_STREAM, or above a GOAWAY's last stream) is
// sent again. Such refusals are routine, for example when a server lowers
// its stream limit or closes a connection after so many requests, and
// each one means the server did nothing with the request.
const maxUnprocessedRetries = 10

// mayRetry reports whether a failed request may be sent again: a request
// an HTTP/2 server refused unprocessed, or a request that canRetry allows
// after failing on a reused connection.
func mayRetry(err error, attempt int, info ConnInfo, req *http.Request) bool {
	if req.Context().Err() != nil {
		return false
	}
	if errors.As(err, new(h2RetryError)) {
		return attempt < maxUnprocessedRetries && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	}
	return attempt == 0 && info.Reused && canRetry(req)
}

// canRetry reports whether a request may be sent again: it is idempotent
// or its body can be had again, and it has not been cancelled.
func canRetry(req *http.Request) bool {
	if req.Context().Err() != nil {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

func rewind(req *http.Request) (*http.Request, error) {
	if req.GetBody == nil || req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := *req
	r.Body = body
	return &r, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// canonicalAddr returns host:port of u with the scheme's default port.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if strings.EqualFold(u.Scheme, "http") {
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// CloseIdleConnections closes the connections no request is using.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	var conns []pooledConn
	for _, p := range t.pools {
		conns = append(conns, p.takeIdleLocked()...)
		t.dropIfEmptyLocked(p)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Close closes every connection and makes later requests fail with
// ErrClosed. It does not close the ticket store.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	var conns []pooledConn
	for _, p := range t.pools {
		conns = append(conns, p.allLocked()...)
		p.wakeAllLocked()
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	return nil
}

// Info returns the facts of the connection that carried a response made
// by a Transport: exit, profile, TLS version, ALPN, whether the
// connection was new, whether a ticket was offered and accepted.
func Info(resp *http.Response) (ConnInfo, bool) {
	if resp == nil {
		return ConnInfo{}, false
	}
	b, ok := resp.Body.(*body)
	if !ok {
		return ConnInfo{}, false
	}
	return b.info, true
}

var _ http.RoundTripper = (*Transport)(nil)
