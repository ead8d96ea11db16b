package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/andybalholm/cascadia"
	"golang.org/x/sync/errgroup"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/transport"
)

// Crawler runs a crawl: workers take URLs from the frontier, fetch them
// through the transport, run the callbacks and queue the links they
// follow. Register callbacks before Run; Stats may be called at any time
// from any goroutine.
type Crawler struct {
	cfg Config
	log *slog.Logger

	// Callbacks, registered before Run and read-only while it runs.
	onRequest  []func(*Request)
	onResponse []func(*Response)
	onHTML     []htmlCallback
	onError    []func(*Response, error)
	onScraped  []func(*Response)
	badSel     error

	running atomic.Bool
	started atomic.Int64 // fetches begun, for MaxPages
	stats   stats

	// mu guards scope, the hosts the crawl stays on.
	mu    sync.Mutex
	scope map[string]bool
}

type htmlCallback struct {
	selector string
	fn       func(*Element)
}

// New returns a crawler.
func New(cfg Config) (*Crawler, error) {
	if cfg.Frontier == nil {
		return nil, &ConfigError{Field: "Frontier", Reason: "required"}
	}
	if cfg.Transport == nil {
		return nil, &ConfigError{Field: "Transport", Reason: "required"}
	}
	cfg = cfg.withDefaults()
	return &Crawler{cfg: cfg, log: cfg.Logger, scope: map[string]bool{}, stats: newStats()}, nil
}

// OnRequest registers a callback run before each fetch. It may set
// headers and Data, or Abort the request.
func (c *Crawler) OnRequest(fn func(*Request)) { c.onRequest = append(c.onRequest, fn) }

// OnResponse registers a callback run for each response below 400, after
// the body is read and before OnHTML callbacks. Redirects are followed by
// the crawler and do not reach it.
func (c *Crawler) OnResponse(fn func(*Response)) { c.onResponse = append(c.onResponse, fn) }

// OnHTML registers a callback run for each element matching a CSS
// selector in HTML responses, in document order. An invalid selector makes
// Run fail.
func (c *Crawler) OnHTML(selector string, fn func(*Element)) {
	if _, err := cascadia.ParseGroup(selector); err != nil && c.badSel == nil {
		c.badSel = &ConfigError{Field: "OnHTML", Reason: fmt.Sprintf("selector %q: %v", selector, err)}
	}
	c.onHTML = append(c.onHTML, htmlCallback{selector, fn})
}

// OnError registers a callback run when a fetch fails or the server
// answers 400 or above. The response is nil when there was none. The error
// is a *FetchError.
func (c *Crawler) OnError(fn func(*Response, error)) { c.onError = append(c.onError, fn) }

// OnScraped registers a callback run after all other callbacks of a
// response below 400, once its links are queued.
func (c *Crawler) OnScraped(fn func(*Response)) { c.onScraped = append(c.onScraped, fn) }

// Run queues the seeds (those already known to the frontier are not
// queued twice, so running again on the same state resumes) and crawls
// until the frontier is drained, MaxPages pages were fetched, or ctx ends.
//
// Callbacks run on the worker goroutine that fetched the page, so several
// run at once for different pages: they must be safe for concurrent use.
// For one page the order is OnRequest, the fetch, then OnResponse, OnHTML
// (each selector in registration order) and OnScraped, or OnError instead
// of the last three.
//
// When ctx ends, fetches in flight are abandoned and Run returns ctx.Err();
// their URLs are leased in the frontier, which returns them to the queue
// when it is opened again, so the crawl resumes without loss.
func (c *Crawler) Run(ctx context.Context, seeds ...string) error {
	if c.badSel != nil {
		return c.badSel
	}
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer c.running.Store(false)
	if err := c.pushSeeds(ctx, seeds); err != nil {
		return err
	}

	// Handshakes are counted as the transport makes them, whichever
	// request made them: a connection opened for robots.txt (fetched by
	// the frontier) often carries the pages that follow.
	ctx = transport.WithTrace(ctx, &transport.Trace{TLSHandshakeDone: c.stats.addHandshake})
	g, gctx := errgroup.WithContext(ctx)
	for range c.cfg.Concurrency {
		g.Go(func() error { return c.worker(gctx) })
	}
	stopProgress := c.startProgress()
	err := g.Wait()
	stopProgress()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (c *Crawler) pushSeeds(ctx context.Context, seeds []string) error {
	reqs := make([]frontier.Request, 0, len(seeds))
	for _, s := range seeds {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &ConfigError{Field: "seed", Reason: fmt.Sprintf("%q is not an absolute http(s) URL", s)}
		}
		_, cu, err := canonical(s)
		if err != nil {
			return &ConfigError{Field: "seed", Reason: err.Error()}
		}
		c.addScope(cu.Hostname())
		reqs = append(reqs, frontier.Request{URL: s})
	}
	if len(reqs) == 0 {
		return nil
	}
	res, err := c.cfg.Frontier.Push(ctx, reqs...)
	if err != nil {
		return err
	}
	if len(res.Rejected) > 0 {
		return &ConfigError{Field: "seed", Reason: res.Rejected[0].Error()}
	}
	return nil
}

