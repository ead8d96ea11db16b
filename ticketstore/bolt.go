package ticketstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/revisit-crawl/revisit/internal/boltfile"
)

// formatVersion is the layout of the bbolt file. A file with a higher
// number was written by a newer revisit and is refused, not misread.
//
// Version 2 added the cookie buckets. A version 1 file is read as it is,
// with no cookies, and becomes version 2 in the commit that writes its
// first cookie record: from then on a build that knows nothing of cookies
// refuses the file, rather than purge a partition's tickets and leave its
// cookies behind.
const formatVersion = 2

// Buckets of the bbolt file:
//
//	meta:          "format" -> be32 version, "header" -> header record
//	parts:         partition ID -> partition record
//	servers:       partition ID + server key -> server record
//	expiry:        be64 lastUse seconds + partition ID + server key -> empty
//	cookies:       partition ID + cookie key -> cookie record
//	cookie-expiry: be64 expiry seconds + partition ID + cookie key -> empty
//
// The expiry indexes let pruning visit only what has expired, so neither
// opening nor pruning a large file scans it. Server and cookie keys are
// keyed digests that the Store computes. The cookie buckets may be missing
// (see formatVersion); they then read as empty.
var (
	bucketMeta         = []byte("meta")
	bucketParts        = []byte("parts")
	bucketServers      = []byte("servers")
	bucketExpiry       = []byte("expiry")
	bucketCookies      = []byte("cookies")
	bucketCookieExpiry = []byte("cookie-expiry")
	keyFormat          = []byte("format")
	keyHeader          = []byte("header")
)

// boltBackend keeps tickets in a bbolt file behind a write-behind buffer:
// handshake-path calls change an in-memory overlay, and a background
// goroutine commits the overlay in one transaction per FlushInterval, so no
// caller waits for a disk sync. Reads consult the overlay first, then the
// file.
type boltBackend struct {
	db         *bolt.DB
	path       string
	log        *slog.Logger
	now        func() time.Time
	interval   time.Duration
	pruneEvery time.Duration
	maxPending int

	// writeMu serializes the writers of the file (flush, purge, prune) so
	// that an overlay being committed is never raced by a purge. Lock
	// order: writeMu, then mu.
	writeMu sync.Mutex

	// mu guards the fields below.
	mu sync.Mutex
	// pending holds the server states changed since the last flush began;
	// flushing those being committed by it. Keys are partition ID plus
	// server key. A nil map entry is never stored; an empty state deletes.
	pending  map[string]*serverState
	flushing map[string]*serverState
	// counts holds counter increments not yet committed.
	counts map[PartitionID]partCounts
	// cookies holds the cookie records changed since the last flush
	// began, and cookiesFlushing those being committed by it. Keys are
	// partition ID plus cookie key; a nil record is a deletion.
	cookies         map[string]*Cookie
	cookiesFlushing map[string]*Cookie
	// swapped is signalled when a flush takes the pending overlay, so that
	// callers held back by a full overlay can go on.
	swapped *sync.Cond
	closed  bool

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

type partCounts struct{ received, taken uint64 }

func openBolt(path string, o *Options, log *slog.Logger) (*boltBackend, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ticketstore: open %s: %w", path, err)
	}
	db, err := openBoltFile(path, o.lockTimeout())
	if err != nil {
		return nil, err
	}
	// Tickets hold resumption secrets.
	if err := boltfile.TightenMode(path); err != nil {
		db.Close()
		return nil, fmt.Errorf("ticketstore: open %s: %w", path, err)
	}
	b := &boltBackend{
		db:         db,
		path:       path,
		log:        log,
		now:        o.now(),
		interval:   o.flushInterval(),
		pruneEvery: o.pruneInterval(),
		maxPending: o.maxPending(),
		pending:    make(map[string]*serverState),
		counts:     make(map[PartitionID]partCounts),
		cookies:    make(map[string]*Cookie),
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	b.swapped = sync.NewCond(&b.mu)
	// An existing file is only read here: one refused is left as it was,
	// and listing a store does not write to it.
	var complete bool
	err = b.view(func(tx *bolt.Tx) error {
		var err error
		complete, err = b.checkLayout(tx)
		return err
	})
	if err == nil && !complete {
		err = b.update(b.initLayout)
	}
	if err != nil {
		db.Close()
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerFormat) {
			err = fmt.Errorf("ticketstore: open %s: %w", path, err)
		}
		return nil, err
	}
	go b.loop()
	return b, nil
}

