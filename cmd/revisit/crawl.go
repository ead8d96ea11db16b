package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/revisit-crawl/revisit/crawler"
	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/frontier/redisfrontier"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

// crawlFlags are the flags of "revisit crawl".
type crawlFlags struct {
	state, tickets, profile, exitProbe, ca, scope, out string
	blockedStatus, blockedText                         string
	proxies, rotating                                  listFlag
	cookies, firstVisit, robots                        bool
	depth, maxPages, concurrency, perHost              int
	delay, leaseTimeout, blockCooldown, retryDelay     time.Duration
}

func newCrawlFlags() (*flag.FlagSet, *crawlFlags) {
	f := &crawlFlags{}
	fs := flag.NewFlagSet("revisit crawl", flag.ContinueOnError)
	fs.StringVar(&f.state, "state", "./revisit-state.db", "crawl state `FILE` (frontier); running again with the same file resumes;\nor redis://host:port/DB?crawl=NAME, shared by every process given it")
	fs.StringVar(&f.tickets, "tickets", defaultTicketsPath(), "ticket store `FILE`, or redis://host:port/DB to share one among processes")
	fs.StringVar(&f.profile, "profile", "chrome", "fingerprint profile (see 'revisit profiles')")
	fs.Var(&f.proxies, "proxy", "proxy `URL` (http://, https://, socks5:// with optional user:password); repeatable")
	fs.Var(&f.rotating, "proxy-rotating", "proxy `URL` whose exit may change on every connection: no ticket is offered through it; repeatable")
	fs.StringVar(&f.exitProbe, "exit-probe", "", "`URL` answering with the client's IP as plain text, asked through each proxy before\neach new connection; tickets and cookies are then kept per (proxy, observed IP)")
	fs.BoolVar(&f.cookies, "cookies", true, "keep cookies per identity (exit and profile), beside its tickets")
	fs.StringVar(&f.blockedStatus, "blocked-status", "", "comma-separated status `CODES` that mean the site blocked the visitor (as 403,429):\nthe page is fetched again later and the exit rests for --block-cooldown")
	fs.StringVar(&f.blockedText, "blocked-text", "", "`TEXT` in a page that means the site blocked the visitor, as --blocked-status")
	fs.DurationVar(&f.blockCooldown, "block-cooldown", 30*time.Minute, "how long an exit a site blocked rests; the other --proxy exits carry on")
	fs.BoolVar(&f.firstVisit, "first-visit", false, "never offer a resumption ticket (tickets received are still stored)")
	fs.StringVar(&f.ca, "ca", "", "PEM `FILE` of roots to trust in addition to the system's")
	fs.IntVar(&f.depth, "depth", 3, "link depth from the seeds (0 = seeds only)")
	fs.IntVar(&f.maxPages, "max-pages", 0, "stop after `N` fetched pages (0 = no limit)")
	fs.IntVar(&f.concurrency, "concurrency", 16, "fetches in flight overall")
	fs.IntVar(&f.perHost, "per-host", 2, "fetches in flight per host")
	fs.DurationVar(&f.delay, "delay", 0, "minimum delay between requests to one host")
	fs.DurationVar(&f.retryDelay, "retry-delay", 30*time.Second, "how long a failed fetch waits before its next attempt; doubled for each further one")
	fs.DurationVar(&f.leaseTimeout, "lease-timeout", 10*time.Minute, "how long a fetch holds its URL; a URL held longer, as by a killed\nprocess sharing a redis:// crawl, is handed out again")
	fs.StringVar(&f.scope, "scope", "host", "which links to follow: host, domain or any")
	fs.BoolVar(&f.robots, "robots", true, "obey robots.txt")
	fs.StringVar(&f.out, "out", "-", "page records as JSON Lines, appended to `FILE` (- is standard output)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: revisit crawl [flags] URL...")
		fs.PrintDefaults()
	}
	return fs, f
}

