package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/proxytest"
	"github.com/revisit-crawl/revisit/internal/sitetest"
)

// bin is the revisit binary the tests run, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "revisit-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "revisit")
	out, err := exec.Command("go", "build", "-race", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	// A binary built with -race sleeps a second before it exits; the
	// tests run it a few hundred times.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func revisit(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage"},
		{"unknown command", []string{"fly"}, "unknown command"},
		{"bad flag", []string{"crawl", "--depth", "x", "https://a.test/"}, "invalid value"},
		{"unknown flag", []string{"crawl", "--nope", "https://a.test/"}, "not defined"},
		{"no URL", []string{"crawl"}, "at least one URL"},
		{"relative URL", []string{"crawl", "a.test/x"}, "not an absolute"},
		{"bad scope", []string{"crawl", "--scope", "planet", "https://a.test/"}, "--scope"},
		{"unknown profile", []string{"crawl", "--profile", "netscape", "https://a.test/"}, "unknown profile"},
		{"negative depth", []string{"crawl", "--depth", "-1", "https://a.test/"}, "negative"},
		{"bad proxy", []string{"crawl", "--proxy", "ftp://u:hunter2@p:1", "https://a.test/"}, "proxy"},
		{"redis state without crawl", []string{"crawl", "--state", "redis://:hunter2@127.0.0.1:6379/0", "https://a.test/"}, "crawl=NAME"},
		{"malformed redis state", []string{"crawl", "--state", "redis://:hunter2@127.0.0.1:63%79/0?crawl=a", "https://a.test/"}, "malformed"},
		{"zero lease timeout", []string{"crawl", "--lease-timeout", "0s", "https://a.test/"}, "--lease-timeout"},
		{"missing CA file", []string{"crawl", "--ca", "/nonexistent.pem", "https://a.test/"}, "--ca"},
		{"tickets without verb", []string{"tickets"}, "list or purge"},
		{"bench without URL", []string{"bench", "handshake"}, "handshake URL"},
		{"profiles with argument", []string{"profiles", "x"}, "no arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := revisit(t, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("revisit %v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
			}
			if strings.Contains(r.stderr+r.stdout, "hunter2") {
				t.Fatalf("output shows the proxy password: %s", r.stderr)
			}
		})
	}
}

// cliSite is a local site and the files a crawl of it uses.
type cliSite struct {
	*sitetest.Site
	ca, tickets, state, out string
}

func newCLISite(t *testing.T, pages int) *cliSite {
	t.Helper()
	return newCLISiteWith(t, pages, nil)
}

