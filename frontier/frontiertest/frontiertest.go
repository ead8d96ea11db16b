// Package frontiertest is the conformance suite for implementations of
// [frontier.Frontier]. Every backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		frontiertest.Run(t, func(t testing.TB, name string, opts *frontier.Options) frontier.Frontier {
//			...
//		})
//	}
//
// The suite checks the behaviour the frontier package documents: canonical URLs and
// deduplication, priorities, politeness (per-host limits, delays, backoff, fair turns),
// robots.txt, leases, retries and what survives closing and reopening.
package frontiertest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
)

// Opener opens the frontier state called name with opts and registers its Close with
// t.Cleanup (closing twice must be harmless). Opening a name again after Close must
// give back the same state; different names are independent.
type Opener func(t testing.TB, name string, opts *frontier.Options) frontier.Frontier

// Run runs the suite. Subtests run in parallel, each on its own state.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"PushNextDone", testPushNextDone},
		{"Canonical", testCanonical},
		{"Dedup", testDedup},
		{"Rejected", testRejected},
		{"Priority", testPriority},
		{"DrainedWaitsForLeases", testDrainedWaits},
		{"ContextEnds", testContextEnds},
		{"PerHostLimit", testPerHostLimit},
		{"Delay", testDelay},
		{"Fairness", testFairness},
		{"Retry", testRetry},
		{"Fail", testFail},
		{"UnknownLease", testUnknownLease},
		{"Backoff", testBackoff},
		{"LeaseTimeout", testLeaseTimeout},
		{"Robots", testRobots},
		{"RobotsUnreachable", testRobotsUnreachable},
		{"CrawlDelay", testCrawlDelay},
		{"RobotsCache", testRobotsCache},
		{"Reopen", testReopen},
		{"RepeatedCrash", testRepeatedCrash},
		{"RetryBackoffReopen", testRetryBackoffReopen},
		{"Closed", testClosed},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func push(t testing.TB, f frontier.Frontier, reqs ...frontier.Request) frontier.PushResult {
	t.Helper()
	res, err := f.Push(ctxT(t), reqs...)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	return res
}

func pushURLs(t testing.TB, f frontier.Frontier, urls ...string) {
	t.Helper()
	reqs := make([]frontier.Request, len(urls))
	for i, u := range urls {
		reqs[i] = frontier.Request{URL: u}
	}
	if res := push(t, f, reqs...); res.Added != len(urls) {
		t.Fatalf("Push added %d of %d: %+v", res.Added, len(urls), res)
	}
}

func next(t testing.TB, f frontier.Frontier) *frontier.Lease {
	t.Helper()
	l, err := f.Next(ctxT(t))
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return l
}

func done(t testing.TB, f frontier.Frontier, l *frontier.Lease) {
	t.Helper()
	if err := f.Done(ctxT(t), l); err != nil {
		t.Fatalf("Done(%s): %v", l.URL, err)
	}
}

func wantDrained(t testing.TB, f frontier.Frontier) {
	t.Helper()
	if l, err := f.Next(ctxT(t)); !errors.Is(err, frontier.ErrDrained) {
		t.Fatalf("Next = %v, %v; want ErrDrained", l, err)
	}
}

