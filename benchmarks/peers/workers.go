package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/revisit-crawl/revisit/frontier/redisfrontier"
)

// memoryEvery is how often redis-server's memory is sampled during a run.
const memoryEvery = 50 * time.Millisecond

// setup is one way of running the crawl: a frontier, and how many worker
// processes share it.
type setup struct {
	frontier string // "bbolt" or "redis"
	workers  int
}

func (s setup) String() string { return fmt.Sprintf("%s ×%d", s.frontier, s.workers) }

// key names the setup in Table.Values: "redis_4".
func (s setup) key() string { return fmt.Sprintf("%s_%d", s.frontier, s.workers) }

// worker is one worker process of a run, as measured from outside it.
type worker struct {
	result crawlResult
	cpu    time.Duration
	maxRSS int64 // KiB
}

// workersRun is one crawl by one or more worker processes.
type workersRun struct {
	workers []worker
	site    siteStats
	wall    time.Duration // from starting the first worker to the exit of the last
	// redisCPU is redis-server's user plus system time during the run;
	// memBefore, memPeak and memAfter are its memory before, at the
	// sample with the highest used_memory during and after it; urls is the
	// crawl's Stats.Seen at the end. All are zero with the bbolt frontier.
	redisCPU                     time.Duration
	memBefore, memPeak, memAfter memory
	urls                         int64
}

func (r workersRun) pagesPerSecond() float64 { return float64(r.site.Distinct) / r.wall.Seconds() }

func (r workersRun) workerCPU() time.Duration {
	var sum time.Duration
	for _, w := range r.workers {
		sum += w.cpu
	}
	return sum
}

func (r workersRun) perPage(d time.Duration) float64 {
	return d.Seconds() * 1000 / float64(r.site.Distinct)
}

func (r workersRun) workerCPUPerPage() float64 { return r.perPage(r.workerCPU()) }
func (r workersRun) redisCPUPerPage() float64  { return r.perPage(r.redisCPU) }
func (r workersRun) totalCPUPerPage() float64  { return r.perPage(r.workerCPU() + r.redisCPU) }

// rssMiB is the largest peak RSS of the run's workers.
func (r workersRun) rssMiB() float64 {
	var most int64
	for _, w := range r.workers {
		most = max(most, w.maxRSS)
	}
	return float64(most) / 1024
}

// Both memory figures are over the URLs the crawl knows at the end: what
// a crawl of that size costs Redis when done, and at its worst.
func (r workersRun) bytesPerURL() float64 {
	return float64(r.memAfter.used-r.memBefore.used) / float64(r.urls)
}
func (r workersRun) peakBytesPerURL() float64 {
	return float64(r.memPeak.used-r.memBefore.used) / float64(r.urls)
}

// peakClientsKiB is the part of the peak that client connections took.
func (r workersRun) peakClientsKiB() float64 { return float64(r.memPeak.clients) / 1024 }

// workerBench runs the workers mode: one site, one redis-server.
type workerBench struct {
	*driver
	redis *redisServer
}

// runWorkers is the workers mode: it starts the site and a redis-server,
// runs every setup once per round, and prints the table.
func runWorkers(args []string) error {
	fs := flag.NewFlagSet("workers", flag.ExitOnError)
	pages := fs.Int("pages", 10000, "pages on the site")
	rounds := fs.Int("rounds", 3, "rounds; each runs every setup once")
	list := fs.String("workers", "1,2,4", "numbers of worker processes sharing a crawl in Redis")
	concurrency := fs.Int("concurrency", 16, "fetches in flight in each worker")
	perHost := fs.Int("per-host", 0, "fetches in flight to the site over all workers "+
		"(default -concurrency × the largest -workers)")
	server := fs.String("redis-server", "/usr/bin/redis-server", "redis-server to start")
	timeout := fs.Duration("timeout", 30*time.Minute, "longest one crawl may take")
	jsonOut := fs.String("json", "", "write the results table as JSON to this file")
	fs.Parse(args)
	counts, err := parseCounts(*list)
	if err != nil {
		return err
	}
	if *perHost <= 0 {
		*perHost = *concurrency * slices.Max(counts)
	}

	ctx, dir, self, cleanup, err := runEnv()
	if err != nil {
		return err
	}
	defer cleanup()
	d := &driver{self: self, caFile: filepath.Join(dir, "root.pem"), pages: *pages,
		timeout: *timeout, flags: crawlFlags{concurrency: *concurrency, perHost: *perHost}}

	stopSite, err := d.startSite(ctx)
	if err != nil {
		return err
	}
	defer stopSite()
	srv, err := startRedis(ctx, *server, dir)
	if err != nil {
		return err
	}
	defer srv.stop()
	w := &workerBench{driver: d, redis: srv}

	setups := []setup{{"bbolt", 1}}
	for _, n := range counts {
		setups = append(setups, setup{"redis", n})
	}
	runs, err := w.rounds(ctx, setups, *rounds)
	if err != nil {
		return err
	}
	return publish(w.table(setups, runs, *rounds), "workers", args, *jsonOut)
}

// parseCounts parses a list of worker counts: "1,2,4". It returns them
// sorted, each once.
func parseCounts(list string) ([]int, error) {
	var counts []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-workers %q: want positive numbers separated by commas", list)
		}
		counts = append(counts, n)
	}
	slices.Sort(counts)
	return slices.Compact(counts), nil
}

