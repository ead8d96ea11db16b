package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/transport"
)

// rawH2 is an HTTP/2 server whose every frame a test scripts, for the
// behaviours Go's server will not show on demand: GOAWAY with a chosen
// last stream, refused streams, settings changed mid-connection.
type rawH2 struct {
	ca    *tlstest.CA
	url   string
	conns atomic.Int32
}

// newRawH2 runs script on each accepted connection, after the client
// preface was read and the server's SETTINGS written.
func newRawH2(t *testing.T, settings []http2.Setting, script func(p *h2Peer)) *rawH2 {
	t.Helper()
	s := &rawH2{ca: tlstest.NewCA(t)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	cfg := &tls.Config{Certificates: []tls.Certificate{s.ca.Leaf}, NextProtos: []string{"h2"}}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.conns.Add(1))
			wg.Go(func() {
				defer c.Close()
				p, err := newPeer(tls.Server(c, cfg), n, settings)
				if err != nil {
					t.Errorf("connection %d: %v", n, err)
					return
				}
				script(p)
			})
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s.url = "https://localhost:" + port
	return s
}

// h2Peer is the server side of one scripted connection.
type h2Peer struct {
	n    int // which connection, from 1
	conn *tls.Conn
	fr   *http2.Framer
	mu   sync.Mutex // guards writes
	enc  *hpack.Encoder
	buf  bytes.Buffer
}

func newPeer(c *tls.Conn, n int, settings []http2.Setting) (*h2Peer, error) {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return nil, errors.New("no client preface")
	}
	p := &h2Peer{n: n, conn: c, fr: http2.NewFramer(c, c)}
	p.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	p.enc = hpack.NewEncoder(&p.buf)
	return p, p.fr.WriteSettings(settings...)
}

// next returns the next frame, acknowledging SETTINGS and PINGs; it
// returns nil when the connection ends.
func (p *h2Peer) next() http2.Frame {
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			return nil
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				p.write(func() error { return p.fr.WriteSettingsAck() })
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				p.write(func() error { return p.fr.WritePing(true, f.Data) })
			}
		}
		return f
	}
}

// request returns the stream ID of the next request, skipping other
// frames, or 0 when the connection ends.
func (p *h2Peer) request() uint32 {
	for f := p.next(); f != nil; f = p.next() {
		if h, ok := f.(*http2.MetaHeadersFrame); ok {
			return h.StreamID
		}
	}
	return 0
}

func (p *h2Peer) write(fn func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fn()
}

// respond answers stream id with status 200 and body.
func (p *h2Peer) respond(id uint32, body string) error {
	return p.write(func() error {
		p.buf.Reset()
		p.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		p.enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(body))})
		err := p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.buf.Bytes(),
			EndHeaders: true, EndStream: body == ""})
		if err != nil || body == "" {
			return err
		}
		return p.fr.WriteData(id, true, []byte(body))
	})
}

// drain reads until the client closes the connection.
func (p *h2Peer) drain() {
	for p.next() != nil {
	}
}

