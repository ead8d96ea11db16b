package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// driver runs the crawlers against one site and collects their runs.
type driver struct {
	self    string // this program, for the site and the Go crawlers
	python  string
	spider  string // the Scrapy spider's file
	caFile  string
	siteURL string
	pages   int
	flags   crawlFlags
	tickets bool
	timeout time.Duration
	stats   *http.Client // asks the site for its counters
}

// run is one crawl, as measured from outside the crawler's process.
type run struct {
	result crawlResult
	site   siteStats
	wall   time.Duration
	cpu    time.Duration
	maxRSS int64 // KiB
}

// Rates are per distinct page: fetching a page twice costs time and CPU
// but gains nothing.
func (r run) pagesPerSecond() float64 { return float64(r.site.Distinct) / r.wall.Seconds() }
func (r run) cpuPerPage() float64 {
	return r.cpu.Seconds() * 1000 / float64(r.site.Distinct)
}
func (r run) rssMiB() float64 { return float64(r.maxRSS) / 1024 }

func runAll(args []string) error {
	fs := flag.NewFlagSet("all", flag.ExitOnError)
	pages := fs.Int("pages", 10000, "pages on the site")
	rounds := fs.Int("rounds", 3, "rounds; each runs every crawler once")
	concurrency := fs.Int("concurrency", 16, "fetches in flight overall")
	perHost := fs.Int("per-host", 0, "fetches in flight per host (default -concurrency)")
	list := fs.String("crawlers", "revisit,colly,scrapy",
		"crawlers to run; scrapy is skipped when not installed")
	python := fs.String("python", defaultPython, "Python interpreter that has Scrapy")
	tickets := fs.Bool("tickets", false, "give revisit a ticket store")
	timeout := fs.Duration("timeout", 30*time.Minute, "longest one crawl may take")
	jsonOut := fs.String("json", "", "write the results table as JSON to this file")
	fs.Parse(args)
	if *perHost <= 0 {
		*perHost = *concurrency
	}

	ctx, dir, self, cleanup, err := runEnv()
	if err != nil {
		return err
	}
	defer cleanup()
	d := &driver{self: self, python: *python, caFile: filepath.Join(dir, "root.pem"),
		pages: *pages, tickets: *tickets, timeout: *timeout,
		flags: crawlFlags{concurrency: *concurrency, perHost: *perHost}}
	crawlers, skipped, err := d.choose(*list, dir)
	if err != nil {
		return err
	}

	stopSite, err := d.startSite(ctx)
	if err != nil {
		return err
	}
	defer stopSite()
	runs, err := d.rounds(ctx, crawlers, *rounds)
	if err != nil {
		return err
	}

	t := d.table(summary{crawlers: crawlers, runs: runs, rounds: *rounds, skipped: skipped})
	return publish(t, "all", args, *jsonOut)
}

// runEnv returns what a driving mode needs: a context that Ctrl-C or
// SIGTERM ends, a temporary directory, and this program's path for its
// children. cleanup removes the directory and stops the signal handling.
func runEnv() (ctx context.Context, dir, self string, cleanup func(), err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if dir, err = os.MkdirTemp("", "crawlbench"); err != nil {
		stop()
		return nil, "", "", nil, err
	}
	cleanup = func() {
		os.RemoveAll(dir)
		stop()
	}
	if self, err = os.Executable(); err != nil {
		cleanup()
		return nil, "", "", nil, err
	}
	return ctx, dir, self, cleanup, nil
}

// choose parses the crawler list, dropping Scrapy with a note when it is
// not installed.
func (d *driver) choose(list, dir string) (crawlers []string, skipped string, err error) {
	for _, name := range strings.Split(list, ",") {
		switch name = strings.TrimSpace(name); name {
		case "revisit", "colly":
		case "scrapy":
			if !scrapyAvailable(d.python) {
				skipped = "Scrapy was not run: " + d.python + " cannot import scrapy " +
					"(apt-get install python3-scrapy)."
				fmt.Fprintln(os.Stderr, "crawlbench:", skipped)
				continue
			}
			if d.spider, err = writeSpider(dir); err != nil {
				return nil, "", err
			}
		default:
			return nil, "", fmt.Errorf("unknown crawler %q", name)
		}
		crawlers = append(crawlers, name)
	}
	if len(crawlers) == 0 {
		return nil, "", errors.New("no crawler to run")
	}
	return crawlers, skipped, nil
}