func stats(t testing.TB, f frontier.Frontier) frontier.Stats {
	t.Helper()
	st, err := f.Stats(ctxT(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

// blocked checks that Next does not return within d.
func blocked(t testing.TB, f frontier.Frontier, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if l, err := f.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v, %v; want it blocked", l, err)
	}
}

func testPushNextDone(t *testing.T, open Opener) {
	f := open(t, "a", nil)
	res := push(t, f, frontier.Request{URL: "http://a.test/1", Depth: 2,
		Referer: "http://a.test/", Data: []byte("payload")})
	if res.Added != 1 || res.Duplicates != 0 || len(res.Rejected) != 0 {
		t.Fatalf("Push = %+v, want 1 added", res)
	}
	l := next(t, f)
	if l.URL != "http://a.test/1" || l.Depth != 2 || l.Referer != "http://a.test/" ||
		string(l.Data) != "payload" || l.Host != "a.test" || l.Attempts != 1 {
		t.Fatalf("Next = %+v", l)
	}
	if l.Start.IsZero() {
		t.Errorf("lease has no start time")
	}
	if st := stats(t, f); st.Leased != 1 || st.Queued != 0 || st.Seen != 1 || st.Hosts != 1 {
		t.Errorf("Stats = %+v, want 1 leased", st)
	}
	done(t, f, l)
	wantDrained(t, f)
	if st := stats(t, f); st.Done != 1 || st.Leased != 0 {
		t.Errorf("Stats = %+v, want 1 done", st)
	}
}

func testCanonical(t *testing.T, open Opener) {
	f := open(t, "a", nil)
	pushURLs(t, f, "HTTP://Example.COM:80/a/./b/../c?#frag")
	if l := next(t, f); l.URL != "http://example.com/a/c" || l.Host != "example.com" {
		t.Fatalf("Next = %q on %q, want http://example.com/a/c", l.URL, l.Host)
	}
}

func testDedup(t *testing.T, open Opener) {
	f := open(t, "a", nil)
	res := push(t, f, frontier.Request{URL: "http://a.test/x"},
		frontier.Request{URL: "http://A.test/x#y"}, frontier.Request{URL: "http://a.test/y"})
	if res.Added != 2 || res.Duplicates != 1 {
		t.Fatalf("Push = %+v, want 2 added, 1 duplicate", res)
	}
	if res := push(t, f, frontier.Request{URL: "http://a.test:80/x"}); res.Duplicates != 1 {
		t.Fatalf("second Push = %+v, want a duplicate", res)
	}
	for range 2 {
		done(t, f, next(t, f))
	}
	if res := push(t, f, frontier.Request{URL: "http://a.test/x"}); res.Duplicates != 1 {
		t.Fatalf("Push after Done = %+v, want a duplicate", res)
	}
	wantDrained(t, f)
}

func testRejected(t *testing.T, open Opener) {
	f := open(t, "a", &frontier.Options{MaxDataSize: 10})
	res := push(t, f, frontier.Request{URL: "ftp://a.test/"}, frontier.Request{URL: "http://"},
		frontier.Request{URL: "http://a.test/big", Data: make([]byte, 11)},
		frontier.Request{URL: "http://a.test/ok"})
	if res.Added != 1 || len(res.Rejected) != 3 {
		t.Fatalf("Push = %+v, want 1 added and 3 rejected", res)
	}
	for i, want := range []error{frontier.ErrInvalidURL, frontier.ErrInvalidURL,
		frontier.ErrTooLarge} {
		if !errors.Is(res.Rejected[i], want) {
			t.Errorf("Rejected[%d] = %v, want %v", i, res.Rejected[i], want)
		}
	}
	if res.Rejected[0].URL != "ftp://a.test/" {
		t.Errorf("Rejected[0].URL = %q", res.Rejected[0].URL)
	}
}

func testPriority(t *testing.T, open Opener) {
	f := open(t, "a", &frontier.Options{PerHost: 1})
	push(t, f, frontier.Request{URL: "http://a.test/a"},
		frontier.Request{URL: "http://a.test/b", Priority: 5},
		frontier.Request{URL: "http://a.test/c", Priority: 5},
		frontier.Request{URL: "http://a.test/d", Priority: -1})
	var got []string
	for range 4 {
		l := next(t, f)
		got = append(got, l.URL[len("http://a.test/"):])
		done(t, f, l)
	}
	if fmt.Sprint(got) != "[b c a d]" {
		t.Fatalf("order = %v, want [b c a d]", got)
	}
}

func testDrainedWaits(t *testing.T, open Opener) {
	f := open(t, "a", nil)
	wantDrained(t, f)
	pushURLs(t, f, "http://a.test/1")
	l := next(t, f)
	res := make(chan error, 1)
	go func() {
		_, err := f.Next(ctxT(t))
		res <- err
	}()
	select {
	case err := <-res:
		t.Fatalf("Next returned %v while a lease was outstanding", err)
	case <-time.After(100 * time.Millisecond):
	}
	done(t, f, l)
	if err := <-res; !errors.Is(err, frontier.ErrDrained) {
		t.Fatalf("Next after Done = %v, want ErrDrained", err)
	}
}

func testContextEnds(t *testing.T, open Opener) {
	f := open(t, "a", nil)
	pushURLs(t, f, "http://a.test/1")
	next(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	if l, err := f.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next = %v, %v; want context.Canceled", l, err)
	}
}

func testPerHostLimit(t *testing.T, open Opener) {
	f := open(t, "a", &frontier.Options{PerHost: 1})
	pushURLs(t, f, "http://a.test/1", "http://a.test/2", "http://b.test/1")
	l1 := next(t, f)
	l2 := next(t, f)
	if l1.Host == l2.Host {
		t.Fatalf("two leases of %s with PerHost 1", l1.Host)
	}
	a := l1
	if a.Host != "a.test" {
		a = l2
	}
	blocked(t, f, 100*time.Millisecond)
	done(t, f, a)
	if l := next(t, f); l.URL != "http://a.test/2" {
		t.Fatalf("Next = %s, want http://a.test/2", l.URL)
	}
}

func testDelay(t *testing.T, open Opener) {
	const delay = 80 * time.Millisecond
	f := open(t, "a", &frontier.Options{PerHost: 4, Delay: delay})
	pushURLs(t, f, "http://a.test/1", "http://a.test/2", "http://a.test/3")
	var prev *frontier.Lease
	var prevSeen time.Time
	for range 3 {
		l := next(t, f)
		seen := time.Now()
		if prev != nil {
			if gap := l.Start.Sub(prev.Start); gap < delay {
				t.Errorf("lease starts %v apart, want >= %v", gap, delay)
			}
			if gap := seen.Sub(prevSeen); gap < delay/2 {
				t.Errorf("leases returned %v apart, want about %v", gap, delay)
			}
		}
		if l.Start.After(seen) {
			t.Errorf("lease start %v is after Next returned %v", l.Start, seen)
		}
		prev, prevSeen = l, seen
	}
}

func testFairness(t *testing.T, open Opener) {
	f := open(t, "a", &frontier.Options{PerHost: 1})
	var big []string
	for i := range 50 {
		big = append(big, fmt.Sprintf("http://big.test/%d", i))
	}
	pushURLs(t, f, big...)
	for _, h := range []string{"s1", "s2", "s3", "s4"} {
		pushURLs(t, f, "http://"+h+".test/1", "http://"+h+".test/2")
	}
	hosts := map[string]int{}
	for range 10 {
		l := next(t, f)
		hosts[l.Host]++
		done(t, f, l)
	}
	for h, n := range hosts {
		if n != 2 {
			t.Errorf("host %s got %d of the first 10 leases, want 2 each: %v", h, n, hosts)
		}
	}
}

func testRetry(t *testing.T, open Opener) {
	const delay = 40 * time.Millisecond
	f := open(t, "a", &frontier.Options{MaxAttempts: 2, RetryDelay: delay})
	pushURLs(t, f, "http://a.test/1")
	l := next(t, f)
	retried := time.Now()
	if err := f.Retry(ctxT(t), l, errors.New("timeout")); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if st := stats(t, f); st.Delayed != 1 || st.Leased != 0 {
		t.Fatalf("Stats after Retry = %+v, want 1 delayed", st)
	}
	l = next(t, f)
	if l.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", l.Attempts)
	}
	if waited := time.Since(retried); waited < delay*9/10 {
		t.Errorf("retry came back after %v, want >= %v", waited, delay*9/10)
	}
	if err := f.Retry(ctxT(t), l, errors.New("timeout")); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	wantDrained(t, f)
	if st := stats(t, f); st.Failed != 1 || st.Delayed != 0 {
		t.Fatalf("Stats after last attempt = %+v, want 1 failed", st)
	}
}

func testFail(t *testing.T, open Opener) {
	f := open(t, "a", nil)
	pushURLs(t, f, "http://a.test/1", "http://a.test/2")
	if err := f.Fail(ctxT(t), next(t, f), errors.New("404")); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	done(t, f, next(t, f))
	wantDrained(t, f)
	if st := stats(t, f); st.Failed != 1 || st.Done != 1 {
		t.Fatalf("Stats = %+v, want 1 failed and 1 done", st)
	}
}

func testUnknownLease(t *testing.T, open Opener) {
	f := open(t, "a", nil)
	pushURLs(t, f, "http://a.test/1")
	l := next(t, f)
	done(t, f, l)
	for name, err := range map[string]error{
		"Done":  f.Done(ctxT(t), l),
		"Retry": f.Retry(ctxT(t), l, nil),
		"Fail":  f.Fail(ctxT(t), l, nil),
		"nil":   f.Done(ctxT(t), nil),
	} {
		if !errors.Is(err, frontier.ErrUnknownLease) {
			t.Errorf("%s of a settled lease = %v, want ErrUnknownLease", name, err)
		}
	}
}

func testBackoff(t *testing.T, open Opener) {
	const pause = 150 * time.Millisecond
	f := open(t, "a", &frontier.Options{BackoffBase: time.Millisecond})
	pushURLs(t, f, "http://a.test/1", "http://a.test/2", "http://b.test/1")
	var a *frontier.Lease
	for a == nil {
		l := next(t, f)
		if l.Host == "a.test" {
			a = l
		} else {
			done(t, f, l)
		}
	}
	start := time.Now()
	if err := f.Backoff(ctxT(t), a.Host, pause); err != nil {
		t.Fatalf("Backoff: %v", err)
	}
	if err := f.Retry(ctxT(t), a, errors.New("429")); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	for {
		l := next(t, f)
		if l.Host == "a.test" {
			if gap := l.Start.Sub(start); gap < pause {
				t.Fatalf("a.test served %v after Backoff(%v)", gap, pause)
			}
			done(t, f, l)
			break
		}
		done(t, f, l)
	}
}

func testLeaseTimeout(t *testing.T, open Opener) {
	f := open(t, "a", &frontier.Options{LeaseTimeout: 50 * time.Millisecond})
	pushURLs(t, f, "http://a.test/1")
	l1 := next(t, f)
	if l1.Deadline.IsZero() {
		t.Fatalf("lease has no deadline")
	}
	l2 := next(t, f)
	if l2.URL != l1.URL || l2.Attempts != 2 || !l2.Start.After(l1.Deadline.Add(-time.Millisecond)) {
		t.Fatalf("after expiry Next = %+v, want %s again, attempt 2", l2, l1.URL)
	}
	if err := f.Done(ctxT(t), l1); !errors.Is(err, frontier.ErrUnknownLease) {
		t.Fatalf("Done of expired lease = %v, want ErrUnknownLease", err)
	}
	done(t, f, l2)
	wantDrained(t, f)
}

// robotsServer answers robots.txt requests from a table and counts them.
type robotsServer struct {
	mu    sync.Mutex
	calls map[string]int
	files map[string]robotsFile
}

type robotsFile struct {
	status int
	body   string
}

func (r *robotsServer) fetch(ctx context.Context, u string) (int, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[u]++
	f, ok := r.files[u]
	if !ok {
		return 0, nil, errors.New("connection refused")
	}
	return f.status, []byte(f.body), nil
}

func (r *robotsServer) count(u string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[u]
}

func testRobots(t *testing.T, open Opener) {
	srv := &robotsServer{calls: map[string]int{}, files: map[string]robotsFile{
		"http://a.test/robots.txt": {200, "User-agent: *\nDisallow: /private\n\n" +
			"User-agent: revisit\nDisallow: /mine\nAllow: /mine/ok\n"},
		"http://b.test/robots.txt": {404, "not found"},
	}}
	var mu sync.Mutex
	var skipped []string
	opts := &frontier.Options{Robots: srv.fetch, UserAgent: "Revisit/1.0 (+https://x)",
		OnSkip: func(req frontier.Request, reason error) {
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(reason, frontier.ErrDisallowed) {
				skipped = append(skipped, req.URL)
			}
		}}
	f := open(t, "a", opts)
	pushURLs(t, f, "http://a.test/mine/x", "http://a.test/mine/ok", "http://a.test/private",
		"http://a.test/public", "http://b.test/mine/x")
	var got []string
	for {
		l, err := f.Next(ctxT(t))
		if errors.Is(err, frontier.ErrDrained) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, l.URL)
		done(t, f, l)
	}
	sort.Strings(got)
	want := "[http://a.test/mine/ok http://a.test/private http://a.test/public http://b.test/mine/x]"
	if fmt.Sprint(got) != want {
		t.Errorf("fetched %v, want %v", got, want)
	}
	mu.Lock()
	if fmt.Sprint(skipped) != "[http://a.test/mine/x]" {
		t.Errorf("OnSkip saw %v, want [http://a.test/mine/x]", skipped)
	}
	mu.Unlock()
	if st := stats(t, f); st.Disallowed != 1 || st.Failed != 1 || st.Done != 4 {
		t.Errorf("Stats = %+v, want 1 disallowed, 4 done", st)
	}
	for _, u := range []string{"http://a.test/robots.txt", "http://b.test/robots.txt"} {
		if n := srv.count(u); n != 1 {
			t.Errorf("%s fetched %d times, want 1", u, n)
		}
	}
}

