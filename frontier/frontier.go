package frontier

import (
	"context"
	"time"
)

// Frontier is a durable queue of URLs to crawl that enforces politeness: see the package
// documentation for the guarantees every implementation gives. [Bolt] is the
// implementation backed by a local file; package frontiertest holds the conformance
// suite that every implementation passes.
//
// Implementations are safe for concurrent use by multiple goroutines.
type Frontier interface {
	// Push canonicalizes and queues requests whose URL the frontier has never accepted
	// before. It returns once the accepted ones are durable. A request that cannot be
	// queued (a malformed URL, an oversized field) is reported in PushResult.Rejected and
	// does not stop the others. The error is non-nil only if nothing could be recorded
	// (closed, storage failure) or ctx ended first, in which case the requests may or
	// may not have been queued.
	Push(ctx context.Context, reqs ...Request) (PushResult, error)

	// Next blocks until a URL may be fetched under the politeness rules and returns its
	// lease. It returns ErrDrained when nothing is queued, leased or waiting for a retry,
	// and ctx.Err() when ctx ends first.
	Next(ctx context.Context) (*Lease, error)

	// Done settles a lease as fetched. Once it returns nil the URL is never handed out
	// again, also after a crash.
	Done(ctx context.Context, l *Lease) error

	// Retry settles a lease as failed for a reason that may go away. The URL is queued
	// again after an exponential backoff, or recorded as failed with ErrMaxAttempts
	// when the lease used its last attempt.
	Retry(ctx context.Context, l *Lease, cause error) error

	// Fail settles a lease as failed for good, recording cause.
	Fail(ctx context.Context, l *Lease, cause error) error

	// Backoff stops handing out URLs of host for at least retryAfter (a server's
	// Retry-After; 0 if it gave none), growing exponentially while the host keeps
	// asking, until a lease of the host is settled with Done. Use it on 429 and 503.
	Backoff(ctx context.Context, host string, retryAfter time.Duration) error

	// Stats returns counts of URLs by state.
	Stats(ctx context.Context) (Stats, error)

	// Sync returns once every change made before the call is durable, including
	// leases handed out by Next.
	Sync(ctx context.Context) error

	// Close makes all changes durable and releases the frontier. Outstanding leases
	// return to the queue when the state is opened again.
	Close() error
}

// Request is a URL to crawl with the data that travels with it.
type Request struct {
	// URL is an absolute http or https URL. Push canonicalizes it; leases carry the
	// canonical form.
	URL string

	// Depth is the number of links followed from a seed. The frontier stores it and
	// gives it back; limits belong to the caller.
	Depth int

	// Priority orders the URLs of one host: higher first, equal in push order. It does
	// not make one host more urgent than another.
	Priority int32

	// Referer is the URL of the page that linked here, if any. It is stored as given.
	Referer string

	// Data is opaque to the frontier and survives restarts with the URL: per-request
	// state such as headers or a callback name.
	Data []byte
}

// Lease is a URL handed out by Next. Settle it with exactly one of Done, Retry or Fail,
// passing the same *Lease.
type Lease struct {
	Request

	// ID identifies the lease within the frontier that issued it.
	ID uint64

	// Host is the canonical host name of the URL, the unit of politeness: the value to
	// pass to Backoff.
	Host string

	// Attempts counts the leases of this URL so far, including this one and those
	// interrupted by a crash.
	Attempts int

	// Start is when the lease was granted. Politeness delays count from it.
	Start time.Time

	// Deadline is when the frontier takes the lease back and queues the URL again,
	// zero if never. Settling the lease after it fails with ErrUnknownLease.
	Deadline time.Time
}

// PushResult reports what Push did with each request.
type PushResult struct {
	Added      int         // requests queued
	Duplicates int         // requests whose URL was accepted before, in any state
	Rejected   []*URLError // requests refused, with the reason
}

// Stats holds the number of URLs in each state.
type Stats struct {
	Queued     int64 // waiting for a lease
	Leased     int64 // handed out and not yet settled
	Delayed    int64 // waiting for a retry after backoff
	Done       int64 // fetched
	Failed     int64 // given up, including Disallowed
	Disallowed int64 // refused by robots.txt
	Seen       int64 // distinct URLs ever accepted: the sum of the above but Disallowed
	Hosts      int   // hosts with URLs queued or leased
}
