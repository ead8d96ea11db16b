package transport

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

// readLoop reads the server's frames until the connection ends.
func (c *h2Conn) readLoop() {
	defer close(c.readDone)
	c.mu.Lock()
	c.health = time.AfterFunc(h2PingAfter, c.healthTick)
	c.mu.Unlock()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if !c.readError(err) {
				return
			}
			continue
		}
		c.lastRead.Store(time.Now().UnixNano())
		if err := c.handle(f); err != nil {
			c.connError(err)
			return
		}
	}
}

// readError handles an error from ReadFrame and reports whether reading
// can go on.
func (c *h2Conn) readError(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		c.resetStream(se.StreamID, se.Code, fmt.Errorf("transport: http2 stream from %s: %w", c.base.Server, se))
		return true
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		c.connError(ce)
		return false
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		c.closeWithError(fmt.Errorf("transport: http2 connection to %s: %w", c.base.Server, err))
	}
	return false
}

// connError ends the connection for a protocol error: GOAWAY with its
// code, then close.
func (c *h2Conn) connError(err error) {
	code := http2.ErrCodeProtocol
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		code = http2.ErrCode(ce)
	}
	c.t.log.Debug("transport: http2 connection error", "server", c.base.Server, "err", err)
	c.write(func(fr *http2.Framer) error { return fr.WriteGoAway(0, code, nil) })
	c.closeWithError(fmt.Errorf("transport: http2 connection to %s: %w", c.base.Server, err))
}

// resetStream fails a stream for an error of its own and resets it.
func (c *h2Conn) resetStream(id uint32, code http2.ErrCode, err error) {
	c.mu.Lock()
	s := c.streams[id]
	c.mu.Unlock()
	if s != nil {
		c.endStream(s, err, code)
		return
	}
	c.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, code) })
}

func (c *h2Conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		c.onReset(f)
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	case *http2.PingFrame:
		return c.onPing(f)
	case *http2.PushPromiseFrame:
		// SETTINGS_ENABLE_PUSH is 0 in every profile (RFC 9113, 8.4).
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	// PRIORITY, PRIORITY_UPDATE and unknown frames are ignored.
	return nil
}

// stream returns the open stream id, or nil. A frame for a stream the
// client never opened is a connection error.
func (c *h2Conn) stream(id uint32) (*h2Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.streams[id]; s != nil {
		return s, nil
	}
	if id%2 == 0 || id >= c.nextID {
		return nil, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil, nil // a stream that already ended
}

func (c *h2Conn) onHeaders(f *http2.MetaHeadersFrame) error {
	s, err := c.stream(f.StreamID)
	if s == nil {
		return err
	}
	c.mu.Lock()
	first := s.resp == nil
	c.mu.Unlock()
	if !first {
		return c.onTrailers(s, f)
	}
	if f.Truncated {
		c.endStream(s, fmt.Errorf("transport: response headers from %s exceed %d bytes", c.base.Server, c.fr.MaxHeaderListSize), http2.ErrCodeProtocol)
		return nil
	}
	code, err := strconv.Atoi(f.PseudoValue("status"))
	if err != nil || code < 100 || code > 999 {
		c.endStream(s, fmt.Errorf("transport: %s sent a bad :status %q", c.base.Server, f.PseudoValue("status")), http2.ErrCodeProtocol)
		return nil
	}
	if code < 200 {
		if code == http.StatusSwitchingProtocols || f.StreamEnded() {
			c.endStream(s, fmt.Errorf("transport: %s sent a bad %d response", c.base.Server, code), http2.ErrCodeProtocol)
		}
		// Interim responses (100, 103) are skipped.
		return nil
	}
	resp := c.newResponse(s, f, code)
	c.mu.Lock()
	if s.removed {
		c.mu.Unlock()
		return nil
	}
	s.resp = resp
	close(s.respReady)
	done := false
	if f.StreamEnded() {
		s.remoteDone = true
		s.readErr = io.EOF
		done = c.finishLocked(s)
	}
	c.mu.Unlock()
	if done {
		c.notifyPool()
	}
	return nil
}

// newResponse makes the http.Response for a final response head.
func (c *h2Conn) newResponse(s *h2Stream, f *http2.MetaHeadersFrame, code int) *http.Response {
	regular := f.RegularFields()
	h := make(http.Header, len(regular))
	for _, hf := range regular {
		key := http.CanonicalHeaderKey(hf.Name)
		h[key] = append(h[key], hf.Value)
	}
	resp := &http.Response{
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		StatusCode:    code,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        h,
		ContentLength: -1,
		Request:       s.req,
	}
	if tc, ok := c.conn.(*tlsConn); ok {
		st := tc.ConnectionState()
		resp.TLS = &st
	}
	if vs := h["Content-Length"]; len(vs) == 1 {
		if n, err := strconv.ParseInt(vs[0], 10, 64); err == nil && n >= 0 {
			resp.ContentLength = n
		}
	}
	for _, v := range h["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
				if resp.Trailer == nil {
					resp.Trailer = make(http.Header)
				}
				resp.Trailer[k] = nil
			}
		}
	}
	noBody := f.StreamEnded() || s.req.Method == http.MethodHead ||
		code == http.StatusNoContent || code == http.StatusNotModified
	if noBody {
		s.noBody = true
		resp.Body = http.NoBody
		return resp
	}
	s.declared = resp.ContentLength
	if resp.Trailer == nil {
		resp.Trailer = make(http.Header)
	}
	resp.Body = &h2Body{s: s, resp: resp}
	return resp
}