// startSite starts the site as a child process and waits for its URL.
// The returned function stops it.
func (d *driver) startSite(ctx context.Context) (stop func(), err error) {
	cmd := exec.CommandContext(ctx, d.self, "site", "-pages", strconv.Itoa(d.pages),
		"-ca", d.caFile)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("site did not start: %w", err)
	}
	d.siteURL = strings.TrimSpace(line)
	roots, err := loadRoots(d.caFile)
	if err != nil {
		stop()
		return nil, err
	}
	d.stats = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots}}}
	d.flags.url, d.flags.ca = d.siteURL, d.caFile
	return stop, nil
}

// rounds runs every crawler once per round, in the given order in even
// rounds and reversed in odd ones, so that neither always runs first.
func (d *driver) rounds(ctx context.Context, crawlers []string, n int) (map[string][]run, error) {
	runs := map[string][]run{}
	for round := range n {
		order := slices.Clone(crawlers)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, name := range order {
			r, err := d.measure(ctx, name)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round+1, name, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-8s %d pages (%d fetches) in %.2fs: %.0f pages/s, "+
				"%.3f CPU ms/page, peak RSS %.0f MiB, %s; site: %d requests, %d over HTTP/2\n",
				round+1, name, r.site.Distinct, r.site.Pages, r.wall.Seconds(),
				r.pagesPerSecond(), r.cpuPerPage(), r.rssMiB(), r.result.Protocol,
				r.site.Requests, r.site.HTTP2)
			runs[name] = append(runs[name], r)
		}
	}
	return runs, nil
}

func (d *driver) command(ctx context.Context, name string) *exec.Cmd {
	f := d.flags
	if name == "scrapy" {
		return exec.CommandContext(ctx, d.python, scrapyArgs(d.spider, &f)...)
	}
	args := []string{name, "-url", f.url, "-ca", f.ca, "-concurrency",
		strconv.Itoa(f.concurrency), "-per-host", strconv.Itoa(f.perHost)}
	if name == "revisit" && d.tickets {
		args = append(args, "-tickets")
	}
	return exec.CommandContext(ctx, d.self, args...)
}

// measure runs one crawl in a child process and checks that it fetched
// every page of the site, once.
func (d *driver) measure(ctx context.Context, name string) (run, error) {
	var r run
	if _, err := d.siteStats(true); err != nil {
		return r, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	cmd := d.command(ctx, name)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	start := time.Now()
	err := cmd.Run()
	r.wall = time.Since(start)
	if err != nil {
		return r, err
	}
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss
	}
	if err := json.Unmarshal(lastLine(out.Bytes()), &r.result); err != nil {
		return r, fmt.Errorf("reading its result %q: %w", out.String(), err)
	}
	if r.site, err = d.siteStats(false); err != nil {
		return r, err
	}
	return r, d.check(r)
}

// check fails a run that missed a page, met an error or disagrees with
// the site. Pages fetched more than once are allowed: colly does that
// (see the notes), and the table counts them.
func (d *driver) check(r run) error {
	want := int64(d.pages)
	switch {
	case r.result.Pages != r.site.Pages:
		return fmt.Errorf("the crawler counted %d pages, the site served %d", r.result.Pages,
			r.site.Pages)
	case r.site.Distinct != want:
		return fmt.Errorf("the site served %d distinct pages, want %d", r.site.Distinct, want)
	case r.result.Errors != 0:
		return fmt.Errorf("%d errors", r.result.Errors)
	case r.site.NotFound != 0:
		return fmt.Errorf("the site answered 404 %d times", r.site.NotFound)
	case r.site.Robots == 0:
		return errors.New("robots.txt was not fetched")
	}
	return nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return b
}

// siteStats reads the site's counters, zeroing them when reset is set.
func (d *driver) siteStats(reset bool) (siteStats, error) {
	var st siteStats
	u := d.siteURL + statsPath
	if reset {
		u += "?reset=1"
	}
	resp, err := d.stats.Get(u)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s: %s", u, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}