func testRobotsUnreachable(t *testing.T, open Opener) {
	srv := &robotsServer{calls: map[string]int{}, files: map[string]robotsFile{
		"http://a.test/robots.txt": {503, ""},
		"http://c.test/robots.txt": {404, ""},
	}}
	f := open(t, "a", &frontier.Options{Robots: srv.fetch, RobotsAttempts: 3,
		RobotsRetryDelay: 20 * time.Millisecond})
	pushURLs(t, f, "http://a.test/1", "http://c.test/1")
	start := time.Now()
	l := next(t, f)
	if l.Host != "c.test" {
		t.Fatalf("Next = %s, want the host whose robots.txt is unreachable skipped", l.URL)
	}
	done(t, f, l)
	wantDrained(t, f)
	// Waits of 20ms and 40ms separate the three attempts.
	if waited := time.Since(start); waited < 60*time.Millisecond {
		t.Errorf("gave up after %v, want >= 60ms of retries", waited)
	}
	if n := srv.count("http://a.test/robots.txt"); n != 3 {
		t.Errorf("robots.txt fetched %d times, want 3", n)
	}
	if st := stats(t, f); st.Failed != 1 || st.Done != 1 {
		t.Errorf("Stats = %+v, want 1 failed, 1 done", st)
	}
}

