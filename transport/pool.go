package transport

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// poolKey names a pool: one origin reached through one exit. Connections
// never cross pools, so a request never travels on a connection dialled
// through another exit, and the profile is the transport's own.
type poolKey struct {
	exit   string // the exit's full identity; never printed
	origin string // scheme://host:port
}

// pooledConn is an HTTP/1.1 or HTTP/2 connection.
type pooledConn interface {
	roundTrip(req *http.Request) (*http.Response, error)
	close()
}

// connUse is a connection handed to one request, with the facts of that
// use.
type connUse struct {
	conn pooledConn
	info ConnInfo
}

// hostPool holds the connections of one poolKey. Its fields are guarded by
// the Transport's mu.
type hostPool struct {
	key poolKey
	// idle HTTP/1.1 connections, most recently used last.
	idle []*h1Conn
	// h2 holds the HTTP/2 connections; each serves many requests.
	h2 []*h2Conn
	// open counts connections open or being dialled; dialing those being
	// dialled.
	open, dialing int
	// proto is the ALPN the last new connection negotiated. While the
	// first dial to an origin runs, or while an HTTP/2 dial runs, other
	// requests wait for it rather than dial connections they would not
	// need.
	proto string
	// waiters are woken when a connection frees up or a dial ends.
	waiters []chan struct{}
}

func (t *Transport) poolLocked(key poolKey) *hostPool {
	p := t.pools[key]
	if p == nil {
		p = &hostPool{key: key}
		t.pools[key] = p
	}
	return p
}

// dropIfEmptyLocked forgets a pool with nothing in it, so that a crawl over
// many hosts does not keep a pool for each.
func (t *Transport) dropIfEmptyLocked(p *hostPool) {
	if p.open == 0 && len(p.waiters) == 0 && t.pools[p.key] == p {
		delete(t.pools, p.key)
	}
}

// reuseLocked returns a connection that can take a request now, or nil.
// HTTP/2 connections that close or stop taking streams leave the pool
// themselves.
func (p *hostPool) reuseLocked() (pooledConn, ConnInfo) {
	for _, c := range p.h2 {
		if c.reserve() {
			return c, c.base
		}
	}
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if c.idleTimer.Stop() {
			return c, c.base
		}
		// Its idle timer fired and is closing it.
	}
	return nil, ConnInfo{}
}

func (p *hostPool) wakeAllLocked() {
	for _, ch := range p.waiters {
		close(ch)
	}
	p.waiters = nil
}

// takeIdleLocked removes and returns the connections no request is using:
// idle HTTP/1.1 ones and HTTP/2 ones without streams.
func (p *hostPool) takeIdleLocked() []pooledConn {
	var out []pooledConn
	for i := 0; i < len(p.h2); {
		if p.h2[i].idle() {
			out = append(out, p.h2[i])
			p.h2 = slices.Delete(p.h2, i, i+1)
			p.open--
			continue
		}
		i++
	}
	for _, c := range p.idle {
		if c.idleTimer.Stop() {
			p.open--
			out = append(out, c)
		}
	}
	p.idle = nil
	return out
}

func (p *hostPool) allLocked() []pooledConn {
	out := p.takeIdleLocked()
	for _, c := range p.h2 {
		out = append(out, c)
	}
	p.open -= len(p.h2)
	p.h2 = nil
	return out
}

// getConn returns a connection for the pool's origin: an HTTP/2 one with
// room for a stream, an idle HTTP/1.1 one, or a new one when the pool is
// below MaxConnsPerHost. Otherwise it waits until one of those becomes
// true or ctx ends.
func (t *Transport) getConn(ctx context.Context, ex *exit, key poolKey) (connUse, error) {
	tr := traceOf(ctx)
	if tr.GetConn != nil {
		tr.GetConn(ex.label, key.origin)
	}
	for {
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return connUse{}, ErrClosed
		}
		p := t.poolLocked(key)
		if c, info := p.reuseLocked(); c != nil {
			t.mu.Unlock()
			info.Reused = true
			return t.gotConn(tr, c, info), nil
		}
		waitForDial := p.dialing > 0 && p.proto != "http/1.1"
		// Like browsers, one HTTP/2 connection per origin: requests over
		// the server's stream limit wait for a stream, not a new
		// connection. A connection that got GOAWAY has left p.h2.
		if p.open < t.cfg.MaxConnsPerHost && !waitForDial && len(p.h2) == 0 {
			p.open++
			p.dialing++
			t.mu.Unlock()
			return t.newConn(ctx, ex, p, tr)
		}
		ch := make(chan struct{})
		p.waiters = append(p.waiters, ch)
		t.mu.Unlock()

		select {
		case <-ch:
		case <-ctx.Done():
			t.mu.Lock()
			if i := slices.Index(p.waiters, ch); i >= 0 {
				p.waiters = slices.Delete(p.waiters, i, i+1)
			}
			t.dropIfEmptyLocked(p)
			t.mu.Unlock()
			return connUse{}, ctx.Err()
		}
	}
}