// defaultTicketsPath is $XDG_STATE_HOME/revisit/tickets.db, else
// ~/.local/state/revisit/tickets.db.
func defaultTicketsPath() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "revisit", "tickets.db")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".", "tickets.db")
	}
	return filepath.Join(home, ".local", "state", "revisit", "tickets.db")
}

// crawlSetup is what the flags resolve to before anything is opened.
type crawlSetup struct {
	seeds    []string
	profile  *transport.Profile
	scope    crawler.Scope
	proxies  []*url.URL // every exit, --proxy and --proxy-rotating
	rotating map[string]bool
	roots    *x509.CertPool
	blocked  func(*crawler.Response) bool // nil: no rule
}

func (c *cli) crawl(ctx context.Context, args []string) error {
	fs, f := newCrawlFlags()
	seeds, err := parse(fs, args)
	if err != nil {
		return err
	}
	setup, err := f.validate(fs, seeds)
	if err != nil {
		return err
	}
	level := c.logLevel
	if level == nil {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))

	routeRedisLog(log)
	store, err := openTickets(f.tickets, log)
	if err != nil {
		return err
	}
	defer store.Close()

	tr, err := c.newTransport(ctx, f, setup, store, log)
	if err != nil {
		return err
	}
	defer tr.Close()
	rt := http.RoundTripper(tr)

	fopts := &frontier.Options{Logger: log, PerHost: f.perHost, Delay: f.delay,
		LeaseTimeout: f.leaseTimeout, RetryDelay: f.retryDelay}
	if f.robots {
		fopts.Robots = robotsFetcher(rt)
	}
	front, err := openState(f.state, fopts)
	if err != nil {
		return err
	}
	defer front.Close()

	out, closeOut, err := openOut(f.out, c.stdout)
	if err != nil {
		return err
	}
	defer closeOut()

	cr, err := crawler.New(crawler.Config{
		Frontier:      front,
		Transport:     rt,
		MaxDepth:      f.depth,
		MaxPages:      f.maxPages,
		Concurrency:   f.concurrency,
		Scope:         setup.scope,
		Sink:          crawler.NewJSONLSink(out),
		Blocked:       setup.blocked,
		BlockCooldown: f.blockCooldown,
		Progress:      c.stderr,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	cr.OnHTML("a[href], area[href]", func(e *crawler.Element) { e.Follow("href") })
	err = cr.Run(ctx, setup.seeds...)
	st := cr.Stats()
	fmt.Fprint(c.stderr, st.Summary())
	if len(setup.proxies) > 0 || f.exitProbe != "" || setup.blocked != nil {
		printIdentities(c.stderr, tr.Identities())
	}
	if err == nil && st.Fetches > 0 && st.Pages == 0 {
		// Not one response: a wrong proxy password, a dead proxy, a site
		// that is down. Each failure is in the records.
		err = fmt.Errorf("no server answered: all %d fetches failed", st.Fetches)
	}
	if cerr := front.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if cerr := closeOut(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// validate checks every flag and seed before anything is opened, so that a
// mistake costs a usage message and exit status 2, and nothing else.
func (f *crawlFlags) validate(fs *flag.FlagSet, seeds []string) (*crawlSetup, error) {
	s := &crawlSetup{rotating: map[string]bool{}}
	if len(seeds) == 0 {
		return nil, usagef(fs, "crawl needs at least one URL")
	}
	for _, seed := range seeds {
		u, err := url.Parse(seed)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usagef(fs, "%q is not an absolute http or https URL", seed)
		}
	}
	s.seeds = seeds
	var err error
	if s.profile, err = transport.Lookup(f.profile); err != nil {
		return nil, usagef(fs, "%v", err)
	}
	if s.scope, err = crawler.ParseScope(f.scope); err != nil {
		return nil, usagef(fs, "--scope: want host, domain or any, not %q", f.scope)
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"depth", f.depth}, {"max-pages", f.maxPages}} {
		if n.v < 0 {
			return nil, usagef(fs, "--%s must not be negative", n.name)
		}
	}
	if f.concurrency < 1 || f.perHost < 1 {
		return nil, usagef(fs, "--concurrency and --per-host must be at least 1")
	}
	if f.delay < 0 {
		return nil, usagef(fs, "--delay must not be negative")
	}
	if f.leaseTimeout <= 0 || f.blockCooldown <= 0 || f.retryDelay <= 0 {
		return nil, usagef(fs, "--lease-timeout, --retry-delay and --block-cooldown must be positive")
	}
	if s.blocked, err = blockRule(f.blockedStatus, f.blockedText); err != nil {
		return nil, usagef(fs, "--blocked-status: %v", err)
	}
	if f.exitProbe != "" {
		u, err := url.Parse(f.exitProbe)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, usagef(fs, "--exit-probe: %q is not an absolute http or https URL", f.exitProbe)
		}
	}
	if isRedisURL(f.state) {
		u, err := url.Parse(f.state)
		if err != nil {
			// url.Parse's error quotes the URL, password included.
			return nil, usagef(fs, "--state: malformed redis URL")
		}
		if u.Query().Get("crawl") == "" {
			return nil, usagef(fs, "--state %s: name the crawl, as in redis://host:port/0?crawl=NAME", u.Redacted())
		}
	}
	for _, list := range []struct {
		urls     []string
		rotating bool
	}{{f.proxies, false}, {f.rotating, true}} {
		for _, raw := range list.urls {
			u, err := parseProxy(raw)
			if err != nil {
				return nil, usagef(fs, "%v", err)
			}
			s.proxies = append(s.proxies, u)
			s.rotating[u.String()] = list.rotating
		}
	}
	if s.roots, err = loadRoots(f.ca); err != nil {
		return nil, usagef(fs, "--ca: %v", err)
	}
	return s, nil
}

