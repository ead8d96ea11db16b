package frontier_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/revisit-crawl/revisit/frontier"
)

// benchFrontier opens a frontier; sync selects real fsyncs, which on most disks makes
// the rate a measure of the disk.
func benchFrontier(b *testing.B, sync bool) *frontier.Bolt {
	b.Helper()
	f, err := frontier.Open(filepath.Join(b.TempDir(), "f.db"),
		&frontier.Options{NoSync: !sync, PerHost: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

func benchPush(b *testing.B, f frontier.Frontier, n int) {
	const batch = 1000
	ctx := context.Background()
	reqs := make([]frontier.Request, 0, batch)
	for i := 0; i < n; i++ {
		u := fmt.Sprintf("https://host%d.example/page/%d", i%1000, i)
		reqs = append(reqs, frontier.Request{URL: u})
		if len(reqs) == batch || i == n-1 {
			if _, err := f.Push(ctx, reqs...); err != nil {
				b.Fatal(err)
			}
			reqs = reqs[:0]
		}
	}
}

func BenchmarkPush(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("fsync=%v", sync), func(b *testing.B) {
			f := benchFrontier(b, sync)
			b.ReportAllocs()
			b.ResetTimer()
			benchPush(b, f, b.N)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
		})
	}
}

func BenchmarkNextDone(b *testing.B) {
	for _, workers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			f := benchFrontier(b, false)
			benchPush(b, f, b.N)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
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
						if err == nil {
							err = f.Done(ctx, l)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
		})
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := frontier.Canonicalize("HTTPS://www.Example.com:443/a/./b/../c%7e?q=1#x"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRobotsAllowed(b *testing.B) {
	r := frontier.ParseRobots([]byte("User-agent: *\nDisallow: /search*q=\nDisallow: /*.pdf$\n" +
		"Allow: /search/about\nDisallow: /private/\n"))
	b.ReportAllocs()
	for b.Loop() {
		r.Allowed("revisit", "/search/results?page=2&q=crawler")
	}
}