func testCrawlDelay(t *testing.T, open Opener) {
	srv := &robotsServer{calls: map[string]int{}, files: map[string]robotsFile{
		"http://a.test/robots.txt": {200, "User-agent: *\nCrawl-delay: 0.1\n"},
	}}
	f := open(t, "a", &frontier.Options{Robots: srv.fetch, PerHost: 4})
	pushURLs(t, f, "http://a.test/1", "http://a.test/2", "http://a.test/3")
	var prev time.Time
	for range 3 {
		l := next(t, f)
		if !prev.IsZero() && l.Start.Sub(prev) < 100*time.Millisecond {
			t.Errorf("leases %v apart, want >= Crawl-delay 100ms", l.Start.Sub(prev))
		}
		prev = l.Start
		done(t, f, l)
	}
}

// testRobotsCache checks that a robots.txt is fetched once per origin while fresh,
// also across a reopen, and fetched again once it expires.
func testRobotsCache(t *testing.T, open Opener) {
	const ttl = 300 * time.Millisecond
	const robots = "http://a.test/robots.txt"
	srv := &robotsServer{calls: map[string]int{}, files: map[string]robotsFile{
		robots:                      {200, "User-agent: *\nDisallow: /x\n"},
		"https://a.test/robots.txt": {404, ""},
	}}
	opts := &frontier.Options{Robots: srv.fetch, RobotsTTL: ttl}
	f := open(t, "state", opts)
	pushURLs(t, f, "http://a.test/1", "https://a.test/1")
	done(t, f, next(t, f))
	done(t, f, next(t, f))
	if n := srv.count(robots) + srv.count("https://a.test/robots.txt"); n != 2 {
		t.Fatalf("robots.txt fetched %d times for two origins, want 2", n)
	}
	f.Close()

	f = open(t, "state", opts)
	pushURLs(t, f, "http://a.test/2", "http://a.test/x")
	done(t, f, next(t, f))
	wantDrained(t, f)
	if n := srv.count(robots); n != 1 {
		t.Fatalf("robots.txt fetched %d times across a reopen, want 1", n)
	}
	if st := stats(t, f); st.Disallowed != 1 {
		t.Fatalf("Stats = %+v, want the cached rules applied", st)
	}

	<-time.After(ttl)
	pushURLs(t, f, "http://a.test/3")
	done(t, f, next(t, f))
	if n := srv.count(robots); n != 2 {
		t.Fatalf("robots.txt fetched %d times after it expired, want 2", n)
	}
}