// rounds runs every setup once per round, in the given order in even
// rounds and reversed in odd ones, as driver.rounds does.
func (w *workerBench) rounds(ctx context.Context, setups []setup, n int) (
	map[setup][]workersRun, error) {
	runs := map[setup][]workersRun{}
	for round := range n {
		order := slices.Clone(setups)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			crawl := fmt.Sprintf("bench-%d-%s", round+1, s.key())
			r, err := w.measure(ctx, s, crawl)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round+1, s, err)
			}
			progress(round+1, s, r)
			runs[s] = append(runs[s], r)
		}
	}
	return runs, nil
}

// progress reports a run on stderr.
func progress(round int, s setup, r workersRun) {
	line := fmt.Sprintf("round %d %-9s %d pages (%d fetches) in %.2fs: %.0f pages/s, "+
		"CPU ms/page %.3f workers", round, s, r.site.Distinct, r.site.Pages, r.wall.Seconds(),
		r.pagesPerSecond(), r.workerCPUPerPage())
	if s.frontier == "redis" {
		line += fmt.Sprintf(" + %.3f redis-server, pages per worker %s; Redis %d URLs, "+
			"%.0f B/URL done, %.0f at peak (clients %.0f KiB)", r.redisCPUPerPage(),
			pagesSplit([]workersRun{r}), r.urls, r.bytesPerURL(), r.peakBytesPerURL(),
			r.peakClientsKiB())
	}
	fmt.Fprintln(os.Stderr, line)
}

// measure runs one crawl with the setup's frontier and workers, and checks
// that together they fetched every page of the site exactly once.
func (w *workerBench) measure(ctx context.Context, s setup, crawl string) (workersRun, error) {
	var r workersRun
	if _, err := w.siteStats(true); err != nil {
		return r, err
	}
	if s.frontier == "bbolt" {
		return w.finish(r, w.spawn(ctx, &r, s.workers, ""))
	}

	// Redis starts each run empty, its script cache too, so that its
	// memory is the crawl's, the frontier's scripts included.
	srv := w.redis
	if err := srv.rdb.FlushDB(ctx).Err(); err != nil {
		return r, err
	}
	if err := srv.rdb.ScriptFlush(ctx).Err(); err != nil {
		return r, err
	}
	var err error
	if r.memBefore, err = srv.memory(ctx); err != nil {
		return r, err
	}
	cpu0, err := srv.cpu()
	if err != nil {
		return r, err
	}
	peak := srv.samplePeak(ctx, memoryEvery)
	spawnErr := w.spawn(ctx, &r, s.workers, srv.url(crawl))
	r.memPeak = peak()
	if spawnErr != nil {
		return r, spawnErr
	}
	cpu1, err := srv.cpu()
	if err != nil {
		return r, err
	}
	r.redisCPU = cpu1 - cpu0
	if r.memAfter, err = srv.memory(ctx); err != nil {
		return r, err
	}
	if r.memAfter.used > r.memPeak.used {
		r.memPeak = r.memAfter
	}
	if r.urls, err = seen(ctx, srv.url(crawl)); err != nil {
		return r, err
	}
	return w.finish(r, nil)
}

// finish reads the site's counters after a run and checks the run.
func (w *workerBench) finish(r workersRun, err error) (workersRun, error) {
	if err != nil {
		return r, err
	}
	if r.site, err = w.siteStats(false); err != nil {
		return r, err
	}
	var sum crawlResult
	for _, wk := range r.workers {
		sum.Pages += wk.result.Pages
		sum.Errors += wk.result.Errors
	}
	if err := w.check(run{result: sum, site: r.site}); err != nil {
		return r, err
	}
	// Without a worker killed, the frontier hands out each URL once.
	if r.site.Pages != r.site.Distinct {
		return r, fmt.Errorf("%d pages fetched more than once", r.site.Pages-r.site.Distinct)
	}
	return r, nil
}

// spawn starts n revisit workers at once on the frontier named by state
// (bbolt when empty), waits for all of them and records each in r. When
// one fails, the others are killed.
func (w *workerBench) spawn(ctx context.Context, r *workersRun, n int, state string) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	cmds := make([]*exec.Cmd, n)
	outs := make([]bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = w.command(gctx, "revisit")
		if state != "" {
			cmds[i].Args = append(cmds[i].Args, "-state", state)
		}
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], os.Stderr
	}
	start := time.Now()
	for i, cmd := range cmds {
		g.Go(func() error {
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("worker %d: %w", i+1, err)
			}
			return nil
		})
	}
	err := g.Wait()
	r.wall = time.Since(start)
	if err != nil {
		return err
	}
	for i, cmd := range cmds {
		wk := worker{cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			wk.maxRSS = ru.Maxrss
		}
		if err := json.Unmarshal(lastLine(outs[i].Bytes()), &wk.result); err != nil {
			return fmt.Errorf("worker %d: reading its result %q: %w", i+1, outs[i].String(), err)
		}
		r.workers = append(r.workers, wk)
	}
	return nil
}

// seen returns the number of URLs the crawl in Redis knows.
func seen(ctx context.Context, url string) (int64, error) {
	f, err := redisfrontier.Open(url, nil)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stats(ctx)
	if err != nil {
		return 0, err
	}
	if st.Seen == 0 {
		return 0, errors.New("the crawl in Redis knows no URL")
	}
	return st.Seen, nil
}