// worker leases and handles URLs until the frontier is drained, the page
// limit is reached, or ctx ends.
func (c *Crawler) worker(ctx context.Context) error {
	for {
		if max := c.cfg.MaxPages; max > 0 && c.started.Add(1) > int64(max) {
			return nil
		}
		l, err := c.cfg.Frontier.Next(ctx)
		switch {
		case errors.Is(err, frontier.ErrDrained):
			return nil
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return fmt.Errorf("crawler: frontier: %w", err)
		}
		if err := c.handle(ctx, l); err != nil {
			return err
		}
	}
}

// addScope adds a host, and for ScopeDomain its domain, to the crawl.
func (c *Crawler) addScope(host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scope[strings.ToLower(host)] = true
}

func (c *Crawler) inScope(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.cfg.Scope {
	case ScopeAny:
		return true
	case ScopeDomain:
		d := domainOf(host)
		for h := range c.scope {
			if domainOf(h) == d {
				return true
			}
		}
		return false
	default:
		return c.scope[host]
	}
}

// domainOf approximates the registrable domain by the last two labels.
// It groups a.example.com with b.example.com but also a.co.uk with b.co.uk;
// a public-suffix list would tell them apart.
func domainOf(host string) string {
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(labels) <= 2 {
		return host
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

// follow resolves link against the page, applies depth, scope and filter,
// and adds it to the links the page will queue. hops counts redirects.
func (c *Crawler) follow(r *Request, link string, hops int) error {
	u, err := r.URL.Parse(strings.TrimSpace(link))
	if err != nil {
		return fmt.Errorf("crawler: link %q on %s: %w", clip(link), r.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil // mailto:, javascript:, data: and the like
	}
	depth := r.Depth + 1
	if hops > 0 {
		depth = r.Depth
	}
	if c.cfg.MaxDepth >= 0 && depth > c.cfg.MaxDepth {
		return nil
	}
	// Go parses what the frontier refuses (ports out of range, hosts that
	// are no host names), and scope is kept by canonical host names.
	canon, cu, err := canonical(u.String())
	if err != nil {
		return fmt.Errorf("crawler: link %q on %s: %w", clip(link), r.URL, err)
	}
	if !c.inScope(cu) || (c.cfg.Filter != nil && !c.cfg.Filter(cu)) {
		return nil
	}
	referer := r.URL.String()
	if hops > 0 {
		referer = r.Referer
	}
	r.links = append(r.links, frontier.Request{
		URL:     canon,
		Depth:   depth,
		Referer: referer,
		Data:    encodePayload(maps.Clone(r.Data), hops),
	})
	return nil
}

// canonical returns the frontier's form of an absolute URL, as a string
// and parsed: lowercase, its host in Punycode, without fragment.
func canonical(raw string) (string, *url.URL, error) {
	canon, err := frontier.Canonicalize(raw)
	if err != nil {
		return "", nil, err
	}
	u, err := url.Parse(canon)
	if err != nil {
		return "", nil, err
	}
	return canon, u, nil
}

// clip shortens a URL for an error message: a hostile page's links may
// run to megabytes.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

func (c *Crawler) emit(item any) error {
	if c.cfg.Sink == nil {
		return nil
	}
	return c.cfg.Sink.WriteItem(item)
}

// Stats returns a snapshot of the crawl's statistics.
func (c *Crawler) Stats() Stats { return c.stats.snapshot() }
