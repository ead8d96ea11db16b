package frontier

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/revisit-crawl/revisit/internal/boltfile"
)

// Bucket names. See record.go for the keys and values.
var (
	bucketMeta    = []byte("meta")    // "format" and "state" (metaState)
	bucketSeen    = []byte("seen")    // Fingerprint -> empty
	bucketHosts   = []byte("hosts")   // host name -> hostRecord
	bucketQueue   = []byte("queue")   // queue key -> record
	bucketLeased  = []byte("leased")  // lease ID -> queue key
	bucketDelayed = []byte("delayed") // delayed key -> record
	bucketFailed  = []byte("failed")  // queue key -> record with Reason
	bucketRobots  = []byte("robots")  // origin -> robotsRecord

	allBuckets = [][]byte{bucketMeta, bucketSeen, bucketHosts, bucketQueue, bucketLeased,
		bucketDelayed, bucketFailed, bucketRobots}

	keyFormat = []byte("format")
	keyState  = []byte("state")
)

// Bolt is a [Frontier] stored in a bbolt file. Open it with [Open]; it is safe for
// concurrent use. Only one process can open a file at a time.
type Bolt struct {
	db   *bolt.DB
	path string
	cfg  config
	log  *slog.Logger
	w    writer

	// mu guards the fields below and every hostState. Lock order: mu, then w.mu. Code
	// holding mu opens only short read transactions.
	mu         sync.Mutex
	closed     bool
	err        error // sticky: a commit failed, nothing more is accepted
	hosts      map[string]*hostState
	ready      readyHeap
	leases     map[uint64]*leaseState
	lastLease  uint64
	leaseCheck time.Time // earliest lease deadline; zero if none
	delayedDue time.Time // earliest retry due; zero if none
	promoting  bool      // a promoteOp is queued
	inTransit  int       // reclaimed URLs on their way back to the queue
	turn       uint64
	counts     Stats
	wake       chan struct{} // closed and replaced when Next may find something new
}

// leaseState is an outstanding lease.
type leaseState struct {
	host     *hostState
	jkey     []byte // key in the leased bucket
	key      []byte // key in the queue bucket
	rec      record
	deadline time.Time
}

// metaState holds the counters kept in the meta bucket, updated with every commit.
type metaState struct {
	Queued, Leased, Delayed, Done, Failed, Disallowed, Seen int64
	NextHost, NextSeq                                       uint64
}

func (m *metaState) encode() []byte {
	b := make([]byte, 0, 9*binary.MaxVarintLen64)
	for _, v := range []int64{m.Queued, m.Leased, m.Delayed, m.Done, m.Failed,
		m.Disallowed, m.Seen, int64(m.NextHost), int64(m.NextSeq)} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func decodeMeta(b []byte) (metaState, error) {
	var m metaState
	d := decoder{b: b}
	for _, p := range []*int64{&m.Queued, &m.Leased, &m.Delayed, &m.Done, &m.Failed,
		&m.Disallowed, &m.Seen} {
		*p = int64(d.int(1 << 62))
	}
	m.NextHost, m.NextSeq = d.uvarint(), d.uvarint()
	return m, d.finish("meta state")
}

// Open opens or creates the frontier state file at path, creating its directory with
// mode 0700 and the file with mode 0600. URLs leased by a previous process that did not
// settle them (it crashed, or closed with leases outstanding) are queued again, or
// recorded as failed if they used their last attempt. Opening reads the counters, the
// host table and the leases; its cost does not grow with the number of URLs.
//
// Open returns an error wrapping ErrLocked if another process has the file open,
// ErrCorrupt if it is not a readable frontier file, ErrNewerFormat if a newer version
// wrote it; each names the file.
func Open(path string, opts *Options) (*Bolt, error) {
	cfg := newConfig(opts)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("frontier: open %s: %w", path, err)
	}
	db, err := openDB(path, &cfg)
	if err != nil {
		return nil, err
	}
	// The state holds the crawl's URLs and the data callers attach to them.
	if err := boltfile.TightenMode(path); err != nil {
		db.Close()
		return nil, fmt.Errorf("frontier: open %s: %w", path, err)
	}
	s := &Bolt{db: db, path: path, cfg: cfg, log: cfg.Logger,
		hosts: map[string]*hostState{}, leases: map[uint64]*leaseState{},
		wake: make(chan struct{})}
	s.w.init()
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	go s.w.run(s)
	return s, nil
}

func openDB(path string, cfg *config) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: open %s: %v", ErrCorrupt, path, r)
		}
	}()
	// A damaged file can send bbolt past the end of its memory map. Such a
	// fault must become the panic recovered above, not end the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := boltfile.CheckLength(path, cfg.LockTimeout); err != nil {
		if te := (*boltfile.TruncatedError)(nil); errors.As(err, &te) {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, te)
		}
		return nil, openError(path, err)
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      cfg.LockTimeout,
		NoSync:       cfg.NoSync,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		return nil, openError(path, err)
	}
	return db, nil
}

