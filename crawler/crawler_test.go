package crawler_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/crawler"
	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/internal/sitetest"
	"github.com/revisit-crawl/revisit/transport"
)

// memSink keeps what a crawl writes.
type memSink struct {
	mu      sync.Mutex
	records []*crawler.Record
	items   []any
}

func (s *memSink) WriteRecord(r *crawler.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, r)
	return nil
}

func (s *memSink) WriteItem(v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, v)
	return nil
}

func (s *memSink) byURL() map[string][]*crawler.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]*crawler.Record{}
	for _, r := range s.records {
		out[r.URL] = append(out[r.URL], r)
	}
	return out
}

type harness struct {
	site  *sitetest.Site
	path  string
	front *frontier.Bolt
	tr    *transport.Transport
	sink  *memSink
}

func newHarness(t *testing.T, site *sitetest.Site) *harness {
	t.Helper()
	h := &harness{site: site, path: filepath.Join(t.TempDir(), "state.db"), sink: &memSink{}}
	tr, err := transport.New(transport.Config{RootCAs: site.CA.Pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	h.tr = tr
	h.open(t)
	return h
}

func (h *harness) open(t *testing.T) {
	t.Helper()
	f, err := frontier.Open(h.path, &frontier.Options{
		NoSync: true, PerHost: 4, RetryDelay: 10 * time.Millisecond,
		BackoffBase: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.front = f
	t.Cleanup(func() { f.Close() })
}

func (h *harness) crawler(t *testing.T, cfg crawler.Config) *crawler.Crawler {
	t.Helper()
	cfg.Frontier, cfg.Transport, cfg.Sink = h.front, h.tr, h.sink
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 8
	}
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.OnHTML("a[href]", func(e *crawler.Element) { e.Follow("href") })
	return c
}

func run(t *testing.T, c *crawler.Crawler, seeds ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Run(ctx, seeds...); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestCrawlsWholeSiteOnce(t *testing.T) {
	site := sitetest.New(t, 63, nil)
	h := newHarness(t, site)
	c := h.crawler(t, crawler.Config{MaxDepth: -1})
	var titles atomic.Int64
	c.OnHTML("title", func(e *crawler.Element) { titles.Add(1) })
	run(t, c, site.PageURL(0))

	hits := site.Hits()
	for i := range site.N {
		if n := hits[fmt.Sprintf("/p/%d", i)]; n != 1 {
			t.Errorf("page %d fetched %d times, want 1", i, n)
		}
	}
	recs := h.sink.byURL()
	if len(recs) != site.N || titles.Load() != int64(site.N) {
		t.Fatalf("%d records, %d titles; want %d each", len(recs), titles.Load(), site.N)
	}
	for i := range site.N {
		r := recs[site.PageURL(i)][0]
		if r.Depth != sitetest.Depth(i) || r.Status != 200 || r.Error != "" || r.TLS == nil || r.Exit != "direct" {
			t.Errorf("record of page %d = %+v", i, r)
		}
	}
	st := c.Stats()
	if st.Fetches != int64(site.N) || st.ErrorCount() != 0 {
		t.Errorf("stats = %s", st)
	}
}

func TestDepthLimit(t *testing.T) {
	site := sitetest.New(t, 63, nil)
	h := newHarness(t, site)
	run(t, h.crawler(t, crawler.Config{MaxDepth: 2}), site.PageURL(0))
	if n := len(h.sink.byURL()); n != 7 {
		t.Fatalf("depth 2 fetched %d pages, want 7", n)
	}
	h2 := newHarness(t, site)
	run(t, h2.crawler(t, crawler.Config{}), site.PageURL(0))
	if n := len(h2.sink.byURL()); n != 1 {
		t.Fatalf("depth 0 fetched %d pages, want the seed only", n)
	}
}

func TestMaxPagesThenResume(t *testing.T) {
	site := sitetest.New(t, 31, nil)
	h := newHarness(t, site)
	run(t, h.crawler(t, crawler.Config{MaxDepth: -1, MaxPages: 5}), site.PageURL(0))
	if n := len(h.sink.records); n != 5 {
		t.Fatalf("MaxPages 5 fetched %d pages", n)
	}
	// Same state, the seed given again: it is not queued twice, and the
	// crawl finishes the rest.
	h.front.Close()
	h.open(t)
	run(t, h.crawler(t, crawler.Config{MaxDepth: -1}), site.PageURL(0))
	for i := range site.N {
		if n := site.Hits()[fmt.Sprintf("/p/%d", i)]; n != 1 {
			t.Errorf("page %d fetched %d times over two runs, want 1", i, n)
		}
	}
}

func TestCancelThenResume(t *testing.T) {
	site := sitetest.New(t, 127, nil)
	h := newHarness(t, site)
	c := h.crawler(t, crawler.Config{MaxDepth: -1, Concurrency: 4})
	ctx, cancel := context.WithCancel(context.Background())
	var fetched atomic.Int64
	c.OnScraped(func(*crawler.Response) {
		if fetched.Add(1) == 20 {
			cancel()
		}
	})
	if err := c.Run(ctx, site.PageURL(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Run = %v, want context.Canceled", err)
	}
	h.front.Close()
	h.open(t)
	run(t, h.crawler(t, crawler.Config{MaxDepth: -1, Concurrency: 4}), site.PageURL(0))
	repeats := 0
	for i := range site.N {
		n := site.Hits()[fmt.Sprintf("/p/%d", i)]
		if n == 0 {
			t.Errorf("page %d never fetched", i)
		}
		repeats += max(n-1, 0)
	}
	if repeats > 4 {
		t.Errorf("%d pages fetched twice, want at most the concurrency (4)", repeats)
	}
}

func TestRedirects(t *testing.T) {
	site := sitetest.New(t, 3, nil)
	site.Handle("/loop/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/b", 302) })
	site.Handle("/loop/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/a", 302) })
	site.Handle("/chain/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/chain/"), "%d", &n)
		http.Redirect(w, r, fmt.Sprintf("/chain/%d", n+1), 301)
	})
	site.Handle("/ftp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "ftp://example.com/x")
		w.WriteHeader(302)
	})
	site.Handle("/to-page", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/p/2", 308) })
	h := newHarness(t, site)
	run(t, h.crawler(t, crawler.Config{MaxRedirects: 3}),
		site.URL+"/loop/a", site.URL+"/chain/0", site.URL+"/ftp", site.URL+"/to-page")

	recs := h.sink.byURL()
	if len(recs[site.URL+"/loop/a"]) != 1 || len(recs[site.URL+"/loop/b"]) != 1 {
		t.Errorf("redirect loop: a fetched %d, b %d times; want once each", len(recs[site.URL+"/loop/a"]), len(recs[site.URL+"/loop/b"]))
	}
	if r := recs[site.URL+"/chain/3"]; len(r) != 1 || !strings.Contains(r[0].Error, "too many redirects") {
		t.Errorf("end of the redirect chain: %+v, want a too-many-redirects error", r)
	}
	if _, ok := recs[site.URL+"/chain/4"]; ok {
		t.Error("chain followed past MaxRedirects")
	}
	if r := recs[site.URL+"/ftp"]; len(r) != 1 || !strings.Contains(r[0].Error, "not http") {
		t.Errorf("redirect to ftp: %+v", r)
	}
	if r := recs[site.URL+"/p/2"]; len(r) != 1 || r[0].Status != 200 || r[0].Depth != 0 {
		t.Errorf("redirect target: %+v, want fetched at the seed's depth", r)
	}
}

