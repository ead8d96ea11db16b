package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/revisit-crawl/revisit/benchmarks/internal/results"
)

// workersMetric is one measured figure of a workers run.
type workersMetric struct {
	key   string // in Table.Values, after the setup's key
	of    func(workersRun) float64
	redis bool // only measured with the Redis frontier
}

var (
	mPagesPerSecond = workersMetric{"pages_per_s", workersRun.pagesPerSecond, false}
	mWorkerCPU      = workersMetric{"worker_cpu_ms_per_page", workersRun.workerCPUPerPage, false}
	mRedisCPU       = workersMetric{"redis_cpu_ms_per_page", workersRun.redisCPUPerPage, true}
	mTotalCPU       = workersMetric{"total_cpu_ms_per_page", workersRun.totalCPUPerPage, false}
	mRSS            = workersMetric{"rss_mib", workersRun.rssMiB, false}
	mBytesPerURL    = workersMetric{"redis_bytes_per_url", workersRun.bytesPerURL, true}
	mPeakPerURL     = workersMetric{"redis_peak_bytes_per_url", workersRun.peakBytesPerURL, true}
	mPeakClients    = workersMetric{"redis_peak_clients_kib", workersRun.peakClientsKiB, true}
)

// table summarizes the runs: per setup the median of each metric with its
// range, and the speedup of its median pages/s over the fewest Redis
// workers'.
func (w *workerBench) table(setups []setup, runs map[setup][]workersRun,
	rounds int) *results.Table {
	base := setups[1] // the fewest Redis workers; setups[0] is the bbolt baseline
	t := &results.Table{
		Name: "crawl-workers",
		Title: fmt.Sprintf("One crawl of %d pages shared by worker processes through Redis",
			w.pages),
		Columns: []string{"frontier", "workers", "pages/s",
			fmt.Sprintf("speedup over redis ×%d", base.workers), "worker CPU ms/page",
			"redis-server CPU ms/page", "total CPU ms/page", "peak RSS MiB per worker",
			"pages per worker", "repeats", "Redis B/URL done", "Redis B/URL peak"},
	}
	baseRate := median(collect(runs[base], mPagesPerSecond.of))
	for _, s := range setups {
		rs := runs[s]
		cell := func(m workersMetric) string { return w.cell(t, s, rs, m) }
		speedup := median(collect(rs, mPagesPerSecond.of)) / baseRate
		t.Set(s.key()+"_speedup", speedup)
		t.Add(s.frontier, s.workers, cell(mPagesPerSecond), speedup, cell(mWorkerCPU),
			cell(mRedisCPU), cell(mTotalCPU), cell(mRSS), pagesSplit(rs), repeats(rs),
			cell(mBytesPerURL), cell(mPeakPerURL))
		cell(mPeakClients) // in the notes; this records its values
	}
	t.Notes = w.workersNotes(setups, runs, rounds)
	t.Set("pages", w.pages)
	t.Set("rounds", rounds)
	t.Set("concurrency", w.flags.concurrency)
	t.Set("per_host", w.flags.perHost)
	t.Set("go", runtime.Version())
	t.Set("cpus", runtime.NumCPU())
	return t
}

// cell formats a metric's median and range for the table and records
// them as values; a Redis metric of the bbolt setup is a dash.
func (w *workerBench) cell(t *results.Table, s setup, rs []workersRun, m workersMetric) string {
	if m.redis && s.frontier != "redis" {
		return "–"
	}
	vals := collect(rs, m.of)
	med := median(vals)
	t.Set(s.key()+"_"+m.key, med)
	t.Set(s.key()+"_"+m.key+"_runs", joinFloats(vals))
	return withRange(med, vals)
}

