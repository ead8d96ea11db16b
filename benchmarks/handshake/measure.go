package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// warmups are the ops each client does before it is measured, at 0 ms
// RTT and above: the first leaves a ticket for resumed clients and the
// pooled connection open.
const warmups, rttWarmups = 3, 1

// stats add up a client's ops.
type stats struct {
	ops, newConns, offered, resumed int
	// h2 counts the ops whose connection speaks HTTP/2.
	h2                   int
	cpu, wall, handshake time.Duration
	in, out              int64
	mallocs, allocBytes  uint64
	// roundCPU is the CPU per op of each round, in microseconds.
	roundCPU []float64
}

// result is one client's figures in one phase.
type result struct {
	server     string
	rtt        time.Duration
	kind, mode string
	stats
}

func (r *result) name() string { return r.kind + " " + r.mode }

// cpuUS is the CPU per op in microseconds.
func (s *stats) cpuUS() float64 { return float64(s.cpu.Nanoseconds()) / 1e3 / float64(max(s.ops, 1)) }

// wallMS is the wall time per op in milliseconds.
func (s *stats) wallMS() float64 { return float64(s.wall.Nanoseconds()) / 1e6 / float64(max(s.ops, 1)) }

// handshakeMS is the mean handshake time of the new connections.
func (s *stats) handshakeMS() float64 {
	return float64(s.handshake.Nanoseconds()) / 1e6 / float64(max(s.newConns, 1))
}

func (s *stats) inPerOp() float64  { return float64(s.in) / float64(max(s.ops, 1)) }
func (s *stats) outPerOp() float64 { return float64(s.out) / float64(max(s.ops, 1)) }

// resumedShare is the share of new connections that resumed.
func (s *stats) resumedShare() float64 { return float64(s.resumed) / float64(max(s.newConns, 1)) }

// phase is one measurement: every client against one server at one RTT.
type phase struct {
	server string
	t      target
	rtt    time.Duration
	ops    int
	rounds int
	dir    string // for the ticket stores
}

// run measures every client of the phase. The ops are split into rounds,
// and in each round every client does its share, starting with a
// different client each round, so that a change in the machine's load
// falls on all of them alike.
func (ph phase) run(ctx context.Context) ([]result, error) {
	clients, err := newClients(ph.t, ph.dir)
	if err != nil {
		return nil, err
	}
	defer closeClients(clients)
	results := make([]result, len(clients))
	for i, c := range clients {
		results[i] = result{server: ph.server, rtt: ph.rtt, kind: c.kind, mode: c.mode}
		for range warmupsAt(ph.rtt) {
			if _, err := c.do(ctx); err != nil {
				return nil, fmt.Errorf("%s: %s: warm-up: %w", ph.server, c.name(), err)
			}
		}
	}
	rounds := max(min(ph.rounds, ph.ops), 1)
	for r := range rounds {
		n := ph.ops/rounds + boolInt(r < ph.ops%rounds)
		for i := range clients {
			j := (i + r) % len(clients)
			if err := results[j].measure(ctx, clients[j], n); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", ph.server, clients[j].name(), err)
			}
		}
	}
	for i := range results {
		check(&results[i])
	}
	return results, nil
}

func warmupsAt(rtt time.Duration) int {
	if rtt > 0 {
		return rttWarmups
	}
	return warmups
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// measure runs n ops of c and adds them up. A garbage collection before
// the ops makes each client pay mostly for its own garbage. The ops run
// under a pprof label naming the client, so that a CPU profile of a run
// can be split by client.
func (s *stats) measure(ctx context.Context, c *client, n int) error {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	in0, out0 := c.cnt.in.Load(), c.cnt.out.Load()
	cpu0, _ := cpuTime()
	start := time.Now()
	var err error
	pprof.Do(ctx, pprof.Labels("client", c.name()), func(ctx context.Context) {
		err = s.loop(ctx, c, n)
	})
	// The flush commits to disk in the background in real use: it counts
	// in the CPU time, not in the wall time of the ops.
	wall := time.Since(start)
	if err == nil && c.flush != nil {
		err = c.flush()
	}
	cpu1, _ := cpuTime()
	runtime.ReadMemStats(&m1)
	if err != nil {
		return err
	}
	s.wall += wall
	s.cpu += cpu1 - cpu0
	s.roundCPU = append(s.roundCPU, float64((cpu1-cpu0).Nanoseconds())/1e3/float64(n))
	s.in += c.cnt.in.Load() - in0
	s.out += c.cnt.out.Load() - out0
	s.mallocs += m1.Mallocs - m0.Mallocs
	s.allocBytes += m1.TotalAlloc - m0.TotalAlloc
	return nil
}

func (s *stats) loop(ctx context.Context, c *client, n int) error {
	for range n {
		res, err := c.do(ctx)
		if err != nil {
			return err
		}
		s.ops++
		if res.newConn {
			s.newConns++
			s.handshake += res.handshake
		}
		s.offered += boolInt(res.offered)
		s.resumed += boolInt(res.resumed)
		s.h2 += boolInt(res.alpn == "h2")
	}
	return nil
}

// check warns about a client that did not do what its mode says.
func check(r *result) {
	var odd []string
	note := func(format string, args ...any) { odd = append(odd, fmt.Sprintf(format, args...)) }
	switch {
	case r.mode == modeFull && (r.offered > 0 || r.resumed > 0):
		note("%d offered a ticket, %d resumed", r.offered, r.resumed)
	case r.mode == modeResumed && r.resumed < r.ops:
		note("%d of %d resumed (%d offered a ticket)", r.resumed, r.ops, r.offered)
	case r.mode == modePooled && r.newConns > 0:
		note("%d of %d ops made a new connection", r.newConns, r.ops)
	}
	if r.mode != modePooled && r.newConns < r.ops {
		note("%d of %d ops reused a connection", r.ops-r.newConns, r.ops)
	}
	if r.h2 < r.ops {
		note("%d of %d ops did not speak HTTP/2", r.ops-r.h2, r.ops)
	}
	if len(odd) > 0 {
		warnf("%s, %v RTT, %s: %s", r.server, r.rtt, r.name(), strings.Join(odd, "; "))
	}
}
