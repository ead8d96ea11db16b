package transport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Conn is an HTTP/2 client connection that speaks like the profile's
// browser: its connection preface (SETTINGS in the browser's order, the
// connection WINDOW_UPDATE), HEADERS priority fields, pseudo-header and
// header order, and HPACK habits. It is built on x/net's Framer and HPACK
// decoder, not on its Transport, whose preface is Go's own.
//
// Locks: wmu serialises frame writes; mu guards the connection and stream
// state. A goroutine holding wmu may take mu, never the reverse, and
// neither is held while taking the Transport's mu (the pool's).
type h2Conn struct {
	t    *Transport
	pool *hostPool
	conn net.Conn
	base ConnInfo
	h2   *H2Params
	fr   *http2.Framer
	bw   *bufio.Writer

	// readDone is closed when the read loop has exited.
	readDone chan struct{}
	// lastRead is when a frame last arrived, in UnixNano.
	lastRead atomic.Int64

	// wmu guards enc, werr and writes through fr.
	wmu  sync.Mutex
	enc  *hpackEncoder
	werr error

	// mu guards the fields below and every stream's state.
	mu      sync.Mutex
	streams map[uint32]*h2Stream
	// nextID is the ID the next stream gets; reserved counts the
	// requests the pool promised a stream slot that have not opened one.
	nextID   uint32
	reserved int
	// Peer settings.
	maxStreams  uint32
	peerWindow  int32 // SETTINGS_INITIAL_WINDOW_SIZE: new streams' send window
	maxFrame    uint32
	maxHeadList uint32
	// sendWindow is the connection's send window; recvUnacked counts
	// received bytes consumed but not yet given back by WINDOW_UPDATE.
	sendWindow  int32
	recvUnacked int32
	// goAway is set when the server sent GOAWAY: no new streams.
	goAway *http2.GoAwayFrame
	// closing: no new streams, close when the last one ends.
	closing bool
	closed  bool
	err     error // why the connection closed
	// idleTimer closes the connection after IdleConnTimeout without
	// streams; pings are the PINGs in flight, by payload.
	idleTimer *time.Timer
	health    *time.Timer
	pings     map[[8]byte]chan struct{}
	// recvUsed counts body bytes received and not yet credited back to
	// the server's connection window.
	recvUsed int32
}

// Our receive side, from the profile's SETTINGS.
func (c *h2Conn) recvStreamWindow() int32 {
	return int32(settingOr(c.h2.Settings, http2.SettingInitialWindowSize, 65535))
}

func (c *h2Conn) recvConnWindow() int32 { return 65535 + int32(c.h2.WindowUpdate) }

func settingOr(ss []H2Setting, id http2.SettingID, def uint32) uint32 {
	for _, s := range ss {
		if s.ID == uint16(id) {
			return s.Val
		}
	}
	return def
}

const (
	// h2WriteTimeout bounds one frame write: a peer that stops reading
	// for this long is treated as gone.
	h2WriteTimeout = 30 * time.Second
	// h2PingAfter and h2PingTimeout: with requests in flight and nothing
	// received for h2PingAfter, a PING is sent; no answer within
	// h2PingTimeout closes the connection.
	h2PingAfter   = 30 * time.Second
	h2PingTimeout = 15 * time.Second
	// h2MaxSendFrame caps DATA frames at the size browsers send.
	h2MaxSendFrame = 16384
)

// newH2Conn starts an HTTP/2 connection over conn: it writes the
// profile's preface and starts the read loop.
func (t *Transport) newH2Conn(p *hostPool, conn net.Conn, info ConnInfo) (*h2Conn, error) {
	c := &h2Conn{
		t:           t,
		pool:        p,
		conn:        conn,
		base:        info,
		h2:          &t.profile.H2,
		bw:          bufio.NewWriterSize(conn, 32<<10),
		readDone:    make(chan struct{}),
		enc:         newHPACKEncoder(&t.profile.hpack),
		streams:     make(map[uint32]*h2Stream),
		nextID:      max(t.profile.H2.FirstStreamID, 1),
		maxStreams:  100, // until the server's SETTINGS say otherwise
		peerWindow:  65535,
		maxFrame:    16384,
		maxHeadList: 0, // no limit until told
		sendWindow:  65535,
		pings:       make(map[[8]byte]chan struct{}),
	}
	c.fr = http2.NewFramer(c.bw, bufio.NewReaderSize(conn, 32<<10))
	c.fr.SetMaxReadFrameSize(settingOr(c.h2.Settings, http2.SettingMaxFrameSize, 16384))
	c.fr.MaxHeaderListSize = settingOr(c.h2.Settings, http2.SettingMaxHeaderListSize, 262144)
	tableSize := settingOr(c.h2.Settings, http2.SettingHeaderTableSize, 4096)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(tableSize, nil)
	c.lastRead.Store(time.Now().UnixNano())
	if err := c.writePreface(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("transport: http2 preface to %s: %w", info.Server, err)
	}
	go c.readLoop()
	return c, nil
}