// pagesSplit gives the fewest and the most pages one worker fetched in
// any of the runs: "2391–2610".
func pagesSplit(rs []workersRun) string {
	var pages []int64
	for _, r := range rs {
		for _, wk := range r.workers {
			pages = append(pages, wk.result.Pages)
		}
	}
	lo, hi := slices.Min(pages), slices.Max(pages)
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

// repeats counts the pages fetched more than once over all runs; measure
// fails a run that has any, so this reads 0 in every table written.
func repeats(rs []workersRun) int64 {
	var n int64
	for _, r := range rs {
		n += r.site.Pages - r.site.Distinct
	}
	return n
}

func (w *workerBench) workersNotes(setups []setup, runs map[setup][]workersRun,
	rounds int) []string {
	var counts []string
	for _, s := range setups[1:] {
		counts = append(counts, fmt.Sprint(s.workers))
	}
	urls := runs[setups[len(setups)-1]][0].urls
	binds := ", which holds over all of them"
	if w.flags.perHost >= w.flags.concurrency*setups[len(setups)-1].workers {
		binds += " and never binds here"
	}
	return []string{
		fmt.Sprintf("The site of the crawl-peers table (%d pages, HTTPS on loopback, its own "+
			"process). Each worker is a `crawlbench revisit` process with %d fetches in "+
			"flight; %s of them start at once on one crawl in Redis, with a per-host limit "+
			"of %d%s. The bbolt row is "+
			"one worker with the bbolt frontier in a temporary file, fsync on, as in "+
			"crawl-peers. %s, the order reversed every other round.",
			w.pages, w.flags.concurrency, strings.Join(counts, ", "), w.flags.perHost, binds,
			roundsNote(rounds)),
		"pages/s is the site's pages over the time from starting the first worker to the " +
			"exit of the last; every run is checked to have fetched each page once, " +
			"with no page missed, no error and robots.txt fetched. Worker CPU is the " +
			"workers' user plus system time, summed; redis-server CPU is its utime plus " +
			"stime from /proc/PID/stat over the run; total is both, the site's excluded. " +
			"Peak RSS is the largest worker's ru_maxrss. Pages per worker is the fewest " +
			"and the most one worker fetched in any round.",
		fmt.Sprintf("Redis memory is INFO memory's used_memory, less its value after FLUSHDB "+
			"and SCRIPT FLUSH before the run, over the URLs the crawl knows at the end "+
			"(Stats.Seen, %d): done is after the workers exit, when every URL is done; "+
			"peak is the highest value sampled every %d ms during the run. The peak "+
			"includes the buffers of the workers' connections (mem_clients_normal at that "+
			"sample, median: %s). redis-server %s runs with saving, the append-only file "+
			"and latency tracking off (its per-command histograms, about 25 KB for each "+
			"command, would be charged to the first crawl).",
			urls, memoryEvery.Milliseconds(), peakClients(setups[1:], runs),
			w.redis.version(context.Background())),
		fmt.Sprintf("Machine: %d CPUs, %s/%s, %s. The site, redis-server and every worker "+
			"share them: with %d Redis worker, it and redis-server alone keep %.2f CPUs "+
			"busy (total CPU per page × pages/s), and the site needs some besides. Once "+
			"the CPUs are busy more workers cannot add throughput; the rows after that "+
			"show what sharing costs on this machine, not how the crawl scales on more "+
			"cores.", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(),
			setups[1].workers, busyCPUs(runs[setups[1]])),
	}
}

// peakClients lists, per setup, the median memory of client connections
// at the peak: "×1 300 KiB, ×2 600 KiB".
func peakClients(setups []setup, runs map[setup][]workersRun) string {
	parts := make([]string, len(setups))
	for i, s := range setups {
		kib := median(collect(runs[s], workersRun.peakClientsKiB))
		parts[i] = fmt.Sprintf("×%d %s KiB", s.workers, results.Float(kib))
	}
	return strings.Join(parts, ", ")
}

// busyCPUs is how many CPUs the workers and redis-server kept busy, as a
// median over the runs.
func busyCPUs(rs []workersRun) float64 {
	return median(collect(rs, func(r workersRun) float64 {
		return (r.workerCPU() + r.redisCPU).Seconds() / r.wall.Seconds()
	}))
}
