package frontier_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
)

// TestHundredThousand crawls scaleURLs URLs over 500 hosts with 16 workers and checks
// that each is handed out exactly once. The race detector slows it about tenfold, so
// under -race it runs a fifth of them (see race_test.go).
func TestHundredThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	const hosts, workers, batch = 500, 16, 1000
	n := scaleURLs
	ctx := context.Background()
	f, err := frontier.Open(filepath.Join(t.TempDir(), "f.db"), &frontier.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	reqs := make([]frontier.Request, 0, batch)
	for i := 0; i < n; i++ {
		reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://h%d.test/%d", i%hosts, i)})
		if len(reqs) == batch || i == n-1 {
			res, err := f.Push(ctx, reqs...)
			if err != nil || res.Added != len(reqs) {
				t.Fatalf("Push = %+v, %v", res, err)
			}
			reqs = reqs[:0]
		}
	}

	seen := make([]atomic.Int32, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				l, err := f.Next(ctx)
				if errors.Is(err, frontier.ErrDrained) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				var h, id int
				fmt.Sscanf(l.URL, "http://h%d.test/%d", &h, &id)
				seen[id].Add(1)
				if err := f.Done(ctx, l); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for id := range seen {
		if c := seen[id].Load(); c != 1 {
			t.Fatalf("URL %d handed out %d times", id, c)
		}
	}
	if st, _ := f.Stats(ctx); st.Done != int64(n) || st.Queued != 0 || st.Hosts != 0 {
		t.Fatalf("Stats = %+v, want %d done", st, n)
	}
}

// TestPolitenessUnderLoad runs many more workers than the per-host limit allows and
// measures, from the outside, the leases in flight per host and the spacing between
// request starts.
func TestPolitenessUnderLoad(t *testing.T) {
	const hosts, perHostURLs, workers, limit = 6, 12, 32, 2
	const delay = 40 * time.Millisecond
	ctx := context.Background()
	f, err := frontier.Open(filepath.Join(t.TempDir(), "f.db"),
		&frontier.Options{NoSync: true, PerHost: limit, Delay: delay})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for h := range hosts {
		for i := range perHostURLs {
			if _, err := f.Push(ctx, frontier.Request{URL: fmt.Sprintf("http://h%d.test/%d", h, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}

	var mu sync.Mutex
	inflight, maxInflight := map[string]int{}, map[string]int{}
	starts := map[string][]time.Time{} // observed after Next returned
	leased := map[string][]time.Time{} // Lease.Start
	rng := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	for w := range workers {
		// Longer than the delay, so that hosts reach their limit.
		hold := 50*time.Millisecond + time.Duration(rng.Int64N(int64(70*time.Millisecond)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				l, err := f.Next(ctx)
				if errors.Is(err, frontier.ErrDrained) {
					return
				}
				if err != nil {
					t.Error(w, err)
					return
				}
				now := time.Now()
				mu.Lock()
				inflight[l.Host]++
				maxInflight[l.Host] = max(maxInflight[l.Host], inflight[l.Host])
				starts[l.Host] = append(starts[l.Host], now)
				leased[l.Host] = append(leased[l.Host], l.Start)
				mu.Unlock()

				<-time.After(hold)

				mu.Lock()
				inflight[l.Host]--
				mu.Unlock()
				if err := f.Done(ctx, l); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	reached := false
	for h := range starts {
		reached = reached || maxInflight[h] == limit
		if maxInflight[h] > limit {
			t.Errorf("%s: %d requests in flight, limit %d", h, maxInflight[h], limit)
		}
		if len(starts[h]) != perHostURLs {
			t.Errorf("%s: %d fetches, want %d", h, len(starts[h]), perHostURLs)
		}
		minLease, minSeen := gaps(leased[h]), gaps(starts[h])
		if minLease < delay {
			t.Errorf("%s: lease starts %v apart, want >= %v", h, minLease, delay)
		}
		// Observed times lag the leases by scheduling noise.
		if minSeen < delay/2 {
			t.Errorf("%s: observed starts %v apart, want about %v", h, minSeen, delay)
		}
		t.Logf("%s: max in flight %d, min spacing %v (observed %v)", h, maxInflight[h],
			minLease, minSeen)
	}
	if !reached {
		t.Errorf("no host reached %d requests in flight; the test checks nothing", limit)
	}
}

// gaps returns the smallest interval between sorted times.
func gaps(ts []time.Time) time.Duration {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	m := time.Duration(math.MaxInt64)
	for i := 1; i < len(ts); i++ {
		m = min(m, ts[i].Sub(ts[i-1]))
	}
	return m
}