// openError names the file in an error of bolt.Open. Errors of the system,
// such as a missing permission, are passed on; the others are about what
// the file holds (not a bbolt file, damaged meta pages, too short).
func openError(path string, err error) error {
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return fmt.Errorf("%w: %s", ErrLocked, path)
	case errors.As(err, new(*fs.PathError)):
		return fmt.Errorf("frontier: %w", err) // it names the file
	case errors.As(err, new(syscall.Errno)):
		return fmt.Errorf("frontier: open %s: %w", path, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
}

// load checks the file and rebuilds the in-memory state. It writes only to lay out a
// new file or to requeue the leases a previous process left, and only once the file
// passed the checks, so that a file it refuses is left as it was.
func (s *Bolt) load() error {
	var fresh, orphans bool
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		if fresh, err = s.checkBuckets(tx); err != nil || fresh {
			return err
		}
		if _, err := s.readMeta(tx); err != nil {
			return err
		}
		orphans = hasKeys(tx.Bucket(bucketLeased))
		if !orphans {
			return nil
		}
		// The host table is read after the requeue commits: check it before.
		return s.readHosts(tx, func(string, hostRecord) {})
	})
	if err != nil {
		return err
	}
	if fresh || orphans {
		err := s.update(func(tx *bolt.Tx) error {
			if fresh {
				if err := createBuckets(tx); err != nil {
					return err
				}
			}
			t, err := newTxn(tx, s)
			if err != nil {
				return err
			}
			if err := s.requeueLeases(t); err != nil {
				return err
			}
			return t.flush()
		})
		if err != nil {
			return err
		}
	}
	return s.view(s.readState)
}

// readState reads the counters, the earliest retry and the hosts that have work.
func (s *Bolt) readState(tx *bolt.Tx) error {
	m, err := s.readMeta(tx)
	if err != nil {
		return err
	}
	s.counts = Stats{Queued: m.Queued, Delayed: m.Delayed, Done: m.Done, Failed: m.Failed,
		Disallowed: m.Disallowed, Seen: m.Seen}
	if k, _ := tx.Bucket(bucketDelayed).Cursor().First(); k != nil {
		s.delayedDue = time.Unix(0, delayedDue(k))
	}
	now := time.Now()
	return s.readHosts(tx, func(name string, rec hostRecord) {
		if rec.Queued > 0 || rec.BackoffUntil > now.UnixNano() {
			h := newHostState(name, rec)
			s.hosts[h.name] = h
			s.ready.fix(h, s.cfg.PerHost)
		}
	})
}

func (s *Bolt) readMeta(tx *bolt.Tx) (metaState, error) {
	m, err := decodeMeta(tx.Bucket(bucketMeta).Get(keyState))
	if err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path, err)
	}
	return m, nil
}

// readHosts decodes every host record and passes it to fn.
func (s *Bolt) readHosts(tx *bolt.Tx, fn func(name string, rec hostRecord)) error {
	return tx.Bucket(bucketHosts).ForEach(func(k, v []byte) error {
		rec, err := decodeHost(v)
		if err != nil {
			return fmt.Errorf("%w: %s: host %q: %v", ErrCorrupt, s.path, k, err)
		}
		fn(string(k), rec)
		return nil
	})
}

// checkBuckets reports whether the file is new, and refuses one that is not a
// frontier of a format this version reads.
func (s *Bolt) checkBuckets(tx *bolt.Tx) (fresh bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if hasBuckets(tx) {
			return false, fmt.Errorf("%w: %s is not a frontier state file", ErrCorrupt, s.path)
		}
		return true, nil
	}
	v, n := binary.Uvarint(meta.Get(keyFormat))
	if n <= 0 {
		return false, fmt.Errorf("%w: %s: no format version", ErrCorrupt, s.path)
	}
	if v > formatVersion {
		return false, fmt.Errorf("%w: %s has format %d, this version reads up to %d",
			ErrNewerFormat, s.path, v, formatVersion)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return false, fmt.Errorf("%w: %s: bucket %s missing", ErrCorrupt, s.path, name)
		}
	}
	return false, nil
}

// createBuckets lays out a new file.
func createBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keyFormat, binary.AppendUvarint(nil, formatVersion)); err != nil {
		return err
	}
	return meta.Put(keyState, (&metaState{NextHost: 1}).encode())
}

func hasBuckets(tx *bolt.Tx) bool {
	k, _ := tx.Cursor().First()
	return k != nil
}

