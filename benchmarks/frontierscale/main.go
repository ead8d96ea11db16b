// Command frontierscale measures the bbolt frontier at scale: it pushes -n URLs spread
// over -hosts hosts, closes and reopens the file, then leases and settles every URL with
// -workers goroutines. It prints the rates, the reopen time, the file size and the
// process's memory: peak resident set (VmHWM), and the anonymous part of the resident
// set, which excludes the pages of the memory-mapped file the kernel may drop.
//
//	go run ./benchmarks/frontierscale -n 1000000
//	go run ./benchmarks/frontierscale -n 1M,10M -nosync -json frontier-scale.json
//
// With several sizes each runs in a fresh process and a fresh directory, so that one
// size's memory figures do not carry into the next. -json writes the results table
// that benchmarks/report renders.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/revisit-crawl/revisit/benchmarks/internal/results"
	"github.com/revisit-crawl/revisit/frontier"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "frontierscale:", err)
		os.Exit(1)
	}
}

// settings are one run's flags.
type settings struct {
	n, hosts, batch, pushers, workers int
	noSync, resume, keep              bool
	path, memProfile                  string
	every, duration                   time.Duration
}

func run() error {
	var s settings
	sizes := flag.String("n", "1000000", "URLs to push; a comma list (1M,10M) runs each size "+
		"in turn, in a fresh process")
	flag.IntVar(&s.hosts, "hosts", 0, "hosts to spread them over (default n/100, at least 1)")
	flag.StringVar(&s.path, "path", "", "state file (default a new temporary directory)")
	flag.IntVar(&s.batch, "batch", 1000, "URLs per Push call")
	flag.IntVar(&s.pushers, "pushers", 4, "goroutines calling Push")
	flag.IntVar(&s.workers, "workers", 64, "goroutines calling Next and Done")
	flag.BoolVar(&s.noSync, "nosync", false, "skip fsync (Options.NoSync)")
	flag.DurationVar(&s.every, "progress", time.Minute, "print progress this often (0: never)")
	flag.BoolVar(&s.resume, "resume", false, "skip the push: reopen -path and lease from it")
	flag.DurationVar(&s.duration, "duration", 0, "stop leasing after this long (0: until drained)")
	flag.BoolVar(&s.keep, "keep", false, "keep the state file")
	flag.StringVar(&s.memProfile, "memprofile", "", "write a heap profile after the push to "+
		"this file")
	jsonPath := flag.String("json", "", "write the results table as JSON to this file")
	printTable := flag.Bool("table", true, "print the results table in markdown at the end")
	flag.Parse()

	ns, err := parseSizes(*sizes)
	if err != nil {
		return err
	}
	table := newTable()
	if len(ns) > 1 {
		if s.path != "" || s.resume {
			return errors.New("-path and -resume take one size")
		}
		// A size that fails still leaves the rows of the sizes before it.
		err = runEach(ns, table)
	} else {
		s.n = ns[0]
		var o *outcome
		if o, err = runOne(s); err == nil {
			o.addTo(table)
		}
	}
	if len(table.Rows) == 0 {
		return err
	}
	if *printTable {
		fmt.Println()
		fmt.Print(table.Markdown())
	}
	if *jsonPath != "" {
		if werr := table.Write(*jsonPath); err == nil {
			err = werr
		}
	}
	return err
}

// outcome is what one run measured, for the results table.
type outcome struct {
	s                      settings
	pushed, settled        int
	push, drain, reopen    time.Duration
	fileAfterPush, fileEnd int64
	heap, vmHWM, anonMax   int64
}

func runOne(s settings) (*outcome, error) {
	if s.hosts <= 0 {
		s.hosts = max(s.n/100, 1)
	}
	if s.resume && s.path == "" {
		return nil, errors.New("-resume needs -path")
	}
	if s.path == "" {
		dir, err := os.MkdirTemp("", "frontierscale")
		if err != nil {
			return nil, err
		}
		if !s.keep {
			defer os.RemoveAll(dir)
		}
		s.path = filepath.Join(dir, "frontier.db")
	}
	opts := &frontier.Options{NoSync: s.noSync, PerHost: 2}
	if s.resume {
		fmt.Printf("resume %s workers=%d nosync=%v go=%s cpus=%d\n", s.path, s.workers,
			s.noSync, runtime.Version(), runtime.NumCPU())
	} else {
		fmt.Printf("n=%d hosts=%d batch=%d pushers=%d workers=%d nosync=%v go=%s cpus=%d\n",
			s.n, s.hosts, s.batch, s.pushers, s.workers, s.noSync, runtime.Version(),
			runtime.NumCPU())
	}
	anon.start(time.Second)
	o := &outcome{s: s}
	err := measure(s, opts, o)
	anon.stop()
	o.anonMax = anon.max.Load()
	o.vmHWM = kB(procStatus()["VmHWM"])
	return o, err
}