// onTrailers takes the header block that ends a response.
func (c *h2Conn) onTrailers(s *h2Stream, f *http2.MetaHeadersFrame) error {
	if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
		c.endStream(s, fmt.Errorf("transport: %s sent bad trailers", c.base.Server), http2.ErrCodeProtocol)
		return nil
	}
	trailer := make(http.Header)
	for _, hf := range f.RegularFields() {
		key := http.CanonicalHeaderKey(hf.Name)
		trailer[key] = append(trailer[key], hf.Value)
	}
	c.mu.Lock()
	s.trailer = trailer
	done := c.remoteEndLocked(s)
	c.mu.Unlock()
	if done {
		c.notifyPool()
	}
	return nil
}

// remoteEndLocked ends the server's side of s after END_STREAM, checking
// the body against its Content-Length.
func (c *h2Conn) remoteEndLocked(s *h2Stream) bool {
	s.remoteDone = true
	s.readErr = io.EOF
	if s.declared >= 0 && s.received != s.declared {
		s.readErr = fmt.Errorf("transport: %s sent %d body bytes with Content-Length %d", c.base.Server, s.received, s.declared)
	}
	if !s.localDone {
		// The server answered in full: the rest of the body is not
		// wanted (RFC 9113, 8.1).
		s.stopSend = true
	}
	s.cond.Broadcast()
	return c.finishLocked(s)
}

func (c *h2Conn) onData(f *http2.DataFrame) error {
	n := int32(f.Length)
	s, err := c.stream(f.StreamID)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.recvUsed+n > c.recvConnWindow() {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvUsed += n
	unwanted := s == nil || s.bodyClosed || s.removed
	var bad error
	code := http2.ErrCodeProtocol
	switch {
	case unwanted:
	case n > s.recvWindow:
		bad = fmt.Errorf("transport: %s sent more DATA than the stream's window allowed", c.base.Server)
		code = http2.ErrCodeFlowControl
	case s.resp == nil || s.noBody:
		bad = fmt.Errorf("transport: %s sent DATA where no body may be", c.base.Server)
	}
	if unwanted || bad != nil {
		upd := c.consumedLocked(nil, n)
		c.mu.Unlock()
		c.sendUpdates(upd)
		if bad != nil {
			c.endStream(s, bad, code)
		}
		return nil
	}
	data := f.Data()
	s.recvWindow -= n
	s.buf.Write(data)
	s.received += int64(len(data))
	// Padding counts against the windows but is never read: give it back.
	upd := c.consumedLocked(s, n-int32(len(data)))
	tooLong := s.declared >= 0 && s.received > s.declared
	done := false
	if f.StreamEnded() && !tooLong {
		done = c.remoteEndLocked(s)
	}
	s.cond.Broadcast()
	c.mu.Unlock()
	c.sendUpdates(upd)
	if tooLong {
		c.endStream(s, fmt.Errorf("transport: %s sent more body than its Content-Length %d", c.base.Server, s.declared), http2.ErrCodeProtocol)
	}
	if done {
		c.notifyPool()
	}
	return nil
}

// healthTick runs every h2PingAfter while the connection is open.
func (c *h2Conn) healthTick() {
	c.healthCheck()
	c.mu.Lock()
	if !c.closed {
		c.health.Reset(h2PingAfter)
	}
	c.mu.Unlock()
}

func (c *h2Conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if err := f.ForeachSetting(func(s http2.Setting) error { return s.Valid() }); err != nil {
		return err
	}
	c.mu.Lock()
	raised := false
	f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			raised = s.Val > c.maxStreams
			c.maxStreams = s.Val
		case http2.SettingInitialWindowSize:
			// RFC 9113, 6.9.2: the change applies to open streams too,
			// and may leave their windows negative.
			delta := int32(s.Val) - c.peerWindow
			c.peerWindow = int32(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				st.cond.Broadcast()
			}
		case http2.SettingMaxFrameSize:
			c.maxFrame = s.Val
		case http2.SettingMaxHeaderListSize:
			c.maxHeadList = s.Val
		}
		return nil
	})
	c.mu.Unlock()
	// The table size change and the ACK go out together, so that the next
	// header block starts with the size update the server now expects.
	err := c.write(func(fr *http2.Framer) error {
		if v, ok := f.Value(http2.SettingHeaderTableSize); ok {
			c.enc.setPeerTableSize(v)
		}
		return fr.WriteSettingsAck()
	})
	if raised {
		c.notifyPool()
	}
	return err
}