func TestHostileBodies(t *testing.T) {
	site := sitetest.New(t, 1, nil)
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write(make([]byte, 64<<20))
	zw.Close()
	site.Handle("/bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/html")
		w.Write(bomb.Bytes())
	})
	site.Handle("/endless", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("<p>more</p>"), 1000)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	site.Handle("/latin1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Write([]byte("<html><body><h1>caf\xe9</h1><a href='http://[::1'>bad</a><p><b>unclosed</body>"))
	})
	h := newHarness(t, site)
	c := h.crawler(t, crawler.Config{MaxBodySize: 1 << 20})
	var heading atomic.Value
	c.OnHTML("h1", func(e *crawler.Element) { heading.Store(e.Text()) })
	run(t, c, site.URL+"/bomb", site.URL+"/endless", site.URL+"/latin1")

	recs := h.sink.byURL()
	for _, path := range []string{"/bomb", "/endless"} {
		r := recs[site.URL+path]
		if len(r) != 1 || !strings.Contains(r[0].Error, "body too large") || r[0].Bytes != 1<<20 {
			t.Errorf("%s: %+v, want one record capped at 1 MiB", path, r)
		}
	}
	if got := heading.Load(); got != "café" {
		t.Errorf("latin-1 heading = %q, want café", got)
	}
}

