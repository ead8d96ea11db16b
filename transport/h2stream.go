package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// h2Stream is one request on an h2Conn. Its mutable fields are guarded by
// the connection's mu; cond, on that mutex, wakes the request's body
// writer and its response reader.
type h2Stream struct {
	c    *h2Conn
	id   uint32
	req  *http.Request
	cond *sync.Cond
	// respReady is closed when resp or respErr is set.
	respReady chan struct{}
	stopCtx   func() bool

	resp    *http.Response
	respErr error
	// buf holds response body bytes not yet read; readErr ends the body
	// once buf is empty (io.EOF on a clean end).
	buf     h2Buffer
	readErr error
	trailer http.Header
	// sendWindow is how much body the server lets us send; recvWindow
	// how much it may still send us; recvUnacked what was read but not
	// yet given back with WINDOW_UPDATE.
	sendWindow  int32
	recvWindow  int32
	recvUnacked int32
	// declared is the response's Content-Length or -1; received counts
	// body bytes.
	declared, received int64
	// localDone: our side ended (END_STREAM sent or stream reset);
	// remoteDone: the server's side ended. A stream with both is
	// removed from the connection.
	localDone, remoteDone bool
	// stopSend asks the body writer to stop: the server answered in full
	// and no longer wants the body.
	stopSend   bool
	noBody     bool // the response has no body: DATA is an error
	bodyClosed bool
	removed    bool
}

// h2RetryError marks a request the server certainly did not process (a
// refused stream, a stream above the GOAWAY limit, a connection that
// closed before the request was sent): it may be sent again on another
// connection whatever its method.
type h2RetryError struct{ err error }

func (e h2RetryError) Error() string { return e.err.Error() }
func (e h2RetryError) Unwrap() error { return e.err }

var errBodyClosed = errors.New("transport: read on closed response body")

// openStream writes the request's HEADERS on a new stream and starts
// sending its body.
func (c *h2Conn) openStream(req *http.Request) (*h2Stream, error) {
	hasBody := req.Body != nil && req.Body != http.NoBody
	fields, err := c.requestFields(req, hasBody)
	if err != nil {
		c.unreserve()
		return nil, err
	}
	s := &h2Stream{c: c, req: req, respReady: make(chan struct{}), declared: -1}
	s.cond = sync.NewCond(&c.mu)
	s.localDone = !hasBody

	c.wmu.Lock()
	maxFrame, maxList, err := c.register(s)
	if err == nil {
		err = c.checkHeaderListSize(fields, maxList)
	}
	wrote := false
	if err == nil {
		wrote = true
		err = c.writeLocked(func(fr *http2.Framer) error {
			return c.writeHeaders(fr, s.id, c.enc.encode(nil, fields), !hasBody, maxFrame, true)
		})
	}
	c.wmu.Unlock()
	if err != nil && wrote && errors.Is(err, net.ErrClosed) {
		// The connection was closed on our side (a GOAWAY, a read
		// error) before the request went out: it can go elsewhere.
		err = h2RetryError{err}
	}
	if err != nil {
		c.endStream(s, err, 0)
		if wrote {
			// The HPACK state may now differ from the server's.
			c.closeWithError(err)
		}
		return nil, err
	}

	ctx := req.Context()
	c.mu.Lock()
	s.stopCtx = context.AfterFunc(ctx, func() { s.abort(ctx.Err()) })
	if s.removed {
		s.stopCtx()
	}
	c.mu.Unlock()
	if hasBody {
		go s.writeBody()
	}
	return s, nil
}

// register gives s the next stream ID and the slot reserved for it, and
// returns the server's frame and header list limits.
func (c *h2Conn) register(s *h2Stream) (maxFrame, maxList uint32, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reserved--
	if c.closed || c.closing || c.goAway != nil {
		err := c.err
		if err == nil {
			err = errH2Closing
		}
		return 0, 0, h2RetryError{err}
	}
	s.id = c.nextID
	c.nextID += 2
	if c.nextID > 1<<31-1-1<<20 {
		// Stream IDs are running out: new requests go elsewhere.
		go c.shutdown()
	}
	s.sendWindow = c.peerWindow
	s.recvWindow = c.recvStreamWindow()
	c.streams[s.id] = s
	return c.maxFrame, c.maxHeadList, nil
}