func openBoltFile(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, r)
		}
	}()
	// A damaged file can send bbolt past the end of its memory map. Such a
	// fault must become the panic recovered above, not end the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := boltfile.CheckLength(path, timeout); err != nil {
		if te := (*boltfile.TruncatedError)(nil); errors.As(err, &te) {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, te)
		}
		return nil, openError(path, timeout, err)
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      timeout,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		return nil, openError(path, timeout, err)
	}
	return db, nil
}

func openError(path string, timeout time.Duration, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("%w: %s (waited %v)", ErrLocked, path, timeout)
	case errors.As(err, new(*fs.PathError)):
		return fmt.Errorf("ticketstore: %w", err) // it names the file
	default:
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
}

// checkLayout refuses a file that is not a ticket store of a format this
// build reads, and reports whether it has every bucket.
func (b *boltBackend) checkLayout(tx *bolt.Tx) (complete bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		empty := true
		tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if !empty {
			return false, fmt.Errorf("%w: %s: no meta bucket", ErrCorrupt, b.path)
		}
		return false, nil
	}
	v := meta.Get(keyFormat)
	if len(v) != 4 {
		return false, fmt.Errorf("%w: %s: no format version", ErrCorrupt, b.path)
	}
	if got := binary.BigEndian.Uint32(v); got > formatVersion {
		return false, fmt.Errorf("%w: %s (file has version %d, this build reads up to %d)", ErrNewerFormat, b.path, got, formatVersion)
	}
	for _, name := range [][]byte{bucketParts, bucketServers, bucketExpiry} {
		if tx.Bucket(name) == nil {
			return false, nil
		}
	}
	return true, nil
}

// initLayout creates the buckets a new file lacks.
func (b *boltBackend) initLayout(tx *bolt.Tx) error {
	if _, err := b.checkLayout(tx); err != nil {
		return err
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if meta.Get(keyFormat) == nil {
		if err := meta.Put(keyFormat, binary.BigEndian.AppendUint32(nil, formatVersion)); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketParts, bucketServers, bucketExpiry} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	_, _, err = cookieBuckets(tx)
	return err
}

// view and update run a transaction and turn a bbolt panic, or a fault
// reading outside the file's memory map, either of which a damaged file can
// cause, into an error naming the file.
func (b *boltBackend) view(fn func(*bolt.Tx) error) (err error) {
	defer b.recoverCorrupt(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return b.db.View(fn)
}

func (b *boltBackend) update(fn func(*bolt.Tx) error) (err error) {
	defer b.recoverCorrupt(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return b.db.Update(fn)
}

func (b *boltBackend) recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("ticketstore: %s: %w: %v", b.path, ErrCorrupt, r)
	}
}

func stateKey(id PartitionID, server string) string { return string(id[:]) + server }

func indexKey(lastUse uint64, key []byte) []byte {
	k := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(k, lastUse)
	return append(k, key...)
}

func (b *boltBackend) Init(fresh func() Header) (Header, error) {
	var h Header
	found := false
	readHeader := func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyHeader)
		if v == nil {
			return nil
		}
		var err error
		if h, err = decodeHeader(v); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrCorrupt, b.path, err)
		}
		found = true
		return nil
	}
	// Read first, so that opening an existing store does not write to it.
	if err := b.view(readHeader); err != nil || found {
		return h, err
	}
	err := b.update(func(tx *bolt.Tx) error {
		if err := readHeader(tx); err != nil || found {
			return err
		}
		h = fresh()
		return tx.Bucket(bucketMeta).Put(keyHeader, encodeHeader(h))
	})
	return h, err
}

func (b *boltBackend) Register(id PartitionID, meta PartitionMeta) error {
	var exists bool
	err := b.view(func(tx *bolt.Tx) error {
		exists = tx.Bucket(bucketParts).Get(id[:]) != nil
		return nil
	})
	if err != nil || exists {
		return err
	}
	return b.update(func(tx *bolt.Tx) error {
		parts := tx.Bucket(bucketParts)
		if parts.Get(id[:]) != nil {
			return nil
		}
		return parts.Put(id[:], encodePart(partRecord{meta: meta}))
	})
}