func (t *Transport) gotConn(tr *Trace, c pooledConn, info ConnInfo) connUse {
	if tr.GotConn != nil {
		tr.GotConn(info)
	}
	return connUse{conn: c, info: info}
}

// newConn dials a connection for p, whose open and dialing counts the
// caller has raised.
func (t *Transport) newConn(ctx context.Context, ex *exit, p *hostPool, tr *Trace) (connUse, error) {
	c, info, err := t.dialConn(ctx, ex, p, tr)
	t.mu.Lock()
	defer t.mu.Unlock()
	p.dialing--
	p.wakeAllLocked()
	if err != nil {
		p.open--
		t.dropIfEmptyLocked(p)
		return connUse{}, err
	}
	p.proto = info.ALPN
	if p.proto == "" {
		p.proto = "http/1.1"
	}
	if h2, ok := c.(*h2Conn); ok {
		if t.closed {
			p.open--
			go h2.close()
			return connUse{}, ErrClosed
		}
		p.h2 = append(p.h2, h2)
		if !h2.reserve() {
			return connUse{}, h2RetryError{fmt.Errorf("transport: new HTTP/2 connection to %s closed at once", p.key.origin)}
		}
	}
	return t.gotConn(tr, c, info), nil
}

// dialConn makes a new connection: TCP through the exit, then TLS with
// the profile for https, retried once without a ticket when the server
// answers a ticket with a HelloRetryRequest.
func (t *Transport) dialConn(ctx context.Context, ex *exit, p *hostPool, tr *Trace) (pooledConn, ConnInfo, error) {
	scheme, addr, _ := cutOrigin(p.key.origin)
	host, _, _ := net.SplitHostPort(addr)
	start := time.Now()
	id, err := t.identityFor(ctx, ex)
	if err != nil {
		return nil, ConnInfo{}, err
	}
	if scheme == "http" {
		c, info, err := t.dialPlain(ctx, ex, id, p, addr, tr)
		if err == nil {
			t.noteHandshake(id, info)
		}
		return c, info, err
	}
	offer := !t.cfg.FirstVisit && !firstVisit(ctx) && t.mayOffer(id, addr)
	share := 0
	if v, ok := t.keyShare.Load(addr); ok {
		share = v.(int)
	}
	for attempt := 0; ; attempt++ {
		raw, err := t.dialTunnel(ctx, ex, addr, tr)
		if err != nil {
			return nil, ConnInfo{}, err
		}
		dialTime := time.Since(start)
		params := handshakeParams{ex: ex, id: id, server: addr, host: host, offer: offer, share: share, trace: tr}
		conn, info, err := t.handshake(ctx, raw, params)
		info.DialTime = dialTime
		info.Retried = attempt > 0
		if err == nil {
			t.noteHandshake(id, info)
			return t.wrapConn(p, conn, info)
		}
		raw.Close()
		if _, ks := err.(errKeyShare); ks && attempt < 3 {
			// The next classical share alone, remembered for the
			// transport's life so that the server costs one failed
			// handshake, not one per connection.
			share++
			t.log.InfoContext(ctx, "transport: server chose a key share utls cannot complete; sending another alone",
				"server", addr, "profile", t.profile.Name, "share", share)
			t.keyShare.Store(addr, share)
			start = time.Now()
			continue
		}
		if _, hrr := err.(errHelloRetry); !hrr || attempt > 3 {
			return nil, info, err
		}
		if tr.ResumptionRetry != nil {
			tr.ResumptionRetry(addr, err)
		}
		t.log.InfoContext(ctx, "transport: server answered a ticket with HelloRetryRequest; offering none from now on",
			"server", addr, "exit", ex.label, "for", t.cfg.NoTicketFor)
		if id.part != nil {
			if err := id.part.MarkNoTicket(addr, t.cfg.NoTicketFor); err != nil {
				t.log.WarnContext(ctx, "transport: mark server", "server", addr, "err", err)
			}
		}
		offer = false
		start = time.Now()
	}
}

// mayOffer reports whether the identity may offer a ticket to server: it
// has a partition with no "offer none" mark for server, and servers have
// not kept refusing its tickets lately.
func (t *Transport) mayOffer(id *identity, server string) bool {
	if id.part == nil || t.ticketsPaused(id) {
		return false
	}
	marked, err := id.part.NoTicket(server)
	if err != nil {
		t.log.Warn("transport: read server mark", "server", server, "err", err)
		return false
	}
	return !marked
}

func cutOrigin(origin string) (scheme, addr string, ok bool) {
	return strings.Cut(origin, "://")
}
