package ja4

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

func TestReadClientHello(t *testing.T) {
	msg := chrome133(rand.New(rand.NewPCG(5, 5)), false).message()
	after := []byte("bytes the server must read itself")
	tests := []struct {
		name   string
		input  []byte
		reader func(io.Reader) io.Reader
		// alone leaves out the trailing bytes, for a reader that reads
		// ahead.
		alone bool
	}{
		{"one record", records(msg, maxRecordLen), nil, false},
		{"many records", records(msg, 97), nil, false},
		{"one byte per record", records(msg, 1), nil, false},
		{"one byte per read", records(msg, 200), iotest.OneByteReader, false},
		{"half reads", records(msg, 200), iotest.HalfReader, false},
		{"data ends with the last byte", records(msg, 200), iotest.DataErrReader, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := after
			if tc.alone {
				want = nil
			}
			src := bytes.NewReader(append(bytes.Clone(tc.input), want...))
			var r io.Reader = src
			if tc.reader != nil {
				r = tc.reader(src)
			}
			raw, err := ReadClientHello(r)
			if err != nil {
				t.Fatalf("ReadClientHello: %v", err)
			}
			if !bytes.Equal(raw, tc.input) {
				t.Errorf("ReadClientHello returned %d bytes, want the %d bytes of the records",
					len(raw), len(tc.input))
			}
			rest, _ := io.ReadAll(src)
			if !bytes.Equal(rest, want) {
				t.Errorf("left %q unread, want %q", rest, want)
			}
			if h, err := Parse(raw); err != nil || h.JA4() != chromeJA4 {
				t.Errorf("Parse(raw) = %v, %v; want JA4 %s", h, err, chromeJA4)
			}
		})
	}
}

func TestReadClientHelloErrors(t *testing.T) {
	msg := basicSpec().message()
	recs := records(msg, 40)
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		r       io.Reader
		want    error
		wantRaw []byte
	}{
		{"nothing sent", bytes.NewReader(nil), io.EOF, nil},
		{"ends in a header", bytes.NewReader(recs[:3]), io.ErrUnexpectedEOF, recs[:3]},
		{"ends in a record", bytes.NewReader(recs[:20]), io.ErrUnexpectedEOF, recs[:20]},
		{"ends between records", bytes.NewReader(recs[:45]), io.ErrUnexpectedEOF, recs[:45]},
		{"http request", bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n")), ErrNotHandshake, []byte("GET /")},
		{"ssl 2 hello", bytes.NewReader([]byte{0x80, 0x2e, 1, 3, 1, 0, 0}), ErrNotHandshake,
			[]byte{0x80, 0x2e, 1, 3, 1}},
		{"alert", bytes.NewReader([]byte{21, 3, 3, 0, 2, 2, 40}), ErrNotHandshake, []byte{21, 3, 3, 0, 2}},
		{"empty record", bytes.NewReader([]byte{22, 3, 1, 0, 0, 1}), ErrMalformed, []byte{22, 3, 1, 0, 0}},
		{"server hello", bytes.NewReader(records(append([]byte{2}, msg[1:]...), 400)), ErrNotClientHello,
			records(append([]byte{2}, msg[1:]...), 400)},
		{"too large", bytes.NewReader(records([]byte{1, 0x10, 0, 0, 0, 0}, 400)), ErrTooLarge,
			records([]byte{1, 0x10, 0, 0, 0, 0}, 400)},
		{"read error", io.MultiReader(bytes.NewReader(recs[:30]), iotest.ErrReader(errBoom)), errBoom,
			recs[:30]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := ReadClientHello(tc.r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadClientHello error = %v, want %v", err, tc.want)
			}
			if !bytes.Equal(raw, tc.wantRaw) {
				t.Errorf("ReadClientHello bytes = % x, want % x", raw, tc.wantRaw)
			}
		})
	}
}

// TestReadClientHelloTooLargeStopsEarly checks that an announced size over
// the limit is refused before the reader is drained.
func TestReadClientHelloTooLargeStopsEarly(t *testing.T) {
	huge := records(append([]byte{1, 0x01, 0, 0}, make([]byte, 1<<16)...), maxRecordLen)
	r := bytes.NewReader(huge)
	_, err := ReadClientHello(r)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadClientHello error = %v, want %v", err, ErrTooLarge)
	}
	if read := len(huge) - r.Len(); read > recordHeaderLen+maxRecordLen {
		t.Errorf("read %d bytes before refusing, want at most one record", read)
	}
}