// TestCharsets: pages in encodings that need converting, and UTF-8 ones
// that need none, all reach OnHTML as the same text.
func TestCharsets(t *testing.T) {
	site := sitetest.New(t, 1, nil)
	pages := map[string]struct{ contentType, body string }{
		"/utf8":     {"text/html; charset=utf-8", "<h1>日本</h1>"},
		"/utf8-bom": {"text/html", "\xef\xbb\xbf<meta charset=utf-8><h1>日本</h1>"},
		"/sjis":     {"text/html; charset=shift_jis", "<h1>\x93\xfa\x96\x7b</h1>"},
		"/iso2022":  {"text/html; charset=iso-2022-jp", "<h1>\x1b$BF|K\\\x1b(B</h1>"},
		"/utf16":    {"text/html; charset=utf-16le", "<\x00h\x001\x00>\x00\xe5\x65\x2c\x67<\x00/\x00h\x001\x00>\x00"},
	}
	for path, p := range pages {
		site.Handle(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", p.contentType)
			io.WriteString(w, p.body)
		})
	}
	h := newHarness(t, site)
	c := h.crawler(t, crawler.Config{})
	var mu sync.Mutex
	got := map[string]string{}
	c.OnHTML("h1", func(e *crawler.Element) {
		mu.Lock()
		got[e.Response.Request.URL.Path] = e.Text()
		mu.Unlock()
	})
	var seeds []string
	for path := range pages {
		seeds = append(seeds, site.URL+path)
	}
	run(t, c, seeds...)
	for path := range pages {
		if got[path] != "日本" {
			t.Errorf("%s heading = %q, want 日本", path, got[path])
		}
	}
}

func TestDataTravelsAndSurvivesRestart(t *testing.T) {
	site := sitetest.New(t, 15, nil)
	h := newHarness(t, site)
	c := h.crawler(t, crawler.Config{MaxDepth: -1, MaxPages: 3})
	c.OnRequest(func(r *crawler.Request) {
		if r.Depth == 0 {
			r.Data["campaign"] = "autumn"
		}
	})
	run(t, c, site.PageURL(0))
	h.front.Close()
	h.open(t)

	c = h.crawler(t, crawler.Config{MaxDepth: -1})
	var mu sync.Mutex
	missing := []string{}
	c.OnResponse(func(r *crawler.Response) {
		if r.Request.Data["campaign"] != "autumn" {
			mu.Lock()
			missing = append(missing, r.Request.URL.String())
			mu.Unlock()
		}
		r.Emit(map[string]string{"url": r.Request.URL.String()})
	})
	run(t, c, site.PageURL(0))
	if len(missing) > 0 {
		t.Fatalf("pages fetched after the restart without the seed's data: %v", missing)
	}
	if len(h.sink.items) != site.N-3 {
		t.Errorf("%d items emitted, want %d", len(h.sink.items), site.N-3)
	}
}

func TestCallbackPanicIsRecorded(t *testing.T) {
	site := sitetest.New(t, 7, nil)
	h := newHarness(t, site)
	c := h.crawler(t, crawler.Config{MaxDepth: -1})
	c.OnHTML("h1", func(e *crawler.Element) {
		if e.Text() == "Page 1" {
			panic("boom")
		}
	})
	var errs atomic.Int64
	c.OnError(func(*crawler.Response, error) { errs.Add(1) })
	run(t, c, site.PageURL(0))
	r := h.sink.byURL()[site.PageURL(1)]
	if len(r) != 1 || !strings.Contains(r[0].Error, "panicked: boom") {
		t.Fatalf("record of the page whose callback panicked: %+v", r)
	}
	if n := len(h.sink.byURL()); n != 5 {
		t.Errorf("%d pages fetched; want 5 (page 1's links are lost with its callback)", n)
	}
}

// TestLateCallbackPanics: OnError, OnScraped and Blocked run after the
// page's fate is known; a panic in them is logged and the crawl goes on.
func TestLateCallbackPanics(t *testing.T) {
	site := sitetest.New(t, 7, nil)
	h := newHarness(t, site)
	c := h.crawler(t, crawler.Config{MaxDepth: -1, Blocked: func(r *crawler.Response) bool {
		if strings.HasSuffix(r.Request.URL.Path, "/2") {
			panic("blocked boom")
		}
		return false
	}})
	c.OnScraped(func(r *crawler.Response) {
		if strings.HasSuffix(r.Request.URL.Path, "/1") {
			panic("scraped boom")
		}
	})
	c.OnError(func(*crawler.Response, error) { panic("error boom") })
	run(t, c, site.PageURL(0), site.URL+"/missing")
	recs := h.sink.byURL()
	if n := len(recs); n != 8 {
		t.Errorf("%d URLs recorded, want the 7 pages and the missing one", n)
	}
	for _, i := range []int{1, 2} {
		if r := recs[site.PageURL(i)]; len(r) != 1 || r[0].Error != "" {
			t.Errorf("page %d, whose late callback panicked: %+v", i, r)
		}
	}
}

