package frontier

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

var _ Frontier = (*Bolt)(nil)

// Push canonicalizes the requests and queues those never accepted before. It returns
// once they are committed to disk: from then on they survive a crash. Requests with a
// malformed URL or an oversized field are returned in PushResult.Rejected. Concurrent
// calls share commits.
func (s *Bolt) Push(ctx context.Context, reqs ...Request) (PushResult, error) {
	var res PushResult
	op := &pushOp{items: make([]pushItem, 0, len(reqs))}
	for _, r := range reqs {
		it, err := s.validate(r)
		if err != nil {
			res.Rejected = append(res.Rejected, urlError(r.URL, err))
			continue
		}
		op.items = append(op.items, it)
	}
	if len(op.items) == 0 {
		s.mu.Lock()
		err := s.usableLocked()
		s.mu.Unlock()
		return res, err
	}
	op.init()
	if err := s.enqueue(op); err != nil {
		return res, err
	}
	if err := op.wait(ctx); err != nil {
		return res, err
	}
	res.Added, res.Duplicates = op.added, op.dup
	return res, nil
}

func (s *Bolt) validate(r Request) (pushItem, error) {
	c, err := canonicalize(r.URL)
	switch {
	case err != nil:
		return pushItem{}, err
	case len(c.url) > s.cfg.MaxURLLength:
		return pushItem{}, fmt.Errorf("%w: url longer than %d bytes", ErrTooLarge,
			s.cfg.MaxURLLength)
	case len(r.Referer) > s.cfg.MaxURLLength:
		return pushItem{}, fmt.Errorf("%w: referer longer than %d bytes", ErrTooLarge,
			s.cfg.MaxURLLength)
	case len(r.Data) > s.cfg.MaxDataSize:
		return pushItem{}, fmt.Errorf("%w: data larger than %d bytes", ErrTooLarge,
			s.cfg.MaxDataSize)
	}
	r.URL = c.url
	r.Depth = min(max(r.Depth, 0), math.MaxInt32)
	// The write may outlive a Push whose ctx ended; the caller may reuse its buffer.
	r.Data = bytes.Clone(r.Data)
	return pushItem{c: c, req: r, fp: Fingerprint(c.url)}, nil
}

// Next returns the lease of a URL that may be fetched now: its host has a free slot,
// its delay since the host's last request start has passed, no backoff is in force and
// its robots.txt allows it. Among ready hosts it takes turns. It blocks until such a URL
// exists, returns ErrDrained when nothing is queued, leased or delayed, and ctx.Err()
// when ctx ends.
//
// When a host's robots.txt is missing or stale, the goroutine calling Next fetches it
// through Options.Robots, counting the fetch against the host's politeness limits, and
// then goes on. URLs robots.txt forbids are recorded as failed, not returned.
//
// Next does not wait for the lease to be written: a crash before it is leaves the URL
// queued, so it is fetched again, as any lease interrupted by a crash is.
func (s *Bolt) Next(ctx context.Context) (*Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if err := s.usableLocked(); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		now := time.Now()
		s.reclaimLocked(now)
		s.promoteLocked(now)

		if h := s.ready.peek(); h != nil && !h.readyAt().After(now) {
			l, fetch, err := s.tryLeaseLocked(h, now)
			if err != nil || l != nil {
				return l, err
			}
			if fetch != nil {
				if err := s.fetchRobotsUnlocked(ctx, fetch); err != nil {
					return nil, err
				}
			}
			continue
		}
		if s.drainedLocked() {
			return nil, ErrDrained
		}
		if err := s.waitLocked(ctx, now); err != nil {
			return nil, err
		}
	}
}

func (s *Bolt) drainedLocked() bool {
	c := &s.counts
	return c.Queued == 0 && c.Leased == 0 && c.Delayed == 0 && s.inTransit == 0
}

// waitLocked releases mu until something changes, the next host or retry is due, a
// lease expires or ctx ends.
func (s *Bolt) waitLocked(ctx context.Context, now time.Time) error {
	var at time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if h := s.ready.peek(); h != nil {
		earliest(h.readyAt())
	}
	if !s.promoting {
		earliest(s.delayedDue)
	}
	earliest(s.leaseCheck)

	var timeout <-chan time.Time
	if !at.IsZero() {
		t := time.NewTimer(max(at.Sub(now), time.Millisecond))
		defer t.Stop()
		timeout = t.C
	}
	wake := s.wake
	s.mu.Unlock()
	defer s.mu.Lock()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-timeout:
	}
	return nil
}

