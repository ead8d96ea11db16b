package redisfrontier

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/internal/redistest"
)

// TestSharedRobots checks that clients of one crawl fetch an origin's robots.txt once
// between them, the others waiting for it, and all apply its rules.
func TestSharedRobots(t *testing.T) {
	srv := redistest.Start(t, nil)
	u := crawlURL(t, srv, srv.NewDB(t), "shared")
	var calls atomic.Int32
	fetch := func(ctx context.Context, u string) (int, []byte, error) {
		calls.Add(1)
		select { // slow enough that the other clients ask meanwhile
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
		return 200, []byte("User-agent: *\nDisallow: /no\n"), nil
	}
	opts := &frontier.Options{Robots: fetch, PerHost: 4}
	clients := []*Frontier{open(t, u, opts), open(t, u, opts), open(t, u, opts)}
	_, err := clients[0].Push(ctxT(t), frontier.Request{URL: "http://a.test/1"},
		frontier.Request{URL: "http://a.test/2"}, frontier.Request{URL: "http://a.test/3"},
		frontier.Request{URL: "http://a.test/no"})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []string
	drain(t, clients, 1, func(l *frontier.Lease) {
		mu.Lock()
		got = append(got, l.URL)
		mu.Unlock()
	})
	sort.Strings(got)
	if want := "[http://a.test/1 http://a.test/2 http://a.test/3]"; fmt.Sprint(got) != want {
		t.Errorf("fetched %v, want %v", got, want)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times by 3 clients, want once", n)
	}
	st, err := clients[1].Stats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Disallowed != 1 || st.Done != 3 {
		t.Errorf("Stats = %+v, want 3 done, 1 disallowed", st)
	}
}

// TestSharedDelay checks that the delay between requests to a host holds across
// clients.
func TestSharedDelay(t *testing.T) {
	const delay = 60 * time.Millisecond
	srv := redistest.Start(t, nil)
	u := crawlURL(t, srv, srv.NewDB(t), "shared")
	opts := &frontier.Options{PerHost: 4, Delay: delay}
	a, b := open(t, u, opts), open(t, u, opts)
	for i := range 4 {
		req := frontier.Request{URL: fmt.Sprintf("http://a.test/%d", i)}
		if _, err := a.Push(ctxT(t), req); err != nil {
			t.Fatal(err)
		}
	}
	starts := make(chan time.Time, 4)
	var wg sync.WaitGroup
	for _, f := range []*Frontier{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				l, err := f.Next(ctxT(t))
				if err != nil {
					t.Errorf("Next: %v", err)
					return
				}
				starts <- l.Start
			}
		}()
	}
	wg.Wait()
	close(starts)
	var all []time.Time
	for s := range starts {
		all = append(all, s)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
	for i := 1; i < len(all); i++ {
		if gap := all[i].Sub(all[i-1]); gap < delay {
			t.Errorf("leases of one host by two clients started %v apart, want >= %v", gap, delay)
		}
	}
}

// TestSharedBackoff checks that Backoff by one client pauses the host for the others.
func TestSharedBackoff(t *testing.T) {
	const pause = 100 * time.Millisecond
	srv := redistest.Start(t, nil)
	u := crawlURL(t, srv, srv.NewDB(t), "shared")
	opts := &frontier.Options{BackoffBase: time.Millisecond}
	a, b := open(t, u, opts), open(t, u, opts)
	if _, err := a.Push(ctxT(t), frontier.Request{URL: "http://a.test/1"},
		frontier.Request{URL: "http://a.test/2"}); err != nil {
		t.Fatal(err)
	}
	l, err := a.Next(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.Backoff(ctxT(t), l.Host, pause); err != nil {
		t.Fatal(err)
	}
	l2, err := b.Next(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if gap := l2.Start.Sub(start); gap < pause {
		t.Errorf("other client leased the host %v after Backoff(%v)", gap, pause)
	}
}

func TestOpenErrors(t *testing.T) {
	srv := redistest.Start(t, nil)
	db := srv.NewDB(t)
	if _, err := Open(srv.URL(db), nil); !errors.Is(err, ErrNoCrawl) {
		t.Errorf("Open without crawl = %v, want ErrNoCrawl", err)
	}
	if _, err := Open(srv.URL(db)+"?crawl=x&bogus=1", nil); err == nil {
		t.Errorf("Open with an unknown option succeeded")
	}
	u := crawlURL(t, srv, db, "newer")
	f := open(t, u, nil)
	rdb := srv.Client(t, db)
	if err := rdb.Set(ctxT(t), f.prefix+"format", formatVersion+1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(u, nil); !errors.Is(err, frontier.ErrNewerFormat) {
		t.Errorf("Open of a newer crawl = %v, want ErrNewerFormat", err)
	}
}

// TestDeadRobotsFetcher checks that when the client fetching a robots.txt dies, its
// lock and host slot come back after the lock's time, and another client fetches it.
func TestDeadRobotsFetcher(t *testing.T) {
	srv := redistest.Start(t, nil)
	u := crawlURL(t, srv, srv.NewDB(t), "shared")
	started := make(chan struct{})
	hang := func(ctx context.Context, u string) (int, []byte, error) {
		close(started)
		<-ctx.Done()
		return 0, nil, ctx.Err()
	}
	timeout := 100 * time.Millisecond
	dead := open(t, u, &frontier.Options{Robots: hang, RobotsTimeout: timeout})
	if _, err := dead.Push(ctxT(t), frontier.Request{URL: "http://a.test/1"}); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := dead.Next(ctxT(t))
		res <- err
	}()
	<-started
	dead.abandon()
	if err := <-res; !errors.Is(err, frontier.ErrClosed) {
		t.Fatalf("Next of the dead client = %v, want ErrClosed", err)
	}

	var calls atomic.Int32
	ok := func(ctx context.Context, u string) (int, []byte, error) {
		calls.Add(1)
		return 404, nil, nil
	}
	live := open(t, u, &frontier.Options{Robots: ok, RobotsTimeout: timeout})
	l, err := live.Next(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if l.URL != "http://a.test/1" || calls.Load() != 1 {
		t.Errorf("Next = %s after %d robots.txt fetches, want http://a.test/1 after 1",
			l.URL, calls.Load())
	}
}
