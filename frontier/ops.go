package frontier

import (
	"bytes"
	"encoding/binary"
	"time"
)

func hostID(k []byte) uint64 {
	if len(k) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

// pushItem is a request that passed validation.
type pushItem struct {
	c   canonURL
	req Request
	fp  [16]byte
}

// pushOp queues the requests that are not duplicates.
type pushOp struct {
	waiter
	items      []pushItem
	added, dup int
}

func (o *pushOp) apply(t *txn) error {
	for i := range o.items {
		it := &o.items[i]
		if t.seen.Get(it.fp[:]) != nil {
			o.dup++
			continue
		}
		if err := t.seen.Put(it.fp[:], []byte{}); err != nil {
			return err
		}
		hr, err := t.host(it.c.hostname)
		if err != nil {
			return err
		}
		k := queueKey(hr.ID, it.req.Priority, t.m.NextSeq)
		t.m.NextSeq++
		rec := record{URL: it.c.url, Referer: it.req.Referer, Data: it.req.Data,
			Depth: it.req.Depth, Priority: it.req.Priority}
		if err := t.queue.Put(k, rec.encode()); err != nil {
			return err
		}
		hr.Queued++
		t.added[it.c.hostname]++
		t.m.Queued++
		t.m.Seen++
		o.added++
	}
	return nil
}

func (o *pushOp) committed(s *Bolt) { s.counts.Seen += int64(o.added) }

// leaseOp journals a lease. The record stays in the queue, hidden from Next by
// hostState.pending, until the lease is settled; the journal entry lets the next Open
// count the attempt if the process dies first. Next does not wait for it: if a crash
// comes before it commits, the URL is simply queued again, as any interrupted lease is.
type leaseOp struct {
	jkey, key []byte
}

func (o *leaseOp) apply(t *txn) error {
	t.m.Leased++
	return t.leased.Put(o.jkey, o.key)
}

func (o *leaseOp) committed(*Bolt) {}
func (o *leaseOp) finish(error)    {}

// skipOp records a queued URL as failed without leasing it.
type skipOp struct {
	h          *hostState
	key        []byte
	rec        record
	disallowed bool
}

func (o *skipOp) apply(t *txn) error {
	if err := t.dequeue(o.key, o.h.name); err != nil {
		return err
	}
	return t.putFailed(o.key, o.rec, o.disallowed)
}

func (o *skipOp) committed(s *Bolt) { s.unpendLocked(o.h, o.key) }
func (o *skipOp) finish(error)      {}

// settleOp ends a lease: done, failed, delayed for a retry or back in the queue.
type settleOp struct {
	waiter
	kind         settleKind
	h            *hostState
	jkey, key    []byte
	rec          record
	due          time.Time // settleRetry
	resetBackoff bool      // settleDone
}

type settleKind int

const (
	settleDone settleKind = iota
	settleFail
	settleRetry
	settleReclaim
)

func (o *settleOp) apply(t *txn) error {
	if t.leased.Get(o.jkey) == nil {
		// The lease op is always committed first, so this means the file was
		// changed behind our back.
		t.s.log.Error("frontier: settled lease missing from file", "file", t.s.path,
			"url", o.rec.URL)
		return nil
	}
	if err := t.leased.Delete(o.jkey); err != nil {
		return err
	}
	t.m.Leased--
	if o.kind == settleReclaim {
		// Back in view of Next, with the attempt counted.
		if _, err := t.host(o.h.name); err != nil {
			return err
		}
		t.added[o.h.name]++
		return t.queue.Put(o.key, o.rec.encode())
	}
	if err := t.dequeue(o.key, o.h.name); err != nil {
		return err
	}
	switch o.kind {
	case settleDone:
		t.m.Done++
		if o.resetBackoff {
			hr, err := t.host(o.h.name)
			if err != nil {
				return err
			}
			hr.BackoffLevel, hr.BackoffUntil = 0, 0
		}
		return nil
	case settleFail:
		return t.putFailed(o.key, o.rec, false)
	default:
		t.m.Delayed++
		return t.delayed.Put(delayedKey(o.due.UnixNano(), o.key), o.rec.encode())
	}
}

func (o *settleOp) committed(s *Bolt) {
	switch o.kind {
	case settleRetry:
		if s.delayedDue.IsZero() || o.due.Before(s.delayedDue) {
			s.delayedDue = o.due
		}
	case settleReclaim:
		s.inTransit--
	}
	s.unpendLocked(o.h, o.key)
}

func (o *settleOp) finish(err error) {
	if o.done != nil {
		o.waiter.finish(err)
	}
}

// promoteOp moves retries that are due from the delayed bucket to the queue.
type promoteOp struct {
	limit   int
	moved   int64
	nextDue time.Time
}

func (o *promoteOp) apply(t *txn) error {
	type kv struct{ k, v []byte }
	var due []kv
	c := t.delayed.Cursor()
	now := t.now.UnixNano()
	for k, v := c.First(); k != nil && len(due) < o.limit; k, v = c.Next() {
		if len(k) == delayedKeyLen && delayedDue(k) > now {
			break
		}
		due = append(due, kv{bytes.Clone(k), bytes.Clone(v)})
	}
	for _, e := range due {
		if err := t.delayed.Delete(e.k); err != nil {
			return err
		}
		t.m.Delayed--
		o.moved++
		rec, err := decodeRecord(e.v)
		if err != nil || len(e.k) != delayedKeyLen {
			t.s.log.Error("frontier: dropping corrupt delayed record", "file", t.s.path,
				"err", err)
			err = t.putFailed(e.k, record{Reason: "corrupt record"}, false)
		} else {
			err = t.requeue(e.k[8:], rec)
		}
		if err != nil {
			return err
		}
	}
	if k, _ := c.First(); k != nil && len(k) == delayedKeyLen {
		o.nextDue = time.Unix(0, delayedDue(k))
	}
	return nil
}

func (o *promoteOp) committed(s *Bolt) {
	s.promoting = false
	s.delayedDue = o.nextDue
	s.counts.Delayed -= o.moved
}

func (o *promoteOp) finish(error) {}

// backoffOp pauses a host.
type backoffOp struct {
	waiter
	host       string
	retryAfter time.Duration
	until      time.Time
	level      int
}

func (o *backoffOp) apply(t *txn) error {
	hr, err := t.host(o.host)
	if err != nil {
		return err
	}
	hr.BackoffLevel++
	o.level = hr.BackoffLevel
	o.until = t.now.Add(t.s.cfg.backoffFor(o.level, o.retryAfter))
	if o.until.UnixNano() > hr.BackoffUntil {
		hr.BackoffUntil = o.until.UnixNano()
	}
	o.until = time.Unix(0, hr.BackoffUntil)
	return nil
}

func (o *backoffOp) committed(s *Bolt) {
	if h := s.hosts[o.host]; h != nil {
		h.backoffLevel = o.level
		if o.until.After(h.backoffUntil) {
			h.backoffUntil = o.until
		}
		s.ready.fix(h, s.cfg.PerHost)
	}
}

// robotsOp stores a robots.txt outcome.
type robotsOp struct {
	origin string
	rec    robotsRecord
}

func (o *robotsOp) apply(t *txn) error {
	return t.robots.Put([]byte(o.origin), o.rec.encode())
}

func (o *robotsOp) committed(*Bolt) {}
func (o *robotsOp) finish(error)    {}