// tryLeaseLocked looks at the first URL of a ready host. It returns a lease, or a
// robots.txt fetch to make first, or neither when it recorded the URL as failed.
func (s *Bolt) tryLeaseLocked(h *hostState, now time.Time) (*Lease, *robotsFetch, error) {
	key, rec, err := s.headLocked(h)
	if err != nil {
		return nil, nil, err
	}
	if key == nil {
		// The count said there was work; trust the file and carry on.
		s.log.Error("frontier: host queue shorter than its count", "file", s.path,
			"host", h.name, "count", h.queued)
		s.counts.Queued -= h.queued
		h.queued = 0
		s.settleHostLocked(h, now)
		return nil, nil, nil
	}
	if rec == nil || hostnameOf(rec.URL) != h.name {
		// Undecodable, or decodable but not a URL of this host: damaged either way.
		s.skipLocked(h, key, record{Reason: "corrupt record"}, ErrCorrupt, now)
		return nil, nil, nil
	}
	if s.cfg.Robots != nil {
		origin := originOf(rec.URL)
		e, err := s.robotsLocked(h, origin, now)
		if err != nil {
			return nil, nil, err
		}
		if e == nil {
			return nil, s.startRobotsLocked(h, origin, now), nil
		}
		pq := rec.URL[min(len(origin), len(rec.URL)):]
		if err := e.allows(pq); err != nil {
			rec.Reason = err.Error()
			s.skipLocked(h, key, *rec, err, now)
			return nil, nil, nil
		}
	}
	return s.leaseLocked(h, key, *rec, now), nil, nil
}

// headLocked reads the first URL of a host's queue that no uncommitted operation has
// taken. rec is nil if the record cannot be decoded; key is nil if there is none.
func (s *Bolt) headLocked(h *hostState) (key []byte, rec *record, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueue).Cursor()
		p := hostPrefix(h.id)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if _, taken := h.pending[string(k)]; taken {
				continue
			}
			key = bytes.Clone(k)
			if r, err := decodeRecord(v); err == nil {
				rec = &r
			} else {
				s.log.Error("frontier: corrupt queued record", "file", s.path,
					"host", h.name, "err", err)
			}
			return nil
		}
		return nil
	})
	return key, rec, err
}

func (s *Bolt) leaseLocked(h *hostState, key []byte, rec record, now time.Time) *Lease {
	rec.Attempts++
	h.pending[string(key)] = struct{}{}
	h.queued--
	h.inflight++
	h.nextStart = now.Add(s.cfg.hostDelay(h.crawlDelay))
	s.turn++
	h.turn = s.turn
	s.ready.fix(h, s.cfg.PerHost)
	s.counts.Queued--
	s.counts.Leased++

	s.lastLease++
	jkey := binary.BigEndian.AppendUint64(nil, s.lastLease)
	ls := &leaseState{host: h, jkey: jkey, key: key, rec: rec}
	if s.cfg.LeaseTimeout > 0 {
		ls.deadline = now.Add(s.cfg.LeaseTimeout)
		if s.leaseCheck.IsZero() || ls.deadline.Before(s.leaseCheck) {
			s.leaseCheck = ls.deadline
		}
	}
	s.leases[s.lastLease] = ls
	s.enqueueLocked(&leaseOp{jkey: jkey, key: key})
	req := rec.request()
	req.Data = bytes.Clone(req.Data) // ls.rec keeps the original for Retry
	return &Lease{Request: req, ID: s.lastLease, Host: h.name,
		Attempts: rec.Attempts, Start: now, Deadline: ls.deadline}
}

// skipLocked records a queued URL as failed without handing it out.
func (s *Bolt) skipLocked(h *hostState, key []byte, rec record, reason error, now time.Time) {
	disallowed := errors.Is(reason, ErrDisallowed)
	h.pending[string(key)] = struct{}{}
	h.queued--
	s.counts.Queued--
	s.counts.Failed++
	if disallowed {
		s.counts.Disallowed++
	}
	s.settleHostLocked(h, now)
	s.enqueueLocked(&skipOp{h: h, key: key, rec: rec, disallowed: disallowed})
	if s.cfg.OnSkip != nil {
		s.cfg.OnSkip(rec.request(), reason)
	}
}

// enqueueLocked hands an operation nobody waits for to the writer. If the writer is
// gone the frontier is closed, which the caller learns on its next call.
func (s *Bolt) enqueueLocked(o op) {
	if err := s.enqueue(o); err != nil {
		s.log.Debug("frontier: change dropped after close", "file", s.path)
	}
}

// unpendLocked forgets a key once its removal from the queue is committed.
func (s *Bolt) unpendLocked(h *hostState, key []byte) {
	delete(h.pending, string(key))
	s.settleHostLocked(h, time.Now())
}

// settleHostLocked repositions h in the ready heap and drops it from memory when
// nothing needs it there.
func (s *Bolt) settleHostLocked(h *hostState, now time.Time) {
	s.ready.fix(h, s.cfg.PerHost)
	if h.idle(now) && s.hosts[h.name] == h {
		delete(s.hosts, h.name)
	}
}