// writePreface sends the client preface, the profile's SETTINGS in its
// order and its connection WINDOW_UPDATE, in one write as browsers do.
func (c *h2Conn) writePreface() error {
	return c.write(func(fr *http2.Framer) error {
		if _, err := io.WriteString(c.bw, http2.ClientPreface); err != nil {
			return err
		}
		settings := make([]http2.Setting, len(c.h2.Settings))
		for i, s := range c.h2.Settings {
			settings[i] = http2.Setting{ID: http2.SettingID(s.ID), Val: s.Val}
		}
		if err := fr.WriteSettings(settings...); err != nil {
			return err
		}
		if c.h2.WindowUpdate == 0 {
			return nil
		}
		return fr.WriteWindowUpdate(0, c.h2.WindowUpdate)
	})
}

// write runs fn with the framer under the write lock and flushes. A write
// error is kept: the connection is then unusable and is closed.
func (c *h2Conn) write(fn func(*http2.Framer) error) error {
	c.wmu.Lock()
	err := c.writeLocked(fn)
	c.wmu.Unlock()
	if err != nil {
		c.closeWithError(err)
	}
	return err
}

func (c *h2Conn) writeLocked(fn func(*http2.Framer) error) error {
	if c.werr != nil {
		return c.werr
	}
	c.conn.SetWriteDeadline(time.Now().Add(h2WriteTimeout))
	err := fn(c.fr)
	if err == nil {
		err = c.bw.Flush()
	}
	c.conn.SetWriteDeadline(time.Time{})
	if err != nil {
		c.werr = fmt.Errorf("transport: http2 write to %s: %w", c.base.Server, err)
		return c.werr
	}
	return nil
}

// reserve claims a stream slot for a request, if the connection has one:
// it is open, the server has not sent GOAWAY, and the streams open or
// promised are below the server's limit.
func (c *h2Conn) reserve() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.availableLocked() {
		return false
	}
	c.reserved++
	c.stopIdleLocked()
	return true
}

func (c *h2Conn) availableLocked() bool {
	if c.closed || c.closing || c.goAway != nil {
		return false
	}
	busy := len(c.streams) + c.reserved
	// Stream IDs are 31 bits; a connection near the end retires.
	room := uint64(c.nextID)+2*uint64(c.reserved) < 1<<31-1
	return busy < int(c.maxStreams) && room
}

// unreserve gives back a slot a request did not use.
func (c *h2Conn) unreserve() {
	c.mu.Lock()
	c.reserved--
	c.afterStreamEndLocked()
	c.mu.Unlock()
	c.notifyPool()
}

// idle reports whether no request uses or awaits the connection.
func (c *h2Conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams) == 0 && c.reserved == 0
}

// notifyPool wakes requests waiting in the pool: a stream slot may have
// freed up or the connection gone away.
func (c *h2Conn) notifyPool() {
	t, p := c.t, c.pool
	t.mu.Lock()
	p.wakeAllLocked()
	t.mu.Unlock()
}

// leavePool takes the connection out of its pool, so that new requests
// dial a new one; its open streams go on.
func (c *h2Conn) leavePool() {
	t, p := c.t, c.pool
	t.mu.Lock()
	if i := slices.Index(p.h2, c); i >= 0 {
		p.h2 = slices.Delete(p.h2, i, i+1)
		p.open--
	}
	p.wakeAllLocked()
	t.dropIfEmptyLocked(p)
	t.mu.Unlock()
}

