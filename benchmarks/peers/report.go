package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/revisit-crawl/revisit/benchmarks/internal/results"
)

// metric is one measured figure of a run.
type metric struct {
	column string
	key    string // in Table.Values, after the crawler's name
	of     func(run) float64
}

var metrics = []metric{
	{"pages/s", "pages_per_s", run.pagesPerSecond},
	{"CPU ms/page", "cpu_ms_per_page", run.cpuPerPage},
	{"peak RSS MiB", "rss_mib", run.rssMiB},
}

// summary is what the table is made of.
type summary struct {
	crawlers []string
	runs     map[string][]run
	rounds   int
	skipped  string // why Scrapy was left out, if it was
}

// table summarizes the runs: per crawler the median of each metric with
// its range, then revisit's medians over each peer's.
func (d *driver) table(sum summary) *results.Table {
	crawlers, runs := sum.crawlers, sum.runs
	t := &results.Table{
		Name:  "crawl-peers",
		Title: fmt.Sprintf("Crawl throughput: %d pages over HTTPS on loopback", d.pages),
		Columns: []string{"crawler", "pages/s", "CPU ms/page", "peak RSS MiB",
			"protocol, connections", "page fetches"},
	}
	medians := map[string][]float64{}
	for _, name := range crawlers {
		rs := runs[name]
		row := []any{name}
		for _, m := range metrics {
			vals := collect(rs, m.of)
			med := median(vals)
			medians[name] = append(medians[name], med)
			row = append(row, withRange(med, vals))
			t.Set(name+"_"+m.key, med)
			t.Set(name+"_"+m.key+"_runs", joinFloats(vals))
		}
		fetches := collect(rs, func(r run) float64 { return float64(r.site.Pages) })
		row = append(row, siteProtocol(rs[0].site), withRange(median(fetches), fetches))
		t.Set(name+"_page_fetches_runs", joinFloats(fetches))
		t.Add(row...)
	}
	for _, peer := range crawlers {
		if peer == "revisit" || medians["revisit"] == nil {
			continue
		}
		row := []any{"revisit / " + peer}
		for i, m := range metrics {
			ratio := medians["revisit"][i] / medians[peer][i]
			row = append(row, ratio)
			t.Set("revisit_"+peer+"_"+m.key+"_ratio", ratio)
		}
		t.Add(append(row, "", "")...)
	}
	t.Notes = d.notes(sum)
	t.Set("pages", d.pages)
	t.Set("rounds", sum.rounds)
	t.Set("concurrency", d.flags.concurrency)
	t.Set("per_host", d.flags.perHost)
	t.Set("go", runtime.Version())
	t.Set("cpus", runtime.NumCPU())
	return t
}

func (d *driver) notes(sum summary) []string {
	crawlers, runs := sum.crawlers, sum.runs
	first := runs[crawlers[0]][0]
	n := []string{
		fmt.Sprintf("The site is %d pages of HTML, %.1f KB and %.0f a[href] links each on "+
			"average, served by Go's net/http over TLS 1.3 (HTTP/2 and HTTP/1.1 offered) "+
			"from a process of its own; a tree of links reaches every page, and most "+
			"links lead to pages already seen. robots.txt allows everything; every "+
			"crawler is set to obey it, and fetches it.", d.pages,
			float64(first.site.Bytes)/float64(first.site.Pages)/1000,
			float64(first.result.Links)/float64(first.result.Pages)),
		fmt.Sprintf("Each crawler follows every same-host link with %d fetches in flight "+
			"and at most %d per host, no delay, and selects and counts each page's "+
			"a[href] elements. %s, one process per "+
			"run, the order reversed every other round. pages/s is the site's pages "+
			"over the process's wall time, start to exit; CPU is its user plus system "+
			"time over the site's pages; peak RSS is its ru_maxrss. page fetches counts "+
			"the pages the site served in a run, repeated ones included.",
			d.flags.concurrency, d.flags.perHost, roundsNote(sum.rounds)),
		"revisit: the bbolt frontier in a temporary file with fsync on, the default " +
			"Chrome 133 profile, robots.txt through its own transport, no depth limit, " +
			ticketNote(d.tickets) + ". colly v2.3.0: Async, one LimitRule{DomainGlob: \"*\"}, " +
			"IgnoreRobotsTxt set to false (colly's default ignores robots.txt), " +
			"AllowedDomains the site's host, in-memory storage, a clone of " +
			"http.DefaultTransport with the site's root and ForceAttemptHTTP2.",
	}
	if slices.Contains(crawlers, "scrapy") {
		n = append(n, "Scrapy "+scrapyVersion(d.python)+" (Debian's python3-scrapy): "+
			"CONCURRENT_REQUESTS and CONCURRENT_REQUESTS_PER_DOMAIN as above, "+
			"ROBOTSTXT_OBEY, certificates verified against the site's root; it speaks "+
			"HTTP/1.1, its default (its HTTP/2 handler is experimental). Its time "+
			"includes starting Python and importing Scrapy.")
	}
	n = append(n, "robots.txt fetches per run: "+robotsFetches(crawlers, runs)+
		". Wall time outside the crawl itself (starting the process, importing "+
		"modules), median: "+startups(crawlers, runs)+".")
	if dup := duplicates(crawlers, runs); dup != "" {
		n = append(n, dup)
	}
	if sum.skipped != "" {
		n = append(n, sum.skipped)
	}
	n = append(n, fmt.Sprintf("Machine: %d CPUs, %s/%s, %s; the site's process shares them "+
		"with the crawler's.", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		runtime.Version()))
	return n
}

