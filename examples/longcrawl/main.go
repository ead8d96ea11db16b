// Command longcrawl is a long crawl that can be stopped and continued. Its
// state lives in a file; press Ctrl-C and it stops, keeping the state, and
// running it again carries on where it stopped, fetching nothing twice but
// the pages that were in flight. Without a URL it serves a site of
// thousands of slow pages on 127.0.0.1, so there is time to interrupt it.
//
//	go run ./examples/longcrawl -state /tmp/long.db     # Ctrl-C after a while
//	go run ./examples/longcrawl -state /tmp/long.db     # continues
//
// The local site listens on a fixed address (-listen), so that the URLs a
// stopped run left in the state file are served again when it continues.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/revisit-crawl/revisit/crawler"
	"github.com/revisit-crawl/revisit/examples/internal/localsite"
	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/transport"
)

func main() {
	state := flag.String("state", "longcrawl-state.db", "crawl state file")
	pages := flag.Int("pages", 5000, "pages on the local site")
	listen := flag.String("listen", "127.0.0.1:18443", "address of the local site")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: longcrawl [-state FILE] [-pages N] [URL]")
		flag.PrintDefaults()
	}
	flag.Parse()
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, *state, localsite.Options{Pages: *pages, Latency: 20 * time.Millisecond, Addr: *listen}, flag.Arg(0))
	switch {
	case errors.Is(err, context.Canceled):
		log.Printf("stopped; the state is in %s: run the same command again to continue", *state)
		os.Exit(130)
	case err != nil:
		log.Fatal(err)
	}
}

func run(ctx context.Context, statePath string, siteOpts localsite.Options, start string) error {
	var roots *x509.CertPool
	if start == "" {
		site, err := localsite.Start(siteOpts)
		if err != nil {
			return err
		}
		defer site.Close()
		start, roots = site.URL+"/p/0", site.RootCAs
	}
	front, err := frontier.Open(statePath, &frontier.Options{PerHost: 4})
	if err != nil {
		return err
	}
	defer front.Close()
	if st, err := front.Stats(ctx); err == nil && st.Seen > 0 {
		log.Printf("continuing: %d done, %d queued, %d failed", st.Done, st.Queued, st.Failed)
	}
	tr, err := transport.New(transport.Config{RootCAs: roots})
	if err != nil {
		return err
	}
	defer tr.Close()
	c, err := crawler.New(crawler.Config{
		Frontier:    front,
		Transport:   tr,
		MaxDepth:    -1,
		Concurrency: 4,
		Progress:    os.Stderr,
	})
	if err != nil {
		return err
	}
	c.OnHTML("a[href]", func(e *crawler.Element) { e.Follow("href") })
	err = c.Run(ctx, start)
	log.Print(c.Stats().Summary())
	return err
}