// newCLISiteWith is newCLISite for a site with options.
func newCLISiteWith(t testing.TB, pages int, opts *sitetest.Options) *cliSite {
	t.Helper()
	s := &cliSite{Site: sitetest.New(t, pages, opts)}
	dir := t.TempDir()
	s.ca = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(s.ca, s.CA.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s.tickets = filepath.Join(dir, "tickets.db")
	s.state = filepath.Join(dir, "state.db")
	s.out = filepath.Join(dir, "out.jsonl")
	return s
}

func (s *cliSite) crawlArgs(extra ...string) []string {
	args := []string{"crawl", "--ca", s.ca, "--tickets", s.tickets, "--state", s.state, "--out", s.out}
	return append(append(args, extra...), s.PageURL(0))
}

type record struct {
	URL     string `json:"url"`
	Status  int    `json:"status"`
	Depth   int    `json:"depth"`
	Bytes   int64  `json:"bytes"`
	Error   string `json:"error"`
	Exit    string `json:"exit"`
	Profile string `json:"profile"`
	TLS     *struct {
		Version    string `json:"version"`
		ALPN       string `json:"alpn"`
		NewConn    bool   `json:"new_conn"`
		PSKOffered bool   `json:"psk_offered"`
		Resumed    bool   `json:"resumed"`
	} `json:"tls"`
	FetchedAt  time.Time `json:"fetched_at"`
	DurationMS float64   `json:"duration_ms"`
}

func readRecords(t *testing.T, path string) []record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad record line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestCrawlAndRevisit(t *testing.T) {
	s := newCLISite(t, 31)
	r := revisit(t, s.crawlArgs("--depth", "2")...)
	if r.code != 0 {
		t.Fatalf("crawl: exit %d\n%s", r.code, r.stderr)
	}
	recs := readRecords(t, s.out)
	if len(recs) != 7 {
		t.Fatalf("depth 2 crawl wrote %d records, want 7", len(recs))
	}
	for _, rec := range recs {
		if rec.Status != 200 || rec.Error != "" || rec.Profile != "chrome133" || rec.Exit != "direct" ||
			rec.TLS == nil || rec.TLS.Version != "1.3" || rec.TLS.ALPN != "h2" || rec.FetchedAt.IsZero() {
			t.Errorf("record %+v", rec)
		}
	}
	if !strings.Contains(r.stderr, "crawl: 7 fetched") {
		t.Errorf("summary missing from stderr:\n%s", r.stderr)
	}

	checkRevisitAndPurge(t, s)
}

// checkRevisitAndPurge runs a new crawl of s with the same tickets: its
// connection (made for robots.txt, then reused for the page) resumes.
// Then the tickets command lists the direct partition and purges it.
func checkRevisitAndPurge(t *testing.T, s *cliSite) {
	t.Helper()
	os.Remove(s.out)
	os.Remove(s.state)
	r := revisit(t, s.crawlArgs("--depth", "0")...)
	recs := readRecords(t, s.out)
	if r.code != 0 || len(recs) != 1 || !recs[0].TLS.PSKOffered || !recs[0].TLS.Resumed {
		t.Fatalf("second crawl: exit %d, records %+v; want a resumed connection\n%s", r.code, recs, r.stderr)
	}

	r = revisit(t, "tickets", "list", "--tickets", s.tickets)
	if r.code != 0 || !strings.Contains(r.stdout, "direct") || !strings.Contains(r.stdout, "chrome133") {
		t.Fatalf("tickets list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = revisit(t, "tickets", "purge", "--tickets", s.tickets); r.code != 0 {
		t.Fatalf("tickets purge: exit %d %s", r.code, r.stderr)
	}
	r = revisit(t, "tickets", "list", "--tickets", s.tickets)
	if r.code != 0 || strings.Contains(r.stdout, "chrome133") {
		t.Fatalf("tickets list after purge: exit %d, still shows a partition:\n%s", r.code, r.stdout)
	}
}

func TestInterruptSavesAndResumes(t *testing.T) {
	s := newCLISite(t, 40)
	s.Handle("/slow/", func(w http.ResponseWriter, r *http.Request) {})
	// Slow pages so that the crawl is mid-way when interrupted.
	cmd := exec.Command(bin, s.crawlArgs("--depth", "10", "--concurrency", "2", "--delay", "50ms")...)
	cmd.Env = os.Environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(s.out); bytes.Count(b, []byte("\n")) >= 5 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted crawl: %v, want exit status 130\n%s", err, stderr.String())
	}
	first := len(readRecords(t, s.out))
	if first >= s.N {
		t.Fatalf("the crawl finished (%d records) before the interrupt; the test proves nothing", first)
	}

	r := revisit(t, s.crawlArgs("--depth", "10", "--concurrency", "2")...)
	if r.code != 0 {
		t.Fatalf("resumed crawl: exit %d\n%s", r.code, r.stderr)
	}
	hits := s.Hits()
	repeats := 0
	for i := range s.N {
		n := hits[fmt.Sprintf("/p/%d", i)]
		if n == 0 {
			t.Errorf("page %d never fetched", i)
		}
		repeats += max(n-1, 0)
	}
	if repeats > 2 {
		t.Errorf("%d pages fetched twice across the interrupt, want at most the concurrency (2)", repeats)
	}
}

func TestBenchHandshake(t *testing.T) {
	s := newCLISite(t, 1)
	r := revisit(t, "bench", "handshake", "--n", "5", "--ca", s.ca, s.PageURL(0))
	if r.code != 0 {
		t.Fatalf("bench: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "resumed/full") || !strings.Contains(r.stdout, "accepted 100%") {
		t.Fatalf("bench output:\n%s", r.stdout)
	}
}

func TestProfiles(t *testing.T) {
	r := revisit(t, "profiles")
	if r.code != 0 {
		t.Fatalf("profiles: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"chrome133 (chrome) default", "t13d1516h2_8daaf6152771_d8a2da3f94cd",
		"1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p",
		"firefox135 (firefox)", "Firefox 135", "t13d1717h2_5b57614c22b0_3cbfd9057e0d",
		"1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s",
		"safari18 (safari)", "Safari 18", "t13d2014h2_a09f3c656075_e42f34c56612",
		"2:0;3:100;4:2097152;9:1|10420225|0|m,s,a,p",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("profiles output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestCrawlProfiles crawls with each non-default profile, twice: records
// name the profile, and the second crawl resumes in that profile's
// partition.
func TestCrawlProfiles(t *testing.T) {
	for _, tc := range []struct{ flag, name string }{{"firefox", "firefox135"}, {"safari", "safari18"}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newCLISite(t, 7)
			for round := range 2 {
				os.Remove(s.out)
				os.Remove(s.state)
				r := revisit(t, s.crawlArgs("--depth", "1", "--profile", tc.flag)...)
				recs := readRecords(t, s.out)
				if r.code != 0 || len(recs) != 3 {
					t.Fatalf("round %d: exit %d, %d records\n%s", round, r.code, len(recs), r.stderr)
				}
				for _, rec := range recs {
					if rec.Profile != tc.name || rec.Status != 200 || rec.TLS == nil || rec.TLS.ALPN != "h2" {
						t.Errorf("round %d: record %+v", round, rec)
					}
				}
				if round == 1 && !recs[0].TLS.Resumed {
					t.Errorf("second crawl did not resume: %+v", recs[0].TLS)
				}
			}
		})
	}
}

// TestProxiesAndExitProbe crawls through two SOCKS5 proxies leaving from
// different addresses, with an exit probe: each page is fetched through
// one of them, and the ticket partitions are named by proxy and observed
// address, without the password.
func TestProxiesAndExitProbe(t *testing.T) {
	s := newCLISite(t, 15)
	s.Handle("/ip", func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.RemoteAddr, ":")
		fmt.Fprintln(w, host)
	})
	var proxies []string
	for _, egress := range []string{"127.0.0.2", "127.0.0.3"} {
		p := proxytest.NewSOCKS5(t, &proxytest.Options{User: "bob", Password: "pw-" + egress, Egress: egress})
		proxies = append(proxies, "--proxy", p.URL("bob", "pw-"+egress))
	}
	args := append(proxies, "--exit-probe", s.URL+"/ip", "--depth", "3")
	r := revisit(t, s.crawlArgs(args...)...)
	if r.code != 0 {
		t.Fatalf("crawl through proxies: exit %d\n%s", r.code, r.stderr)
	}
	recs := readRecords(t, s.out)
	if len(recs) != 15 {
		t.Fatalf("%d records, want 15", len(recs))
	}
	for _, rec := range recs {
		if !strings.HasPrefix(rec.Exit, "socks5://bob@127.0.0.1:") || strings.Contains(rec.Exit, "pw-") {
			t.Errorf("record exit %q, want the proxy's label without its password", rec.Exit)
		}
	}
	r = revisit(t, "tickets", "list", "--tickets", s.tickets)
	if !strings.Contains(r.stdout, "ip=127.0.0.") || strings.Contains(r.stdout, "pw-") {
		t.Fatalf("tickets list:\n%s\nwant partitions labelled with the observed address and no password", r.stdout)
	}
	raw, _ := os.ReadFile(s.tickets)
	if bytes.Contains(raw, []byte("pw-127")) {
		t.Fatal("the ticket file holds a proxy password")
	}
}

// TestRobots checks that robots.txt, reached through a redirect, is obeyed,
// and that --robots=false ignores it.
func TestRobots(t *testing.T) {
	s := newCLISite(t, 15)
	s.Handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/real-robots.txt", http.StatusMovedPermanently)
	})
	s.Handle("/real-robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /p/1\n")
	})
	r := revisit(t, s.crawlArgs("--depth", "3")...)
	if r.code != 0 {
		t.Fatalf("crawl: exit %d\n%s", r.code, r.stderr)
	}
	for _, path := range []string{"/p/1", "/p/10", "/p/3"} {
		if n := s.Hits()[path]; n != 0 {
			t.Errorf("%s fetched %d times though robots.txt disallows it", path, n)
		}
	}
	if s.Hits()["/p/2"] != 1 {
		t.Error("an allowed page was not fetched")
	}
	os.Remove(s.state)
	if r = revisit(t, s.crawlArgs("--depth", "3", "--robots=false")...); r.code != 0 {
		t.Fatalf("crawl --robots=false: exit %d\n%s", r.code, r.stderr)
	}
	if s.Hits()["/p/1"] != 1 {
		t.Error("--robots=false did not fetch a disallowed page")
	}
}