func ticketNote(on bool) string {
	if on {
		return "a ticket store in a temporary file"
	}
	return "no ticket store (one connection carries the whole crawl, so there is " +
		"nothing to resume)"
}

// siteProtocol says which protocol the site saw and over how many
// connections: "HTTP/2, 1 conn".
func siteProtocol(st siteStats) string {
	proto := fmt.Sprintf("HTTP/2 %d, HTTP/1.1 %d", st.HTTP2, st.HTTP1)
	switch {
	case st.HTTP1 == 0:
		proto = "HTTP/2"
	case st.HTTP2 == 0:
		proto = "HTTP/1.1"
	}
	if st.Conns == 1 {
		return proto + ", 1 conn"
	}
	return fmt.Sprintf("%s, %d conns", proto, st.Conns)
}

func collect[R any](rs []R, of func(R) float64) []float64 {
	vals := make([]float64, len(rs))
	for i, r := range rs {
		vals[i] = of(r)
	}
	return vals
}

func median(vals []float64) float64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func withRange(med float64, vals []float64) string {
	if slices.Min(vals) == slices.Max(vals) {
		return results.Float(med)
	}
	return fmt.Sprintf("%s (%s–%s)", results.Float(med), results.Float(slices.Min(vals)),
		results.Float(slices.Max(vals)))
}

func joinFloats(vals []float64) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = results.Float(v)
	}
	return strings.Join(s, " ")
}

func robotsFetches(crawlers []string, runs map[string][]run) string {
	var parts []string
	for _, name := range crawlers {
		counts := collect(runs[name], func(r run) float64 { return float64(r.site.Robots) })
		if slices.Min(counts) == slices.Max(counts) {
			counts = counts[:1]
		}
		parts = append(parts, name+" "+joinFloats(counts))
	}
	return strings.Join(parts, ", ")
}

// duplicates explains repeated fetches, when there were any.
func duplicates(crawlers []string, runs map[string][]run) string {
	var who []string
	for _, name := range crawlers {
		for _, r := range runs[name] {
			if r.site.Pages > r.site.Distinct {
				who = append(who, name)
				break
			}
		}
	}
	if len(who) == 0 {
		return ""
	}
	s := strings.Join(who, " and ") + " fetched some pages more than once."
	if slices.Contains(who, "scrapy") {
		s += " Scrapy's start URL skips its duplicate filter, so the first link back " +
			"to the front page fetches it again."
	}
	if slices.Contains(who, "colly") {
		s += " colly's storage checks whether a URL was visited and marks it visited in " +
			"two steps, each under its own lock, so two pages that link to the same URL, " +
			"parsed at the same time, can both fetch it. The repeats are in its time and " +
			"CPU; the rates count each page once."
	}
	return s
}

func roundsNote(rounds int) string {
	if rounds == 1 {
		return "One run each"
	}
	return fmt.Sprintf("Medians of %d runs (range in brackets)", rounds)
}

func startups(crawlers []string, runs map[string][]run) string {
	var parts []string
	for _, name := range crawlers {
		outside := collect(runs[name], func(r run) float64 {
			return r.wall.Seconds() - r.result.Seconds
		})
		parts = append(parts, fmt.Sprintf("%s %.2f s", name, median(outside)))
	}
	return strings.Join(parts, ", ")
}

// publish names the command that made t, prints it as markdown and, with
// a file name, writes it as JSON there.
func publish(t *results.Table, mode string, args []string, jsonOut string) error {
	t.Command = strings.TrimSpace("cd benchmarks/peers && go run . " + mode + " " +
		strings.Join(args, " "))
	fmt.Print(t.Markdown())
	if jsonOut != "" {
		return t.Write(jsonOut)
	}
	return nil
}