func hasKeys(b *bolt.Bucket) bool {
	k, _ := b.Cursor().First()
	return k != nil
}

// requeueLeases settles the leases a previous process left behind: their URLs are
// still in the queue; each gets its interrupted attempt counted, and fails if that was
// its last.
func (s *Bolt) requeueLeases(t *txn) error {
	type kv struct{ k, v []byte }
	var leased []kv
	err := t.leased.ForEach(func(k, v []byte) error {
		leased = append(leased, kv{bytes.Clone(k), bytes.Clone(v)})
		return nil
	})
	if err != nil {
		return err
	}
	requeued, failed := 0, 0
	for _, e := range leased {
		if err := t.leased.Delete(e.k); err != nil {
			return err
		}
		t.m.Leased--
		v := t.queue.Get(e.v)
		if v == nil {
			continue
		}
		rec, err := decodeRecord(v)
		switch {
		case err != nil:
			s.log.Error("frontier: dropping corrupt queued record", "file", s.path,
				"err", err)
			err = t.failQueued(e.v, record{Reason: "corrupt record"})
			failed++
		case rec.Attempts+1 >= s.cfg.MaxAttempts:
			rec.Attempts++
			rec.Reason = fmt.Sprintf("%v: interrupted by a restart", ErrMaxAttempts)
			err = t.failQueued(e.v, rec)
			failed++
		default:
			rec.Attempts++
			err = t.queue.Put(e.v, rec.encode())
			requeued++
		}
		if err != nil {
			return err
		}
	}
	t.m.Leased = 0
	if len(leased) > 0 {
		s.log.Info("frontier: requeued leases of a previous run", "file", s.path,
			"requeued", requeued, "failed", failed)
	}
	return nil
}

// view runs fn in a read transaction, turning a panic of bbolt on a damaged file, or a
// fault reading outside the file's memory map, into an error naming the file.
func (s *Bolt) view(fn func(*bolt.Tx) error) (err error) {
	defer s.recoverTo(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := s.db.View(fn); err != nil {
		return s.wrapErr(err)
	}
	return nil
}

// update runs fn in a write transaction, like view.
func (s *Bolt) update(fn func(*bolt.Tx) error) (err error) {
	defer s.recoverTo(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := s.db.Update(fn); err != nil {
		return s.wrapErr(err)
	}
	return nil
}

func (s *Bolt) recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path, r)
	}
}

func (s *Bolt) wrapErr(err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNewerFormat) {
		return err
	}
	return fmt.Errorf("frontier: %s: %w", s.path, err)
}

// Path returns the file the frontier is stored in.
func (s *Bolt) Path() string { return s.path }

// Stats returns the number of URLs in each state, counted in memory: it costs no I/O.
func (s *Bolt) Stats(ctx context.Context) (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return Stats{}, err
	}
	st := s.counts
	for _, h := range s.hosts {
		if h.queued > 0 || h.inflight > 0 {
			st.Hosts++
		}
	}
	return st, nil
}

// Sync returns once every change made before it is committed, including leases and
// robots.txt results that Next records without waiting.
func (s *Bolt) Sync(ctx context.Context) error {
	op := &barrierOp{}
	op.init()
	if err := s.enqueue(op); err != nil {
		return err
	}
	return op.wait(ctx)
}

// Close commits everything pending, stops the writer and closes the file. Outstanding
// leases stay recorded as leased, so their URLs are queued again by the next Open. A
// Next blocked in another goroutine returns ErrClosed. Closing twice is a no-op.
func (s *Bolt) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.broadcastLocked()
	s.mu.Unlock()

	s.w.close()
	<-s.w.done
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("frontier: close %s: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// usableLocked returns why the frontier cannot be used, or nil.
func (s *Bolt) usableLocked() error {
	if s.closed {
		return ErrClosed
	}
	return s.err
}

// broadcastLocked wakes every goroutine waiting in Next.
func (s *Bolt) broadcastLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// Failure is a URL recorded as failed, with the reason.
type Failure struct {
	Request
	Reason   string    // the cause given to Fail or Retry, or what Next found
	Attempts int       // leases the URL had
	Time     time.Time // when it was recorded
}

// Failures calls fn for each failed URL, in host order, until fn returns false or ctx
// ends. It reads from one snapshot and may run alongside the other methods.
func (s *Bolt) Failures(ctx context.Context, fn func(Failure) bool) error {
	s.mu.Lock()
	err := s.usableLocked()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFailed).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := decodeRecord(v)
			if err != nil {
				rec = record{Reason: "corrupt record"}
			}
			f := Failure{Request: rec.request(), Reason: rec.Reason, Attempts: rec.Attempts,
				Time: time.Unix(0, rec.Time)}
			if !fn(f) {
				return nil
			}
		}
		return nil
	})
}
