// Command frontierscale measures the bbolt frontier at scale: it pushes -n URLs spread
// over -hosts hosts, closes and reopens the file, then leases and settles every URL with
// -workers goroutines. It prints the rates, the reopen time, the file size and the
// process's memory: peak resident set (VmHWM), and the anonymous part of the resident
// set, which excludes the pages of the memory-mapped file the kernel may drop.
//
//	go run ./benchmarks/frontierscale -n 1000000
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "frontierscale:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 1_000_000, "URLs to push")
	hosts := flag.Int("hosts", 0, "hosts to spread them over (default n/100, at least 1)")
	path := flag.String("path", "", "state file (default a new temporary directory)")
	batch := flag.Int("batch", 1000, "URLs per Push call")
	pushers := flag.Int("pushers", 4, "goroutines calling Push")
	workers := flag.Int("workers", 64, "goroutines calling Next and Done")
	noSync := flag.Bool("nosync", false, "skip fsync (Options.NoSync)")
	every := flag.Duration("progress", time.Minute, "print progress this often (0: never)")
	resume := flag.Bool("resume", false, "skip the push: reopen -path and lease from it")
	duration := flag.Duration("duration", 0, "stop leasing after this long (0: until drained)")
	keep := flag.Bool("keep", false, "keep the state file")
	memProfile := flag.String("memprofile", "", "write a heap profile after the push to this file")
	flag.Parse()
	if *hosts <= 0 {
		*hosts = max(*n/100, 1)
	}
	if *resume && *path == "" {
		return errors.New("-resume needs -path")
	}
	if *path == "" {
		dir, err := os.MkdirTemp("", "frontierscale")
		if err != nil {
			return err
		}
		if !*keep {
			defer os.RemoveAll(dir)
		}
		*path = filepath.Join(dir, "frontier.db")
	}
	opts := &frontier.Options{NoSync: *noSync, PerHost: 2}
	if *resume {
		fmt.Printf("resume %s workers=%d nosync=%v go=%s cpus=%d\n", *path, *workers,
			*noSync, runtime.Version(), runtime.NumCPU())
	} else {
		fmt.Printf("n=%d hosts=%d batch=%d pushers=%d workers=%d nosync=%v go=%s cpus=%d\n",
			*n, *hosts, *batch, *pushers, *workers, *noSync, runtime.Version(),
			runtime.NumCPU())
	}

	var count atomic.Int64
	if !*resume {
		if err := pushPhase(*path, opts, *n, *hosts, *batch, *pushers, &count, *every,
			*memProfile); err != nil {
			return err
		}
	}
	fileSize(*path)

	start := time.Now()
	f, err := frontier.Open(*path, opts)
	if err != nil {
		return err
	}
	fmt.Printf("reopen: %v\n", time.Since(start).Round(time.Microsecond))
	memory("after reopen")
	before, err := f.Stats(context.Background())
	if err != nil {
		return err
	}
	fmt.Printf("stats at reopen: %+v\n", before)

	ctx := context.Background()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	count.Store(0)
	stop := progress("next+done", &count, *every)
	start = time.Now()
	got, err := drain(ctx, f, *workers, &count)
	stop()
	if err != nil {
		return err
	}
	report("next+done", got, time.Since(start))
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
	if !*resume && *duration == 0 && st.Done != int64(*n) {
		return fmt.Errorf("%d done, want %d", st.Done, *n)
	}
	fileSize(*path)
	memory("end")
	return nil
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

func pushPhase(path string, opts *frontier.Options, n, hosts, batch, pushers int,
	count *atomic.Int64, every time.Duration, memProfile string) error {
	f, err := frontier.Open(path, opts)
	if err != nil {
		return err
	}
	stop := progress("push", count, every)
	start := time.Now()
	err = pushAll(f, n, hosts, batch, pushers, count)
	stop()
	if err != nil {
		f.Close()
		return err
	}
	report("push", n, time.Since(start))
	if memProfile != "" {
		if err := writeHeapProfile(memProfile); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
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

func fileSize(path string) {
	if fi, err := os.Stat(path); err == nil {
		fmt.Printf("file size: %.1f MiB\n", float64(fi.Size())/(1<<20))
	}
}

// memory prints the peak and current resident set from /proc/self/status.
func memory(when string) {
	fields := map[string]string{}
	if fh, err := os.Open("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		fh.Close()
	}
	runtime.GC() // report the live heap, not garbage awaiting collection
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("memory %s: VmHWM=%s VmRSS=%s RssAnon=%s RssFile=%s GoHeapInuse=%.1f MiB\n",
		when, fields["VmHWM"], fields["VmRSS"], fields["RssAnon"], fields["RssFile"],
		float64(ms.HeapInuse)/(1<<20))
}
