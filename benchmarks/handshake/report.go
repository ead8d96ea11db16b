package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/revisit-crawl/revisit/benchmarks/internal/results"
)

// report collects the results of every phase and makes the tables.
type report struct {
	cpu []result // 0 ms, many ops
	rtt []result // each RTT, including 0 ms
}

// finish prints the tables as markdown and writes them as JSON under -out.
func (rep *report) finish(o options, elapsed time.Duration) error {
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
	}
	var tables []*results.Table
	if len(rep.cpu) > 0 {
		tables = append(tables, rep.cpuTable(), rep.ratioTable())
	}
	if len(rep.rtt) > 0 {
		tables = append(tables, rep.rttTable())
	}
	for _, t := range tables {
		t.Command = command()
		fmt.Printf("## %s\n\n%s\n", t.Title, t.Markdown())
		if p := outPath(o, t.Name); p != "" {
			if err := t.Write(p); err != nil {
				return err
			}
		}
	}
	fmt.Printf("Run time: %s.\n", elapsed.Round(time.Second))
	return nil
}

func (rep *report) cpuTable() *results.Table {
	t := &results.Table{
		Name:  "handshake-cpu",
		Title: "New connections at 0 ms RTT: client CPU, time and bytes per op",
		Columns: []string{"server", "client", "mode", "ops", "CPU µs/op", "CPU µs/op, rounds",
			"wall ms/op", "handshake ms", "bytes in/op", "bytes out/op", "allocs/op", "resumed"},
		Notes: []string{
			"One op: TCP dial, Chrome 133 TLS 1.3 handshake, one GET of a 2-byte page over " +
				"HTTP/2, close (pooled: the GET alone, on a kept-alive connection). " +
				"CPU is the client process's user+system time from getrusage; servers run in " +
				"other processes. Bytes are counted on the client's TCP connections, with a " +
				"leaf+intermediate chain. \"rounds\" is the range of the per-round means.",
		},
	}
	for _, r := range rep.cpu {
		t.Add(r.server, r.kind, r.mode, r.ops, r.cpuUS(), spread(r.roundCPU), r.wallMS(),
			handshakeCell(&r), r.inPerOp(), r.outPerOp(),
			float64(r.mallocs)/float64(max(r.ops, 1)), resumedCell(&r))
	}
	return t
}

// comparison is a row of the ratio table: a over b.
type comparison struct {
	label, key string
	a, b       [2]string // kind, mode
}

var comparisons = []comparison{
	{"bare: resumed / full", "bare_resumed_full", [2]string{"bare", modeResumed}, [2]string{"bare", modeFull}},
	{"revisit: resumed / full", "revisit_resumed_full", [2]string{"revisit", modeResumed}, [2]string{"revisit", modeFull}},
	{"full: revisit / bare", "revisit_bare_full", [2]string{"revisit", modeFull}, [2]string{"bare", modeFull}},
	{"resumed: revisit / bare", "revisit_bare_resumed", [2]string{"revisit", modeResumed}, [2]string{"bare", modeResumed}},
	{"revisit: pooled / resumed", "revisit_pooled_resumed", [2]string{"revisit", modePooled}, [2]string{"revisit", modeResumed}},
}

func (rep *report) ratioTable() *results.Table {
	t := &results.Table{
		Name:  "handshake-ratios",
		Title: "New connections at 0 ms RTT: ratios",
		Columns: []string{"server", "comparison", "CPU", "CPU per round: median (range)", "wall",
			"handshake", "bytes in"},
	}
	for _, server := range servers(rep.cpu) {
		for _, c := range comparisons {
			a, b := find(rep.cpu, server, 0, c.a), find(rep.cpu, server, 0, c.b)
			if a == nil || b == nil {
				continue
			}
			cpu := ratio(a.cpuUS(), b.cpuUS())
			hs := "–"
			if a.mode != modePooled {
				hs = results.Float(ratio(a.handshakeMS(), b.handshakeMS()))
			}
			t.Add(server, c.label, cpu, ratioSpread(a.roundCPU, b.roundCPU),
				ratio(a.wallMS(), b.wallMS()), hs, ratio(a.inPerOp(), b.inPerOp()))
			t.Set(server+"_"+c.key+"_cpu", cpu)
			if m, ok := ratioMedian(a.roundCPU, b.roundCPU); ok {
				t.Set(server+"_"+c.key+"_cpu_rounds", m)
			}
			t.Set(server+"_"+c.key+"_wall", ratio(a.wallMS(), b.wallMS()))
		}
		t.Notes = append(t.Notes, rep.savedNote(t, server))
	}
	t.Notes = append(t.Notes, "revisit / bare is the cost of revisit's transport, ticket store and "+
		"pool over utls used directly for the same handshake and request; the target is 1.1 or less.")
	return t
}

