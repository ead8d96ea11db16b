// Command ticketscale measures the bbolt ticket store at scale. It makes one
// real TLS 1.3 handshake with a local server whose chain is a leaf and an
// intermediate, and stores copies of that session as -n tickets over
// -servers server keys in -partitions partitions. It times the fill (Put,
// through the store's write-behind buffer), the close and the reopen,
// takes tickets from a random sample of servers, looks up servers it never
// stored, and prunes the share of tickets it stored as received 8 days
// ago. It prints the rates, the file size, the bytes per ticket and the
// process's memory.
//
//	go run ./benchmarks/ticketscale -n 1000000
//	go run ./benchmarks/ticketscale -n 1M,10M -json ticketstore-scale.json
//
// With several sizes each runs in a fresh process and a fresh directory,
// so that one size's memory figures do not carry into the next.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/revisit-crawl/revisit/benchmarks/internal/results"
	"github.com/revisit-crawl/revisit/ticketstore"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ticketscale:", err)
		os.Exit(1)
	}
}

// config is one run's settings, from the flags.
type config struct {
	n          int
	servers    int
	partitions int
	writers    int
	takers     int
	sample     int
	expiredPct int
	path       string
	keep       bool
	every      time.Duration
	cpuProfile string
	memProfile string
	walk       bool
	diskCheck  bool
	cold       bool
}

func run() error {
	var cfg config
	sizes := flag.String("n", "1000000", "tickets to store; a comma list (100k,1M,10M) runs "+
		"each in turn")
	flag.IntVar(&cfg.servers, "servers", 0, "server keys in all partitions together (default n/2: "+
		"two tickets each, the most a key keeps)")
	flag.IntVar(&cfg.partitions, "partitions", 8, "partitions: 4 exits × 2 profiles for 8")
	flag.IntVar(&cfg.writers, "writers", 4, "goroutines calling Put")
	flag.IntVar(&cfg.takers, "takers", 4, "goroutines calling Take")
	flag.IntVar(&cfg.sample, "sample", 10000, "servers to take a ticket from, and servers to miss")
	flag.IntVar(&cfg.expiredPct, "expired", 10, "percent of server keys whose tickets are expired "+
		"when pruning")
	flag.StringVar(&cfg.path, "path", "", "store file (default a new temporary directory)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the store file")
	flag.DurationVar(&cfg.every, "progress", time.Minute, "print progress this often (0: never)")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the fill to this "+
		"file, and one of the take, miss and prune phases to FILE.read")
	flag.StringVar(&cfg.memProfile, "memprofile", "", "write a heap profile at the end of the "+
		"fill to this file")
	flag.BoolVar(&cfg.walk, "pagestats", true, "walk the closed file's pages for bbolt's "+
		"statistics, if it fits in half the available memory")
	flag.BoolVar(&cfg.diskCheck, "diskcheck", true, "refuse a run the free disk cannot hold")
	flag.BoolVar(&cfg.cold, "cold", false, "drop the file from the page cache before reopening, "+
		"as if it had outgrown memory")
	jsonPath := flag.String("json", "", "write the results table as JSON to this file")
	printTable := flag.Bool("table", true, "print the results table in markdown at the end")
	flag.Parse()

	ns, err := parseSizes(*sizes)
	if err != nil {
		return err
	}
	table := newTable()
	if len(ns) > 1 {
		if cfg.path != "" {
			return errors.New("-path takes one size")
		}
		// A size that fails, for example for lack of disk, still leaves the
		// rows of the sizes before it.
		err = runEach(ns, table)
	} else {
		cfg.n = ns[0]
		var r *result
		if r, err = runOne(cfg); err == nil {
			r.addTo(table)
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

// parseSizes reads a comma list of counts, with k and M for thousands and
// millions.
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

// runEach runs every size in a child process of its own, with the same
// flags, and gathers the rows each child writes.
func runEach(ns []int, table *results.Table) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ticketscale-rows")
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
			case "cpuprofile", "memprofile":
				args = append(args, fmt.Sprintf("-%s=%s.%d", f.Name, f.Value, n))
			default:
				args = append(args, fmt.Sprintf("-%s=%s", f.Name, f.Value))
			}
		})
		fmt.Printf("=== %d tickets: %s %s\n", n, filepath.Base(exe), strings.Join(args, " "))
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("run with %d tickets: %w", n, err)
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
		Name:    "ticketstore-scale",
		Title:   "Ticket store at scale (bbolt)",
		Command: "go run ./benchmarks/ticketscale " + strings.Join(os.Args[1:], " "),
		Columns: []string{"tickets", "server keys", "fill (Put)", "close", "reopen",
			"take, hit", "take p50 / p99", "miss", "prune", "file", "bytes/ticket",
			"VmHWM", "RssAnon (max)", "Go heap after reopen"},
	}
}

// estimateDisk is a generous guess of the file a run makes: at 100k and
// 1M tickets the file was 1.2 to 1.5 times the bytes of its records.
func estimateDisk(n int, s *session) int64 {
	const fileFactor = 1.6
	perTicket := float64(s.ticket + s.state + 80)
	return int64(float64(n) * perTicket * fileFactor)
}

func describeMachine() string {
	return fmt.Sprintf("go=%s cpus=%d", runtime.Version(), runtime.NumCPU())
}

// options are the store options of every phase: an injected clock, and
// periodic pruning pushed out of the run so that only the measured Prune
// removes the expired share.
func options(clk *clock) *ticketstore.Options {
	return &ticketstore.Options{Now: clk.now, PruneInterval: 365 * 24 * time.Hour}
}