// reclaimLocked takes back leases past their deadline.
func (s *Bolt) reclaimLocked(now time.Time) {
	if s.leaseCheck.IsZero() || now.Before(s.leaseCheck) {
		return
	}
	s.leaseCheck = time.Time{}
	for id, ls := range s.leases {
		if now.Before(ls.deadline) {
			if s.leaseCheck.IsZero() || ls.deadline.Before(s.leaseCheck) {
				s.leaseCheck = ls.deadline
			}
			continue
		}
		s.log.Warn("frontier: lease expired", "file", s.path, "url", ls.rec.URL)
		delete(s.leases, id)
		op := &settleOp{kind: settleReclaim, h: ls.host, jkey: ls.jkey, key: ls.key,
			rec: ls.rec}
		if ls.rec.Attempts >= s.cfg.MaxAttempts {
			op.kind = settleFail
			op.rec.Reason = fmt.Sprintf("%v: lease expired", ErrMaxAttempts)
			s.counts.Failed++
		} else {
			s.inTransit++
		}
		s.counts.Leased--
		ls.host.inflight--
		s.settleHostLocked(ls.host, now)
		s.enqueueLocked(op)
	}
}

// promoteLocked asks the writer to move due retries to the queue.
func (s *Bolt) promoteLocked(now time.Time) {
	if s.promoting || s.delayedDue.IsZero() || now.Before(s.delayedDue) {
		return
	}
	s.promoting = true
	s.enqueueLocked(&promoteOp{limit: 1024})
}

// Done settles l as fetched. Once it returns nil the URL is never handed out again.
func (s *Bolt) Done(ctx context.Context, l *Lease) error {
	return s.settle(ctx, l, settleDone, nil)
}

// Fail settles l as failed for good, recording cause as the reason.
func (s *Bolt) Fail(ctx context.Context, l *Lease, cause error) error {
	return s.settle(ctx, l, settleFail, cause)
}

// Retry settles l as failed for now. The URL waits RetryDelay, doubled for each
// earlier attempt (at most MaxRetryDelay, with jitter), then queues again. If l was its
// last attempt (Options.MaxAttempts), it is recorded as failed with an error wrapping
// ErrMaxAttempts and cause instead.
func (s *Bolt) Retry(ctx context.Context, l *Lease, cause error) error {
	return s.settle(ctx, l, settleRetry, cause)
}

func (s *Bolt) settle(ctx context.Context, l *Lease, kind settleKind, cause error) error {
	if l == nil {
		return ErrUnknownLease
	}
	s.mu.Lock()
	if err := s.usableLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	ls := s.leases[l.ID]
	if ls == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownLease, l.URL)
	}
	delete(s.leases, l.ID)
	now := time.Now()
	h := ls.host
	h.inflight--
	s.counts.Leased--

	op := &settleOp{kind: kind, h: h, jkey: ls.jkey, key: ls.key, rec: ls.rec}
	op.init()
	if kind == settleRetry && ls.rec.Attempts >= s.cfg.MaxAttempts {
		op.kind, cause = settleFail, fmt.Errorf("%w: %v", ErrMaxAttempts, causeText(cause))
	}
	switch op.kind {
	case settleDone:
		s.counts.Done++
		op.resetBackoff = h.backoffLevel > 0
		h.backoffLevel = 0
	case settleFail:
		s.counts.Failed++
		op.rec.Reason = causeText(cause)
	case settleRetry:
		s.counts.Delayed++
		op.rec.Reason = causeText(cause)
		op.due = now.Add(jitter(s.cfg.retryDelay(ls.rec.Attempts)))
	}
	s.settleHostLocked(h, now)
	s.broadcastLocked()
	err := s.enqueue(op)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return op.wait(ctx)
}

func causeText(err error) string {
	if err == nil {
		return "unspecified"
	}
	return err.Error()
}

// jitter spreads d by up to 10% either way so retries of a batch do not come back
// together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := int64(d) / 5
	if spread == 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(rand.Int64N(spread))
}

// Backoff pauses host: no lease of it is handed out for at least retryAfter, or for
// BackoffBase doubled for each earlier Backoff since the host's last Done, whichever is
// longer, capped at MaxBackoff. The pause is durable once Backoff returns. host is a
// Lease.Host.
func (s *Bolt) Backoff(ctx context.Context, host string, retryAfter time.Duration) error {
	op := &backoffOp{host: strings.ToLower(host), retryAfter: retryAfter}
	op.init()
	if err := s.enqueue(op); err != nil {
		return err
	}
	return op.wait(ctx)
}