// checkHeaderListSize refuses headers over the server's
// SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113, 6.5.2) before any is sent.
func (c *h2Conn) checkHeaderListSize(fields []hpackEntry, limit uint32) error {
	if limit == 0 {
		return nil
	}
	var n uint64
	for _, f := range fields {
		n += uint64(f.size())
	}
	if n > uint64(limit) {
		return fmt.Errorf("transport: request headers are %d bytes, over the %d %s accepts", n, limit, c.base.Server)
	}
	return nil
}

// writeHeaders writes a header block as HEADERS and CONTINUATION frames.
// The first carries the profile's priority fields when prio is set.
func (c *h2Conn) writeHeaders(fr *http2.Framer, id uint32, block []byte, end bool, maxFrame uint32, prio bool) error {
	p := http2.HeadersFrameParam{StreamID: id, EndStream: end}
	room := int(maxFrame)
	if prio {
		p.Priority = http2.PriorityParam{StreamDep: c.h2.StreamDep, Exclusive: c.h2.Exclusive, Weight: c.h2.Weight}
		room -= 5
	}
	p.BlockFragment = block[:min(len(block), room)]
	block = block[len(p.BlockFragment):]
	p.EndHeaders = len(block) == 0
	if err := fr.WriteHeaders(p); err != nil {
		return err
	}
	for len(block) > 0 {
		n := min(len(block), int(maxFrame))
		if err := fr.WriteContinuation(id, n == len(block), block[:n]); err != nil {
			return err
		}
		block = block[n:]
	}
	return nil
}

// awaitResponse waits for the response head, the request's context, or
// ResponseHeaderTimeout.
func (s *h2Stream) awaitResponse() (*http.Response, error) {
	var timeout <-chan time.Time
	d := s.c.t.cfg.ResponseHeaderTimeout
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-s.respReady:
	case <-timeout:
		s.abort(fmt.Errorf("transport: %s: no response headers within %v", s.c.base.Server, d))
		if time.Since(time.Unix(0, s.c.lastRead.Load())) >= d {
			// Not one frame arrived while we waited: the connection is
			// stuck, not just this stream (a path that died silently, or
			// a header block the server never finishes, which holds up
			// every stream). Later requests go to a new connection.
			s.c.shutdown()
		}
		<-s.respReady
	}
	s.c.mu.Lock()
	resp, err := s.resp, s.respErr
	s.c.mu.Unlock()
	if err != nil {
		if ctxErr := s.req.Context().Err(); ctxErr != nil {
			err = ctxErr
		}
		return nil, err
	}
	return resp, nil
}

// abort ends the stream on our side with err: RST_STREAM(CANCEL) unless it
// had already ended. A response read to its end is left alone.
func (s *h2Stream) abort(err error) {
	c := s.c
	c.mu.Lock()
	done := s.removed || (s.remoteDone && s.resp != nil && s.readErr == io.EOF)
	c.mu.Unlock()
	if !done {
		c.endStream(s, err, http2.ErrCodeCancel)
	}
}

// endStream fails s with err, removes it from the connection, gives back
// the flow-control credit of its unread body and, with a code, resets it.
func (c *h2Conn) endStream(s *h2Stream, err error, code http2.ErrCode) {
	c.mu.Lock()
	if s.removed {
		c.mu.Unlock()
		return
	}
	s.failLocked(err)
	var refund int32
	if s.readErr != io.EOF {
		// Drop an unfinished body; a finished one stays readable.
		refund = int32(s.buf.Len())
		s.buf.Reset()
	}
	c.removeLocked(s)
	upd := c.consumedLocked(nil, refund)
	c.mu.Unlock()

	if code != 0 || upd.conn > 0 {
		c.write(func(fr *http2.Framer) error {
			if code != 0 && s.id != 0 {
				if err := fr.WriteRSTStream(s.id, code); err != nil {
					return err
				}
			}
			return upd.write(fr)
		})
	}
	c.notifyPool()
}

