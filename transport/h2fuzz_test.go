package transport

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzH2Client feeds arbitrary server bytes, then a hang-up, to an HTTP/2
// client connection making one request: it must end with a response or an
// error, never a panic or a hang past the request's deadline.
func FuzzH2Client(f *testing.F) {
	f.Add(h2ServerBytes(true))
	f.Add(h2ServerBytes(false))
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, server []byte) {
		tr, err := New(Config{IdleConnTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		cc, sc := net.Pipe()
		defer sc.Close()
		go func() {
			// Take what the client writes, answer with the fuzz bytes,
			// hang up.
			go io.Copy(io.Discard, sc)
			sc.Write(server)
			sc.Close()
		}()
		p := &hostPool{key: poolKey{origin: "https://fuzz:443"}}
		tr.pools[p.key] = p
		c, err := tr.newH2Conn(p, cc, ConnInfo{Server: "fuzz:443"})
		if err != nil {
			return
		}
		defer c.close()
		if !c.reserve() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://fuzz/", nil)
		resp, err := c.roundTrip(tr.withDefaults(req, true))
		if err != nil {
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}

// h2ServerBytes is a well-formed server side of one exchange: SETTINGS,
// a response to stream 1, optionally with a body and trailers.
func h2ServerBytes(body bool) []byte {
	var buf, block bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 10})
	enc := hpack.NewEncoder(&block)
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: !body})
	if body {
		fr.WriteData(1, false, []byte("hello"))
		block.Reset()
		enc.WriteField(hpack.HeaderField{Name: "x-trailer", Value: "1"})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: true})
	}
	fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	return buf.Bytes()
}
