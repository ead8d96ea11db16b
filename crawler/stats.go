package crawler

import (
	"fmt"
	"io"
	"maps"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/revisit-crawl/revisit/transport"
)

// Stats describes a crawl so far.
type Stats struct {
	Start time.Time
	// Pages counts fetches that got a response; Fetches all attempts.
	Pages, Fetches int64
	// Bytes is the total of decoded bodies read.
	Bytes int64
	// Errors counts failed fetches and pages by kind: "http_4xx",
	// "http_5xx", "tls", "proxy", "timeout", "fetch", "body",
	// "redirect", "parse", "callback".
	Errors map[string]int64
	// Exits holds the handshake counts per exit label.
	Exits map[string]ExitStats
}

// ExitStats counts the connections made through one exit.
type ExitStats struct {
	// Handshakes counts new TLS connections; Resumed those that resumed a
	// session; PSKOffered those that offered a ticket. Reused counts
	// requests on pooled connections.
	Handshakes, Resumed, PSKOffered, Reused int64
}

// PagesPerSecond is the fetch rate since the start.
func (s Stats) PagesPerSecond() float64 {
	d := time.Since(s.Start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.Fetches) / d
}

// ErrorCount is the sum of Errors.
func (s Stats) ErrorCount() int64 {
	var n int64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// String is a one-line summary.
func (s Stats) String() string {
	var hs, res, psk int64
	for _, e := range s.Exits {
		hs += e.Handshakes
		res += e.Resumed
		psk += e.PSKOffered
	}
	return fmt.Sprintf("%d fetched (%.1f/s), %d errors, %s, handshakes %d (ticket offered %d, resumed %d)",
		s.Fetches, s.PagesPerSecond(), s.ErrorCount(), humanBytes(s.Bytes), hs, psk, res)
}

// Summary is a multi-line report: totals, errors by kind and handshakes
// per exit.
func (s Stats) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "crawl: %s in %v\n", s, time.Since(s.Start).Round(time.Millisecond))
	for _, k := range sortedKeys(s.Errors) {
		fmt.Fprintf(&b, "  errors %-10s %d\n", k, s.Errors[k])
	}
	for _, k := range sortedKeys(s.Exits) {
		e := s.Exits[k]
		fmt.Fprintf(&b, "  exit %s: %d handshakes, %d offered a ticket, %d resumed, %d reused connections\n",
			k, e.Handshakes, e.PSKOffered, e.Resumed, e.Reused)
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// stats is the crawler's live counters.
type stats struct {
	// mu guards s.
	mu sync.Mutex
	s  Stats
}

func newStats() stats {
	return stats{s: Stats{Start: time.Now(), Errors: map[string]int64{}, Exits: map[string]ExitStats{}}}
}

func (st *stats) addPage(r *Record) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Fetches++
	if r.Status > 0 {
		st.s.Pages++
	}
	st.s.Bytes += r.Bytes
	if r.Exit == "" || r.TLS == nil {
		return
	}
	if !r.TLS.NewConn {
		e := st.s.Exits[r.Exit]
		e.Reused++
		st.s.Exits[r.Exit] = e
	}
}

// addHandshake counts a connection the transport made; it is the
// TLSHandshakeDone hook of the trace Run puts on its context.
func (st *stats) addHandshake(info transport.ConnInfo, err error) {
	if err != nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	e := st.s.Exits[info.Exit]
	e.Handshakes++
	if info.Resumed {
		e.Resumed++
	}
	if info.PSKOffered {
		e.PSKOffered++
	}
	st.s.Exits[info.Exit] = e
}

func (st *stats) addError(kind string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Errors[kind]++
}

func (st *stats) snapshot() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	s.Errors = maps.Clone(st.s.Errors)
	s.Exits = maps.Clone(st.s.Exits)
	return s
}

// startProgress writes progress to Config.Progress until the returned
// function is called: on a terminal one line redrawn every second,
// elsewhere a line every 10 seconds.
func (c *Crawler) startProgress() (stop func()) {
	w := c.cfg.Progress
	if w == nil {
		return func() {}
	}
	tty := isTerminal(w)
	every := 10 * time.Second
	if tty {
		every = time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					io.WriteString(w, "\r\033[K")
				}
				return
			case <-t.C:
				line := c.Stats().String()
				if tty {
					fmt.Fprintf(w, "\r\033[K%s", line)
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