func rawTransport(t *testing.T, s *rawH2, cfg transport.Config) *transport.Transport {
	t.Helper()
	cfg.RootCAs = s.ca.Pool
	tr, err := transport.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func fetch(tr http.RoundTripper, url string) (string, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestH2GoAway: the server processes stream 1 and sends GOAWAY naming
// it; stream 3, not processed, must be sent again on a new connection,
// and the first connection closed once stream 1 is done.
func TestH2GoAway(t *testing.T) {
	firstClosed := make(chan struct{})
	s := newRawH2(t, nil, func(p *h2Peer) {
		if p.n > 1 {
			for id := p.request(); id != 0; id = p.request() {
				p.respond(id, "second")
			}
			return
		}
		a, b := p.request(), p.request()
		p.write(func() error { return p.fr.WriteGoAway(min(a, b), http2.ErrCodeNo, nil) })
		p.respond(min(a, b), "first")
		p.drain()
		close(firstClosed)
	})
	tr := rawTransport(t, s, transport.Config{})
	var wg sync.WaitGroup
	got := make([]string, 2)
	for i := range 2 {
		wg.Go(func() {
			var err error
			if got[i], err = fetch(tr, s.url+"/"); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if !(got[0] == "first" && got[1] == "second" || got[0] == "second" && got[1] == "first") {
		t.Errorf("answers %q, want first and second", got)
	}
	select {
	case <-firstClosed:
	case <-time.After(10 * time.Second):
		t.Error("the client kept the connection that got GOAWAY open")
	}
	if body, err := fetch(tr, s.url+"/"); err != nil || body != "second" {
		t.Errorf("request after GOAWAY = %q, %v; want second", body, err)
	}
}

// TestH2RefusedStream: a stream refused with REFUSED_STREAM is retried.
func TestH2RefusedStream(t *testing.T) {
	var requests atomic.Int32
	s := newRawH2(t, nil, func(p *h2Peer) {
		for id := p.request(); id != 0; id = p.request() {
			if requests.Add(1) == 1 {
				p.write(func() error { return p.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) })
				continue
			}
			p.respond(id, "ok")
		}
	})
	tr := rawTransport(t, s, transport.Config{})
	req, _ := http.NewRequest("POST", s.url+"/", bytes.NewReader([]byte("body")))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST after a refused stream: %v", err)
	}
	resp.Body.Close()
	if n := requests.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

// TestH2LowerMaxStreams: the server lowers SETTINGS_MAX_CONCURRENT_STREAMS
// to 1 mid-connection; once the client acknowledged it, it must never
// have two streams open.
func TestH2LowerMaxStreams(t *testing.T) {
	var violations, served atomic.Int32
	s := newRawH2(t, []http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: 100}}, func(p *h2Peer) {
		first := p.request()
		p.write(func() error {
			return p.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 1})
		})
		for f := p.next(); f != nil; f = p.next() {
			if sf, ok := f.(*http2.SettingsFrame); ok && sf.IsAck() {
				break
			}
		}
		p.respond(first, "ok")
		var open atomic.Int32
		for id := p.request(); id != 0; id = p.request() {
			if open.Add(1) > 1 {
				violations.Add(1)
			}
			go func() {
				time.Sleep(10 * time.Millisecond)
				open.Add(-1)
				served.Add(1)
				p.respond(id, "ok")
			}()
		}
	})
	tr := rawTransport(t, s, transport.Config{MaxConnsPerHost: 1})
	if _, err := fetch(tr, s.url+"/"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := fetch(tr, s.url+"/"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if v := violations.Load(); v > 0 {
		t.Errorf("client opened a stream over the limit %d times", v)
	}
	if n := served.Load(); n != 6 {
		t.Errorf("server answered %d requests, want 6", n)
	}
}

// TestH2SendWindow: the server grants a 1000-byte stream window and
// counts what it receives; the client must wait for WINDOW_UPDATE.
func TestH2SendWindow(t *testing.T) {
	var overrun atomic.Bool
	var got atomic.Int64
	s := newRawH2(t, []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1000}}, func(p *h2Peer) {
		// Until the client has our SETTINGS it may use the default
		// window: a first request makes sure it has them.
		p.respond(p.request(), "ok")
		id := p.request()
		allowed := int64(1000)
		for f := p.next(); f != nil; f = p.next() {
			d, ok := f.(*http2.DataFrame)
			if !ok {
				continue
			}
			n := got.Add(int64(len(d.Data())))
			if n > allowed {
				overrun.Store(true)
			}
			if d.StreamEnded() {
				p.respond(id, strconv.FormatInt(n, 10))
				p.drain()
				return
			}
			if n == allowed {
				allowed += 1000
				p.write(func() error { return p.fr.WriteWindowUpdate(id, 1000) })
			}
		}
	})
	tr := rawTransport(t, s, transport.Config{})
	if _, err := fetch(tr, s.url+"/"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", s.url+"/", bytes.NewReader(make([]byte, 5500)))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "5500" {
		t.Errorf("server received %s bytes, want 5500", body)
	}
	if overrun.Load() {
		t.Error("client sent beyond the stream window")
	}
}

// TestH2LostMidBody: the connection dies in the middle of a body; the
// reader gets an error, not a short body that looks complete.
func TestH2LostMidBody(t *testing.T) {
	s := newRawH2(t, nil, func(p *h2Peer) {
		id := p.request()
		p.write(func() error {
			p.buf.Reset()
			p.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.buf.Bytes(), EndHeaders: true})
			return p.fr.WriteData(id, false, []byte("partial"))
		})
		p.conn.Close()
	})
	tr := rawTransport(t, s, transport.Config{})
	body, err := fetch(tr, s.url+"/")
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read = %q, %v; want io.ErrUnexpectedEOF", body, err)
	}
}

// TestH2ServerPing: a PING from the server is answered with its payload.
func TestH2ServerPing(t *testing.T) {
	acked := make(chan [8]byte, 1)
	s := newRawH2(t, nil, func(p *h2Peer) {
		id := p.request()
		data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
		p.write(func() error { return p.fr.WritePing(false, data) })
		for f := p.next(); f != nil; f = p.next() {
			if pf, ok := f.(*http2.PingFrame); ok && pf.IsAck() {
				acked <- pf.Data
				break
			}
		}
		p.respond(id, "ok")
		p.drain()
	})
	tr := rawTransport(t, s, transport.Config{})
	if _, err := fetch(tr, s.url+"/"); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-acked:
		if d != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} {
			t.Errorf("PING ack carries %v", d)
		}
	default:
		t.Error("no PING ack")
	}
}

