package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testSeed returns the seed of a test's randomness: REVISIT_TEST_SEED if
// set, so that a failure can be replayed, else the time. It is logged.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("REVISIT_TEST_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("REVISIT_TEST_SEED=%q: %v", v, err)
		}
	}
	t.Logf("seed %d (replay with REVISIT_TEST_SEED=%d)", seed, seed)
	return seed
}

// lineCounter counts the lines of a file that only grows, reading each
// byte once.
type lineCounter struct {
	path  string
	off   int64
	lines int
}

func (c *lineCounter) count(t *testing.T) int {
	t.Helper()
	f, err := os.Open(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return c.lines
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := f.ReadAt(buf, c.off)
		c.off += int64(n)
		c.lines += bytes.Count(buf[:n], []byte("\n"))
		if err == io.EOF {
			return c.lines
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSIGKILLRepeatedly kills a crawl of a few thousand pages with SIGKILL
// at random moments, then lets a last run finish on the same state, ticket
// and output files. Nothing may be lost, and only what was in flight at
// each kill may be fetched again (DESIGN, invariant 6).
func TestSIGKILLRepeatedly(t *testing.T) {
	const (
		pages       = 3000
		wantKills   = 6
		concurrency = 8
	)
	rng := rand.New(rand.NewPCG(testSeed(t), 0))
	s := newCLISite(t, pages)
	args := s.crawlArgs("--depth", "20", "--concurrency", strconv.Itoa(concurrency),
		"--per-host", strconv.Itoa(concurrency))
	out := &lineCounter{path: s.out}

	// Each run is killed once it has written a random number of records,
	// few enough that the crawl is far from done after all the kills. Only
	// kills while some page was still unfetched count towards wantKills;
	// every kill counts in the bound on fetches repeated.
	kills, killed, runs := 0, 0, 0
	for kills < wantKills {
		if runs == 3*wantKills {
			t.Fatalf("only %d of %d runs were killed in the middle of the crawl", kills, runs)
		}
		runs++
		target := out.count(t) + 20 + rng.IntN(pages/(2*wantKills))
		status, stderr := crawlUntil(t, args, out, target)
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "DATA RACE") {
			t.Fatalf("run %d:\n%s", runs, stderr)
		}
		if !status.Signaled() || status.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d ended by itself before the kill (%v), after %d records; make the site larger\n%s",
				runs, status, out.count(t), stderr)
		}
		killed++
		// The process is gone: if some page was never requested, the kill
		// interrupted a crawl that still had work.
		if fetched := len(pagesHit(s)); fetched < pages {
			kills++
			t.Logf("run %d killed after %d records, %d distinct pages fetched", runs, out.count(t), fetched)
		} else {
			t.Logf("run %d killed after every page was fetched: not counted", runs)
		}
	}

	// The last run resumes and finishes. --out is opened for appending, so
	// the file holds the records of every run.
	r := revisit(t, args...)
	if r.code != 0 {
		t.Fatalf("final run: exit %d\n%s", r.code, r.stderr)
	}
	runs++
	hits := s.Hits()
	checkRefetches(t, s, hits, killed, concurrency, runs)
	recs := checkKillRecords(t, s, hits)

	r = revisit(t, "tickets", "list", "--tickets", s.tickets)
	if r.code != 0 || !strings.Contains(r.stdout, "chrome133") {
		t.Errorf("tickets list after the kills: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The crawl is complete: running it again fetches nothing, not even
	// robots.txt, and writes no record.
	r = revisit(t, args...)
	if r.code != 0 || !strings.Contains(r.stderr, "crawl: 0 fetched") {
		t.Errorf("crawl of a finished state: exit %d, want 0 and nothing fetched\n%s", r.code, r.stderr)
	}
	for path, n := range s.Hits() {
		if n != hits[path] {
			t.Errorf("crawl of a finished state fetched %s again", path)
		}
	}
	if n := len(readRecords(t, s.out)); n != recs {
		t.Errorf("crawl of a finished state wrote %d records, want none", n-recs)
	}
}

// crawlUntil runs a crawl, kills it with SIGKILL once out has target
// lines, and returns how it ended and its standard error.
func crawlUntil(t *testing.T, args []string, out *lineCounter, target int) (syscall.WaitStatus, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
wait:
	for out.count(t) < target {
		select {
		case <-done:
			break wait
		case <-deadline:
			cmd.Process.Kill()
			<-done
			t.Fatalf("no %d records after a minute, %d so far\n%s", target, out.count(t), stderr.String())
		case <-tick.C:
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	return cmd.ProcessState.Sys().(syscall.WaitStatus), stderr.String()
}

// pagesHit returns the pages of the site requested at least once.
func pagesHit(s *cliSite) map[string]bool {
	hit := map[string]bool{}
	for path, n := range s.Hits() {
		if strings.HasPrefix(path, "/p/") && n > 0 {
			hit[path] = true
		}
	}
	return hit
}

// checkRefetches checks that every page was fetched, and that the pages
// fetched more than once are no more than could be in flight at the
// kills: concurrency each. robots.txt is not a page: each run may fetch it once, if the
// previous one was killed before recording it. Connections, new or
// resumed, make no requests of their own.
func checkRefetches(t *testing.T, s *cliSite, hits map[string]int, kills, concurrency, runs int) {
	t.Helper()
	bound := kills * concurrency
	repeats := 0
	for path, n := range hits {
		switch {
		case strings.HasPrefix(path, "/p/"):
			repeats += n - 1
		case path == "/robots.txt":
			if n < 1 || n > runs {
				t.Errorf("robots.txt fetched %d times in %d runs, want 1 to %d", n, runs, runs)
			}
		default:
			t.Errorf("%s requested %d times; the crawl has no reason to", path, n)
		}
	}
	for i := range s.N {
		if hits[fmt.Sprintf("/p/%d", i)] == 0 {
			t.Errorf("page %d never fetched", i)
		}
	}
	t.Logf("%d kills, %d pages, %d fetched again (bound %d), robots.txt fetched %d times in %d runs",
		kills, s.N, repeats, bound, hits["/robots.txt"], runs)
	if repeats > bound {
		t.Errorf("%d fetches repeated, want at most %d: the kills times the concurrency", repeats, bound)
	}
}

// checkKillRecords checks the records written across the kills: every
// line whole, every page recorded as fetched, and no page recorded more
// often than it was fetched. It returns how many records there are.
func checkKillRecords(t *testing.T, s *cliSite, hits map[string]int) int {
	t.Helper()
	recs := readRecords(t, s.out)
	perURL := map[string]int{}
	for _, rec := range recs {
		perURL[rec.URL]++
		if rec.Status != 200 || rec.Error != "" {
			t.Errorf("record %+v", rec)
		}
	}
	dups := 0
	for i := range s.N {
		n := perURL[s.PageURL(i)]
		switch {
		case n == 0:
			t.Errorf("page %d has no record", i)
		case n > hits[fmt.Sprintf("/p/%d", i)]:
			t.Errorf("page %d has %d records but was fetched %d times", i, n, hits[fmt.Sprintf("/p/%d", i)])
		}
		dups += max(n-1, 0)
	}
	if len(perURL) != s.N {
		t.Errorf("records name %d URLs, want the %d pages", len(perURL), s.N)
	}
	t.Logf("%d records, %d of them repeated", len(recs), dups)
	return len(recs)
}