func measure(s settings, opts *frontier.Options, o *outcome) error {
	var count atomic.Int64
	if !s.resume {
		d, err := pushPhase(s.path, opts, s.n, s.hosts, s.batch, s.pushers, &count, s.every,
			s.memProfile)
		if err != nil {
			return err
		}
		o.pushed, o.push = s.n, d
	}
	o.fileAfterPush = fileSize(s.path)

	start := time.Now()
	f, err := frontier.Open(s.path, opts)
	if err != nil {
		return err
	}
	o.reopen = time.Since(start)
	fmt.Printf("reopen: %v\n", o.reopen.Round(time.Microsecond))
	o.heap = memory("after reopen")
	before, err := f.Stats(context.Background())
	if err != nil {
		return err
	}
	fmt.Printf("stats at reopen: %+v\n", before)

	ctx := context.Background()
	if s.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.duration)
		defer cancel()
	}
	count.Store(0)
	stop := progress("next+done", &count, s.every)
	start = time.Now()
	got, err := drain(ctx, f, s.workers, &count)
	stop()
	if err != nil {
		return err
	}
	o.settled, o.drain = got, time.Since(start)
	report("next+done", got, o.drain)
	st, err := f.Stats(context.Background())
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("stats: %+v\n", st)
	if st.Done != before.Done+int64(got) {
		return fmt.Errorf("settled %d URLs but done went from %d to %d", got, before.Done,
			st.Done)
	}
	if !s.resume && s.duration == 0 && st.Done != int64(s.n) {
		return fmt.Errorf("%d done, want %d", st.Done, s.n)
	}
	o.fileEnd = fileSize(s.path)
	memory("end")
	return nil
}

// parseSizes reads a comma list of counts, with k and M for thousands and millions.
func parseSizes(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"):
			mult, f = 1_000, strings.TrimSuffix(f, "k")
		case strings.HasSuffix(f, "M"):
			mult, f = 1_000_000, strings.TrimSuffix(f, "M")
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad size %q in -n", f)
		}
		ns = append(ns, v*mult)
	}
	return ns, nil
}

// runEach runs every size in a child process of its own, with the same flags, and
// gathers the rows each child writes.
func runEach(ns []int, table *results.Table) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "frontierscale-rows")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, n := range ns {
		out := filepath.Join(dir, fmt.Sprintf("%d.json", n))
		args := []string{"-n", strconv.Itoa(n), "-json", out, "-table=false"}
		flag.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "n", "json", "table":
			case "memprofile":
				args = append(args, fmt.Sprintf("-memprofile=%s.%d", f.Value, n))
			default:
				args = append(args, fmt.Sprintf("-%s=%s", f.Name, f.Value))
			}
		})
		fmt.Printf("=== %d URLs: %s %s\n", n, filepath.Base(exe), strings.Join(args, " "))
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("run with %d URLs: %w", n, err)
		}
		child, err := results.Read(out)
		if err != nil {
			return err
		}
		table.Rows = append(table.Rows, child.Rows...)
		for k, v := range child.Values {
			table.Set(k, v)
		}
		table.Notes = child.Notes
	}
	return nil
}

func newTable() *results.Table {
	return &results.Table{
		Name:    "frontier-scale",
		Title:   "Frontier at scale (bbolt)",
		Command: "go run ./benchmarks/frontierscale " + strings.Join(os.Args[1:], " "),
		Columns: []string{"URLs", "hosts", "workers", "fsync", "push", "next+done", "reopen",
			"file after push", "file at end", "VmHWM", "RssAnon (max)", "Go heap after reopen"},
	}
}

// addTo appends the run's row and named values to t.
func (o *outcome) addTo(t *results.Table) {
	s := o.s
	rate := func(n int, d time.Duration) string {
		if n == 0 || d <= 0 {
			return "–"
		}
		return group(int(float64(n)/d.Seconds())) + "/s"
	}
	urls, hosts, k := group(s.n), group(s.hosts), strconv.Itoa(s.n)
	if s.resume {
		urls, hosts, k = "resumed "+filepath.Base(s.path), "–", "resume"
	}
	fsync := "yes"
	if s.noSync {
		fsync = "no"
	}
	t.Add(urls, hosts, s.workers, fsync, rate(o.pushed, o.push),
		rate(o.settled, o.drain), o.reopen.Round(100*time.Microsecond), mib(o.fileAfterPush),
		mib(o.fileEnd), mib(o.vmHWM), mib(o.anonMax), mib(o.heap))

	t.Notes = []string{fmt.Sprintf("Pushes come from %d goroutines in calls of %s URLs, "+
		"each URL of another host than the one before (hosts taken in turn); next+done "+
		"leases and settles at once, with no fetch. VmHWM includes the pages of the mapped "+
		"file; RssAnon is the process's own memory, sampled every second; the Go heap is "+
		"HeapInuse after a forced collection.", s.pushers, group(s.batch))}
	if o.pushed > 0 {
		t.Set("push_per_s_"+k, float64(o.pushed)/o.push.Seconds())
	}
	if o.settled > 0 {
		t.Set("next_done_per_s_"+k, float64(o.settled)/o.drain.Seconds())
	}
	t.Set("reopen_ms_"+k, float64(o.reopen.Microseconds())/1000)
	t.Set("file_bytes_"+k, o.fileAfterPush)
	t.Set("vmhwm_bytes_"+k, o.vmHWM)
	t.Set("rssanon_max_bytes_"+k, o.anonMax)
	t.Set("heap_after_reopen_bytes_"+k, o.heap)
}