func (c *h2Conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	const maxWindow = 1<<31 - 1
	if f.StreamID == 0 {
		if int64(c.sendWindow)+int64(f.Increment) > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.sendWindow += int32(f.Increment)
		for _, s := range c.streams {
			s.cond.Broadcast()
		}
		return nil
	}
	s := c.streams[f.StreamID]
	if s == nil {
		return nil
	}
	if int64(s.sendWindow)+int64(f.Increment) > maxWindow {
		go c.endStream(s, fmt.Errorf("transport: %s overflowed a stream window", c.base.Server), http2.ErrCodeFlowControl)
		return nil
	}
	s.sendWindow += int32(f.Increment)
	s.cond.Broadcast()
	return nil
}

// onReset ends a stream the server reset. A refused stream was not
// processed and may be retried elsewhere; NO_ERROR after a complete
// response only asks the client to stop sending its body.
func (c *h2Conn) onReset(f *http2.RSTStreamFrame) {
	c.mu.Lock()
	s := c.streams[f.StreamID]
	if s == nil {
		c.mu.Unlock()
		return
	}
	if f.ErrCode == http2.ErrCodeNo && s.remoteDone {
		s.localDone, s.stopSend = true, true
		s.cond.Broadcast()
		done := c.finishLocked(s)
		c.mu.Unlock()
		if done {
			c.notifyPool()
		}
		return
	}
	refused := f.ErrCode == http2.ErrCodeRefusedStream && s.resp == nil
	c.mu.Unlock()
	var err error = fmt.Errorf("transport: %s reset the stream: %w", c.base.Server, http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode})
	if refused {
		err = h2RetryError{err}
	}
	c.endStream(s, err, 0)
}

// onGoAway stops new streams on the connection. Streams above the last
// one the server says it processed fail as retryable; the others run to
// their end, after which the connection closes.
func (c *h2Conn) onGoAway(f *http2.GoAwayFrame) {
	if f.ErrCode != http2.ErrCodeNo {
		c.t.log.Debug("transport: http2 GOAWAY", "server", c.base.Server, "code", f.ErrCode,
			"debug", string(f.DebugData()))
	}
	c.mu.Lock()
	if c.goAway == nil || f.LastStreamID < c.goAway.LastStreamID {
		c.goAway = &http2.GoAwayFrame{LastStreamID: f.LastStreamID, ErrCode: f.ErrCode}
	}
	var unprocessed []*h2Stream
	for id, s := range c.streams {
		if id > f.LastStreamID {
			unprocessed = append(unprocessed, s)
		}
	}
	c.mu.Unlock()
	c.leavePool()
	for _, s := range unprocessed {
		c.endStream(s, h2RetryError{fmt.Errorf("transport: %s sent GOAWAY (%v) before the request was processed",
			c.base.Server, f.ErrCode)}, 0)
	}
	c.mu.Lock()
	c.afterStreamEndLocked()
	c.mu.Unlock()
}

func (c *h2Conn) onPing(f *http2.PingFrame) error {
	if !f.IsAck() {
		return c.write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) })
	}
	c.mu.Lock()
	if ch, ok := c.pings[f.Data]; ok {
		close(ch)
		delete(c.pings, f.Data)
	}
	c.mu.Unlock()
	return nil
}
