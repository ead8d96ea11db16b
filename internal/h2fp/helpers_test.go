package h2fp

import (
	"bytes"
	"encoding/hex"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// wire builds the bytes a client sends on an HTTP/2 connection: the
// preface, then frames written by an x/net Framer. Header blocks come from
// one hpack.Encoder, so its dynamic table carries over between blocks as a
// client's does.
type wire struct {
	t    testing.TB
	buf  bytes.Buffer
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

func newWire(t testing.TB) *wire {
	t.Helper()
	w := &wire{t: t}
	w.buf.WriteString(http2.ClientPreface)
	w.fr = http2.NewFramer(&w.buf, nil)
	w.enc = hpack.NewEncoder(&w.hbuf)
	return w
}

// check fails the test on a write error.
func (w *wire) check(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// block encodes name, value pairs into a header block.
func (w *wire) block(pairs ...string) []byte {
	w.t.Helper()
	w.hbuf.Reset()
	for i := 0; i+1 < len(pairs); i += 2 {
		w.check(w.enc.WriteField(hpack.HeaderField{Name: pairs[i], Value: pairs[i+1]}))
	}
	return bytes.Clone(w.hbuf.Bytes())
}

// fields encodes fields into a header block.
func (w *wire) fields(fs ...hpack.HeaderField) []byte {
	w.t.Helper()
	w.hbuf.Reset()
	for _, f := range fs {
		w.check(w.enc.WriteField(f))
	}
	return bytes.Clone(w.hbuf.Bytes())
}

// settings writes a SETTINGS frame with id, value pairs.
func (w *wire) settings(pairs ...uint32) {
	w.t.Helper()
	var s []http2.Setting
	for i := 0; i+1 < len(pairs); i += 2 {
		s = append(s, http2.Setting{ID: http2.SettingID(pairs[i]), Val: pairs[i+1]})
	}
	w.check(w.fr.WriteSettings(s...))
}

// headers writes a complete header block in one HEADERS frame.
func (w *wire) headers(stream uint32, end bool, prio http2.PriorityParam, block []byte) {
	w.t.Helper()
	w.check(w.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: stream, BlockFragment: block, EndStream: end, EndHeaders: true,
		Priority: prio,
	}))
}

func (w *wire) bytes() []byte { return bytes.Clone(w.buf.Bytes()) }

// unhex decodes hex written with spaces for reading.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// appendInt appends v as an HPACK integer with an n-bit prefix, the bits
// above the prefix in the first byte set to first.
func appendInt(b []byte, first byte, n uint, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(limit))
	for v -= limit; v >= 0x80; v >>= 7 {
		b = append(b, byte(v)|0x80)
	}
	return append(b, byte(v))
}

// appendStr appends an HPACK string literal, Huffman coded if huff.
func appendStr(b []byte, s string, huff bool) []byte {
	if !huff {
		return append(appendInt(b, 0, 7, uint64(len(s))), s...)
	}
	b = appendInt(b, 0x80, 7, hpack.HuffmanEncodeLength(s))
	return hpack.AppendHuffmanString(b, s)
}

// literal hand-codes a literal field: first is the representation's
// pattern (0x40, 0x00 or 0x10), idx the name index or 0 for a literal name.
func literal(first byte, idx uint64, name, value string, nameHuff, valueHuff bool) []byte {
	n := uint(4)
	if first == 0x40 {
		n = 6
	}
	b := appendInt(nil, first, n, idx)
	if idx == 0 {
		b = appendStr(b, name, nameHuff)
	}
	return appendStr(b, value, valueHuff)
}

// mustParse parses b and fails the test on error.
func mustParse(t testing.TB, b []byte) *Conn {
	t.Helper()
	c, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}
