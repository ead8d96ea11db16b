package ja4

import (
	"errors"
	"fmt"
	"io"
)

// MaxHelloSize is the largest ClientHello handshake message, its 4-byte
// header included, that [ReadClientHello] and [Parse] accept. Real ones are
// a few KiB even with post-quantum key shares.
const MaxHelloSize = 1 << 16

const (
	recordHeaderLen     = 5
	recordTypeHandshake = 22
	maxRecordLen        = 1 << 14 // plaintext limit, RFC 8446 section 5.1
	handshakeHeaderLen  = 4
	typeClientHello     = 1
)

var (
	// ErrNotHandshake means the input does not start with TLS handshake
	// records: another content type, or not TLS at all.
	ErrNotHandshake = errors.New("ja4: not a tls handshake record")

	// ErrNotClientHello means the first handshake message is of another
	// type than ClientHello.
	ErrNotClientHello = errors.New("ja4: not a client hello")

	// ErrTooLarge means the ClientHello announces more than MaxHelloSize
	// bytes.
	ErrTooLarge = errors.New("ja4: client hello too large")

	// ErrMalformed means the bytes are a ClientHello whose lengths or
	// fields do not add up.
	ErrMalformed = errors.New("ja4: malformed client hello")
)

// ReadClientHello reads TLS records from r until one complete ClientHello
// handshake message has arrived, and returns every byte it read, record
// headers included, so that the caller can replay them to a TLS server. It
// reads exactly the records that carry the ClientHello and nothing beyond
// them.
//
// The records are checked, the ClientHello body is not: pass the result to
// [Parse] for that. On error the returned bytes are those read before the
// failure, so a caller can still forward them. Errors from r are wrapped,
// and a stream that ends before any byte arrives gives an error matching
// [io.EOF]; one that ends later matches [io.ErrUnexpectedEOF].
func ReadClientHello(r io.Reader) ([]byte, error) {
	raw, _, err := readHello(r)
	return raw, err
}

// readHello does the work of ReadClientHello and also returns the
// reassembled handshake message, header included.
func readHello(r io.Reader) (raw, msg []byte, err error) {
	for {
		raw, err = readMore(r, raw, recordHeaderLen)
		if err != nil {
			return raw, nil, err
		}
		hdr := raw[len(raw)-recordHeaderLen:]
		if err := checkRecordHeader(hdr); err != nil {
			return raw, nil, err
		}
		n := int(hdr[3])<<8 | int(hdr[4])
		raw, err = readMore(r, raw, n)
		if err != nil {
			return raw, nil, err
		}
		msg = append(msg, raw[len(raw)-n:]...)

		// The handshake header says how many records are still to come.
		if msg[0] != typeClientHello {
			return raw, nil, fmt.Errorf("%w: handshake type %d", ErrNotClientHello, msg[0])
		}
		if len(msg) < handshakeHeaderLen {
			continue
		}
		size := handshakeHeaderLen + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
		if size > MaxHelloSize {
			return raw, nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, size)
		}
		if len(msg) >= size {
			return raw, msg[:size], nil
		}
	}
}

// checkRecordHeader accepts the header of a plaintext handshake record with
// any TLS 1.x or SSL 3 record version.
func checkRecordHeader(hdr []byte) error {
	if hdr[0] != recordTypeHandshake {
		return fmt.Errorf("%w: content type %d", ErrNotHandshake, hdr[0])
	}
	if hdr[1] != 3 {
		return fmt.Errorf("%w: record version %02x%02x", ErrNotHandshake, hdr[1], hdr[2])
	}
	n := int(hdr[3])<<8 | int(hdr[4])
	if n == 0 || n > maxRecordLen {
		return fmt.Errorf("%w: record length %d", ErrMalformed, n)
	}
	return nil
}

// readMore reads exactly n more bytes from r onto buf. On error buf keeps
// the bytes that did arrive.
func readMore(r io.Reader, buf []byte, n int) ([]byte, error) {
	start := len(buf)
	buf = append(buf, make([]byte, n)...)
	got, err := io.ReadFull(r, buf[start:])
	buf = buf[:start+got]
	if err != nil {
		// Only a stream that ends before its first byte ends cleanly.
		if start > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf, fmt.Errorf("ja4: read client hello: %w", err)
	}
	return buf, nil
}
