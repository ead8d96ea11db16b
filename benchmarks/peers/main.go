// Command crawlbench measures crawl throughput of revisit against colly
// (and Scrapy, when Debian's python3-scrapy is installed) on a generated
// site served over HTTPS on loopback, each crawler in a process of its
// own so that its CPU time and peak memory can be told apart.
//
//	crawlbench all [-pages 10000] [-rounds 3] [-json FILE]
//	crawlbench workers [-workers 1,2,4] [-rounds 3] [-json FILE]
//	crawlbench site [-pages N] [-ca FILE]
//	crawlbench revisit|colly|scrapy -url URL -ca FILE
//	crawlbench revisit -url URL -ca FILE -state redis://HOST:PORT/DB?crawl=NAME
//
// The all mode starts the site, runs every crawler in turn, checks that
// each fetched every page, and prints a markdown table. The workers mode
// starts the site and a redis-server and runs one crawl at a time shared
// by 1, 2 and 4 (by default) revisit processes through Redis, beside one process with
// the bbolt frontier. The other modes are their parts, also usable alone.
package main

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	modes := map[string]func([]string) error{
		"all": runAll, "site": runSite, "revisit": runRevisit, "colly": runColly,
		"scrapy": runScrapy, "workers": runWorkers,
	}
	run, ok := modes[os.Args[1]]
	if !ok {
		usage()
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "crawlbench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: crawlbench all|workers|site|revisit|colly|scrapy [flags]")
	os.Exit(2)
}

// crawlResult is what a crawler process prints on its standard output
// when it is done, as one JSON object; the Scrapy spider prints the same.
type crawlResult struct {
	Crawler string `json:"crawler"`
	// Pages counts HTML pages fetched with status 200; Links the a[href]
	// elements found in them; Errors the failed fetches.
	Pages  int64 `json:"pages"`
	Links  int64 `json:"links"`
	Errors int64 `json:"errors"`
	// Seconds is the crawl's own time, from setting up the crawler to
	// closing it, without the process's start.
	Seconds float64 `json:"seconds"`
	// Protocol is the HTTP version of the responses as the crawler saw
	// them, when it can tell.
	Protocol string `json:"protocol,omitempty"`
}

func (r crawlResult) print(start time.Time) error {
	r.Seconds = time.Since(start).Seconds()
	return json.NewEncoder(os.Stdout).Encode(r)
}

// crawlFlags are the flags every crawler mode takes.
type crawlFlags struct {
	url         string
	ca          string
	concurrency int
	perHost     int
}

func parseCrawlFlags(name string, args []string, extra func(*flag.FlagSet)) (*crawlFlags, error) {
	var f crawlFlags
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(&f.url, "url", "", "root of the site to crawl (required)")
	fs.StringVar(&f.ca, "ca", "", "PEM file of the root certificate to trust (required)")
	fs.IntVar(&f.concurrency, "concurrency", 16, "fetches in flight overall")
	fs.IntVar(&f.perHost, "per-host", 0, "fetches in flight per host (default -concurrency)")
	if extra != nil {
		extra(fs)
	}
	fs.Parse(args)
	if f.url == "" || f.ca == "" {
		return nil, errors.New("-url and -ca are required")
	}
	if f.perHost <= 0 {
		f.perHost = f.concurrency
	}
	f.url = strings.TrimSuffix(f.url, "/")
	return &f, nil
}

func loadRoots(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate found", path)
	}
	return pool, nil
}

// protocols counts responses by protocol. It is safe for concurrent use.
type protocols struct {
	// mu guards n.
	mu sync.Mutex
	n  map[string]int64
}

func (p *protocols) add(proto string) {
	if proto == "" {
		proto = "unknown"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = map[string]int64{}
	}
	p.n[proto]++
}

// String lists the protocols seen, the most used first, with counts when
// there were several: "h2" or "h2 1990, http/1.1 10".
func (p *protocols) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.n))
	for k := range p.n {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return int(p.n[b] - p.n[a]) })
	if len(names) == 1 {
		return names[0]
	}
	for i, k := range names {
		names[i] = fmt.Sprintf("%s %d", k, p.n[k])
	}
	return strings.Join(names, ", ")
}