// failLocked ends both sides of s with err, waking its waiters.
func (s *h2Stream) failLocked(err error) {
	if s.resp == nil && s.respErr == nil {
		s.respErr = err
		close(s.respReady)
	}
	if s.readErr == nil {
		s.readErr = err
	}
	s.localDone, s.remoteDone = true, true
	if s.stopCtx != nil {
		s.stopCtx()
	}
	s.cond.Broadcast()
}

// removeLocked forgets a stream whose both sides ended.
func (c *h2Conn) removeLocked(s *h2Stream) {
	if s.removed {
		return
	}
	s.removed = true
	if s.id != 0 {
		delete(c.streams, s.id)
	}
	c.afterStreamEndLocked()
}

// finishLocked removes s if both of its sides ended normally; it reports
// whether it did, in which case the caller notifies the pool.
func (c *h2Conn) finishLocked(s *h2Stream) bool {
	if !s.localDone || !s.remoteDone || s.removed {
		return false
	}
	if s.stopCtx != nil {
		s.stopCtx()
	}
	c.removeLocked(s)
	return true
}

// windowUpdates are WINDOW_UPDATE increments to send.
type windowUpdates struct {
	conn, stream int32
	id           uint32
}

func (u windowUpdates) write(fr *http2.Framer) error {
	if u.conn > 0 {
		if err := fr.WriteWindowUpdate(0, uint32(u.conn)); err != nil {
			return err
		}
	}
	if u.stream > 0 {
		return fr.WriteWindowUpdate(u.id, uint32(u.stream))
	}
	return nil
}

func (u windowUpdates) any() bool { return u.conn > 0 || u.stream > 0 }

// consumedLocked records that n received bytes were used up (read, or
// dropped), on s if it is not nil, and returns the WINDOW_UPDATEs due.
// Like browsers, credit goes back once half a window is used.
func (c *h2Conn) consumedLocked(s *h2Stream, n int32) windowUpdates {
	var u windowUpdates
	c.recvUnacked += n
	if c.recvUnacked >= c.recvConnWindow()/2 && !c.closed {
		u.conn = c.recvUnacked
		c.recvUsed -= c.recvUnacked
		c.recvUnacked = 0
	}
	if s == nil || s.remoteDone {
		return u
	}
	s.recvUnacked += n
	if s.recvUnacked >= c.recvStreamWindow()/2 {
		u.stream, u.id = s.recvUnacked, s.id
		s.recvWindow += s.recvUnacked
		s.recvUnacked = 0
	}
	return u
}

// sendUpdates writes WINDOW_UPDATEs, if any are due.
func (c *h2Conn) sendUpdates(u windowUpdates) {
	if u.any() {
		c.write(u.write)
	}
}

// h2Body is a response body, read from the stream's buffer.
type h2Body struct {
	s    *h2Stream
	resp *http.Response
}

func (b *h2Body) Read(p []byte) (int, error) {
	s, c := b.s, b.s.c
	c.mu.Lock()
	for s.buf.Len() == 0 && s.readErr == nil {
		s.cond.Wait()
	}
	if s.buf.Len() > 0 {
		n := s.buf.Read(p)
		upd := c.consumedLocked(s, int32(n))
		c.mu.Unlock()
		c.sendUpdates(upd)
		return n, nil
	}
	err := s.readErr
	if err == io.EOF {
		for k, vs := range s.trailer {
			b.resp.Trailer[k] = vs
		}
	}
	c.mu.Unlock()
	return 0, err
}

// Close drops what is left of the body; a stream still receiving is reset
// with CANCEL.
func (b *h2Body) Close() error {
	s, c := b.s, b.s.c
	c.mu.Lock()
	if s.bodyClosed {
		c.mu.Unlock()
		return nil
	}
	s.bodyClosed = true
	if !s.remoteDone {
		c.mu.Unlock()
		c.endStream(s, errBodyClosed, http2.ErrCodeCancel)
		return nil
	}
	refund := int32(s.buf.Len())
	s.buf.Reset()
	s.readErr = errBodyClosed
	upd := c.consumedLocked(nil, refund)
	c.mu.Unlock()
	c.sendUpdates(upd)
	return nil
}

