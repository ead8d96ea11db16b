package redisfrontier

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"github.com/revisit-crawl/revisit/frontier"
)

// recordVersion is the first byte of every stored record.
const recordVersion = 1

// maxURL is the longest URL a record holds: its length is stored in two bytes, which
// the Lua scripts read.
const maxURL = math.MaxUint16

// encodeRecord lays out a queued request: the version, the priority plus 2^31 and the
// URL's length in big-endian (read by the scripts), the URL, then the depth, the
// referer and the data, which only Go reads.
func encodeRecord(r *frontier.Request) []byte {
	n := 7 + len(r.URL) + 3*binary.MaxVarintLen64 + len(r.Referer) + len(r.Data)
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(int64(r.Priority)+math.MaxInt32+1))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.URL)))
	b = append(b, r.URL...)
	b = binary.AppendUvarint(b, uint64(r.Depth))
	b = binary.AppendUvarint(b, uint64(len(r.Referer)))
	b = append(b, r.Referer...)
	b = binary.AppendUvarint(b, uint64(len(r.Data)))
	return append(b, r.Data...)
}

var errRecord = errors.New("malformed record")

// decodeRecord parses a stored record. It never panics; malformed input yields an
// error wrapping frontier.ErrCorrupt.
func decodeRecord(b []byte) (frontier.Request, error) {
	var r frontier.Request
	if len(b) < 7 || b[0] != recordVersion {
		return r, fmt.Errorf("%w: %v", frontier.ErrCorrupt, errRecord)
	}
	r.Priority = int32(int64(binary.BigEndian.Uint32(b[1:])) - math.MaxInt32 - 1)
	n := int(binary.BigEndian.Uint16(b[5:]))
	b = b[7:]
	if n > len(b) {
		return r, fmt.Errorf("%w: %v", frontier.ErrCorrupt, errRecord)
	}
	r.URL, b = string(b[:n]), b[n:]
	depth, k := binary.Uvarint(b)
	if k <= 0 || depth > math.MaxInt32 {
		return r, fmt.Errorf("%w: %v", frontier.ErrCorrupt, errRecord)
	}
	r.Depth, b = int(depth), b[k:]
	ref, b, ok := field(b)
	data, b, ok2 := field(b)
	if !ok || !ok2 || len(b) != 0 {
		return r, fmt.Errorf("%w: %v", frontier.ErrCorrupt, errRecord)
	}
	r.Referer = string(ref)
	if len(data) > 0 {
		r.Data = append([]byte(nil), data...)
	}
	return r, nil
}

// field reads a length-prefixed byte string.
func field(b []byte) (v, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}

// seenShards is how many hashes the deduplication fingerprints are spread over. Small
// hashes are stored as compact listpacks by Redis (up to hash-max-listpack-entries,
// 128 by default), about 20 bytes per fingerprint; so are up to about 130,000 URLs
// here, and larger crawls cost more per URL.
const seenShards = 1024

// seenKey splits a fingerprint into the shard that holds it and the field stored. The
// first 4 bytes of a fingerprint depend on the host only, so both come from the rest:
// 10 bits pick the shard and the last 10 bytes are stored, 90 bits in all.
func seenKey(fp [16]byte) (shard string, fieldValue string) {
	n := binary.BigEndian.Uint16(fp[4:6]) % seenShards
	return hex.EncodeToString([]byte{byte(n >> 8), byte(n)}), string(fp[6:])
}