func testReopen(t *testing.T, open Opener) {
	f := open(t, "state", nil)
	pushURLs(t, f, "http://a.test/1", "http://a.test/2", "http://b.test/1")
	l1 := next(t, f)
	l2 := next(t, f)
	done(t, f, l2)
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	f = open(t, "state", nil)
	if st := stats(t, f); st.Queued != 2 || st.Leased != 0 || st.Done != 1 || st.Seen != 3 {
		t.Fatalf("Stats after reopen = %+v, want 2 queued, 1 done", st)
	}
	if res := push(t, f, frontier.Request{URL: l2.URL}); res.Duplicates != 1 {
		t.Fatalf("Push of a done URL after reopen = %+v, want duplicate", res)
	}
	seen := map[string]int{}
	for range 2 {
		l := next(t, f)
		seen[l.URL] = l.Attempts
		done(t, f, l)
	}
	if seen[l1.URL] != 2 {
		t.Errorf("interrupted lease %s came back with attempts %d, want 2 (got %v)",
			l1.URL, seen[l1.URL], seen)
	}
	if _, ok := seen[l2.URL]; ok {
		t.Errorf("done URL %s handed out again", l2.URL)
	}
	wantDrained(t, f)
}

// testRetryBackoffReopen checks that a pending retry and a host's backoff survive a
// reopen.
func testRetryBackoffReopen(t *testing.T, open Opener) {
	const wait = 200 * time.Millisecond
	opts := &frontier.Options{RetryDelay: wait, BackoffBase: time.Millisecond}
	f := open(t, "state", opts)
	pushURLs(t, f, "http://a.test/1", "http://b.test/1")
	start := time.Now()
	for range 2 {
		l := next(t, f)
		switch l.Host {
		case "a.test":
			if err := f.Retry(ctxT(t), l, errors.New("503")); err != nil {
				t.Fatal(err)
			}
		default:
			if err := f.Backoff(ctxT(t), l.Host, wait); err != nil {
				t.Fatal(err)
			}
			if err := f.Fail(ctxT(t), l, errors.New("gone")); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Close()

	f = open(t, "state", opts)
	if st := stats(t, f); st.Delayed != 1 || st.Failed != 1 {
		t.Fatalf("Stats after reopen = %+v, want 1 delayed and 1 failed", st)
	}
	pushURLs(t, f, "http://b.test/2")
	for range 2 {
		l := next(t, f)
		if gap := l.Start.Sub(start); gap < wait*9/10 {
			t.Errorf("%s leased %v after the retry or backoff, want >= %v", l.URL, gap, wait*9/10)
		}
		done(t, f, l)
	}
	wantDrained(t, f)
}

func testRepeatedCrash(t *testing.T, open Opener) {
	opts := &frontier.Options{MaxAttempts: 2}
	f := open(t, "state", opts)
	pushURLs(t, f, "http://a.test/poison")
	next(t, f)
	f.Close()
	f = open(t, "state", opts)
	if l := next(t, f); l.Attempts != 2 {
		t.Fatalf("Attempts = %d, want 2", l.Attempts)
	}
	f.Close()
	f = open(t, "state", opts)
	wantDrained(t, f)
	if st := stats(t, f); st.Failed != 1 {
		t.Fatalf("Stats = %+v, want the URL failed after its last attempt", st)
	}
}

func testClosed(t *testing.T, open Opener) {
	f := open(t, "a", nil)
	pushURLs(t, f, "http://a.test/1")
	l := next(t, f)
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := ctxT(t)
	_, pushErr := f.Push(ctx, frontier.Request{URL: "http://a.test/2"})
	_, nextErr := f.Next(ctx)
	_, statsErr := f.Stats(ctx)
	for name, err := range map[string]error{"Push": pushErr, "Next": nextErr,
		"Done": f.Done(ctx, l), "Stats": statsErr, "Sync": f.Sync(ctx)} {
		if !errors.Is(err, frontier.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

// testConcurrent runs workers that push links while they crawl and checks that each
// URL is handed out exactly once and the per-host limit holds.
func testConcurrent(t *testing.T, open Opener) {
	const hosts, perHost, workers, limit = 10, 30, 8, 2
	f := open(t, "a", &frontier.Options{PerHost: limit})
	url := func(h, i int) string { return fmt.Sprintf("http://h%d.test/%d", h, i) }
	for h := range hosts {
		pushURLs(t, f, url(h, 0))
	}

	var mu sync.Mutex
	fetched := map[string]int{}
	inflight := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- crawl(f, func(l *frontier.Lease) error {
				mu.Lock()
				fetched[l.URL]++
				inflight[l.Host]++
				if inflight[l.Host] > limit {
					mu.Unlock()
					return fmt.Errorf("%d leases of %s in flight", inflight[l.Host], l.Host)
				}
				mu.Unlock()
				var h, i int
				fmt.Sscanf(l.URL, "http://h%d.test/%d", &h, &i)
				var links []frontier.Request
				for j := 1; j <= 3 && i*3+j < perHost; j++ {
					links = append(links, frontier.Request{URL: url(h, i*3+j)})
				}
				links = append(links, frontier.Request{URL: url((h+1)%hosts, i)})
				_, err := f.Push(context.Background(), links...)
				mu.Lock()
				inflight[l.Host]--
				mu.Unlock()
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(fetched) != hosts*perHost {
		t.Errorf("fetched %d URLs, want %d", len(fetched), hosts*perHost)
	}
	for u, n := range fetched {
		if n != 1 {
			t.Errorf("%s fetched %d times", u, n)
		}
	}
}

// crawl leases and settles URLs until the frontier drains.
func crawl(f frontier.Frontier, fetch func(*frontier.Lease) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		l, err := f.Next(ctx)
		if errors.Is(err, frontier.ErrDrained) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fetch(l); err != nil {
			return err
		}
		if err := f.Done(ctx, l); err != nil {
			return err
		}
	}
}
