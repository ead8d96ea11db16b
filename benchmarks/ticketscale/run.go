package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"time"

	utls "github.com/refraction-networking/utls"

	"github.com/revisit-crawl/revisit/benchmarks/internal/results"
	"github.com/revisit-crawl/revisit/ticketstore"
)

// Clock offsets of the phases. Tickets of the expired share are received 8
// days before the prune, so they expired a day before it (a TLS 1.3 ticket
// lives 7 days at most); the others 2 days before, so they live 5 more.
const (
	expiredAge = -8 * 24 * time.Hour
	liveAge    = -2 * 24 * time.Hour
)

// clock is the store's clock: the real time moved by a settable offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time        { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) set(off time.Duration) { c.offset.Store(int64(off)) }

// workload maps server keys to their partition, name, ticket count and
// age. Key s belongs to partition s%parts, so every host is visited
// through every partition, as a crawl spread over exits does.
type workload struct {
	n, servers, parts, expiredPct int
	// cs is the session every ticket copies.
	cs *utls.ClientSessionState
}

func (w *workload) tickets(s int) int   { return (s+1)*w.n/w.servers - s*w.n/w.servers }
func (w *workload) expired(s int) bool  { return s*37%100 < w.expiredPct }
func (w *workload) partition(s int) int { return s % w.parts }

func (w *workload) server(s int) string {
	return "www.site" + strconv.Itoa(s/w.parts) + ".example:443"
}

// expiredTickets counts the tickets of the expired share.
func (w *workload) expiredTickets() int {
	total := 0
	for s := range w.servers {
		if w.expired(s) {
			total += w.tickets(s)
		}
	}
	return total
}

// result is what one run measured.
type result struct {
	n, servers, parts       int
	writers, takers         int
	cold                    bool
	fill, close, reopen     time.Duration
	put                     hist
	tenths                  []time.Duration
	takes, hits             int
	takeTime                time.Duration
	take                    hist
	misses                  int
	missTime                time.Duration
	pruned                  int
	prune                   time.Duration
	fileAfterFill, fileEnd  int64
	vmHWM, rssAnonMax, heap int64
	sess                    *session
	record                  float64 // mean bytes of a server record after the fill
	pages                   pageStats
}

func runOne(cfg config) (*result, error) {
	w, err := newWorkload(cfg)
	if err != nil {
		return nil, err
	}
	fmt.Printf("n=%d servers=%d partitions=%d writers=%d takers=%d sample=%d expired=%d%% %s\n",
		w.n, w.servers, w.parts, cfg.writers, cfg.takers, cfg.sample, w.expiredPct,
		describeMachine())
	sess, err := realSession()
	if err != nil {
		return nil, fmt.Errorf("handshake: %w", err)
	}
	w.cs = sess.cs
	fmt.Printf("session: ticket %d B, utls state %d B (leaf %d B, intermediate %d B, root %d B)\n",
		sess.ticket, sess.state, sess.leaf, sess.intermediate, sess.root)
	path, cleanup, err := storePath(cfg, w, sess)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	r := &result{n: w.n, servers: w.servers, parts: w.parts, sess: sess,
		writers: cfg.writers, takers: cfg.takers, cold: cfg.cold}
	samp := startSampler(time.Second)
	if err := phases(cfg, w, path, r, samp); err != nil {
		samp.Stop()
		return nil, err
	}
	r.rssAnonMax = samp.Stop()
	r.vmHWM = kB(procStatus()["VmHWM"])
	// A file larger than the page cache would be read at random, page by
	// page: at 10M tickets that takes longer than the run.
	walk := cfg.walk && r.fileEnd < memAvailable()/2
	if cfg.walk && !walk {
		fmt.Printf("page statistics skipped: the file is larger than half the available memory\n")
	}
	if r.pages, err = walkPages(path, walk); err != nil {
		return nil, fmt.Errorf("walk %s: %w", path, err)
	}
	r.print()
	return r, nil
}

func newWorkload(cfg config) (*workload, error) {
	w := &workload{n: cfg.n, servers: cfg.servers, parts: cfg.partitions,
		expiredPct: cfg.expiredPct}
	if w.servers <= 0 {
		w.servers = (w.n + ticketstore.MaxPerServer - 1) / ticketstore.MaxPerServer
	}
	w.servers = min(w.servers, w.n)
	if w.n > w.servers*ticketstore.MaxPerServer {
		return nil, fmt.Errorf("%d tickets over %d server keys: a key keeps %d", w.n, w.servers,
			ticketstore.MaxPerServer)
	}
	if w.parts < 1 || w.parts > w.servers {
		return nil, fmt.Errorf("-partitions must be between 1 and the server keys (%d)", w.servers)
	}
	if w.expiredPct < 0 || w.expiredPct >= 100 {
		return nil, fmt.Errorf("-expired must be a percentage below 100")
	}
	if cfg.writers < 1 || cfg.takers < 1 || cfg.sample < 1 {
		return nil, fmt.Errorf("-writers, -takers and -sample must be at least 1")
	}
	return w, nil
}

