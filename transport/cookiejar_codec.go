package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// A cookie record is what the jar keeps in its store for one cookie:
//
//	version  1 byte, cookieRecordV1
//	flags    1 byte: host-only, secure, http-only, persistent, quoted,
//	         partitioned, from the low bit up; the other bits are zero
//	samesite 1 byte, an http.SameSite from 0 (unset) to 4 (None)
//	name     uint16 length, bytes
//	value    uint16 length, bytes
//	domain   uint8 length, bytes
//	path     uint16 length, bytes
//	created  int64 Unix nanoseconds
//	accessed int64 Unix nanoseconds
//	expires  int64 Unix nanoseconds
//
// Integers are big-endian. A persistent cookie's expires is its expiry; a
// session cookie's is when its record lapses. The decoder takes nothing
// the encoder would not write: every record it accepts encodes back to the
// same bytes.
const cookieRecordV1 = 1

const (
	cookieHostOnly = 1 << iota
	cookieSecure
	cookieHTTPOnly
	cookiePersistent
	cookieQuoted
	cookiePartitioned

	cookieFlagsKnown = 1<<iota - 1
)

// cookieRecordFixed is the size of a record's fixed-size fields;
// maxCookieRecord bounds a whole record.
const (
	cookieRecordFixed = 3 + 2 + 2 + 1 + 2 + 3*8
	maxCookieRecord   = cookieRecordFixed + maxCookieSize + maxCookieHost + maxCookiePath
)

// errBadCookieRecord is wrapped by every decoding error.
var errBadCookieRecord = errors.New("transport: bad cookie record")

// cookieRecord is one cookie as the jar keeps and persists it.
type cookieRecord struct {
	name, value  string
	domain, path string
	// hostOnly cookies go to their domain only, not to its subdomains.
	hostOnly, secure, httpOnly bool
	// quoted says the value came in double quotes, which go back with it.
	quoted, partitioned bool
	// persistent cookies had Expires or Max-Age.
	persistent bool
	sameSite   http.SameSite

	created, accessed time.Time
	// expires is a persistent cookie's expiry and, for a session cookie,
	// when its record lapses in the store.
	expires time.Time
}

// recordKey is the store key of r: its identity in RFC 6265bis terms
// (domain, host-only, path, name). A domain cookie's domain gets a
// leading dot, which a host never has. Neither a domain nor a name holds a
// semicolon, so the key tells them all apart.
func recordKey(r *cookieRecord) string {
	d := r.domain
	if !r.hostOnly {
		d = "." + d
	}
	return d + ";" + r.path + ";" + r.name
}

func (r *cookieRecord) flags() byte {
	var f byte
	set := func(on bool, bit byte) {
		if on {
			f |= bit
		}
	}
	set(r.hostOnly, cookieHostOnly)
	set(r.secure, cookieSecure)
	set(r.httpOnly, cookieHTTPOnly)
	set(r.persistent, cookiePersistent)
	set(r.quoted, cookieQuoted)
	set(r.partitioned, cookiePartitioned)
	return f
}

// encodeCookie returns the record of r, which must hold what the jar
// accepts: lengths within the limits the decoder checks.
func encodeCookie(r *cookieRecord) []byte {
	n := cookieRecordFixed + len(r.name) + len(r.value) + len(r.domain) + len(r.path)
	b := make([]byte, 0, n)
	b = append(b, cookieRecordV1, r.flags(), byte(r.sameSite))
	b = appendString16(b, r.name)
	b = appendString16(b, r.value)
	b = append(b, byte(len(r.domain)))
	b = append(b, r.domain...)
	b = appendString16(b, r.path)
	for _, t := range []time.Time{r.created, r.accessed, r.expires} {
		b = binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
	}
	return b
}

func appendString16(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// decodeCookie reads a record written by encodeCookie. It rejects records
// that are truncated, too long, of another version, or that hold a
// cookie the jar would not have kept.
func decodeCookie(b []byte) (cookieRecord, error) {
	var r cookieRecord
	if len(b) > maxCookieRecord {
		return r, fmt.Errorf("%w: %d bytes", errBadCookieRecord, len(b))
	}
	in := recordReader{b: b, ok: true}
	if v := in.byte(); v != cookieRecordV1 && in.ok {
		return r, fmt.Errorf("%w: version %d", errBadCookieRecord, v)
	}
	flags, sameSite := in.byte(), in.byte()
	r.name, r.value = in.string16(), in.string16()
	r.domain = in.string(int(in.byte()))
	r.path = in.string16()
	r.created, r.accessed, r.expires = in.time(), in.time(), in.time()
	switch {
	case !in.ok:
		return r, fmt.Errorf("%w: truncated", errBadCookieRecord)
	case len(in.b) > 0:
		return r, fmt.Errorf("%w: %d bytes after the record", errBadCookieRecord, len(in.b))
	case flags&^cookieFlagsKnown != 0:
		return r, fmt.Errorf("%w: unknown flags %#x", errBadCookieRecord, flags)
	case sameSite > byte(http.SameSiteNoneMode):
		return r, fmt.Errorf("%w: same-site %d", errBadCookieRecord, sameSite)
	}
	r.hostOnly = flags&cookieHostOnly != 0
	r.secure = flags&cookieSecure != 0
	r.httpOnly = flags&cookieHTTPOnly != 0
	r.persistent = flags&cookiePersistent != 0
	r.quoted = flags&cookieQuoted != 0
	r.partitioned = flags&cookiePartitioned != 0
	r.sameSite = http.SameSite(sameSite)
	if err := checkRecord(&r); err != nil {
		return cookieRecord{}, err
	}
	return r, nil
}

// checkRecord refuses a decoded cookie the jar would never have stored.
func checkRecord(r *cookieRecord) error {
	switch {
	case !cookieNameValueOK(r.name, r.value):
		return fmt.Errorf("%w: bad name or value", errBadCookieRecord)
	case !validCookieHost(r.domain):
		return fmt.Errorf("%w: bad domain", errBadCookieRecord)
	case r.path == "" || r.path[0] != '/' || len(r.path) > maxCookiePath:
		return fmt.Errorf("%w: bad path", errBadCookieRecord)
	}
	return nil
}

// cookieNameValueOK reports whether a cookie's name and value can be kept:
// not both empty, together within maxCookieSize, and a name without a
// semicolon (which no Cookie header could carry intact).
func cookieNameValueOK(name, value string) bool {
	n := len(name) + len(value)
	return n > 0 && n <= maxCookieSize && !strings.Contains(name, ";")
}

// recordReader reads a record's fields in turn; after the first read past
// the end, ok is false and every read returns a zero value.
type recordReader struct {
	b  []byte
	ok bool
}

func (r *recordReader) next(n int) []byte {
	if !r.ok || n > len(r.b) {
		r.ok = false
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *recordReader) byte() byte {
	p := r.next(1)
	if !r.ok {
		return 0
	}
	return p[0]
}

func (r *recordReader) string(n int) string { return string(r.next(n)) }

func (r *recordReader) string16() string {
	p := r.next(2)
	if !r.ok {
		return ""
	}
	return r.string(int(binary.BigEndian.Uint16(p)))
}

func (r *recordReader) time() time.Time {
	p := r.next(8)
	if !r.ok {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(p)))
}