// writeBody sends the request body and any trailers, then ends our side
// of the stream. It runs on its own goroutine so that the response can
// arrive while the body is sent.
func (s *h2Stream) writeBody() {
	body := s.req.Body
	defer body.Close()
	err := s.sendBody(body)
	c := s.c
	if err != nil {
		if s.req.Context().Err() == nil {
			err = fmt.Errorf("transport: send request body to %s: %w", c.base.Server, err)
		}
		c.endStream(s, err, http2.ErrCodeCancel)
		return
	}
	c.mu.Lock()
	s.localDone = true
	done := c.finishLocked(s)
	c.mu.Unlock()
	if done {
		c.notifyPool()
	}
}

var errStopSend = errors.New("transport: server no longer reads the request body")

func (s *h2Stream) sendBody(body io.Reader) error {
	buf := make([]byte, h2MaxSendFrame)
	known := s.req.ContentLength > 0 // else unknown (net/http's rule)
	left := s.req.ContentLength
	trailers := len(s.req.Trailer) > 0
	for {
		want := len(buf)
		if known {
			want = int(min(int64(want), left))
		}
		n, rerr := 0, io.EOF
		if want > 0 {
			n, rerr = body.Read(buf[:want])
		}
		if rerr != nil && rerr != io.EOF {
			return rerr
		}
		left -= int64(n)
		eof := rerr == io.EOF || (known && left == 0)
		if known && rerr == io.EOF && left > 0 {
			return fmt.Errorf("body shorter than its ContentLength %d", s.req.ContentLength)
		}
		end := eof && !trailers
		if n > 0 || end {
			if err := s.sendData(buf[:n], end); err != nil {
				if err == errStopSend {
					return nil
				}
				return err
			}
		}
		if eof {
			break
		}
	}
	if trailers {
		return s.sendTrailers()
	}
	return nil
}

// sendData writes data as DATA frames within the flow-control windows;
// end sets END_STREAM on the last one. Empty data with end still writes
// one frame.
func (s *h2Stream) sendData(data []byte, end bool) error {
	for first := true; first || len(data) > 0; first = false {
		n, err := s.awaitSendWindow(len(data))
		if err != nil {
			return err
		}
		chunk := data[:n]
		data = data[n:]
		fin := end && len(data) == 0
		if err := s.c.write(func(fr *http2.Framer) error { return fr.WriteData(s.id, fin, chunk) }); err != nil {
			return err
		}
	}
	return nil
}

// awaitSendWindow waits until want bytes, or some of them, may be sent,
// and takes them from the stream's and the connection's windows.
func (s *h2Stream) awaitSendWindow(want int) (int, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case s.stopSend:
			return 0, errStopSend
		case s.localDone:
			if s.readErr != nil && s.readErr != io.EOF {
				return 0, s.readErr
			}
			return 0, errStopSend
		case want == 0:
			return 0, nil
		}
		n := min(int32(want), s.sendWindow, c.sendWindow, int32(min(c.maxFrame, h2MaxSendFrame)))
		if n > 0 {
			s.sendWindow -= n
			c.sendWindow -= n
			return int(n), nil
		}
		s.cond.Wait()
	}
}

// sendTrailers writes the request's trailers as a final HEADERS frame.
func (s *h2Stream) sendTrailers() error {
	var fields []hpackEntry
	for k, vs := range s.req.Trailer {
		for _, v := range vs {
			fields = append(fields, hpackEntry{strings.ToLower(k), v})
		}
	}
	c := s.c
	c.mu.Lock()
	maxFrame := c.maxFrame
	c.mu.Unlock()
	return c.write(func(fr *http2.Framer) error {
		return c.writeHeaders(fr, s.id, c.enc.encode(nil, fields), true, maxFrame, false)
	})
}