// storePath returns the file to use, checking that its disk can hold it.
func storePath(cfg config, w *workload, s *session) (path string, cleanup func(), err error) {
	cleanup = func() {}
	path = cfg.path
	if path == "" {
		dir, err := os.MkdirTemp("", "ticketscale")
		if err != nil {
			return "", nil, err
		}
		if !cfg.keep {
			cleanup = func() { os.RemoveAll(dir) }
		}
		path = filepath.Join(dir, "tickets.db")
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", nil, err
	}
	free, err := freeDisk(filepath.Dir(path))
	if err != nil {
		cleanup()
		return "", nil, err
	}
	need := estimateDisk(w.n, s)
	fmt.Printf("file %s: about %s needed, %s free\n", path, size(need), size(free))
	if cfg.diskCheck && need > free {
		cleanup()
		return "", nil, fmt.Errorf("%s may need %s but %s is free (-diskcheck=false runs anyway)",
			path, size(need), size(free))
	}
	return path, cleanup, nil
}

// phases fills the store, closes it, reopens it, takes, misses and prunes.
func phases(cfg config, w *workload, path string, r *result, samp *rssSampler) error {
	clk := &clock{}
	if err := fillPhase(cfg, w, path, clk, r, samp); err != nil {
		return err
	}
	r.fileAfterFill = fileSize(path)
	fmt.Printf("file after fill: %s (%.0f bytes/ticket)\n", size(r.fileAfterFill),
		float64(r.fileAfterFill)/float64(w.n))
	// Sample records now, while every key holds all its tickets.
	record, err := recordSize(path, 1000)
	if err != nil {
		return fmt.Errorf("records of %s: %w", path, err)
	}
	r.record = record
	perKey := float64(w.n) / float64(w.servers)
	fmt.Printf("record: %.0f bytes for %.2f tickets = %.0f bytes/ticket\n", record, perKey,
		record/perKey)

	if cfg.cold {
		if err := evict(path); err != nil {
			return fmt.Errorf("drop %s from the page cache: %w", path, err)
		}
	}
	start := time.Now()
	st, err := ticketstore.Open(path, options(clk))
	if err != nil {
		return err
	}
	parts, err := partitionsOf(st, w.parts)
	if err != nil {
		st.Close()
		return err
	}
	r.reopen = time.Since(start)
	opened := time.Now()
	fmt.Printf("reopen: %v\n", dur(r.reopen))
	r.heap = memory("after reopen", samp)

	stopProfile, err := startProfile(suffixed(cfg.cpuProfile, ".read"))
	if err != nil {
		st.Close()
		return err
	}
	err = readPhases(cfg, w, st, parts, clk, opened, r)
	stopProfile()
	start = time.Now()
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	fmt.Printf("close after prune: %v\n", dur(time.Since(start)))
	r.fileEnd = fileSize(path)
	memory("end", samp)
	return err
}

func fillPhase(cfg config, w *workload, path string, clk *clock, r *result,
	samp *rssSampler) error {
	st, err := ticketstore.Open(path, options(clk))
	if err != nil {
		return err
	}
	parts, err := partitionsOf(st, w.parts)
	if err != nil {
		st.Close()
		return err
	}
	stopProfile, err := startProfile(cfg.cpuProfile)
	if err != nil {
		st.Close()
		return err
	}
	err = fill(w, parts, clk, cfg.writers, cfg.every, r)
	stopProfile()
	if err == nil {
		err = writeHeapProfile(cfg.memProfile)
	}
	if err != nil {
		st.Close()
		return err
	}
	memory("after fill", samp)
	start := time.Now()
	if err := st.Close(); err != nil {
		return err
	}
	r.close = time.Since(start)
	fmt.Printf("close: %v\n", dur(r.close))
	return nil
}

func readPhases(cfg config, w *workload, st *ticketstore.Store, parts []*ticketstore.Partition,
	clk *clock, opened time.Time, r *result) error {
	if err := takePhase(w, parts, cfg.sample, cfg.takers, r); err != nil {
		return err
	}
	if err := missPhase(w, parts, cfg.sample, cfg.takers, r); err != nil {
		return err
	}
	// The reopened store prunes once at its first commit tick, a quarter
	// second after opening. Let that pass at the fill's clock, so that the
	// measured Prune is the one that finds the expired share.
	time.Sleep(time.Until(opened.Add(time.Second)))
	clk.set(0)
	want := w.expiredTickets()
	start := time.Now()
	n, err := st.Prune()
	r.prune, r.pruned = time.Since(start), n
	if err != nil {
		return err
	}
	fmt.Printf("prune: %d tickets in %v\n", n, dur(r.prune))
	if n != want {
		return fmt.Errorf("prune removed %d tickets, want %d", n, want)
	}
	return nil
}

func partitionsOf(st *ticketstore.Store, k int) ([]*ticketstore.Partition, error) {
	profiles := []string{"chrome133", "firefox120"}
	parts := make([]*ticketstore.Partition, k)
	for i := range parts {
		exit := ticketstore.Exit{Scheme: "socks5", Port: "1080", Username: "crawler",
			Password: "secret", Host: fmt.Sprintf("exit%d.proxy.test", i/len(profiles))}
		p, err := st.Partition(exit, profiles[i%len(profiles)])
		if err != nil {
			return nil, err
		}
		parts[i] = p
	}
	return parts, nil
}

