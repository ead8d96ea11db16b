package ticketstore

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Cookie records go through the same write-behind overlay as tickets: a
// change waits for no commit, and a SIGKILL loses at most the changes of
// the last FlushInterval.

func (b *boltBackend) PutCookie(id PartitionID, key string, c Cookie) error {
	c.Data = bytes.Clone(c.Data)
	return b.changeCookie(id, key, &c)
}

func (b *boltBackend) DeleteCookie(id PartitionID, key string) error {
	return b.changeCookie(id, key, nil)
}

// changeCookie puts c, or a deletion when it is nil, in the pending
// overlay.
func (b *boltBackend) changeCookie(id PartitionID, key string, c *Cookie) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	b.cookies[stateKey(id, key)] = c
	b.changedLocked()
	return nil
}

// Cookies reads the partition's records from the file and lays the
// overlays over them, the one being committed first. It holds mu
// throughout, so that no commit ends between reading the file and reading
// the overlays.
func (b *boltBackend) Cookies(id PartitionID, now time.Time) (map[string]Cookie, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	out := make(map[string]Cookie)
	err := b.view(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketCookies)
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		for k, v := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, v = c.Next() {
			ck, err := decodeBoltCookie(v, true)
			if err != nil {
				b.log.Warn("ticketstore: dropping unreadable record", "file", b.path, "err", err)
				continue
			}
			out[string(k[len(id):])] = ck
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	prefix := string(id[:])
	for _, overlay := range []map[string]*Cookie{b.cookiesFlushing, b.cookies} {
		for k, c := range overlay {
			key, ok := strings.CutPrefix(k, prefix)
			switch {
			case !ok:
			case c == nil:
				delete(out, key)
			default:
				out[key] = Cookie{Data: bytes.Clone(c.Data), Expires: c.Expires}
			}
		}
	}
	for k, c := range out {
		if !c.live(now) {
			delete(out, k)
		}
	}
	return out, nil
}

// writeCookies commits a batch of cookie changes. Like tickets, a record
// whose partition was purged meanwhile is dropped.
func writeCookies(tx *bolt.Tx, batch map[string]*Cookie) error {
	if len(batch) == 0 {
		return nil
	}
	records, index, err := cookieBuckets(tx)
	if err != nil {
		return err
	}
	parts := tx.Bucket(bucketParts)
	for k, c := range batch {
		key := []byte(k)
		if parts.Get(key[:len(PartitionID{})]) == nil {
			continue
		}
		if err := putCookie(records, index, key, c); err != nil {
			return err
		}
	}
	return nil
}

// cookieBuckets returns the cookie buckets, creating them in a file that
// lacks them and marking the file as of the format that has them.
func cookieBuckets(tx *bolt.Tx) (records, index *bolt.Bucket, err error) {
	records, index = tx.Bucket(bucketCookies), tx.Bucket(bucketCookieExpiry)
	if records != nil && index != nil {
		return records, index, nil
	}
	version := binary.BigEndian.AppendUint32(nil, formatVersion)
	if err := tx.Bucket(bucketMeta).Put(keyFormat, version); err != nil {
		return nil, nil, err
	}
	if records, err = tx.CreateBucketIfNotExists(bucketCookies); err != nil {
		return nil, nil, err
	}
	index, err = tx.CreateBucketIfNotExists(bucketCookieExpiry)
	return records, index, err
}

// putCookie writes (or, when c is nil, deletes) one cookie record and keeps
// its expiry index entry in step.
func putCookie(records, index *bolt.Bucket, key []byte, c *Cookie) error {
	if old := records.Get(key); old != nil {
		if sec, ok := indexSecond(old); ok {
			if err := index.Delete(indexKey(sec, key)); err != nil {
				return err
			}
		}
	}
	if c == nil {
		return records.Delete(key)
	}
	if err := records.Put(key, encodeBoltCookie(*c)); err != nil {
		return err
	}
	return index.Put(indexKey(ceilSeconds(c.Expires), key), nil)
}

// countCookies counts the records of partition id in bk that are live at
// now. A nil bucket holds none.
func countCookies(bk *bolt.Bucket, id []byte, now time.Time) int {
	if bk == nil {
		return 0
	}
	n := 0
	c := bk.Cursor()
	for k, v := c.Seek(id); k != nil && bytes.HasPrefix(k, id); k, v = c.Next() {
		if ck, err := decodeBoltCookie(v, false); err == nil && ck.live(now) {
			n++
		}
	}
	return n
}
