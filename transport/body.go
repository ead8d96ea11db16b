package transport

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// body is every response body a Transport returns: it carries the
// connection's facts and decodes the content coding lazily, on first
// read, so that a bad coding surfaces as a read error.
type body struct {
	raw     io.ReadCloser
	coding  string // "" when the body is passed through
	info    ConnInfo
	dec     io.Reader
	closeFn func() // frees the decoder
	err     error
}

// finishResponse wraps the response body; with decode set, a body in a
// coding the transport asked for is decoded and its Content-Encoding and
// Content-Length removed, as net/http does for gzip.
func finishResponse(resp *http.Response, info ConnInfo, decode bool) *http.Response {
	b := &body{raw: resp.Body, info: info}
	if resp.Body == nil {
		b.raw = http.NoBody
	}
	coding := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if decode && knownCoding(coding) && b.raw != http.NoBody {
		b.coding = coding
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
	}
	resp.Body = b
	return resp
}

func knownCoding(c string) bool {
	switch c {
	case "gzip", "x-gzip", "deflate", "br", "zstd":
		return true
	}
	return false
}

func (b *body) Read(p []byte) (int, error) {
	if b.coding == "" {
		return b.raw.Read(p)
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.dec == nil {
		if b.err = b.open(); b.err != nil {
			return 0, b.err
		}
	}
	n, err := b.dec.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("transport: decode %s body: %w", b.coding, err)
		b.err = err
	}
	return n, err
}

func (b *body) open() error {
	var err error
	switch b.coding {
	case "gzip", "x-gzip":
		var zr *gzip.Reader
		zr, err = gzip.NewReader(b.raw)
		b.dec = zr
	case "deflate":
		b.dec, err = newDeflateReader(b.raw)
	case "br":
		b.dec = brotli.NewReader(b.raw)
	case "zstd":
		var zr *zstd.Decoder
		// A bounded window keeps a hostile stream from asking for
		// gigabytes of memory; 8 MiB is what browsers accept.
		zr, err = zstd.NewReader(b.raw, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderLowmem(true))
		if err == nil {
			b.dec, b.closeFn = zr, zr.Close
		}
	}
	if err != nil {
		return fmt.Errorf("transport: decode %s body: %w", b.coding, err)
	}
	return nil
}

// newDeflateReader reads "deflate" bodies, which servers send either as
// zlib (as the RFC says) or as raw deflate.
func newDeflateReader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err != nil {
		return nil, err
	}
	if head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

func (b *body) Close() error {
	if b.closeFn != nil {
		b.closeFn()
		b.closeFn = nil
	}
	return b.raw.Close()
}
