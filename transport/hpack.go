package transport

import (
	"strings"

	"golang.org/x/net/http2/hpack"
)

// hpackEncoder writes header blocks the way one browser's encoder does.
// x/net's hpack.Encoder cannot: it indexes every field it can and has no
// "literal without indexing" form, which browsers use for :path and
// short cookie crumbs. Decoding stays with x/net (the Framer's
// ReadMetaHeaders); this type only encodes. It is not safe for concurrent
// use: the connection's write lock guards it.
type hpackEncoder struct {
	policy *hpackPolicy
	// table is the dynamic table, newest entry first; size is the sum of
	// its entries' sizes (RFC 7541, 4.1) and maxSize the limit in force.
	table   []hpackEntry
	size    int
	maxSize int
	// sizeUpdates are dynamic table size updates the next header block
	// must begin with, after a SETTINGS_HEADER_TABLE_SIZE change.
	sizeUpdates []int
}

type hpackEntry struct{ name, value string }

func (e hpackEntry) size() int { return len(e.name) + len(e.value) + 32 }

// hpackDefaultTable is the dynamic table size both ends start with, and
// the most the encoder uses: a larger table saves little on a crawl and
// costs the server memory, so the encoder, like Go's, stays at 4096
// whatever the server allows.
const hpackDefaultTable = 4096

func newHPACKEncoder(policy *hpackPolicy) *hpackEncoder {
	return &hpackEncoder{policy: policy, maxSize: hpackDefaultTable}
}

// setPeerTableSize applies the server's SETTINGS_HEADER_TABLE_SIZE.
func (e *hpackEncoder) setPeerTableSize(n uint32) {
	size := int(min(n, hpackDefaultTable))
	if size == e.maxSize {
		return
	}
	// RFC 7541, 4.2: after a reduction the smallest size must be
	// signalled, then the final one.
	if len(e.sizeUpdates) == 0 || size < e.sizeUpdates[0] {
		e.sizeUpdates = append(e.sizeUpdates[:0], size)
	} else {
		e.sizeUpdates = append(e.sizeUpdates[:1], size)
	}
	e.maxSize = size
	e.evict(0)
}

// encode appends the header block of fields to dst.
func (e *hpackEncoder) encode(dst []byte, fields []hpackEntry) []byte {
	for _, n := range e.sizeUpdates {
		dst = appendHPACKInt(dst, 0x20, 5, uint64(n))
	}
	e.sizeUpdates = e.sizeUpdates[:0]
	for _, f := range fields {
		dst = e.encodeField(dst, f)
	}
	return dst
}

// Representations (RFC 7541, 6): first byte patterns and prefix sizes.
const (
	hpIndexed     = 0x80 // 1xxxxxxx, 7-bit index
	hpIncremental = 0x40 // 01xxxxxx, 6-bit name index
	hpNoIndex     = 0x00 // 0000xxxx, 4-bit name index
	hpNeverIndex  = 0x10 // 0001xxxx, 4-bit name index
)

func (e *hpackEncoder) encodeField(dst []byte, f hpackEntry) []byte {
	p := e.policy
	full, name := e.lookup(f)
	switch {
	case p.neverIndex[f.name]:
		return e.appendLiteral(dst, hpNeverIndex, 4, name, f)
	case p.noIndex[f.name], p.shortCookie > 0 && f.name == "cookie" && len(f.value) < p.shortCookie:
		return e.appendLiteral(dst, hpNoIndex, 4, name, f)
	case full > 0:
		return appendHPACKInt(dst, hpIndexed, 7, uint64(full))
	case !e.mayIndex(f):
		return e.appendLiteral(dst, hpNoIndex, 4, name, f)
	}
	dst = e.appendLiteral(dst, hpIncremental, 6, name, f)
	e.add(f)
	return dst
}

// mayIndex reports whether the policy lets f enter the dynamic table.
func (e *hpackEncoder) mayIndex(f hpackEntry) bool {
	p := e.policy
	if strings.HasPrefix(f.name, ":") && p.indexPseudo != nil && !p.indexPseudo[f.name] {
		return false
	}
	if p.halfTableLimit && f.size() > e.maxSize/2 {
		return false
	}
	return f.size() <= e.maxSize
}

