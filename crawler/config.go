package crawler

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
)

// Scope says which links a crawl follows.
type Scope int

const (
	// ScopeHost follows links to the seeds' hosts only.
	ScopeHost Scope = iota
	// ScopeDomain follows links within the seeds' registrable domains,
	// approximated as the last two labels of the host name.
	ScopeDomain
	// ScopeAny follows every link.
	ScopeAny
)

// ParseScope parses "host", "domain" or "any".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "host":
		return ScopeHost, nil
	case "domain":
		return ScopeDomain, nil
	case "any":
		return ScopeAny, nil
	}
	return 0, &ConfigError{Field: "scope", Reason: "want host, domain or any, not " + s}
}

// Config configures a [Crawler]. Zero values mean the defaults given for
// each field.
type Config struct {
	// Frontier holds the crawl's URLs. Required.
	Frontier frontier.Frontier

	// Transport fetches pages; the crawler follows redirects itself, so
	// it is used as a RoundTripper, not through http.Client. Required:
	// usually a *transport.Transport.
	Transport http.RoundTripper

	// MaxDepth is how many links deep from the seeds the crawl goes: 0
	// fetches the seeds only; negative means no limit.
	MaxDepth int

	// MaxPages stops the crawl after this many fetched pages. Zero means
	// no limit.
	MaxPages int

	// Concurrency is the number of fetches in flight. Zero means 16.
	// Per-host limits are the frontier's.
	Concurrency int

	// Scope says which links are followed. The zero value is ScopeHost.
	Scope Scope

	// Filter, if set, is asked about every URL before it is queued; false
	// drops it.
	Filter func(*url.URL) bool

	// HTMLTypes are the media types parsed as HTML for OnHTML callbacks.
	// Nil means text/html and application/xhtml+xml.
	HTMLTypes []string

	// MaxBodySize caps a response body after decoding; the rest is not
	// read and the page is recorded with ErrBodyTooLarge. Zero means 10
	// MiB.
	MaxBodySize int64

	// MaxRedirects bounds the redirect hops followed from one URL. Zero
	// means 10.
	MaxRedirects int

	// FetchTimeout bounds one fetch, headers and body. Zero means 60s.
	FetchTimeout time.Duration

	// Blocked, if set, is asked about every response whose body was read,
	// before any callback: true means the site has blocked the visitor
	// (a ban page, a CAPTCHA, a 403 it gives crawlers). The page is
	// recorded with ErrBlocked and queued again for later, like a failed
	// fetch, and when Transport has a Retire method, as
	// *transport.Transport does, the identity that fetched it is retired
	// for BlockCooldown, so that the exits of the pool carry on.
	Blocked func(*Response) bool
	// BlockCooldown is how long a blocked identity rests. Zero means 30
	// minutes.
	BlockCooldown time.Duration

	// Sink receives a record for every fetched page and the items
	// callbacks emit. Nil discards them.
	Sink Sink

	// Progress, if set, receives a progress line now and then: redrawn in
	// place on a terminal, appended every 10 seconds otherwise.
	Progress io.Writer

	// Logger receives crawl events at debug level and problems at warn
	// level. Nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.HTMLTypes == nil {
		c.HTMLTypes = []string{"text/html", "application/xhtml+xml"}
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = 10 << 20
	}
	if c.MaxRedirects <= 0 {
		c.MaxRedirects = 10
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = 60 * time.Second
	}
	if c.BlockCooldown <= 0 {
		c.BlockCooldown = 30 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
