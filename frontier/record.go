package frontier

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Record formats. Each value starts with its format version so a later version can read
// older files; Open refuses files whose format is newer than formatVersion.
const (
	formatVersion = 1
	recordVersion = 1
	hostVersion   = 1
	robotsVersion = 1
)

// record is the stored form of a URL in the queue, leased, delayed and failed buckets.
type record struct {
	URL      string
	Referer  string
	Data     []byte
	Depth    int
	Priority int32
	Attempts int
	Reason   string // why it failed; failed bucket only
	Time     int64  // when it failed, Unix nanoseconds; failed bucket only
}

func (r *record) request() Request {
	return Request{URL: r.URL, Depth: r.Depth, Priority: r.Priority, Referer: r.Referer,
		Data: r.Data}
}

func (r *record) encode() []byte {
	n := 1 + 5*binary.MaxVarintLen64 + len(r.URL) + len(r.Referer) + len(r.Data) +
		len(r.Reason) + 4*binary.MaxVarintLen64
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(r.Depth))
	b = binary.AppendVarint(b, int64(r.Priority))
	b = binary.AppendUvarint(b, uint64(r.Attempts))
	b = appendBytes(b, []byte(r.URL))
	b = appendBytes(b, []byte(r.Referer))
	b = appendBytes(b, r.Data)
	b = appendBytes(b, []byte(r.Reason))
	b = binary.AppendVarint(b, r.Time)
	return b
}

// decodeRecord parses a stored record. It never panics; any malformed input yields an
// error wrapping ErrCorrupt.
func decodeRecord(b []byte) (record, error) {
	var r record
	d := decoder{b: b}
	if v := d.byte(); v != recordVersion {
		return r, fmt.Errorf("%w: record version %d", ErrCorrupt, v)
	}
	r.Depth = d.int(math.MaxInt32)
	r.Priority = int32(d.varint(math.MinInt32, math.MaxInt32))
	r.Attempts = d.int(math.MaxInt32)
	r.URL = string(d.bytes())
	r.Referer = string(d.bytes())
	if data := d.bytes(); len(data) > 0 {
		r.Data = append([]byte(nil), data...)
	}
	r.Reason = string(d.bytes())
	r.Time = d.varint(math.MinInt64, math.MaxInt64)
	return r, d.finish("record")
}

// hostRecord is the stored state of one host, keyed by its name.
type hostRecord struct {
	ID           uint64 // prefix of its keys in the queue bucket
	Queued       int64  // keys in the queue bucket under ID
	BackoffUntil int64  // Unix nanoseconds; 0 if none
	BackoffLevel int    // consecutive Backoff calls
}

func (h *hostRecord) encode() []byte {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64)
	b = append(b, hostVersion)
	b = binary.AppendUvarint(b, h.ID)
	b = binary.AppendUvarint(b, uint64(h.Queued))
	b = binary.AppendVarint(b, h.BackoffUntil)
	b = binary.AppendUvarint(b, uint64(h.BackoffLevel))
	return b
}

func decodeHost(b []byte) (hostRecord, error) {
	var h hostRecord
	d := decoder{b: b}
	if v := d.byte(); v != hostVersion {
		return h, fmt.Errorf("%w: host version %d", ErrCorrupt, v)
	}
	h.ID = d.uvarint()
	h.Queued = int64(d.int(math.MaxInt64))
	h.BackoffUntil = d.varint(math.MinInt64, math.MaxInt64)
	h.BackoffLevel = d.int(64)
	return h, d.finish("host record")
}

// robotsRecord is a cached robots.txt outcome, keyed by origin.
type robotsRecord struct {
	Kind    robotsKind
	Expires int64 // Unix nanoseconds
	Body    []byte
}

func (r *robotsRecord) encode() []byte {
	b := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(r.Body))
	b = append(b, robotsVersion, byte(r.Kind))
	b = binary.AppendVarint(b, r.Expires)
	return appendBytes(b, r.Body)
}

func decodeRobots(b []byte) (robotsRecord, error) {
	var r robotsRecord
	d := decoder{b: b}
	if v := d.byte(); v != robotsVersion {
		return r, fmt.Errorf("%w: robots version %d", ErrCorrupt, v)
	}
	r.Kind = robotsKind(d.byte())
	if r.Kind > robotsDisallowAll {
		d.fail()
	}
	r.Expires = d.varint(math.MinInt64, math.MaxInt64)
	r.Body = append([]byte(nil), d.bytes()...)
	return r, d.finish("robots record")
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// decoder reads varints and length-prefixed fields, remembering the first error so
// callers check once.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) fail() { d.bad, d.b = true, nil }

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(lo, hi int64) int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 || v < lo || v > hi {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int(max uint64) int {
	v := d.uvarint()
	if v > max {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) finish(what string) error {
	if d.bad || len(d.b) != 0 {
		return fmt.Errorf("%w: malformed %s", ErrCorrupt, what)
	}
	return nil
}

// Keys. A queue key is the host ID, the inverted priority and a sequence number, so a
// cursor over one host's prefix meets its URLs by descending priority, then push order.
// The leased and failed buckets reuse the queue key; the delayed bucket prefixes it
// with the time it is due.
const (
	queueKeyLen   = 8 + 4 + 8
	delayedKeyLen = 8 + queueKeyLen
)

func queueKey(hostID uint64, prio int32, seq uint64) []byte {
	k := make([]byte, queueKeyLen)
	binary.BigEndian.PutUint64(k, hostID)
	binary.BigEndian.PutUint32(k[8:], ^(uint32(prio) ^ 1<<31))
	binary.BigEndian.PutUint64(k[12:], seq)
	return k
}

func hostPrefix(hostID uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, hostID)
}

func delayedKey(due int64, qk []byte) []byte {
	k := make([]byte, 0, delayedKeyLen)
	k = binary.BigEndian.AppendUint64(k, uint64(max(due, 0)))
	return append(k, qk...)
}

func delayedDue(k []byte) int64 { return int64(binary.BigEndian.Uint64(k[:8])) }
