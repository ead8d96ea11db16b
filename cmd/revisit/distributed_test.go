package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/redistest"
	"github.com/revisit-crawl/revisit/internal/sitetest"
)

// worker is one "revisit crawl" process of a crawl shared through Redis,
// with records of its own.
type worker struct {
	out  string
	args []string
}

// newWorkers returns n workers of one crawl of s: the frontier in Redis
// under crawl name, tickets in another database of the same server.
func newWorkers(t *testing.T, srv *redistest.Server, s *cliSite, n int, extra ...string) []worker {
	t.Helper()
	state := srv.URL(srv.NewDB(t)) + "?crawl=site"
	tickets := srv.URL(srv.NewDB(t))
	dir := t.TempDir()
	ws := make([]worker, n)
	for i := range ws {
		ws[i].out = filepath.Join(dir, fmt.Sprintf("out%d.jsonl", i))
		ws[i].args = append([]string{"crawl", "--ca", s.ca, "--tickets", tickets, "--state", state,
			"--out", ws[i].out}, extra...)
		ws[i].args = append(ws[i].args, s.PageURL(0))
	}
	return ws
}

// runWorkers starts the workers at once and waits for all of them. Each
// must exit 0.
func runWorkers(t *testing.T, ws []worker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	results := make([]result, len(ws))
	for i, w := range ws {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, bin, w.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			results[i] = result{code: cmd.ProcessState.ExitCode(), stderr: stderr.String()}
			if err != nil && results[i].code == 0 {
				results[i].code = -1
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 || strings.Contains(r.stderr, "DATA RACE") {
			t.Fatalf("worker %d: exit %d\n%s", i, r.code, r.stderr)
		}
	}
}

// checkShared checks what the workers recorded: every page of s, and no
// more than dups records repeated over all of them. It returns the pages
// each wrote.
func checkShared(t *testing.T, s *cliSite, ws []worker, dups int) []int {
	t.Helper()
	seen := map[string]int{}
	split := make([]int, len(ws))
	repeated := 0
	for i, w := range ws {
		recs := []record{}
		if _, err := os.Stat(w.out); err == nil {
			recs = readRecords(t, w.out)
		}
		split[i] = len(recs)
		for _, rec := range recs {
			if rec.Status != 200 || rec.Error != "" {
				t.Errorf("worker %d: record %+v", i, rec)
			}
			if seen[rec.URL]++; seen[rec.URL] > 1 {
				repeated++
			}
		}
	}
	for i := range s.N {
		if seen[s.PageURL(i)] == 0 {
			t.Errorf("page %d has no record", i)
		}
	}
	if repeated > dups {
		t.Errorf("%d records repeat a URL, want at most %d", repeated, dups)
	}
	return split
}

// TestDistributedCrawl runs three worker processes on one crawl in
// Redis: every page is fetched once in all, robots.txt once, and the
// per-host limit holds for the three together, not for each.
func TestDistributedCrawl(t *testing.T) {
	const pages, perHost = 300, 2
	srv := redistest.Start(t, nil)
	s := newCLISiteWith(t, pages, &sitetest.Options{
		Robots: "User-agent: *\nDisallow: /private/\n", PageDelay: 5 * time.Millisecond})
	ws := newWorkers(t, srv, s, 3, "--depth", "20", "--concurrency", "4",
		"--per-host", strconv.Itoa(perHost))
	runWorkers(t, ws)

	split := checkShared(t, s, ws, 0)
	for path, n := range s.Hits() {
		if n != 1 {
			t.Errorf("%s fetched %d times, want once over all workers", path, n)
		}
	}
	if m := s.MaxInFlight(); m > perHost {
		t.Errorf("the site served %d pages at once, want at most --per-host %d over all workers", m, perHost)
	}
	t.Logf("pages per worker %v, at most %d in flight", split, s.MaxInFlight())
	for i, n := range split {
		if n == 0 {
			t.Errorf("worker %d fetched nothing: the others took every page", i)
		}
	}

	// The crawl is finished for every process: a fourth fetches nothing.
	hits := s.Hits()
	r := revisit(t, ws[0].args...)
	if r.code != 0 || !strings.Contains(r.stderr, "crawl: 0 fetched") {
		t.Errorf("worker after the crawl: exit %d, want 0 and nothing fetched\n%s", r.code, r.stderr)
	}
	for path, n := range s.Hits() {
		if n != hits[path] {
			t.Errorf("a worker of a finished crawl fetched %s again", path)
		}
	}
}

// TestDistributedDelay gives two workers --delay with one fetch per host:
// the requests of the two together keep the delay apart.
func TestDistributedDelay(t *testing.T) {
	const delay = 40 * time.Millisecond
	srv := redistest.Start(t, nil)
	s := newCLISite(t, 25)
	ws := newWorkers(t, srv, s, 2, "--depth", "20", "--per-host", "1",
		"--delay", delay.String(), "--robots=false")
	runWorkers(t, ws)
	checkShared(t, s, ws, 0)

	// Starts are seen by the site, after each request's own trip from
	// its worker, which varies by a few milliseconds: half the delay is
	// the margin.
	starts := s.Starts()
	shortest := time.Hour
	for i := 1; i < len(starts); i++ {
		shortest = min(shortest, starts[i].Sub(starts[i-1]))
	}
	t.Logf("%d requests, shortest gap %v, --delay %v", len(starts), shortest, delay)
	if shortest < delay/2 {
		t.Errorf("two requests %v apart, want about --delay %v between any two", shortest, delay)
	}
	if m := s.MaxInFlight(); m > 1 {
		t.Errorf("%d pages served at once with --per-host 1", m)
	}
}

// TestDistributedWorkerKilled kills a worker with SIGKILL in the middle
// of a shared crawl. Its leases come back to the two workers started
// after it once --lease-timeout passes, and the crawl completes: every
// page fetched, and again only what the killed worker had in flight.
func TestDistributedWorkerKilled(t *testing.T) {
	const pages, concurrency = 200, 4
	srv := redistest.Start(t, nil)
	s := newCLISiteWith(t, pages, &sitetest.Options{PageDelay: 30 * time.Millisecond})
	ws := newWorkers(t, srv, s, 3, "--depth", "20", "--concurrency", strconv.Itoa(concurrency),
		"--per-host", "8", "--lease-timeout", "2s")

	status, stderr := crawlUntil(t, ws[0].args, &lineCounter{path: ws[0].out}, 20)
	if !status.Signaled() || status.Signal() != syscall.SIGKILL {
		t.Fatalf("the first worker ended by itself (%v)\n%s", status, stderr)
	}
	fetched := len(pagesHit(s))
	if fetched == pages {
		t.Fatal("the first worker fetched every page before the kill; make the site larger")
	}
	t.Logf("first worker killed after %d pages requested", fetched)

	runWorkers(t, ws[1:])
	checkShared(t, s, ws, concurrency)
	repeats := 0
	for i := range pages {
		n := s.Hits()[fmt.Sprintf("/p/%d", i)]
		if n == 0 {
			t.Errorf("page %d never fetched", i)
		}
		repeats += max(n-1, 0)
	}
	t.Logf("%d pages fetched again after the kill (bound %d)", repeats, concurrency)
	if repeats > concurrency {
		t.Errorf("%d pages fetched again, want at most the killed worker's --concurrency %d",
			repeats, concurrency)
	}
}
