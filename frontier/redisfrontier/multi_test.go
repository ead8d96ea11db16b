package redisfrontier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/internal/redistest"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestMultiClient runs several Frontiers on one crawl, as several processes would:
// every one pushes every URL, workers of all of them crawl, and each URL must be
// queued once, handed out once, and never have more than PerHost leases of its host
// out at a time across all clients.
func TestMultiClient(t *testing.T) {
	const clients, workers, hosts, perHostURLs, limit = 4, 3, 6, 25, 2
	srv := redistest.Start(t, nil)
	u := crawlURL(t, srv, srv.NewDB(t), "shared")
	var urls []frontier.Request
	for h := range hosts {
		for i := range perHostURLs {
			urls = append(urls, frontier.Request{URL: fmt.Sprintf("http://h%d.test/%d", h, i)})
		}
	}

	fs := make([]*Frontier, clients)
	var added int
	var pushWG sync.WaitGroup
	var pushMu sync.Mutex
	for i := range fs {
		fs[i] = open(t, u, &frontier.Options{PerHost: limit})
		pushWG.Add(1)
		go func() {
			defer pushWG.Done()
			res, err := fs[i].Push(ctxT(t), urls...)
			if err != nil {
				t.Errorf("Push: %v", err)
			}
			pushMu.Lock()
			added += res.Added
			pushMu.Unlock()
		}()
	}
	pushWG.Wait()
	if added != len(urls) {
		t.Fatalf("clients added %d URLs in all, want %d", added, len(urls))
	}

	var mu sync.Mutex
	fetched := map[string]int{}
	inflight := map[string]int{}
	maxSeen := 0
	drain(t, fs, workers, func(l *frontier.Lease) {
		mu.Lock()
		fetched[l.URL]++
		inflight[l.Host]++
		maxSeen = max(maxSeen, inflight[l.Host])
		mu.Unlock()
		time.Sleep(time.Millisecond) // a fetch, so that leases overlap
		mu.Lock()
		inflight[l.Host]--
		mu.Unlock()
	})

	if len(fetched) != len(urls) {
		t.Errorf("fetched %d URLs, want %d", len(fetched), len(urls))
	}
	for u, n := range fetched {
		if n != 1 {
			t.Errorf("%s fetched %d times, want once", u, n)
		}
	}
	if maxSeen > limit {
		t.Errorf("%d leases of one host in flight across clients, want <= %d", maxSeen, limit)
	}
	st, err := fs[0].Stats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want := frontier.Stats{Done: int64(len(urls)), Seen: int64(len(urls))}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

// TestDeadClient checks that the leases of a client that dies, closed without settling
// or giving them back, return to the queue after their deadline and are crawled by
// another client, with the interrupted attempt counted.
func TestDeadClient(t *testing.T) {
	const lease = 200 * time.Millisecond
	srv := redistest.Start(t, nil)
	u := crawlURL(t, srv, srv.NewDB(t), "shared")
	dead := open(t, u, &frontier.Options{PerHost: 4, LeaseTimeout: lease})
	var urls []string
	for i := range 10 {
		urls = append(urls, fmt.Sprintf("http://a.test/%d", i))
	}
	for _, s := range urls {
		if _, err := dead.Push(ctxT(t), frontier.Request{URL: s}); err != nil {
			t.Fatal(err)
		}
	}
	lost := map[string]time.Time{} // URL -> deadline of its lease
	for range 3 {
		l, err := dead.Next(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		lost[l.URL] = l.Deadline
	}
	dead.abandon()

	live := open(t, u, nil)
	st, err := live.Stats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Leased != 3 || st.Queued != 7 {
		t.Fatalf("Stats after the death = %+v, want 3 leased, 7 queued", st)
	}
	got := map[string]int{}
	for {
		l, err := live.Next(ctxT(t))
		if errors.Is(err, frontier.ErrDrained) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[l.URL] = l.Attempts
		if d, ok := lost[l.URL]; ok && l.Start.Before(d) {
			t.Errorf("%s handed out again at %v, before its lease's deadline %v",
				l.URL, l.Start, d)
		}
		if err := live.Done(ctxT(t), l); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range urls {
		want := 1
		if _, ok := lost[s]; ok {
			want = 2
		}
		if got[s] != want {
			t.Errorf("%s came with attempt %d, want %d", s, got[s], want)
		}
	}
	st, err = live.Stats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != 10 || st.Leased != 0 || st.Queued != 0 {
		t.Errorf("Stats at the end = %+v, want 10 done", st)
	}
}