// parseProxy checks a proxy URL; its errors never show the password.
func parseProxy(raw string) (*url.URL, error) {
	if _, err := ticketstore.ParseExit(raw); err != nil {
		return nil, fmt.Errorf("--proxy: %v", err)
	}
	return url.Parse(raw)
}

// loadRoots returns the system roots plus those in file.
func loadRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

func (c *cli) newTransport(ctx context.Context, f *crawlFlags, s *crawlSetup, store *ticketstore.Store, log *slog.Logger) (*transport.Transport, error) {
	cfg := transport.Config{
		Profile:         s.profile,
		Tickets:         store,
		Proxies:         s.proxies,
		Rotating:        func(u *url.URL) bool { return s.rotating[u.String()] },
		ExitProbe:       f.exitProbe,
		Cookies:         f.cookies,
		FirstVisit:      f.firstVisit,
		RootCAs:         s.roots,
		MaxConnsPerHost: max(f.perHost, 1),
		Logger:          log,
	}
	tr, err := transport.New(cfg)
	if err != nil || f.exitProbe == "" {
		return tr, err
	}
	// A probe that does not answer would fail every new connection:
	// better said once, before the crawl starts.
	for _, p := range s.proxies {
		if s.rotating[p.String()] {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := tr.ExitAddress(pctx, p)
		cancel()
		if err != nil {
			tr.Close()
			return nil, err
		}
	}
	return tr, nil
}

// openTickets opens the ticket store named by --tickets: a bbolt file, or
// a Redis database given as redis:// or rediss:// URL.
func openTickets(where string, log *slog.Logger) (*ticketstore.Store, error) {
	opts := &ticketstore.Options{Logger: log}
	if !isRedisURL(where) {
		return ticketstore.Open(where, opts)
	}
	b, err := ticketstore.OpenRedis(where, opts)
	if err != nil {
		return nil, err
	}
	store, err := ticketstore.New(b, opts)
	if err != nil {
		b.Close()
		return nil, err
	}
	return store, nil
}

// routeRedisLog sends what go-redis would print on the standard logger
// (a failed dial, a pool error) to log, at debug level: the errors that
// matter reach the user through the calls that failed.
func routeRedisLog(log *slog.Logger) {
	redis.SetLogger(redisLog{log})
}

// redisLog adapts a *slog.Logger to go-redis's logging interface.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}

// isRedisURL reports whether a --state or --tickets value names a Redis
// database rather than a file.
func isRedisURL(s string) bool {
	return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://")
}

// openState opens the frontier named by --state: a bbolt file, or a crawl
// in Redis shared with other processes.
func openState(where string, opts *frontier.Options) (frontier.Frontier, error) {
	if isRedisURL(where) {
		return redisfrontier.Open(where, opts)
	}
	return frontier.Open(where, opts)
}

// openOut opens the records' destination; "-" is stdout.
func openOut(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	var cerr error
	return f, func() error { once.Do(func() { cerr = f.Close() }); return cerr }, nil
}

// robotsFetcher fetches robots.txt through the crawl's own transport, so
// it goes out through the exit the site's pages use. It follows up to five
// redirects, as RFC 9309 asks.
func robotsFetcher(rt http.RoundTripper) frontier.RobotsFunc {
	return func(ctx context.Context, robotsURL string) (int, []byte, error) {
		target := robotsURL
		for hop := 0; ; hop++ {
			status, body, location, err := fetchRobots(ctx, rt, target)
			if err != nil || location == "" || hop == 5 {
				return status, body, err
			}
			next, err := url.Parse(target)
			if err == nil {
				next, err = next.Parse(location)
			}
			if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
				return status, body, nil
			}
			target = next.String()
		}
	}
}