// savedNote records and describes the bytes resumption saves per
// connection on server.
func (rep *report) savedNote(t *results.Table, server string) string {
	note := server + ": resumption saves"
	for _, kind := range []string{"bare", "revisit"} {
		full := find(rep.cpu, server, 0, [2]string{kind, modeFull})
		res := find(rep.cpu, server, 0, [2]string{kind, modeResumed})
		if full == nil || res == nil {
			continue
		}
		saved := full.inPerOp() - res.inPerOp()
		t.Set(server+"_"+kind+"_bytes_saved", saved)
		note += fmt.Sprintf(" %s bytes received per connection with %s (%s → %s),",
			results.Float(saved), kind, results.Float(full.inPerOp()), results.Float(res.inPerOp()))
	}
	return note[:len(note)-1] + "."
}

func (rep *report) rttTable() *results.Table {
	t := &results.Table{
		Name:  "handshake-rtt",
		Title: "New connections with added round-trip time: wall time per op",
		Columns: []string{"server", "RTT ms", "client", "mode", "ops", "wall ms/op", "handshake ms",
			"wall / full", "resumed"},
		Notes: []string{
			"Above 0 ms the client connects through a relay (another process) that delays " +
				"every chunk by RTT/2 each way, in order, and holds the client's first bytes " +
				"one RTT to stand for the TCP handshake a loopback connect skips (so that RTT " +
				"shows in \"handshake ms\", not in the dial). 0 ms is a " +
				"direct loopback connection. \"wall / full\" divides by the same client's full " +
				"mode (revisit's for pooled).",
		},
	}
	for _, r := range rep.rtt {
		fullKind := [2]string{r.kind, modeFull}
		full := find(rep.rtt, r.server, r.rtt, fullKind)
		vsFull := "–"
		if full != nil {
			vsFull = results.Float(ratio(r.wallMS(), full.wallMS()))
		}
		t.Add(r.server, r.rtt.Milliseconds(), r.kind, r.mode, r.ops, r.wallMS(),
			handshakeCell(&r), vsFull, resumedCell(&r))
	}
	return t
}

func handshakeCell(r *result) string {
	if r.newConns == 0 {
		return "–"
	}
	return results.Float(r.handshakeMS())
}

func resumedCell(r *result) string {
	if r.newConns == 0 {
		return "–"
	}
	return results.Float(r.resumedShare())
}

func find(rs []result, server string, rtt time.Duration, km [2]string) *result {
	for i := range rs {
		r := &rs[i]
		if r.server == server && r.rtt == rtt && r.kind == km[0] && r.mode == km[1] {
			return r
		}
	}
	return nil
}

func servers(rs []result) []string {
	var out []string
	for _, r := range rs {
		if !slices.Contains(out, r.server) {
			out = append(out, r.server)
		}
	}
	return out
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// spread formats the range of vs as "min–max".
func spread(vs []float64) string {
	if len(vs) == 0 {
		return "–"
	}
	return results.Float(slices.Min(vs)) + "–" + results.Float(slices.Max(vs))
}

// ratioMedian is the median of a[i]/b[i] over the rounds.
func ratioMedian(a, b []float64) (float64, bool) {
	var rs []float64
	for i := range min(len(a), len(b)) {
		rs = append(rs, ratio(a[i], b[i]))
	}
	if len(rs) == 0 {
		return 0, false
	}
	return median(rs), true
}

// ratioSpread is the median and range of a[i]/b[i] over the rounds: a
// and b ran side by side in each round, so the median is little moved by
// a burst of load on the machine that hit one of them.
func ratioSpread(a, b []float64) string {
	var rs []float64
	for i := range min(len(a), len(b)) {
		rs = append(rs, ratio(a[i], b[i]))
	}
	if len(rs) == 0 {
		return "–"
	}
	return results.Float(median(rs)) + " (" + spread(rs) + ")"
}

func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// warnf prints a warning on standard error.
func warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "warning: "+format+"\n", args...)
}
