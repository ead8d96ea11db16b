package ticketstore

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Records of the bbolt backend. Every record starts with its version byte;
// integers are varints, times are Unix milliseconds except a cookie's
// expiry, which is exact (seconds, then nanoseconds).
//
//	server:    1, be64 lastUse seconds, mark, n, n × (flags, received, expires, len, data)
//	cookie:    1, be64 expiry seconds, expires seconds, nanoseconds, len, data
//	partition: 1, len, label, len, profile, created, received, taken
//	header:    1, len, secret, len, seal check
//
// A server record's lastUse, and a cookie record's expiry rounded up, is
// the key of its entry in an expiry index; keeping it first lets a writer
// find the old index entry without decoding the rest.
const recordV1 = 1

const ticketTLS13 = 1 << 0

// reader walks a record. Its first error sticks; later reads return zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrBadRecord, what)
	}
}

func (r *reader) byte1(what string) byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail(what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes returns a copy: bbolt's memory is only valid inside a transaction.
func (r *reader) bytes(what string, limit int) []byte {
	n := r.uvarint(what)
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) || n > uint64(limit) {
		r.fail(what)
		return nil
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return v
}

func (r *reader) time(what string) time.Time {
	ms := r.varint(what)
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixMilli())
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// lastUseSeconds rounds lastUse up to whole seconds for the expiry index.
func lastUseSeconds(st *serverState) uint64 { return ceilSeconds(st.lastUse()) }

func encodeServer(st *serverState) []byte {
	size := 1 + 8 + 10 + 1
	for _, t := range st.tickets {
		size += 1 + 3*binary.MaxVarintLen64 + len(t.Data)
	}
	b := make([]byte, 0, size)
	b = append(b, recordV1)
	b = binary.BigEndian.AppendUint64(b, lastUseSeconds(st))
	b = appendTime(b, st.mark)
	b = append(b, byte(len(st.tickets)))
	for _, t := range st.tickets {
		var flags byte
		if t.TLS13 {
			flags |= ticketTLS13
		}
		b = append(b, flags)
		b = appendTime(b, t.Received)
		b = appendTime(b, t.Expires)
		b = appendBytes(b, t.Data)
	}
	return b
}

// indexSecond reads the expiry-index second that an encoded server or
// cookie record starts with.
func indexSecond(b []byte) (uint64, bool) {
	if len(b) < 9 || b[0] != recordV1 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[1:9]), true
}

func decodeServer(b []byte) (*serverState, error) {
	if _, ok := indexSecond(b); !ok {
		return nil, fmt.Errorf("%w: server record header", ErrBadRecord)
	}
	r := reader{b: b[9:]}
	st := &serverState{mark: r.time("mark")}
	n := int(r.byte1("count"))
	if n > MaxPerServer {
		r.fail("too many tickets")
	}
	for i := 0; i < n && r.err == nil; i++ {
		flags := r.byte1("flags")
		t := Ticket{
			TLS13:    flags&ticketTLS13 != 0,
			Received: r.time("received"),
			Expires:  r.time("expires"),
			Data:     r.bytes("data", maxPayload),
		}
		if flags&^ticketTLS13 != 0 {
			r.fail("unknown flags")
		}
		st.tickets = append(st.tickets, t)
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return st, nil
}

// partRecord is a partition's description and counters.
type partRecord struct {
	meta            PartitionMeta
	received, taken uint64
}

func encodePart(p partRecord) []byte {
	b := []byte{recordV1}
	b = appendBytes(b, []byte(p.meta.Label))
	b = appendBytes(b, []byte(p.meta.Profile))
	b = appendTime(b, p.meta.Created)
	b = binary.AppendUvarint(b, p.received)
	return binary.AppendUvarint(b, p.taken)
}

func decodePart(b []byte) (partRecord, error) {
	r := reader{b: b}
	var p partRecord
	if r.byte1("version") != recordV1 {
		r.fail("partition record version")
	}
	p.meta.Label = string(r.bytes("label", 4096))
	p.meta.Profile = string(r.bytes("profile", 256))
	p.meta.Created = r.time("created")
	p.received = r.uvarint("received")
	p.taken = r.uvarint("taken")
	return p, r.end()
}

func encodeHeader(h Header) []byte {
	b := []byte{recordV1}
	b = appendBytes(b, h.Secret)
	return appendBytes(b, h.SealCheck)
}

func decodeHeader(b []byte) (Header, error) {
	r := reader{b: b}
	var h Header
	if r.byte1("version") != recordV1 {
		r.fail("header version")
	}
	h.Secret = r.bytes("secret", 1024)
	h.SealCheck = r.bytes("seal check", 1024)
	if r.err == nil && len(h.Secret) < 16 {
		r.fail("short secret")
	}
	return h, r.end()
}

// encodeBoltCookie encodes a cookie record. Its first expiry, rounded up to
// whole seconds, is the key of its entry in the cookie expiry index; the
// second is exact: seconds as a varint, nanoseconds as a uvarint.
func encodeBoltCookie(c Cookie) []byte {
	b := make([]byte, 0, 1+8+3*binary.MaxVarintLen64+len(c.Data))
	b = append(b, recordV1)
	b = binary.BigEndian.AppendUint64(b, ceilSeconds(c.Expires))
	b = binary.AppendVarint(b, c.Expires.Unix())
	b = binary.AppendUvarint(b, uint64(c.Expires.Nanosecond()))
	return appendBytes(b, c.Data)
}

// ceilSeconds rounds t up to whole Unix seconds for an expiry index; times
// before 1970 give 0.
func ceilSeconds(t time.Time) uint64 {
	if t.Unix() < 0 {
		return 0
	}
	s := t.Unix()
	if t.Nanosecond() != 0 {
		s++
	}
	return uint64(s)
}

// decodeBoltCookie decodes a cookie record; with withData false it leaves
// the data out, to read the expiry alone.
func decodeBoltCookie(b []byte, withData bool) (Cookie, error) {
	if _, ok := indexSecond(b); !ok {
		return Cookie{}, fmt.Errorf("%w: cookie record header", ErrBadRecord)
	}
	r := reader{b: b[9:]}
	sec := r.varint("cookie expiry")
	nsec := r.uvarint("cookie expiry")
	if r.err == nil && nsec >= uint64(time.Second) {
		r.fail("cookie expiry nanoseconds")
	}
	c := Cookie{Expires: time.Unix(sec, int64(nsec))}
	if !withData {
		return c, r.err
	}
	c.Data = r.bytes("cookie data", maxPayload)
	return c, r.end()
}