// lookupLocked returns the current state for key without copying it: the
// caller must not change it. A missing or unreadable record reads as empty.
func (b *boltBackend) lookupLocked(key string) (*serverState, error) {
	if st, ok := b.pending[key]; ok {
		return st, nil
	}
	if st, ok := b.flushing[key]; ok {
		return st, nil
	}
	st := &serverState{}
	err := b.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketServers).Get([]byte(key))
		if v == nil {
			return nil
		}
		dec, err := decodeServer(v)
		if err != nil {
			b.log.Warn("ticketstore: dropping unreadable record", "file", b.path, "err", err)
			return nil
		}
		st = dec
		return nil
	})
	return st, err
}

// mutableLocked returns the state for key in the pending overlay, where the
// caller may change it.
func (b *boltBackend) mutableLocked(key string) (*serverState, error) {
	if st, ok := b.pending[key]; ok {
		return st, nil
	}
	st, err := b.lookupLocked(key)
	if err != nil {
		return nil, err
	}
	st = st.clone()
	b.pending[key] = st
	return st, nil
}

// changedLocked is called after the overlay grew. It wakes the flusher
// early when the overlay is filling and holds the caller back while it is
// full, which bounds memory when tickets arrive faster than the disk
// commits them.
func (b *boltBackend) changedLocked() {
	if b.pendingLocked() >= b.maxPending/4 {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	for b.pendingLocked() >= b.maxPending && !b.closed {
		b.swapped.Wait()
	}
}

// pendingLocked counts the records in the pending overlay.
func (b *boltBackend) pendingLocked() int { return len(b.pending) + len(b.cookies) }

func (b *boltBackend) Add(id PartitionID, server string, t Ticket) error {
	return b.change(id, server, func(st *serverState) {
		st.add(t)
		b.countLocked(id, 1, 0)
	})
}

// countLocked adds to a partition's counters, committed with the next
// flush.
func (b *boltBackend) countLocked(id PartitionID, received, taken uint64) {
	c := b.counts[id]
	c.received += received
	c.taken += taken
	b.counts[id] = c
}

func (b *boltBackend) Take(id PartitionID, server string, now time.Time) (Ticket, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Ticket{}, false, ErrClosed
	}
	key := stateKey(id, server)
	st, err := b.lookupLocked(key)
	if err != nil || len(st.tickets) == 0 {
		return Ticket{}, false, err
	}
	// Take from a copy, so that a TLS 1.2 session, which stays, costs no
	// write.
	st = st.clone()
	t, ok, changed := st.take(now)
	if ok {
		b.countLocked(id, 0, 1)
	}
	if changed {
		b.pending[key] = st
		b.changedLocked()
	}
	return t, ok, nil
}

func (b *boltBackend) Clear(id PartitionID, server string) error {
	return b.change(id, server, func(st *serverState) { st.tickets = nil })
}

func (b *boltBackend) Mark(id PartitionID, server string, until time.Time) error {
	return b.change(id, server, func(st *serverState) { st.mark = until })
}

// change applies fn, under mu, to the pending state of one server.
func (b *boltBackend) change(id PartitionID, server string, fn func(*serverState)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	st, err := b.mutableLocked(stateKey(id, server))
	if err != nil {
		return err
	}
	fn(st)
	b.changedLocked()
	return nil
}

func (b *boltBackend) Marked(id PartitionID, server string, now time.Time) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false, ErrClosed
	}
	st, err := b.lookupLocked(stateKey(id, server))
	if err != nil {
		return false, err
	}
	return st.marked(now), nil
}

// Flush commits the pending overlay in one transaction. Calls made while it
// commits go to a fresh overlay and are not held up.
func (b *boltBackend) Flush() error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	return b.flushWriteLocked()
}

