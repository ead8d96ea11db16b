// Command handshake measures what TLS session resumption saves a client on
// new connections, and what revisit's transport (its ticket store and
// connection pool included) costs over bare utls doing the same work.
//
// Each op makes a new connection: TCP dial, a Chrome 133 TLS 1.3
// handshake, one GET of a two-byte page over HTTP/2, close. The clients are
// bare utls (full handshake, resumed) and revisit's transport (full,
// resumed, and a GET on a kept-alive connection for reference). The
// servers, a crypto/tls one and nginx, and the relay that adds a
// round-trip time run in other processes, so the CPU time the program
// reads from getrusage is the client's alone.
//
//	go run ./benchmarks/handshake -out /tmp/handshake
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/revisit-crawl/revisit/benchmarks/internal/chain"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == childFlag {
		if err := runChild(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "handshake child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "handshake:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	ops, rttOps, rounds int
	rtts                []time.Duration
	servers             []string
	out, cpuProfile     string
	nginx               string
}

func parseFlags() (options, error) {
	var o options
	flag.IntVar(&o.ops, "ops", 4000, "ops per client at 0 ms RTT, where CPU is measured (0: skip)")
	flag.IntVar(&o.rttOps, "rtt-ops", 30, "ops per client at each RTT above 0")
	flag.IntVar(&o.rounds, "rounds", 20, "rounds the ops are split into, taking turns among clients")
	rtts := flag.String("rtts", "0,20,100", "round-trip times to add, in ms")
	servers := flag.String("servers", "go,nginx", "servers: go (crypto/tls), nginx")
	flag.StringVar(&o.out, "out", "", "directory for the JSON tables (default: none written)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the client, labelled by client, to this file")
	flag.StringVar(&o.nginx, "nginx", "/usr/sbin/nginx", "nginx binary")
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	for _, f := range strings.Split(*rtts, ",") {
		ms, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || ms < 0 {
			return o, fmt.Errorf("-rtts: bad value %q", f)
		}
		o.rtts = append(o.rtts, time.Duration(ms)*time.Millisecond)
	}
	for _, s := range strings.Split(*servers, ",") {
		s = strings.TrimSpace(s)
		if s != "go" && s != "nginx" {
			return o, fmt.Errorf("-servers: unknown server %q", s)
		}
		o.servers = append(o.servers, s)
	}
	if o.ops < 0 || o.rttOps < 1 || o.rounds < 1 {
		return o, errors.New("-ops must be 0 or more, -rtt-ops and -rounds 1 or more")
	}
	return o, nil
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	if _, ok := cpuTime(); !ok {
		fmt.Fprintln(os.Stderr, "warning: no CPU time on this system; CPU columns read 0")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "revisit-handshake")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ch, err := chain.New()
	if err != nil {
		return err
	}
	if _, _, _, err := ch.WriteFiles(dir); err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	start := time.Now()
	fmt.Fprintf(os.Stderr, "handshake: %s, %d CPUs, servers %v, RTTs %v, %d ops (%d at RTT > 0)\n",
		runtime.Version(), runtime.NumCPU(), o.servers, o.rtts, o.ops, o.rttOps)
	var rep report
	for _, name := range o.servers {
		if err := benchServer(ctx, o, name, dir, ch.Roots, &rep); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	return rep.finish(o, elapsed)
}

// benchServer runs every phase against one server: 0 ms RTT straight to
// it, then each other RTT through a relay.
func benchServer(ctx context.Context, o options, name, dir string, roots *x509.CertPool, rep *report) error {
	srv, err := startServer(ctx, o, name, dir)
	if err != nil {
		return err
	}
	defer srv.stop()
	var direct []result
	if o.ops > 0 {
		fmt.Fprintf(os.Stderr, "%s: 0 ms, %d ops per client\n", name, o.ops)
		if direct, err = runPhase(ctx, name, srv.addr, 0, o.ops, o.rounds, dir, roots); err != nil {
			return err
		}
		rep.cpu = append(rep.cpu, direct...)
	}
	for _, rtt := range o.rtts {
		if rtt == 0 && direct != nil {
			rep.rtt = append(rep.rtt, direct...)
			continue
		}
		fmt.Fprintf(os.Stderr, "%s: %v, %d ops per client\n", name, rtt, o.rttOps)
		res, err := runRelayed(ctx, name, srv.addr, rtt, o, dir, roots)
		if err != nil {
			return err
		}
		rep.rtt = append(rep.rtt, res...)
	}
	return nil
}

// runRelayed runs a phase through a relay adding rtt; at 0 there is no
// relay.
func runRelayed(ctx context.Context, name, addr string, rtt time.Duration, o options, dir string, roots *x509.CertPool) ([]result, error) {
	if rtt == 0 {
		return runPhase(ctx, name, addr, 0, o.rttOps, o.rounds, dir, roots)
	}
	relay, err := startChild(ctx, "relay", "-to", addr, "-rtt", rtt.String())
	if err != nil {
		return nil, err
	}
	defer relay.stop()
	return runPhase(ctx, name, relay.addr, rtt, o.rttOps, o.rounds, dir, roots)
}

func runPhase(ctx context.Context, name, addr string, rtt time.Duration, ops, rounds int, dir string, roots *x509.CertPool) ([]result, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ph := phase{
		server: name, t: target{port: port, roots: roots}, rtt: rtt,
		ops: ops, rounds: rounds, dir: dir,
	}
	return ph.run(ctx)
}

// startServer starts the named server in its own process.
func startServer(ctx context.Context, o options, name, dir string) (*child, error) {
	if name == "nginx" {
		return startNginx(ctx, o.nginx, dir)
	}
	return startChild(ctx, "server", "-dir", dir)
}

// command is the command line that reproduces the run.
func command() string {
	args := slices.Clone(os.Args[1:])
	return strings.TrimSpace("go run ./benchmarks/handshake " + strings.Join(args, " "))
}

// outPath is where a table goes, or "" when no -out was given.
func outPath(o options, name string) string {
	if o.out == "" {
		return ""
	}
	return filepath.Join(o.out, name+".json")
}
