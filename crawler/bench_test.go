package crawler_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/crawler"
	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/internal/sitetest"
	"github.com/revisit-crawl/revisit/transport"
)

// BenchmarkCrawl crawls a local HTTPS site of 2000 pages (HTTP/2, one
// host) with 16 workers and the frontier syncing to disk, and reports
// pages per second. The site runs in the same process.
func BenchmarkCrawl(b *testing.B) {
	const pages = 2000
	site := sitetest.New(b, pages, nil)
	tr, err := transport.New(transport.Config{RootCAs: site.CA.Pool})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	b.ReportAllocs()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		front, err := frontier.Open(filepath.Join(b.TempDir(), "state.db"), &frontier.Options{PerHost: 16})
		if err != nil {
			b.Fatal(err)
		}
		c, err := crawler.New(crawler.Config{Frontier: front, Transport: tr, MaxDepth: -1, Concurrency: 16})
		if err != nil {
			b.Fatal(err)
		}
		c.OnHTML("a[href]", func(e *crawler.Element) { e.Follow("href") })
		b.StartTimer()
		start := time.Now()
		if err := c.Run(context.Background(), site.PageURL(0)); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		if n := c.Stats().Fetches; n != pages {
			b.Fatalf("fetched %d pages, want %d", n, pages)
		}
		front.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(pages*b.N)/total.Seconds(), "pages/s")
}