// suffixed returns path with suffix added, or "" for no path.
func suffixed(path, suffix string) string {
	if path == "" {
		return ""
	}
	return path + suffix
}

// writeHeapProfile writes a heap profile to path; "" writes none.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
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

func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	fh, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		fh.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		fh.Close()
	}, nil
}

func (r *result) print() {
	fmt.Printf("file at end: %s\n", size(r.fileEnd))
	if ps := r.pages; ps.keys > 0 {
		fmt.Printf("pages (walked in %v): %d records, depth %d; leaves %s (%.0f%% in use), "+
			"branches %s, expiry index %s, free %s\n", dur(ps.took), ps.keys, ps.depth,
			size(ps.leafAlloc), 100*float64(ps.leafInuse)/float64(max(ps.leafAlloc, 1)),
			size(ps.branchAlloc), size(ps.indexAlloc), size(ps.free))
	} else {
		fmt.Printf("free pages: %s\n", size(r.pages.free))
	}
	fmt.Printf("memory peak: VmHWM %s, RssAnon max %s\n", size(r.vmHWM), size(r.rssAnonMax))
}

// addTo appends the run's row and named values to t.
func (r *result) addTo(t *results.Table) {
	rate := func(n int, d time.Duration) string {
		return group(int(float64(n)/d.Seconds())) + "/s"
	}
	tickets, k := group(r.n), strconv.Itoa(r.n)
	if r.cold {
		tickets, k = tickets+", cold cache", k+"_cold"
	}
	t.Add(tickets, fmt.Sprintf("%s in %d partitions", group(r.servers), r.parts),
		rate(r.n, r.fill), dur(r.close), dur(r.reopen), rate(r.takes, r.takeTime),
		dur(r.take.quantile(0.5))+" / "+dur(r.take.quantile(0.99)), rate(r.misses, r.missTime),
		fmt.Sprintf("%s in %s", group(r.pruned), dur(r.prune)), size(r.fileAfterFill),
		group(int(r.fileAfterFill/int64(r.n))), size(r.vmHWM), size(r.rssAnonMax), size(r.heap))

	t.Set("fill_per_s_"+k, float64(r.n)/r.fill.Seconds())
	t.Set("put_p99_us_"+k, float64(r.put.quantile(0.99).Microseconds()))
	t.Set("take_per_s_"+k, float64(r.takes)/r.takeTime.Seconds())
	t.Set("miss_per_s_"+k, float64(r.misses)/r.missTime.Seconds())
	t.Set("reopen_ms_"+k, float64(r.reopen.Microseconds())/1000)
	t.Set("file_bytes_"+k, r.fileAfterFill)
	t.Set("bytes_per_ticket_"+k, r.fileAfterFill/int64(r.n))
	t.Set("free_bytes_at_end_"+k, r.pages.free)
	t.Set("vmhwm_bytes_"+k, r.vmHWM)
	t.Set("rssanon_max_bytes_"+k, r.rssAnonMax)
	t.Set("heap_after_reopen_bytes_"+k, r.heap)
	perKey := float64(r.n) / float64(r.servers)
	t.Set("record_bytes_per_ticket", r.record/perKey)
	t.Set("session_state_bytes", r.sess.state)
	t.Set("session_ticket_bytes", r.sess.ticket)
	t.Notes = r.notes()
}

func (r *result) notes() []string {
	s := r.sess
	perKey := float64(r.n) / float64(r.servers)
	notes := []string{
		fmt.Sprintf("Every ticket is a copy of one real TLS 1.3 session from a local crypto/tls "+
			"server: a %d-byte server ticket and %d bytes of utls session state, which holds the "+
			"peer chain (ECDSA leaf %d B, RSA intermediate %d B) and the verified chain "+
			"(intermediate and RSA root %d B). A record holds one server key's tickets: "+
			"%.0f bytes for %.1f tickets, %.0f bytes per ticket.", s.ticket, s.state, s.leaf,
			s.intermediate, s.root, r.record, perKey, r.record/perKey),
		fmt.Sprintf("Fill: Puts from %d goroutines through the write-behind buffer, commits "+
			"included (a full buffer holds callers back). Take: %d goroutines take one ticket "+
			"each from a random sample of stored servers (read, decoded, removed). Miss: "+
			"servers never stored. Prune: the share of tickets received 8 days before the "+
			"clock of the prune. Bytes/ticket: the file after the fill divided by the tickets. "+
			"VmHWM includes the pages of the mapped file; RssAnon is the process's own memory.",
			r.writers, r.takers),
	}
	if r.cold {
		notes = append(notes, "Cold cache: the file's pages were dropped from the page cache "+
			"before the reopen, so takes, misses and the prune read from the disk, as they do "+
			"once the file outgrows memory.")
	}
	return notes
}

// group writes n with thousands separators.
func group(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