func (b *boltBackend) flushWriteLocked() error {
	b.mu.Lock()
	if b.pendingLocked() == 0 && len(b.counts) == 0 {
		b.mu.Unlock()
		return nil
	}
	batch, counts, cookies := b.pending, b.counts, b.cookies
	b.flushing, b.cookiesFlushing = batch, cookies
	b.pending = make(map[string]*serverState, len(batch))
	b.counts = make(map[PartitionID]partCounts)
	b.cookies = make(map[string]*Cookie, len(cookies))
	b.swapped.Broadcast()
	b.mu.Unlock()

	err := b.update(func(tx *bolt.Tx) error {
		if err := writeBatch(tx, batch, counts); err != nil {
			return err
		}
		return writeCookies(tx, cookies)
	})

	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushing, b.cookiesFlushing = nil, nil
	if err != nil {
		// Keep the batch for the next attempt; records changed since are
		// newer and win.
		for k, st := range batch {
			if _, ok := b.pending[k]; !ok {
				b.pending[k] = st
			}
		}
		for k, c := range cookies {
			if _, ok := b.cookies[k]; !ok {
				b.cookies[k] = c
			}
		}
		for id, c := range counts {
			b.countLocked(id, c.received, c.taken)
		}
		return fmt.Errorf("ticketstore: commit to %s: %w", b.path, err)
	}
	return nil
}

func writeBatch(tx *bolt.Tx, batch map[string]*serverState, counts map[PartitionID]partCounts) error {
	parts := tx.Bucket(bucketParts)
	servers := tx.Bucket(bucketServers)
	index := tx.Bucket(bucketExpiry)
	for k, st := range batch {
		key := []byte(k)
		// A state whose partition was purged meanwhile is dropped, so a
		// purge is never undone by a late write.
		if parts.Get(key[:len(PartitionID{})]) == nil {
			continue
		}
		if err := putState(servers, index, key, st); err != nil {
			return err
		}
	}
	for id, c := range counts {
		v := parts.Get(id[:])
		if v == nil {
			continue
		}
		p, err := decodePart(v)
		if err != nil {
			continue
		}
		p.received += c.received
		p.taken += c.taken
		if err := parts.Put(id[:], encodePart(p)); err != nil {
			return err
		}
	}
	return nil
}

// putState writes (or, when empty, deletes) one server record and keeps its
// expiry index entry in step.
func putState(servers, index *bolt.Bucket, key []byte, st *serverState) error {
	if old := servers.Get(key); old != nil {
		if last, ok := indexSecond(old); ok {
			if err := index.Delete(indexKey(last, key)); err != nil {
				return err
			}
		}
	}
	if st.empty() {
		return servers.Delete(key)
	}
	rec := encodeServer(st)
	if err := servers.Put(key, rec); err != nil {
		return err
	}
	last, _ := indexSecond(rec)
	return index.Put(indexKey(last, key), nil)
}

// pruneBatch bounds the records one pruning transaction deletes, so that
// pruning a large backlog does not hold the writer for long.
const pruneBatch = 4096

func (b *boltBackend) Prune(now time.Time) (int, error) {
	total := 0
	for _, idx := range []expiryIndex{serverIndex, cookieIndex} {
		for {
			n, more, err := b.pruneOnce(now, idx)
			total += n
			if err != nil {
				return total, err
			}
			if !more {
				break
			}
		}
	}
	return total, nil
}

// expiryIndex names a bucket of records and the index of their expiry
// times, and says how many tickets a record holds.
type expiryIndex struct {
	records, index []byte
	tickets        func(rec []byte) int
}

var (
	serverIndex = expiryIndex{bucketServers, bucketExpiry, ticketCount}
	cookieIndex = expiryIndex{bucketCookies, bucketCookieExpiry, func([]byte) int { return 0 }}
)

func (b *boltBackend) pruneOnce(now time.Time, idx expiryIndex) (removed int, more bool, err error) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if b.isClosed() {
		return 0, false, ErrClosed
	}
	limit := uint64(max(now.Unix(), 0))
	err = b.update(func(tx *bolt.Tx) error {
		records := tx.Bucket(idx.records)
		index := tx.Bucket(idx.index)
		if records == nil || index == nil {
			return nil // a version 1 file has no cookie buckets
		}
		var victims [][]byte
		c := index.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k) > limit {
				break
			}
			if len(victims) == pruneBatch {
				more = true
				break
			}
			victims = append(victims, bytes.Clone(k))
		}
		for _, k := range victims {
			if v := records.Get(k[8:]); v != nil {
				removed += idx.tickets(v)
				if err := records.Delete(k[8:]); err != nil {
					return err
				}
			}
			if err := index.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return removed, more, err
}

// ticketCount reads how many tickets an encoded server record holds.
func ticketCount(rec []byte) int {
	st, err := decodeServer(rec)
	if err != nil {
		return 0
	}
	return len(st.tickets)
}

