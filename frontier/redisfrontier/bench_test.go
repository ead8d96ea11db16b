package redisfrontier

import (
	"fmt"
	"testing"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/internal/redistest"
)

// BenchmarkCrawl pushes b.N URLs of 100 hosts, then leases and settles them all from
// 4*GOMAXPROCS goroutines sharing one Frontier: the cost of one URL's life in Redis.
func BenchmarkCrawl(b *testing.B) {
	srv := redistest.Start(b, nil)
	f := open(b, crawlURL(b, srv, srv.NewDB(b), "bench"), &frontier.Options{PerHost: 8})
	reqs := make([]frontier.Request, 0, 1000)
	pushAll := func() {
		for i := range b.N {
			reqs = append(reqs, frontier.Request{URL: fmt.Sprintf("http://h%d.test/%d", i%100, i)})
			if len(reqs) == cap(reqs) || i == b.N-1 {
				if _, err := f.Push(ctxT(b), reqs...); err != nil {
					b.Fatal(err)
				}
				reqs = reqs[:0]
			}
		}
	}
	b.ReportAllocs()
	pushAll()
	b.ResetTimer()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l, err := f.Next(ctxT(b))
			if err != nil {
				b.Error(err)
				return
			}
			if err := f.Done(ctxT(b), l); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
}
