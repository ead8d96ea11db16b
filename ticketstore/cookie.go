package ticketstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"slices"
	"time"
)

// CookieRecord is one cookie as a partition keeps it. The store does not
// read Data: the cookie jar that writes the records gives them their
// meaning.
type CookieRecord struct {
	// Key is the caller's identity of the cookie (a jar uses its domain,
	// path and name): saving a record replaces the one with the same Key.
	// The store keeps it only inside the record, sealed when the store
	// is, and names the record by a keyed digest of it.
	Key string
	// Data is opaque to the store.
	Data []byte
	// Expires is the end of the record's life: from then on it is never
	// returned, and pruning removes it. It must be set.
	Expires time.Time
}

// maxCookie bounds len(Key)+len(Data) of a record. A cookie is at most
// 4 KiB (RFC 6265, section 6.1); the rest leaves room for what a jar keeps
// beside it.
const maxCookie = 64 << 10

// A cookie payload is what Cookie.Data holds:
//
//	plain:  0x03, varint expires seconds, uvarint nanoseconds,
//	        uvarint len(key), key, data
//	sealed: 0x02, nonce, AEAD(plain form)
//
// Its first byte differs from a ticket payload's, so that neither reads as
// the other. The expiry inside is the one returned: sealed, it cannot be
// moved later than the jar set it.
const payloadCookie = 0x03

func encodeCookie(rec CookieRecord) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(rec.Key)+len(rec.Data))
	b = append(b, payloadCookie)
	b = binary.AppendVarint(b, rec.Expires.Unix())
	b = binary.AppendUvarint(b, uint64(rec.Expires.Nanosecond()))
	b = appendBytes(b, []byte(rec.Key))
	return append(b, rec.Data...)
}

// decodeCookie reads a plain cookie payload. Data aliases b.
func decodeCookie(b []byte) (CookieRecord, error) {
	r := reader{b: b}
	if r.byte1("cookie form") != payloadCookie {
		r.fail("unknown cookie payload form")
	}
	sec := r.varint("cookie expiry")
	nsec := r.uvarint("cookie expiry")
	key := r.bytes("cookie key", maxCookie)
	if r.err != nil {
		return CookieRecord{}, r.err
	}
	switch {
	case nsec >= uint64(time.Second):
		r.fail("cookie expiry nanoseconds")
	case len(key) == 0:
		r.fail("empty cookie key")
	case len(key)+len(r.b) > maxCookie:
		r.fail("cookie too large")
	}
	if r.err != nil {
		return CookieRecord{}, r.err
	}
	return CookieRecord{Key: string(key), Data: r.b, Expires: time.Unix(sec, int64(nsec))}, nil
}

// check refuses a record that could not be read back.
func (rec CookieRecord) check() error {
	switch {
	case rec.Key == "":
		return fmt.Errorf("%w: empty key", ErrBadCookie)
	case rec.Expires.IsZero():
		return fmt.Errorf("%w: no expiry", ErrBadCookie)
	case len(rec.Key)+len(rec.Data) > maxCookie:
		size := len(rec.Key) + len(rec.Data)
		return fmt.Errorf("%w: %d bytes, more than %d", ErrBadCookie, size, maxCookie)
	}
	return nil
}

// cookieDigest names cookie records in the backend. It is keyed and covers
// the partition as well as the caller's key, so that the storage does not
// list the cookies' domains, and a record read back from another partition
// or key is noticed even when it is not sealed. One digest serves one
// goroutine.
type cookieDigest struct {
	m   hash.Hash
	sum []byte
}

func (s *Store) cookieDigest() *cookieDigest {
	return &cookieDigest{m: hmac.New(sha256.New, s.key)}
}

func (d *cookieDigest) key(id PartitionID, key string) string {
	d.m.Reset()
	d.m.Write([]byte("cookie\x00"))
	d.m.Write(id[:])
	d.m.Write([]byte(key))
	d.sum = d.m.Sum(d.sum[:0])
	return string(d.sum[:16])
}

func cookieAAD(id PartitionID, digest string) []byte {
	return slices.Concat([]byte("cookie\x00"), id[:], []byte(digest))
}

// SaveCookie stores rec in the partition, replacing the record with the
// same Key. A record that has already expired removes that record instead.
// Like [Partition.Put], it registers the partition again after a purge.
// A record without Key or Expires, or larger than 64 KiB, is refused with
// [ErrBadCookie].
func (p *Partition) SaveCookie(rec CookieRecord) error {
	if err := rec.check(); err != nil {
		return err
	}
	digest := p.s.cookieDigest().key(p.id, rec.Key)
	if !p.s.now().Before(rec.Expires) {
		return p.s.b.DeleteCookie(p.id, digest)
	}
	if err := p.ensureRegistered(); err != nil {
		return err
	}
	data := encodeCookie(rec)
	if p.s.seal != nil {
		data = p.s.seal.seal(data, cookieAAD(p.id, digest))
	}
	return p.s.b.PutCookie(p.id, digest, Cookie{Data: data, Expires: rec.Expires})
}

// DeleteCookie removes the record with the given key. An absent record is
// no error.
func (p *Partition) DeleteCookie(key string) error {
	return p.s.b.DeleteCookie(p.id, p.s.cookieDigest().key(p.id, key))
}

// Cookies returns every live record of the partition, in no particular
// order. A record that cannot be read, or that was kept under another
// partition or key, is logged and left out; it stays until it expires or a
// record with its key replaces it.
func (p *Partition) Cookies() ([]CookieRecord, error) {
	now := p.s.now()
	stored, err := p.s.b.Cookies(p.id, now)
	if err != nil {
		return nil, err
	}
	d := p.s.cookieDigest()
	out := make([]CookieRecord, 0, len(stored))
	for digest, c := range stored {
		rec, err := p.openCookie(d, digest, c)
		if err != nil {
			p.s.log.Warn("ticketstore: dropping unreadable cookie record", "partition", p.meta.Label,
				"profile", p.meta.Profile, "err", err)
			continue
		}
		if now.Before(rec.Expires) {
			out = append(out, rec)
		}
	}
	return out, nil
}

func (p *Partition) openCookie(d *cookieDigest, digest string, c Cookie) (CookieRecord, error) {
	data := c.Data
	if p.s.seal != nil {
		var err error
		if data, err = p.s.seal.open(data, cookieAAD(p.id, digest)); err != nil {
			return CookieRecord{}, err
		}
	}
	rec, err := decodeCookie(data)
	if err != nil {
		return CookieRecord{}, err
	}
	if d.key(p.id, rec.Key) != digest {
		return CookieRecord{}, fmt.Errorf("%w: cookie from another partition or key", ErrBadRecord)
	}
	return rec, nil
}