// afterStreamEndLocked starts the idle timer when nothing uses the
// connection, and closes a closing connection whose last stream ended.
func (c *h2Conn) afterStreamEndLocked() {
	if len(c.streams) > 0 || c.reserved > 0 || c.closed {
		return
	}
	if c.closing || c.goAway != nil {
		go c.closeWithError(errH2Closing)
		return
	}
	if c.idleTimer == nil {
		c.idleTimer = time.AfterFunc(c.t.cfg.IdleConnTimeout, c.idleExpired)
	} else {
		c.idleTimer.Reset(c.t.cfg.IdleConnTimeout)
	}
}

func (c *h2Conn) stopIdleLocked() {
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
}

func (c *h2Conn) idleExpired() { c.shutdownIf(true) }

var errH2Closing = errors.New("transport: http2 connection closed")

// shutdown closes the connection gracefully: no new streams, GOAWAY to the
// server, and the close once the open streams have ended.
func (c *h2Conn) shutdown() { c.shutdownIf(false) }

// shutdownIf shuts the connection down; with idleOnly, only if no request
// uses it or has reserved a stream on it.
func (c *h2Conn) shutdownIf(idleOnly bool) {
	c.mu.Lock()
	busy := len(c.streams) > 0 || c.reserved > 0
	if c.closed || c.closing || (idleOnly && busy) {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.mu.Unlock()
	c.leavePool()
	c.write(func(fr *http2.Framer) error { return fr.WriteGoAway(0, http2.ErrCodeNo, nil) })
	c.mu.Lock()
	c.afterStreamEndLocked()
	c.mu.Unlock()
}

// close closes the connection at once, failing its streams.
func (c *h2Conn) close() { c.closeWithError(errH2Closing) }

// closeWithError closes the connection and fails every open stream with
// err.
func (c *h2Conn) closeWithError(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.err = err
	c.stopIdleLocked()
	if c.health != nil {
		c.health.Stop()
	}
	for id, s := range c.streams {
		if c.goAway != nil && id > c.goAway.LastStreamID {
			// The server said it would not process this stream.
			s.failLocked(h2RetryError{err})
			continue
		}
		s.failLocked(err)
	}
	clear(c.streams)
	for _, ch := range c.pings {
		close(ch)
	}
	clear(c.pings)
	c.mu.Unlock()
	c.conn.Close()
	c.leavePool()
}

// ping sends a PING and waits for its answer.
func (c *h2Conn) ping(timeout time.Duration) error {
	var data [8]byte
	binaryPutNano(data[:], time.Now().UnixNano())
	ch := make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.err
	}
	c.pings[data] = ch
	c.mu.Unlock()
	if err := c.write(func(fr *http2.Framer) error { return fr.WritePing(false, data) }); err != nil {
		return err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-ch:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return c.err
		}
		return nil
	case <-timer.C:
		c.mu.Lock()
		delete(c.pings, data)
		c.mu.Unlock()
		return fmt.Errorf("transport: http2 connection to %s: no answer to PING within %v", c.base.Server, timeout)
	}
}

func binaryPutNano(b []byte, v int64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

// healthCheck runs while requests are in flight: a connection silent for
// h2PingAfter is pinged, and closed when the PING goes unanswered.
func (c *h2Conn) healthCheck() {
	silent := time.Since(time.Unix(0, c.lastRead.Load()))
	if silent < h2PingAfter || c.idle() {
		return
	}
	if err := c.ping(h2PingTimeout); err != nil {
		c.closeWithError(err)
	}
}

// wrapConn puts HTTP over a fresh TLS connection: HTTP/2 when ALPN chose
// it, HTTP/1.1 otherwise.
func (t *Transport) wrapConn(p *hostPool, conn *tlsConn, info ConnInfo) (pooledConn, ConnInfo, error) {
	if info.ALPN != "h2" {
		return t.newH1(p, conn, info), info, nil
	}
	c, err := t.newH2Conn(p, conn, info)
	if err != nil {
		return nil, info, err
	}
	return c, info, nil
}

// roundTrip sends req on a new stream, for which the pool reserved a slot,
// and waits for the response head.
func (c *h2Conn) roundTrip(req *http.Request) (*http.Response, error) {
	s, err := c.openStream(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	return s.awaitResponse()
}
