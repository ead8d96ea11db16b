// Command localcrawl crawls a small web site that it serves itself over
// HTTPS on 127.0.0.1, so it runs anywhere, offline. It crawls the site
// twice with the same ticket store, as two runs of a crawler on different
// days would: the second run's connections offer the ticket the first run
// received, and resume.
//
//	go run ./examples/localcrawl
//	go run ./examples/localcrawl -pages 1000 -concurrency 8
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/revisit-crawl/revisit/crawler"
	"github.com/revisit-crawl/revisit/examples/internal/localsite"
	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

func main() {
	pages := flag.Int("pages", 100, "pages on the local site")
	concurrency := flag.Int("concurrency", 4, "fetches in flight")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*pages, *concurrency); err != nil {
		log.Fatal(err)
	}
}

func run(pages, concurrency int) error {
	site, err := localsite.Start(localsite.Options{Pages: pages})
	if err != nil {
		return err
	}
	defer site.Close()
	dir, err := os.MkdirTemp("", "localcrawl")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("serving %d pages at %s\n", pages, site.URL)

	for i := 1; i <= 2; i++ {
		// A frontier of its own for each run, so that both fetch every
		// page; one ticket store for both.
		state := filepath.Join(dir, fmt.Sprintf("state-%d.db", i))
		if err := crawl(site, filepath.Join(dir, "tickets.db"), state, concurrency); err != nil {
			return err
		}
	}
	return nil
}

func crawl(site *localsite.Site, ticketsPath, statePath string, concurrency int) error {
	store, err := ticketstore.Open(ticketsPath, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	tr, err := transport.New(transport.Config{Tickets: store, RootCAs: site.RootCAs})
	if err != nil {
		return err
	}
	defer tr.Close()
	front, err := frontier.Open(statePath, &frontier.Options{PerHost: concurrency})
	if err != nil {
		return err
	}
	defer front.Close()

	c, err := crawler.New(crawler.Config{Frontier: front, Transport: tr, MaxDepth: -1, Concurrency: concurrency})
	if err != nil {
		return err
	}
	var titled atomic.Int64
	c.OnHTML("a[href]", func(e *crawler.Element) { e.Follow("href") })
	c.OnHTML("h1", func(*crawler.Element) { titled.Add(1) })
	start := time.Now()
	if err := c.Run(context.Background(), site.URL+"/p/0"); err != nil {
		return err
	}
	fmt.Printf("crawl done in %v, %d pages with a heading\n%s", time.Since(start).Round(time.Millisecond),
		titled.Load(), c.Stats().Summary())
	return nil
}
