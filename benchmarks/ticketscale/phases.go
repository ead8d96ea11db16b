package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/revisit-crawl/revisit/ticketstore"
)

// slotChunk is how many server keys a writer claims at a time.
const slotChunk = 256

// fill stores every ticket: first those of the expired share, with the
// clock 8 days back, then the others, 2 days back. A key's tickets are put
// back to back, as they arrive on one connection.
func fill(w *workload, parts []*ticketstore.Partition, clk *clock, writers int,
	every time.Duration, r *result) error {
	var count atomic.Int64
	marks := newTenths(w.n)
	stop := progress("fill", &count, every)
	defer stop()
	start := time.Now()
	for _, old := range []bool{true, false} {
		if old {
			clk.set(expiredAge)
		} else {
			clk.set(liveAge)
		}
		h, err := fillShare(w, parts, writers, old, &count, marks)
		if err != nil {
			return err
		}
		r.put.merge(h)
	}
	r.fill = time.Since(start)
	r.tenths = marks.durations(start)
	fmt.Printf("fill: %d tickets in %v = %.0f tickets/s; Put p50 %v, p99 %v, max %v\n", w.n,
		dur(r.fill), float64(w.n)/r.fill.Seconds(), dur(r.put.quantile(0.5)),
		dur(r.put.quantile(0.99)), dur(r.put.max))
	fmt.Printf("fill rate by tenth of the tickets: %s\n", tenthRates(r.tenths, w.n))
	return nil
}

// fillShare puts the tickets of the keys whose expiry matches old.
func fillShare(w *workload, parts []*ticketstore.Partition, writers int, old bool,
	count *atomic.Int64, marks *tenths) (*hist, error) {
	var next atomic.Int64
	var mu sync.Mutex
	total := &hist{}
	var firstErr error
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			h := &hist{}
			err := putKeys(w, parts, old, &next, count, marks, h)
			mu.Lock()
			defer mu.Unlock()
			total.merge(h)
			if firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return total, firstErr
}

func putKeys(w *workload, parts []*ticketstore.Partition, old bool, next, count *atomic.Int64,
	marks *tenths, h *hist) error {
	for {
		lo := int(next.Add(slotChunk)) - slotChunk
		if lo >= w.servers {
			return nil
		}
		for s := lo; s < min(lo+slotChunk, w.servers); s++ {
			if w.expired(s) != old {
				continue
			}
			p, server := parts[w.partition(s)], w.server(s)
			for range w.tickets(s) {
				start := time.Now()
				if err := p.Put(server, w.cs); err != nil {
					return err
				}
				h.add(time.Since(start))
				marks.passed(count.Add(1))
			}
		}
	}
}

// tenths records when a count passes each tenth of its total.
type tenths struct {
	total int64
	at    [10]atomic.Int64 // Unix nanoseconds
}

func newTenths(total int) *tenths { return &tenths{total: int64(total)} }

func (t *tenths) passed(c int64) {
	i := c * 10 / t.total
	if i != (c-1)*10/t.total && i >= 1 && i <= 10 {
		t.at[i-1].Store(time.Now().UnixNano())
	}
}

func (t *tenths) durations(start time.Time) []time.Duration {
	out := make([]time.Duration, 0, 10)
	prev := start.UnixNano()
	for i := range t.at {
		at := t.at[i].Load()
		if at == 0 {
			break
		}
		out = append(out, time.Duration(at-prev))
		prev = at
	}
	return out
}

func tenthRates(ds []time.Duration, n int) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, strconv.Itoa(int(float64(n)/10/d.Seconds())))
	}
	return strings.Join(parts, " ")
}

// progress prints the rate of count every d until the returned function
// is called: the rate since the last line and since the start.
func progress(phase string, count *atomic.Int64, d time.Duration) (stop func()) {
	if d <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		start, last, lastAt := time.Now(), int64(0), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				c := count.Load()
				fmt.Printf("  %s: %d after %v (%.0f/s, %.0f/s overall)\n", phase, c,
					now.Sub(start).Round(time.Second), float64(c-last)/now.Sub(lastAt).Seconds(),
					float64(c)/now.Sub(start).Seconds())
				last, lastAt = c, now
			}
		}
	}()
	return func() { close(done) }
}

// sampleLive picks up to k distinct server keys that hold live tickets.
func sampleLive(w *workload, k int) []int {
	live := w.servers - w.servers*w.expiredPct/100
	k = min(k, live)
	rng := rand.New(rand.NewPCG(1, 2))
	picked := make(map[int]bool, k)
	out := make([]int, 0, k)
	for len(out) < k {
		s := rng.IntN(w.servers)
		if w.expired(s) || picked[s] {
			continue
		}
		picked[s] = true
		out = append(out, s)
	}
	return out
}

// takePhase takes one ticket from each sampled server. Every take must hit.
func takePhase(w *workload, parts []*ticketstore.Partition, sample, takers int, r *result) error {
	keys := sampleLive(w, sample)
	start := time.Now()
	var hits atomic.Int64
	h, err := concurrently(len(keys), takers, func(i int) error {
		s := keys[i]
		_, ok, err := parts[w.partition(s)].Take(w.server(s))
		if ok {
			hits.Add(1)
		}
		return err
	})
	r.takeTime, r.takes, r.hits, r.take = time.Since(start), len(keys), int(hits.Load()), *h
	if err != nil {
		return err
	}
	fmt.Printf("take: %d hits of %d in %v = %.0f/s; p50 %v, p99 %v, max %v\n", r.hits, r.takes,
		dur(r.takeTime), float64(r.takes)/r.takeTime.Seconds(), dur(h.quantile(0.5)),
		dur(h.quantile(0.99)), dur(h.max))
	if r.hits != r.takes {
		return fmt.Errorf("%d of %d takes missed", r.takes-r.hits, r.takes)
	}
	return nil
}

// missPhase looks up servers that were never stored. Every take must miss.
func missPhase(w *workload, parts []*ticketstore.Partition, sample, takers int, r *result) error {
	start := time.Now()
	var found atomic.Int64
	h, err := concurrently(sample, takers, func(i int) error {
		server := "www.absent" + strconv.Itoa(i) + ".example:443"
		_, ok, err := parts[i%len(parts)].Take(server)
		if ok {
			found.Add(1)
		}
		return err
	})
	r.missTime, r.misses = time.Since(start), sample
	if err != nil {
		return err
	}
	fmt.Printf("miss: %d in %v = %.0f/s; p50 %v, p99 %v\n", sample, dur(r.missTime),
		float64(sample)/r.missTime.Seconds(), dur(h.quantile(0.5)), dur(h.quantile(0.99)))
	if found.Load() != 0 {
		return fmt.Errorf("%d takes of servers never stored found a ticket", found.Load())
	}
	return nil
}

// concurrently runs fn(0..n-1) on the given number of goroutines and
// returns the latencies of the calls and the first error.
func concurrently(n, goroutines int, fn func(i int) error) (*hist, error) {
	var next atomic.Int64
	var mu sync.Mutex
	total := &hist{}
	var firstErr error
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			h := &hist{}
			var err error
			for i := int(next.Add(1)) - 1; i < n && err == nil; i = int(next.Add(1)) - 1 {
				start := time.Now()
				err = fn(i)
				h.add(time.Since(start))
			}
			mu.Lock()
			defer mu.Unlock()
			total.merge(h)
			if firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return total, firstErr
}
