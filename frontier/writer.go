package frontier

import (
	"context"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writer commits operations in groups: whatever accumulates while one transaction
// commits goes into the next, so concurrent callers share one fsync. Operations are
// applied in the order they were enqueued.
type writer struct {
	signal chan struct{} // capacity 1: ops were added or closing was set
	done   chan struct{} // closed when run returns

	// mu guards ops and closing.
	mu      sync.Mutex
	ops     []op
	closing bool
}

// op is one change to the file.
type op interface {
	// apply makes the change inside the write transaction. An error aborts the whole
	// batch and breaks the frontier; recoverable problems are logged instead.
	apply(t *txn) error
	// committed updates the in-memory state once the change is durable; s.mu is held.
	committed(s *Bolt)
	// finish reports the outcome to whoever waits for it.
	finish(err error)
}

func (w *writer) init() {
	w.signal = make(chan struct{}, 1)
	w.done = make(chan struct{})
}

// enqueue hands op to the writer without blocking, so it may be called with Bolt.mu
// held.
func (s *Bolt) enqueue(o op) error {
	w := &s.w
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return ErrClosed
	}
	w.ops = append(w.ops, o)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
	return nil
}

func (w *writer) close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func (w *writer) take(max int) (ops []op, closing bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(len(w.ops), max)
	ops = w.ops[:n:n]
	if n == len(w.ops) {
		w.ops = nil
	} else {
		w.ops = append([]op(nil), w.ops[n:]...)
	}
	return ops, w.closing
}

func (w *writer) run(s *Bolt) {
	defer close(w.done)
	for {
		ops, closing := w.take(s.cfg.MaxBatch)
		if len(ops) == 0 {
			if closing {
				return
			}
			<-w.signal
			continue
		}
		s.commit(ops)
	}
}

// commit applies ops in one transaction and publishes the outcome.
func (s *Bolt) commit(ops []op) {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()

	var t *txn
	if err == nil {
		err = s.update(func(tx *bolt.Tx) error {
			var err error
			if t, err = newTxn(tx, s); err != nil {
				return err
			}
			for _, o := range ops {
				if err := o.apply(t); err != nil {
					return err
				}
			}
			return t.flush()
		})
	}

	s.mu.Lock()
	if err == nil {
		s.syncHostsLocked(t)
		for _, o := range ops {
			o.committed(s)
		}
	} else if s.err == nil {
		s.err = fmt.Errorf("frontier: commit %s: %w", s.path, err)
		s.log.Error("frontier: commit failed; the frontier stops", "file", s.path,
			"err", err)
	}
	s.broadcastLocked()
	if s.err != nil {
		err = s.err
	}
	s.mu.Unlock()

	for _, o := range ops {
		o.finish(err)
	}
}

// syncHostsLocked adds the URLs a batch put in the queue to the hosts in memory,
// loading the hosts that were not.
func (s *Bolt) syncHostsLocked(t *txn) {
	for name, n := range t.added {
		h := s.hosts[name]
		if h == nil {
			h = newHostState(name, *t.hostRecs[name])
			h.queued = 0
			s.hosts[name] = h
		}
		h.queued += n
		s.counts.Queued += n
		s.ready.fix(h, s.cfg.PerHost)
	}
}

// txn is the state of one write transaction.
type txn struct {
	s                                   *Bolt
	tx                                  *bolt.Tx
	seen, hosts, queue, leased, delayed *bolt.Bucket
	failed, robots, meta                *bolt.Bucket
	m                                   metaState
	now                                 time.Time
	hostRecs                            map[string]*hostRecord // read or changed
	dirty                               map[string]bool        // to be written back
	added                               map[string]int64       // URLs queued per host
}