// TestBlockedResponses: a response the Blocked rule flags is recorded as
// blocked, queued again and, when the rule no longer flags it, fetched.
func TestBlockedResponses(t *testing.T) {
	site := sitetest.New(t, 1, nil)
	var calls atomic.Int64
	site.Handle("/guarded", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Write([]byte("<html><title>Access denied</title></html>"))
			return
		}
		w.Write([]byte("<html><title>ok</title></html>"))
	})
	h := newHarness(t, site)
	c := h.crawler(t, crawler.Config{Blocked: func(r *crawler.Response) bool {
		return bytes.Contains(r.Body, []byte("Access denied"))
	}})
	var scraped atomic.Int64
	c.OnScraped(func(*crawler.Response) { scraped.Add(1) })
	run(t, c, site.URL+"/guarded")
	r := h.sink.byURL()[site.URL+"/guarded"]
	if len(r) != 2 || !strings.Contains(r[0].Error, "blocked") || r[1].Error != "" || r[1].Attempt != 2 {
		t.Fatalf("records of a URL blocked once: %+v", r)
	}
	if scraped.Load() != 1 {
		t.Errorf("OnScraped ran %d times, want once: not for the blocked response", scraped.Load())
	}
	if st := c.Stats(); st.Errors["blocked"] != 1 {
		t.Errorf("stats count blocks as %v", st.Errors)
	}
}

func TestRetriesAfter503(t *testing.T) {
	site := sitetest.New(t, 1, nil)
	var calls atomic.Int64
	site.Handle("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("<html>ok</html>"))
	})
	h := newHarness(t, site)
	run(t, h.crawler(t, crawler.Config{}), site.URL+"/flaky")
	r := h.sink.byURL()[site.URL+"/flaky"]
	if len(r) != 2 || r[0].Status != 503 || r[1].Status != 200 || r[1].Attempt != 2 {
		t.Fatalf("records of a URL that answered 503 once: %+v", r)
	}
}

func TestBadConfig(t *testing.T) {
	if _, err := crawler.New(crawler.Config{}); err == nil {
		t.Error("New without frontier succeeded")
	}
	site := sitetest.New(t, 1, nil)
	h := newHarness(t, site)
	c := h.crawler(t, crawler.Config{})
	c.OnHTML("a[", func(*crawler.Element) {})
	var ce *crawler.ConfigError
	if err := c.Run(context.Background(), site.PageURL(0)); !errors.As(err, &ce) {
		t.Errorf("Run with a bad selector: %v, want a ConfigError", err)
	}
	c = h.crawler(t, crawler.Config{})
	if err := c.Run(context.Background(), "not a url"); !errors.As(err, &ce) {
		t.Errorf("Run with a bad seed: %v, want a ConfigError", err)
	}
}

// TestStatsCountEveryHandshake: the handshake counts follow the
// connections the transport made, also the one opened for robots.txt,
// which the frontier fetched and the pages then reused.
func TestStatsCountEveryHandshake(t *testing.T) {
	site := sitetest.New(t, 15, &sitetest.Options{Robots: "User-agent: *\nAllow: /\n"})
	h := newHarness(t, site)
	h.front.Close()
	f, err := frontier.Open(h.path, &frontier.Options{
		NoSync: true, PerHost: 1,
		Robots: func(ctx context.Context, u string) (int, []byte, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return 0, nil, err
			}
			resp, err := h.tr.RoundTrip(req)
			if err != nil {
				return 0, nil, err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			return resp.StatusCode, body, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	h.front = f
	c := h.crawler(t, crawler.Config{MaxDepth: -1, Concurrency: 1})
	run(t, c, site.PageURL(0))

	if site.Hits()["/robots.txt"] != 1 {
		t.Fatalf("robots.txt fetched %d times, want 1", site.Hits()["/robots.txt"])
	}
	hellos := len(site.Hellos())
	e := c.Stats().Exits["direct"]
	if hellos == 0 || e.Handshakes != int64(hellos) || e.Reused+e.Handshakes < int64(site.N) {
		t.Fatalf("stats %+v; the server saw %d handshakes for %d pages", e, hellos, site.N)
	}
	if !strings.Contains(c.Stats().String(), fmt.Sprintf("handshakes %d", hellos)) {
		t.Errorf("summary %q does not count the handshakes", c.Stats())
	}
}