func (b *boltBackend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *boltBackend) Stats(now time.Time) ([]PartitionStats, error) {
	if err := b.Flush(); err != nil {
		return nil, err
	}
	var out []PartitionStats
	err := b.view(func(tx *bolt.Tx) error {
		servers := tx.Bucket(bucketServers)
		cookies := tx.Bucket(bucketCookies)
		return tx.Bucket(bucketParts).ForEach(func(k, v []byte) error {
			p, err := decodePart(v)
			if err != nil || len(k) != len(PartitionID{}) {
				b.log.Warn("ticketstore: unreadable partition record", "file", b.path, "err", err)
				return nil
			}
			ps := PartitionStats{PartitionMeta: p.meta, Received: p.received, Taken: p.taken}
			copy(ps.ID[:], k)
			c := servers.Cursor()
			for sk, sv := c.Seek(k); sk != nil && bytes.HasPrefix(sk, k); sk, sv = c.Next() {
				if st, err := decodeServer(sv); err == nil {
					ps.count(st, now)
				}
			}
			ps.Cookies = countCookies(cookies, k, now)
			out = append(out, ps)
			return nil
		})
	})
	return out, err
}

// count adds one server's state to the statistics.
func (ps *PartitionStats) count(st *serverState, now time.Time) {
	if st.marked(now) {
		ps.Marked++
	}
	live := 0
	for _, t := range st.tickets {
		if !t.live(now) {
			ps.Expired++
			continue
		}
		live++
		if ps.FirstExpiry.IsZero() || t.Expires.Before(ps.FirstExpiry) {
			ps.FirstExpiry = t.Expires
		}
		if t.Expires.After(ps.LastExpiry) {
			ps.LastExpiry = t.Expires
		}
	}
	if live > 0 {
		ps.Servers++
		ps.Tickets += live
	}
}

func (b *boltBackend) Purge(id PartitionID) error {
	return b.purge(func(key []byte) bool { return bytes.HasPrefix(key, id[:]) })
}

func (b *boltBackend) PurgeAll() error {
	return b.purge(func([]byte) bool { return true })
}

// purge deletes the partitions whose keys match, holding mu throughout so
// that no handshake reads a record the purge is deleting and writes it
// back.
func (b *boltBackend) purge(match func(key []byte) bool) error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	for k := range b.pending {
		if match([]byte(k)) {
			delete(b.pending, k)
		}
	}
	for id := range b.counts {
		if match(id[:]) {
			delete(b.counts, id)
		}
	}
	for k := range b.cookies {
		if match([]byte(k)) {
			delete(b.cookies, k)
		}
	}
	return b.update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketParts, bucketServers, bucketCookies} {
			if err := deleteMatching(tx.Bucket(name), match); err != nil {
				return err
			}
		}
		indexed := func(k []byte) bool { return len(k) >= 8 && match(k[8:]) }
		for _, name := range [][]byte{bucketExpiry, bucketCookieExpiry} {
			if err := deleteMatching(tx.Bucket(name), indexed); err != nil {
				return err
			}
		}
		return nil
	})
}

// deleteMatching deletes the keys of bk that match. A missing bucket (a
// version 1 file's cookie buckets) holds none.
func deleteMatching(bk *bolt.Bucket, match func([]byte) bool) error {
	if bk == nil {
		return nil
	}
	var keys [][]byte
	err := bk.ForEach(func(k, _ []byte) error {
		if match(k) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := bk.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// loop commits the overlay every interval, or sooner when it fills, and
// prunes now and then. It owns no state of its own: Close stops it.
func (b *boltBackend) loop() {
	defer close(b.done)
	tick := time.NewTicker(b.interval)
	defer tick.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
		case <-b.kick:
		}
		if err := b.Flush(); err != nil {
			b.log.Warn("ticketstore: flush failed; will retry", "err", err)
		}
		if now := b.now(); now.Sub(lastPrune) >= b.pruneEvery {
			lastPrune = now
			if _, err := b.Prune(now); err != nil {
				b.log.Warn("ticketstore: prune failed", "file", b.path, "err", err)
			}
		}
	}
}

func (b *boltBackend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.closed = true
	b.swapped.Broadcast()
	b.mu.Unlock()

	close(b.stop)
	<-b.done
	err := b.Flush()
	if cerr := b.db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("ticketstore: close %s: %w", b.path, cerr)
	}
	return err
}
