package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/revisit-crawl/revisit/crawler"
	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/frontier/redisfrontier"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

// runRevisit crawls the site with revisit: the bbolt frontier in a
// temporary file (synced to disk, as a real crawl's) or, with -state
// redis://..., a crawl in Redis that other processes may share; the
// default Chrome profile, robots.txt obeyed, no depth limit.
func runRevisit(args []string) error {
	var tickets bool
	var state, cpuprofile, memprofile string
	f, err := parseCrawlFlags("revisit", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&tickets, "tickets", false, "keep TLS tickets in a temporary ticket store")
		fs.StringVar(&state, "state", "", "redis://HOST:PORT/DB?crawl=NAME to share a crawl "+
			"in Redis (default a bbolt file in a temporary directory)")
		fs.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the crawl to this file")
		fs.StringVar(&memprofile, "memprofile", "", "write an allocation profile of the crawl to this file")
	})
	if err != nil {
		return err
	}
	if state != "" && !isRedisURL(state) {
		return fmt.Errorf("-state %q: want a redis:// or rediss:// URL", state)
	}
	if cpuprofile != "" {
		pf, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if memprofile != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			if pf, err := os.Create(memprofile); err == nil {
				pprof.Lookup("allocs").WriteTo(pf, 0)
				pf.Close()
			}
		}()
	}
	roots, err := loadRoots(f.ca)
	if err != nil {
		return err
	}
	start := time.Now()
	dir, err := os.MkdirTemp("", "crawlbench-revisit")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var store *ticketstore.Store
	if tickets {
		if store, err = ticketstore.Open(filepath.Join(dir, "tickets.db"), nil); err != nil {
			return err
		}
		defer store.Close()
	}
	tr, err := transport.New(transport.Config{RootCAs: roots, Tickets: store})
	if err != nil {
		return err
	}
	defer tr.Close()
	front, err := openFrontier(state, filepath.Join(dir, "state.db"),
		&frontier.Options{PerHost: f.perHost, Robots: robotsVia(tr)})
	if err != nil {
		return err
	}
	defer front.Close()

	res, err := crawl(f, front, tr)
	if err != nil {
		return err
	}
	// Closing the frontier and the transport is part of the crawl.
	if err := front.Close(); err != nil {
		return err
	}
	tr.Close()
	if store != nil {
		if err := store.Close(); err != nil {
			return err
		}
	}
	return res.print(start)
}

// openFrontier opens the crawl in Redis when state is a Redis URL, else a
// bbolt file at path.
func openFrontier(state, path string, opts *frontier.Options) (frontier.Frontier, error) {
	if isRedisURL(state) {
		return redisfrontier.Open(state, opts)
	}
	return frontier.Open(path, opts)
}

func isRedisURL(s string) bool {
	return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://")
}

// crawl runs revisit's engine over the frontier and counts what it saw.
func crawl(f *crawlFlags, front frontier.Frontier, tr http.RoundTripper) (crawlResult, error) {
	res := crawlResult{Crawler: "revisit"}
	c, err := crawler.New(crawler.Config{
		Frontier: front, Transport: tr, MaxDepth: -1, Concurrency: f.concurrency,
	})
	if err != nil {
		return res, err
	}
	var pages, links, errs atomic.Int64
	var protos protocols
	c.OnHTML("a[href]", func(e *crawler.Element) {
		links.Add(1)
		e.Follow("href")
	})
	c.OnResponse(func(r *crawler.Response) { protos.add(r.Conn.ALPN) })
	c.OnScraped(func(*crawler.Response) { pages.Add(1) })
	c.OnError(func(*crawler.Response, error) { errs.Add(1) })
	if err := c.Run(context.Background(), f.url+"/"); err != nil {
		return res, err
	}
	res.Pages, res.Links, res.Errors = pages.Load(), links.Load(), errs.Load()
	res.Protocol = protos.String()
	return res, nil
}

// robotsVia fetches robots.txt for the frontier through the crawl's own
// transport. The site never redirects it, so redirects are not followed.
func robotsVia(rt http.RoundTripper) frontier.RobotsFunc {
	return func(ctx context.Context, robotsURL string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, robotsURL, nil)
		if err != nil {
			return 0, nil, err
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 512<<10))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, err
		}
		return resp.StatusCode, body, nil
	}
}