// lookup returns the index of an entry equal to f (0 if none) and the
// index of an entry with f's name to reference in a literal (0 if none):
// the first such entry, or with lastNameMatch the last one before a full
// match, if any, ends the search.
func (e *hpackEncoder) lookup(f hpackEntry) (full, name int) {
	last := e.policy.lastNameMatch
	for i, s := range hpackStatic {
		if s.name != f.name {
			continue
		}
		if name == 0 || last {
			name = i + 1
		}
		if s.value == f.value {
			return i + 1, i + 1
		}
	}
	for i, d := range e.table {
		if d.name != f.name {
			continue
		}
		idx := len(hpackStatic) + i + 1
		if name == 0 || last {
			name = idx
		}
		if d.value == f.value {
			return idx, idx
		}
	}
	return 0, name
}

func (e *hpackEncoder) appendLiteral(dst []byte, rep byte, prefix uint8, name int, f hpackEntry) []byte {
	dst = appendHPACKInt(dst, rep, prefix, uint64(name))
	if name == 0 {
		dst = e.appendString(dst, f.name)
	}
	return e.appendString(dst, f.value)
}

func (e *hpackEncoder) appendString(dst []byte, s string) []byte {
	hl := hpack.HuffmanEncodeLength(s)
	if e.policy.alwaysHuffman || hl < uint64(len(s)) {
		dst = appendHPACKInt(dst, 0x80, 7, hl)
		return hpack.AppendHuffmanString(dst, s)
	}
	dst = appendHPACKInt(dst, 0, 7, uint64(len(s)))
	return append(dst, s...)
}

func (e *hpackEncoder) add(f hpackEntry) {
	e.evict(f.size())
	e.table = append(e.table, hpackEntry{})
	copy(e.table[1:], e.table)
	e.table[0] = f
	e.size += f.size()
}

// evict drops the oldest entries until room more bytes fit.
func (e *hpackEncoder) evict(room int) {
	for len(e.table) > 0 && e.size+room > e.maxSize {
		old := e.table[len(e.table)-1]
		e.table = e.table[:len(e.table)-1]
		e.size -= old.size()
	}
}

// appendHPACKInt appends v as an HPACK integer with an n-bit prefix whose
// high bits are first (RFC 7541, 5.1).
func appendHPACKInt(dst []byte, first byte, n uint8, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(limit))
	v -= limit
	for v >= 128 {
		dst = append(dst, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// hpackStatic is the static table of RFC 7541, Appendix A; entry i has
// index i+1.
var hpackStatic = [...]hpackEntry{
	{":authority", ""},
	{":method", "GET"},
	{":method", "POST"},
	{":path", "/"},
	{":path", "/index.html"},
	{":scheme", "http"},
	{":scheme", "https"},
	{":status", "200"},
	{":status", "204"},
	{":status", "206"},
	{":status", "304"},
	{":status", "400"},
	{":status", "404"},
	{":status", "500"},
	{"accept-charset", ""},
	{"accept-encoding", "gzip, deflate"},
	{"accept-language", ""},
	{"accept-ranges", ""},
	{"accept", ""},
	{"access-control-allow-origin", ""},
	{"age", ""},
	{"allow", ""},
	{"authorization", ""},
	{"cache-control", ""},
	{"content-disposition", ""},
	{"content-encoding", ""},
	{"content-language", ""},
	{"content-length", ""},
	{"content-location", ""},
	{"content-range", ""},
	{"content-type", ""},
	{"cookie", ""},
	{"date", ""},
	{"etag", ""},
	{"expect", ""},
	{"expires", ""},
	{"from", ""},
	{"host", ""},
	{"if-match", ""},
	{"if-modified-since", ""},
	{"if-none-match", ""},
	{"if-range", ""},
	{"if-unmodified-since", ""},
	{"last-modified", ""},
	{"link", ""},
	{"location", ""},
	{"max-forwards", ""},
	{"proxy-authenticate", ""},
	{"proxy-authorization", ""},
	{"range", ""},
	{"referer", ""},
	{"refresh", ""},
	{"retry-after", ""},
	{"server", ""},
	{"set-cookie", ""},
	{"strict-transport-security", ""},
	{"transfer-encoding", ""},
	{"user-agent", ""},
	{"vary", ""},
	{"via", ""},
	{"www-authenticate", ""},
}