// fetchRobots makes one request; location is set for a redirect.
func fetchRobots(ctx context.Context, rt http.RoundTripper, target string) (status int, body []byte, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set("Accept", "text/plain,*/*;q=0.8")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case 301, 302, 303, 307, 308:
		return resp.StatusCode, nil, resp.Header.Get("Location"), nil
	}
	// RFC 9309 asks crawlers to parse at least 500 KiB.
	body, err = io.ReadAll(io.LimitReader(resp.Body, 512<<10))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, nil, "", err
	}
	return resp.StatusCode, body, "", nil
}

// blockRule returns the --blocked-status and --blocked-text rule, or nil
// when both are empty.
func blockRule(statuses, text string) (func(*crawler.Response) bool, error) {
	codes := map[int]bool{}
	for _, f := range strings.Split(statuses, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 100 || n > 599 {
			return nil, fmt.Errorf("%q is not an HTTP status code", f)
		}
		codes[n] = true
	}
	if len(codes) == 0 && text == "" {
		return nil, nil
	}
	return func(r *crawler.Response) bool {
		return codes[r.StatusCode] || (text != "" && bytes.Contains(r.Body, []byte(text)))
	}, nil
}

// printIdentities writes a line per identity the crawl used: what each
// exit did, and whether servers took its tickets.
func printIdentities(w io.Writer, ids []transport.IdentityStats) {
	for _, id := range ids {
		name := id.Exit
		if id.IP != "" {
			name += " ip=" + id.IP
		}
		fmt.Fprintf(w, "identity %s: %d requests, %d errors, %d blocks; %d new connections, %d offered a ticket, %d resumed, %d refused; %d cookies",
			name, id.Requests, id.Errors, id.Blocks, id.NewConns, id.Offered, id.Resumed, id.Refused, id.Cookies)
		if id.Rotating {
			fmt.Fprint(w, "; rotating: no tickets")
		}
		now := time.Now()
		if id.RetiredUntil.After(now) {
			fmt.Fprintf(w, "; retired until %s", id.RetiredUntil.Format(time.RFC3339))
		}
		if id.NoTicketsUntil.After(now) {
			fmt.Fprintf(w, "; tickets refused, none offered until %s", id.NoTicketsUntil.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
}
