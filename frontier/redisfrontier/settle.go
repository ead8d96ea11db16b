package redisfrontier

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
)

// Done settles l as fetched. Once it returns nil no process of the crawl hands the URL
// out again; only its fingerprint stays in Redis.
func (f *Frontier) Done(ctx context.Context, l *frontier.Lease) error {
	return f.settle(ctx, l, "D", "", 0)
}

// Fail settles l as failed for good, recording cause as the reason.
func (f *Frontier) Fail(ctx context.Context, l *frontier.Lease, cause error) error {
	return f.settle(ctx, l, "F", causeText(cause), 0)
}

// Retry settles l as failed for now. The URL waits Options.RetryDelay, doubled for each
// earlier attempt (at most MaxRetryDelay, with jitter), then queues again. If l was
// its last attempt (Options.MaxAttempts), it is recorded as failed with a reason that
// starts with frontier.ErrMaxAttempts instead.
func (f *Frontier) Retry(ctx context.Context, l *frontier.Lease, cause error) error {
	if l != nil && l.Attempts >= f.cfg.MaxAttempts {
		reason := fmt.Sprintf("%v: %s", frontier.ErrMaxAttempts, causeText(cause))
		return f.settle(ctx, l, "F", reason, 0)
	}
	wait := time.Duration(0)
	if l != nil {
		wait = f.cfg.RetryWait(l.Attempts)
	}
	return f.settle(ctx, l, "R", causeText(cause), wait)
}

func (f *Frontier) settle(ctx context.Context, l *frontier.Lease, op, reason string,
	wait time.Duration) error {

	if l == nil {
		return frontier.ErrUnknownLease
	}
	if err := f.enter(); err != nil {
		return err
	}
	defer f.leave()
	ok, err := settleScript.Run(ctx, f.rdb, nil, f.prefix, f.cfg.PerHost, l.ID, op, reason,
		micros(wait)).Int()
	if err != nil {
		return f.redisErr("settle "+l.URL, err)
	}
	f.mu.Lock()
	delete(f.leases, l.ID)
	f.mu.Unlock()
	if ok == 0 {
		return fmt.Errorf("%w: %s", frontier.ErrUnknownLease, l.URL)
	}
	f.broadcast()
	return nil
}

func causeText(err error) string {
	if err == nil {
		return "unspecified"
	}
	return err.Error()
}

// Backoff pauses host for every process of the crawl: no lease of it is handed out for
// at least retryAfter, or for Options.BackoffBase doubled for each earlier Backoff
// since the host's last Done, whichever is longer, capped at MaxBackoff. host is a
// Lease.Host.
func (f *Frontier) Backoff(ctx context.Context, host string, retryAfter time.Duration) error {
	if err := f.enter(); err != nil {
		return err
	}
	defer f.leave()
	err := backoffScript.Run(ctx, f.rdb, nil, f.prefix, f.cfg.PerHost, strings.ToLower(host),
		micros(retryAfter), micros(f.cfg.BackoffBase), micros(f.cfg.MaxBackoff)).Err()
	if err != nil {
		return f.redisErr("backoff "+host, err)
	}
	return nil
}
