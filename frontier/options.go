package frontier

import (
	"context"
	"log/slog"
	"time"
)

// RobotsFunc fetches a robots.txt for the frontier, through the caller's own transport
// and exit. It returns the final HTTP status after following redirects (at most five,
// per RFC 9309), the body (the frontier reads at most 500 KiB of it), or an error when no
// response was received. It must honour ctx.
type RobotsFunc func(ctx context.Context, robotsURL string) (status int, body []byte, err error)

// Options configures a frontier. A nil *Options and zero fields mean the defaults given
// for each field. Fields marked "bbolt" concern only [Bolt].
type Options struct {
	// Logger receives rare events: recovery at open, corrupt records, robots.txt errors.
	// Nil discards them.
	Logger *slog.Logger

	// PerHost is the maximum number of leases of one host outstanding at once,
	// robots.txt fetches included. Default 2.
	PerHost int

	// Delay is the minimum time between the starts of two requests to one host.
	// Default 0.
	Delay time.Duration

	// MaxCrawlDelay caps the Crawl-delay a robots.txt may ask for. Default 1 minute.
	MaxCrawlDelay time.Duration

	// BackoffBase is the first pause Backoff imposes without a Retry-After; each
	// further Backoff before a Done doubles it. Default 30 seconds.
	BackoffBase time.Duration

	// MaxBackoff caps the pauses of Backoff, Retry-After included. Default 6 hours.
	MaxBackoff time.Duration

	// MaxAttempts is how many leases a URL gets before Retry, an expired lease or a
	// crash during its fetch records it as failed. Default 3.
	MaxAttempts int

	// RetryDelay is how long Retry waits before the second attempt; each further
	// attempt doubles it, with 10% jitter. Default 30 seconds.
	RetryDelay time.Duration

	// MaxRetryDelay caps the wait before a retry. Default 30 minutes.
	MaxRetryDelay time.Duration

	// LeaseTimeout is how long a lease lasts before the frontier queues its URL again.
	// Keep it above the longest fetch. Default 10 minutes; negative means never.
	LeaseTimeout time.Duration

	// Robots fetches robots.txt files. Nil disables robots.txt.
	Robots RobotsFunc

	// UserAgent is the crawler's product token, matched case-insensitively against
	// robots.txt user-agent lines; anything after the token ("revisit/1.0 (...)") is
	// ignored. Default "revisit".
	UserAgent string

	// RobotsTTL is how long a fetched robots.txt is used before it is fetched again.
	// Default 24 hours, the most RFC 9309 allows.
	RobotsTTL time.Duration

	// RobotsRetryDelay is how long a host waits after its robots.txt answered 5xx or 429
	// or could not be reached; it doubles with each failure. After RobotsAttempts
	// failures the host is treated as disallowing everything for an hour, and its URLs
	// fail with ErrRobotsUnavailable. Default 1 minute.
	RobotsRetryDelay time.Duration

	// RobotsAttempts is how many times an unreachable robots.txt is tried. Default 3.
	RobotsAttempts int

	// RobotsTimeout bounds one call of Robots: its context ends after this long, and a
	// fetch cut short counts as unreachable. A server that trickles its robots.txt
	// forever would otherwise hold its host, and the goroutine calling Next, for good.
	// Default 1 minute.
	RobotsTimeout time.Duration

	// OnSkip, if set, is called for each URL that Next records as failed without handing
	// it out (disallowed by robots.txt, robots.txt unreachable, a corrupt record), from
	// the goroutine calling Next with the frontier's lock held: it must return quickly
	// and must not call the frontier.
	OnSkip func(req Request, reason error)

	// MaxURLLength is the longest canonical URL accepted. Default 8192 bytes.
	MaxURLLength int

	// MaxDataSize is the largest Request.Data accepted. Default 64 KiB.
	MaxDataSize int

	// NoSync (bbolt) skips fsync. A process crash, SIGKILL included, still loses nothing
	// once a call returned, but an operating system crash or power loss may lose recent
	// changes or the whole file. For tests and throwaway crawls.
	NoSync bool

	// LockTimeout (bbolt) is how long Open waits for another process to release the
	// file. Default 1 second.
	LockTimeout time.Duration

	// MaxBatch (bbolt) caps the operations committed in one transaction. Default 4096.
	MaxBatch int
}

// config is Options with the defaults filled in.
type config struct {
	Options
	agent string
}

func newConfig(o *Options) config {
	var c config
	if o != nil {
		c.Options = *o
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&c.PerHost, 2)
	setDefault(&c.MaxCrawlDelay, time.Minute)
	setDefault(&c.BackoffBase, 30*time.Second)
	setDefault(&c.MaxBackoff, 6*time.Hour)
	setDefault(&c.MaxAttempts, 3)
	setDefault(&c.RetryDelay, 30*time.Second)
	setDefault(&c.MaxRetryDelay, 30*time.Minute)
	setDefault(&c.LeaseTimeout, 10*time.Minute)
	setDefault(&c.UserAgent, "revisit")
	setDefault(&c.RobotsTTL, 24*time.Hour)
	setDefault(&c.RobotsRetryDelay, time.Minute)
	setDefault(&c.RobotsAttempts, 3)
	setDefault(&c.RobotsTimeout, time.Minute)
	setDefault(&c.MaxURLLength, 8192)
	setDefault(&c.MaxDataSize, 64<<10)
	setDefault(&c.LockTimeout, time.Second)
	setDefault(&c.MaxBatch, 4096)
	c.agent = productToken(c.UserAgent)
	if c.agent == "" {
		c.agent = "revisit"
	}
	return c
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// hostDelay is the spacing between request starts for a host whose robots.txt asks for
// crawlDelay.
func (c *config) hostDelay(crawlDelay time.Duration) time.Duration {
	d := min(crawlDelay, c.MaxCrawlDelay)
	return max(d, c.Delay)
}

// retryDelay is the wait before attempt n+1 after n failed attempts, without jitter.
func (c *config) retryDelay(n int) time.Duration {
	d := c.RetryDelay
	for i := 1; i < n && d < c.MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, c.MaxRetryDelay)
}

// WithDefaults returns a copy of o, which may be nil, with every zero field set to its
// default, so that implementations of [Frontier] outside this package resolve options
// as [Bolt] does. Logger is never nil in the result.
func WithDefaults(o *Options) Options {
	return newConfig(o).Options
}

// RetryWait returns how long a URL waits after its attempts-th failed attempt before it
// is queued again: RetryDelay doubled for each earlier attempt, at most MaxRetryDelay,
// spread by up to 10% either way. Zero fields of o mean their defaults.
func (o *Options) RetryWait(attempts int) time.Duration {
	c := newConfig(o)
	return jitter(c.retryDelay(attempts))
}
