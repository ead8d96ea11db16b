package redisfrontier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/revisit-crawl/revisit/frontier"
)

var _ frontier.Frontier = (*Frontier)(nil)

// formatVersion is the key layout this package writes; Open refuses a crawl with a
// newer one.
const formatVersion = 1

// closeTimeout bounds the Redis calls of Open and Close, which take no context.
const closeTimeout = 10 * time.Second

// ErrNoCrawl is returned by Open for a URL without a crawl name.
var ErrNoCrawl = errors.New("redisfrontier: url has no crawl name (?crawl=NAME)")

// Frontier is a [frontier.Frontier] kept in Redis, shared by every process that opens
// the same crawl. Open it with [Open]. It is safe for concurrent use.
type Frontier struct {
	rdb    *redis.Client
	prefix string // of every key of the crawl
	crawl  string
	cfg    frontier.Options // defaults filled in
	log    *slog.Logger

	// gate is held for reading by every call that talks to Redis and for writing by
	// Close, so that Close releases the leases handed out before it and none after.
	gate sync.RWMutex

	// mu guards the fields below.
	mu     sync.Mutex
	closed bool
	leases map[uint64]struct{}     // URL leases this Frontier handed out, not settled
	robots map[string]*robotsEntry // parsed robots.txt files, by origin
	wake   chan struct{}           // closed and replaced when Next may find something new
}

// Open connects to the crawl named by rawURL, redis://[:password@]host:port/DB?crawl=NAME
// (rediss:// for TLS), creating it if it is new. Every key of the crawl starts with
// "revisit:f:{NAME}:". The other query parameters are go-redis options, such as
// dial_timeout. Fields of opts marked bbolt are ignored.
//
// Open does not take back leases left by processes that died: they come back when
// their deadline (Options.LeaseTimeout) passes, whichever process calls Next then.
func Open(rawURL string, opts *frontier.Options) (*Frontier, error) {
	crawl, redisURL, err := splitCrawl(rawURL)
	if err != nil {
		return nil, err
	}
	ro, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("redisfrontier: open crawl %s: %w", crawl, err)
	}
	// Plain Redis servers know neither; asking would only fill their logs.
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{
		Mode: maintnotifications.ModeDisabled}

	cfg := frontier.WithDefaults(opts)
	f := &Frontier{rdb: redis.NewClient(ro), prefix: "revisit:f:{" + crawl + "}:",
		crawl: crawl, cfg: cfg, log: cfg.Logger, leases: map[uint64]struct{}{},
		robots: map[string]*robotsEntry{}, wake: make(chan struct{})}
	if err := f.checkFormat(); err != nil {
		f.rdb.Close()
		return nil, err
	}
	return f, nil
}

// splitCrawl takes the crawl parameter out of the URL.
func splitCrawl(rawURL string) (crawl, rest string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error quotes the URL, password included.
		return "", "", errors.New("redisfrontier: malformed URL")
	}
	q := u.Query()
	crawl = q.Get("crawl")
	if crawl == "" {
		return "", "", ErrNoCrawl
	}
	q.Del("crawl")
	u.RawQuery = q.Encode()
	return crawl, u.String(), nil
}

// checkFormat marks a new crawl with the layout version and refuses a newer one.
func (f *Frontier) checkFormat() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	key := f.prefix + "format"
	if err := f.rdb.SetNX(ctx, key, formatVersion, 0).Err(); err != nil {
		return fmt.Errorf("redisfrontier: open crawl %s: %w", f.crawl, err)
	}
	v, err := f.rdb.Get(ctx, key).Int()
	if err != nil {
		return fmt.Errorf("%w: crawl %s: format: %v", frontier.ErrCorrupt, f.crawl, err)
	}
	if v > formatVersion {
		return fmt.Errorf("%w: crawl %s has format %d, this version reads up to %d",
			frontier.ErrNewerFormat, f.crawl, v, formatVersion)
	}
	return nil
}

// Crawl returns the name of the crawl.
func (f *Frontier) Crawl() string { return f.crawl }

// enter starts a call that uses Redis; leave ends it.
func (f *Frontier) enter() error {
	f.gate.RLock()
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		f.gate.RUnlock()
		return frontier.ErrClosed
	}
	return nil
}

func (f *Frontier) leave() { f.gate.RUnlock() }

// broadcast wakes the goroutines of this process waiting in Next. Other processes
// notice changes by polling.
func (f *Frontier) broadcast() {
	f.mu.Lock()
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// redisErr wraps an error of a Redis call.
func (f *Frontier) redisErr(op string, err error) error {
	return fmt.Errorf("redisfrontier: %s (crawl %s): %w", op, f.crawl, err)
}

// Stats returns the number of URLs in each state, counted over every process sharing
// the crawl.
func (f *Frontier) Stats(ctx context.Context) (frontier.Stats, error) {
	if err := f.enter(); err != nil {
		return frontier.Stats{}, err
	}
	defer f.leave()
	v, err := f.rdb.HMGet(ctx, f.prefix+"stats", "queued", "leased", "delayed", "done",
		"failed", "disallowed", "seen", "hosts").Result()
	if err != nil {
		return frontier.Stats{}, f.redisErr("stats", err)
	}
	n := make([]int64, len(v))
	for i, x := range v {
		if s, ok := x.(string); ok {
			n[i], _ = strconv.ParseInt(s, 10, 64)
		}
	}
	return frontier.Stats{Queued: n[0], Leased: n[1], Delayed: n[2], Done: n[3],
		Failed: n[4], Disallowed: n[5], Seen: n[6], Hosts: int(n[7])}, nil
}

// Sync returns nil: every call has reached Redis by the time it returns. How durable
// that is depends on the server's persistence settings (appendonly, appendfsync).
func (f *Frontier) Sync(ctx context.Context) error {
	if err := f.enter(); err != nil {
		return err
	}
	f.leave()
	return ctx.Err()
}

// Close gives back the leases this Frontier handed out and did not settle (their URLs
// are queued again, with the attempt counted) and disconnects. A Next blocked in
// another goroutine returns ErrClosed. Closing twice is a no-op.
func (f *Frontier) Close() error {
	ids, ok := f.shut()
	if !ok {
		return nil
	}
	defer f.rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := f.release(ctx, ids); err != nil {
		return err
	}
	return nil
}

// shut marks the frontier closed, waits for the calls in progress and returns the
// leases left. ok is false if it was closed already.
func (f *Frontier) shut() (ids []uint64, ok bool) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, false
	}
	f.closed = true
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()

	f.gate.Lock()
	defer f.gate.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.leases {
		ids = append(ids, id)
	}
	clear(f.leases)
	return ids, true
}

// release queues the URLs of leases again.
func (f *Frontier) release(ctx context.Context, ids []uint64) error {
	const batch = 512
	for len(ids) > 0 {
		n := min(len(ids), batch)
		args := []any{f.prefix, f.cfg.PerHost, f.cfg.MaxAttempts}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		ids = ids[n:]
		if err := releaseScript.Run(ctx, f.rdb, nil, args...).Err(); err != nil {
			return f.redisErr("release leases", err)
		}
	}
	return nil
}
