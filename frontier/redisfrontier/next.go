package redisfrontier

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
)

// pollInterval bounds how long Next sleeps between looks at Redis: changes made by
// other processes (a Done, a Push) wake no one here, so Next sees them at the latest
// this long after.
const pollInterval = 25 * time.Millisecond

// robotsLockSlack caps what is added to RobotsTimeout for the lock that makes one
// process fetch an origin's robots.txt while the others wait: the fetch has that long
// (at most RobotsTimeout again) to be recorded before another process may try.
const robotsLockSlack = 5 * time.Second

// Next returns the lease of a URL that may be fetched now under the politeness rules
// shared by every process of the crawl. It blocks until one exists, returns
// frontier.ErrDrained when no process has anything queued, leased or waiting for a
// retry, and ctx.Err() when ctx ends.
//
// Each call first takes back the leases of any process that are past their deadline
// and queues the retries that are due. When an origin's robots.txt is missing or
// stale, the goroutine calling Next fetches it through Options.Robots while the other
// processes wait for it; URLs robots.txt forbids are recorded as failed, not returned.
func (f *Frontier) Next(ctx context.Context) (*frontier.Lease, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, wait, job, err := f.tryNext(ctx)
		if err != nil || l != nil {
			return l, err
		}
		if job != nil {
			// Fetched without holding the gate, so that Close need not wait for it.
			if err := f.fetchRobots(ctx, job); err != nil {
				return nil, err
			}
			continue
		}
		if wait < 0 {
			continue
		}
		if err := f.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// tryNext runs the lease script once. It returns a lease, or a robots.txt to fetch, or
// how long to wait before trying again (negative: at once), or ErrDrained.
func (f *Frontier) tryNext(ctx context.Context) (
	*frontier.Lease, time.Duration, *robotsJob, error) {
	if err := f.enter(); err != nil {
		return nil, 0, nil, err
	}
	defer f.leave()
	robots := 0
	if f.cfg.Robots != nil {
		robots = 1
	}
	lock := f.cfg.RobotsTimeout + min(f.cfg.RobotsTimeout, robotsLockSlack)
	v, err := leaseScript.Run(ctx, f.rdb, nil, f.prefix, f.cfg.PerHost,
		micros(f.cfg.LeaseTimeout), micros(f.cfg.Delay), f.cfg.MaxAttempts, robots,
		lock.Milliseconds()).Slice()
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, nil, ctx.Err()
		}
		return nil, 0, nil, f.redisErr("next", err)
	}
	r := reply(v)
	switch r.str(0) {
	case "L":
		l, wait, err := f.leased(ctx, r)
		return l, wait, nil, err
	case "R":
		return nil, 0, &robotsJob{id: r.uint(1), origin: r.str(2), host: r.str(3)}, nil
	}
	if r.int(3) == 1 {
		return nil, 0, nil, frontier.ErrDrained
	}
	wait := pollInterval
	if at := r.int(2); at > 0 {
		wait = min(wait, max(time.Duration(at-r.int(1))*time.Microsecond, time.Millisecond))
	}
	return nil, wait, nil, nil
}

// leased turns an "L" answer into a lease, or records the URL as failed when its
// robots.txt forbids it.
func (f *Frontier) leased(ctx context.Context, r reply) (*frontier.Lease, time.Duration, error) {
	id := r.uint(1)
	req, err := decodeRecord([]byte(r.str(2)))
	origin, host := frontier.SplitURL(req.URL)
	if err != nil {
		f.log.Error("redisfrontier: corrupt queued record", "crawl", f.crawl, "err", err)
		return nil, -1, f.skip(ctx, id, r, req, err)
	}
	if header := r.str(6); header != "" {
		reason, err := f.allows(ctx, origin, header, req.URL[len(origin):])
		if err != nil {
			// The lease stands; its deadline or Close gives it back.
			f.track(id)
			return nil, 0, err
		}
		if reason != nil {
			return nil, -1, f.skip(ctx, id, r, req, reason)
		}
	}
	l := &frontier.Lease{Request: req, ID: id, Host: host, Attempts: int(r.int(3)),
		Start: time.UnixMicro(r.int(4))}
	if d := r.int(5); d > 0 {
		l.Deadline = time.UnixMicro(d)
	}
	f.track(id)
	return l, 0, nil
}

// track remembers a lease this Frontier handed out, for Close to give back.
func (f *Frontier) track(id uint64) {
	f.mu.Lock()
	f.leases[id] = struct{}{}
	f.mu.Unlock()
}

// skip records a leased URL as failed for reason and tells Options.OnSkip.
func (f *Frontier) skip(ctx context.Context, id uint64, r reply, req frontier.Request,
	reason error) error {

	disallowed := 0
	if errors.Is(reason, frontier.ErrDisallowed) {
		disallowed = 1
	}
	err := skipScript.Run(ctx, f.rdb, nil, f.prefix, f.cfg.PerHost, id, reason.Error(),
		disallowed, r.str(7), r.str(8)).Err()
	if err != nil {
		return f.redisErr("skip", err)
	}
	if f.cfg.OnSkip != nil {
		f.cfg.OnSkip(req, reason)
	}
	return nil
}

// sleep waits d, or until this process changes something, or ctx ends.
func (f *Frontier) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	wake, closed := f.wake, f.closed
	f.mu.Unlock()
	if closed {
		return frontier.ErrClosed
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-t.C:
	}
	return nil
}

// micros converts d to microseconds for the scripts; negative stays negative.
func micros(d time.Duration) int64 { return d.Microseconds() }

// reply reads the array a script answered.
type reply []any

func (r reply) str(i int) string {
	if i >= len(r) {
		return ""
	}
	switch v := r[i].(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(r[i])
}

func (r reply) int(i int) int64 {
	n, _ := strconv.ParseInt(r.str(i), 10, 64)
	return n
}

func (r reply) uint(i int) uint64 {
	n, _ := strconv.ParseUint(r.str(i), 10, 64)
	return n
}