// TestH2IdleClose: a connection idle for IdleConnTimeout is closed
// gracefully, with GOAWAY.
func TestH2IdleClose(t *testing.T) {
	goAway := make(chan bool, 1)
	s := newRawH2(t, nil, func(p *h2Peer) {
		p.respond(p.request(), "ok")
		sawGoAway := false
		for f := p.next(); f != nil; f = p.next() {
			if g, ok := f.(*http2.GoAwayFrame); ok && g.ErrCode == http2.ErrCodeNo {
				sawGoAway = true
			}
		}
		goAway <- sawGoAway
	})
	tr := rawTransport(t, s, transport.Config{IdleConnTimeout: 100 * time.Millisecond})
	if _, err := fetch(tr, s.url+"/"); err != nil {
		t.Fatal(err)
	}
	select {
	case saw := <-goAway:
		if !saw {
			t.Error("connection closed without GOAWAY")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("idle connection was not closed")
	}
}

// TestH2CancelStalledUpload: a request whose body waits for a window the
// server never opens ends when its context does, with RST_STREAM.
func TestH2CancelStalledUpload(t *testing.T) {
	reset := make(chan http2.ErrCode, 1)
	s := newRawH2(t, []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 0}}, func(p *h2Peer) {
		p.respond(p.request(), "ok")
		for f := p.next(); f != nil; f = p.next() {
			if r, ok := f.(*http2.RSTStreamFrame); ok {
				reset <- r.ErrCode
			}
		}
	})
	tr := rawTransport(t, s, transport.Config{})
	if _, err := fetch(tr, s.url+"/"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.url+"/", bytes.NewReader(make([]byte, 1000)))
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled POST: %v, want context.DeadlineExceeded", err)
	}
	select {
	case code := <-reset:
		if code != http2.ErrCodeCancel {
			t.Errorf("RST_STREAM code %v, want CANCEL", code)
		}
	case <-time.After(10 * time.Second):
		t.Error("no RST_STREAM for the canceled request")
	}
}

// TestH2HostileServer: protocol violations end the stream or the
// connection with an error; none hangs the request or panics.
func TestH2HostileServer(t *testing.T) {
	headers := func(p *h2Peer, id uint32, status string, end bool) error {
		p.buf.Reset()
		p.enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
		return p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.buf.Bytes(),
			EndHeaders: true, EndStream: end})
	}
	for _, tc := range []struct {
		name   string
		script func(p *h2Peer, id uint32) error
		// readLate: the client reads the body only after it reset the
		// stream, so that it gives no window back meanwhile.
		readLate bool
	}{
		{"data beyond the stream window", func(p *h2Peer, id uint32) error {
			headers(p, id, "200", false)
			chunk := make([]byte, 16384)
			for range (7 << 20) / len(chunk) {
				if err := p.fr.WriteData(id, false, chunk); err != nil {
					return err
				}
			}
			return nil
		}, true},
		{"headers on a stream never opened", func(p *h2Peer, id uint32) error {
			return headers(p, id+100, "200", true)
		}, false},
		{"bad status", func(p *h2Peer, id uint32) error { return headers(p, id, "2x0", true) }, false},
		{"data before headers", func(p *h2Peer, id uint32) error { return p.fr.WriteData(id, true, []byte("x")) }, false},
		{"push promise", func(p *h2Peer, id uint32) error {
			return p.fr.WritePushPromise(http2.PushPromiseParam{StreamID: id, PromiseID: 2, EndHeaders: true,
				BlockFragment: []byte{0x82}})
		}, false},
		{"garbage frame header", func(p *h2Peer, id uint32) error {
			_, err := p.conn.Write([]byte{0xff, 0xff, 0xff, 0x00, 0x00, 0, 0, 0, 0})
			return err
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scripted := make(chan struct{})
			s := newRawH2(t, nil, func(p *h2Peer) {
				id := p.request()
				p.write(func() error { return tc.script(p, id) })
				if tc.readLate {
					// The client refuses the excess with RST_STREAM.
					for f := p.next(); f != nil; f = p.next() {
						if _, ok := f.(*http2.RSTStreamFrame); ok {
							break
						}
					}
				}
				close(scripted)
				p.drain()
			})
			tr := rawTransport(t, s, transport.Config{})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/", nil)
			resp, err := tr.RoundTrip(req)
			if err == nil {
				if tc.readLate {
					<-scripted
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil || ctx.Err() != nil {
				t.Errorf("request = %v, want a protocol error before the deadline", err)
			}
			t.Logf("error: %v", err)
		})
	}
}