func newTxn(tx *bolt.Tx, s *Bolt) (*txn, error) {
	t := &txn{s: s, tx: tx, now: time.Now(), hostRecs: map[string]*hostRecord{},
		dirty: map[string]bool{}, added: map[string]int64{},
		seen: tx.Bucket(bucketSeen), hosts: tx.Bucket(bucketHosts),
		queue: tx.Bucket(bucketQueue), leased: tx.Bucket(bucketLeased),
		delayed: tx.Bucket(bucketDelayed), failed: tx.Bucket(bucketFailed),
		robots: tx.Bucket(bucketRobots), meta: tx.Bucket(bucketMeta)}
	m, err := decodeMeta(t.meta.Get(keyState))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path, err)
	}
	t.m = m
	return t, nil
}

// host returns the record of a host, creating it if needed; the caller may change it.
func (t *txn) host(name string) (*hostRecord, error) {
	if r := t.hostRecs[name]; r != nil {
		t.dirty[name] = true
		return r, nil
	}
	r := &hostRecord{}
	if v := t.hosts.Get([]byte(name)); v != nil {
		rec, err := decodeHost(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: host %q: %v", ErrCorrupt, t.s.path, name, err)
		}
		*r = rec
	} else {
		r.ID = t.m.NextHost
		t.m.NextHost++
	}
	t.hostRecs[name] = r
	t.dirty[name] = true
	return r, nil
}

// flush writes back changed host records and the counters.
func (t *txn) flush() error {
	for name := range t.dirty {
		if err := t.hosts.Put([]byte(name), t.hostRecs[name].encode()); err != nil {
			return err
		}
	}
	return t.meta.Put(keyState, t.m.encode())
}

// requeue puts rec in its host's queue under k, or under a key with the right host ID if
// the host record was lost.
func (t *txn) requeue(k []byte, rec record) error {
	name := hostnameOf(rec.URL)
	hr, err := t.host(name)
	if err != nil {
		return err
	}
	if hostID(k) != hr.ID {
		k = queueKey(hr.ID, rec.Priority, t.m.NextSeq)
		t.m.NextSeq++
	}
	if err := t.queue.Put(k, rec.encode()); err != nil {
		return err
	}
	hr.Queued++
	t.added[name]++
	t.m.Queued++
	return nil
}

// putFailed records rec as failed under k.
func (t *txn) putFailed(k []byte, rec record, disallowed bool) error {
	rec.Time = t.now.UnixNano()
	t.m.Failed++
	if disallowed {
		t.m.Disallowed++
	}
	return t.failed.Put(k, rec.encode())
}

// failQueued moves a queued record to the failed bucket.
func (t *txn) failQueued(k []byte, rec record) error {
	name := hostnameOf(rec.URL)
	if rec.URL == "" {
		// Undecodable: find the host by its ID, or leave the count for Next to fix.
		name = t.hostByID(hostID(k))
	}
	if name != "" {
		if err := t.dequeue(k, name); err != nil {
			return err
		}
	} else if err := t.queue.Delete(k); err != nil {
		return err
	}
	return t.putFailed(k, rec, false)
}

// hostByID finds a host name by scanning the hosts bucket; only for damaged records.
func (t *txn) hostByID(id uint64) string {
	c := t.hosts.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if r, err := decodeHost(v); err == nil && r.ID == id {
			return string(k)
		}
	}
	return ""
}

// dequeue removes k from its host's queue.
func (t *txn) dequeue(k []byte, hostname string) error {
	if t.queue.Get(k) == nil {
		return nil
	}
	hr, err := t.host(hostname)
	if err != nil {
		return err
	}
	hr.Queued--
	t.m.Queued--
	return t.queue.Delete(k)
}

// waiter is embedded by operations whose caller waits for the commit.
type waiter struct{ done chan error }

func (w *waiter) init() { w.done = make(chan error, 1) }

func (w *waiter) finish(err error) { w.done <- err }

func (w *waiter) wait(ctx context.Context) error {
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// barrierOp changes nothing; its commit proves everything before it is durable.
type barrierOp struct{ waiter }

func (o *barrierOp) apply(*txn) error { return nil }
func (o *barrierOp) committed(*Bolt)  {}