// group writes n with thousands separators.
func group(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func mib(b int64) string {
	if b >= 10<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	if b >= 10<<20 {
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func writeHeapProfile(path string) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(fh); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// progress prints the rate of count every d until the returned function is called.
func progress(phase string, count *atomic.Int64, d time.Duration) (stop func()) {
	if d <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				c := count.Load()
				fmt.Printf("  %s: %d URLs after %v (%.0f URLs/s)\n", phase, c,
					now.Sub(start).Round(time.Second), float64(c)/now.Sub(start).Seconds())
			}
		}
	}()
	return func() { close(done) }
}

func pushAll(f frontier.Frontier, n, hosts, batch, pushers int, count *atomic.Int64) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, pushers)
	for range pushers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reqs := make([]frontier.Request, 0, batch)
			for {
				lo := int(next.Add(int64(batch))) - batch
				if lo >= n {
					return
				}
				reqs = reqs[:0]
				for i := lo; i < min(lo+batch, n); i++ {
					u := fmt.Sprintf("https://www.host%d.example/section/page-%d.html?ref=%d",
						i%hosts, i, i%7)
					reqs = append(reqs, frontier.Request{URL: u, Depth: i % 4})
				}
				res, err := f.Push(context.Background(), reqs...)
				if err == nil && res.Added != len(reqs) {
					err = fmt.Errorf("push added %d of %d", res.Added, len(reqs))
				}
				if err != nil {
					errs <- err
					return
				}
				count.Add(int64(len(reqs)))
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// pushPhase pushes every URL into a new file and closes it, and returns the time the
// pushes took.
func pushPhase(path string, opts *frontier.Options, n, hosts, batch, pushers int,
	count *atomic.Int64, every time.Duration, memProfile string) (time.Duration, error) {
	f, err := frontier.Open(path, opts)
	if err != nil {
		return 0, err
	}
	stop := progress("push", count, every)
	start := time.Now()
	err = pushAll(f, n, hosts, batch, pushers, count)
	stop()
	if err != nil {
		f.Close()
		return 0, err
	}
	d := time.Since(start)
	report("push", n, d)
	if memProfile != "" {
		if err := writeHeapProfile(memProfile); err != nil {
			f.Close()
			return 0, err
		}
	}
	return d, f.Close()
}

// drain leases and settles URLs until the frontier drains or ctx ends.
func drain(ctx context.Context, f frontier.Frontier, workers int, settled *atomic.Int64) (int, error) {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				l, err := f.Next(ctx)
				if errors.Is(err, frontier.ErrDrained) || ctx.Err() != nil {
					return
				}
				if err == nil {
					err = f.Done(context.Background(), l)
				}
				if err != nil {
					errs <- err
					return
				}
				settled.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return int(settled.Load()), <-errs
}

func report(phase string, n int, d time.Duration) {
	fmt.Printf("%s: %d URLs in %v = %.0f URLs/s\n", phase, n, d.Round(time.Millisecond),
		float64(n)/d.Seconds())
	memory("after " + phase)
}

// fileSize prints the size of the file at path and returns it.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	fmt.Printf("file size: %.1f MiB\n", float64(fi.Size())/(1<<20))
	return fi.Size()
}

// memory prints the peak and current resident set from /proc/self/status and returns
// the live Go heap.
func memory(when string) int64 {
	fields := procStatus()
	anon.sample()
	runtime.GC() // report the live heap, not garbage awaiting collection
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("memory %s: VmHWM=%s VmRSS=%s RssAnon=%s RssFile=%s GoHeapInuse=%.1f MiB\n",
		when, fields["VmHWM"], fields["VmRSS"], fields["RssAnon"], fields["RssFile"],
		float64(ms.HeapInuse)/(1<<20))
	return int64(ms.HeapInuse)
}

// procStatus returns the fields of /proc/self/status.
func procStatus() map[string]string {
	fields := map[string]string{}
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return fields
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// kB parses a /proc size such as "1234 kB" into bytes.
func kB(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	return n << 10
}

// anon records the largest anonymous resident set seen: /proc keeps a peak of the
// whole resident set (VmHWM) but not of RssAnon.
var anon rssSampler

type rssSampler struct {
	max  atomic.Int64
	quit chan struct{}
	done chan struct{}
}

func (s *rssSampler) start(every time.Duration) {
	s.quit, s.done = make(chan struct{}), make(chan struct{})
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
}

func (s *rssSampler) stop() {
	close(s.quit)
	<-s.done
	s.sample()
}

func (s *rssSampler) sample() {
	v := kB(procStatus()["RssAnon"])
	for old := s.max.Load(); v > old && !s.max.CompareAndSwap(old, v); old = s.max.Load() {
	}
}
