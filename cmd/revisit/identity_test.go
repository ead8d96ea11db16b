package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/revisit-crawl/revisit/internal/proxytest"
	"github.com/revisit-crawl/revisit/internal/sitetest"
)

// TestCookiesSurviveRestart: a cookie set in one crawl is sent by the
// next one, a new process with the same ticket store; tickets list counts
// it; --cookies=false sends none; purge removes it with the tickets.
func TestCookiesSurviveRestart(t *testing.T) {
	s := newCLISite(t, 1)
	var mu sync.Mutex
	var seen []string
	s.Handle("/c/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s1", Path: "/", MaxAge: 3600})
		fmt.Fprint(w, `<html><a href="/c/check">check</a></html>`)
	})
	s.Handle("/c/check", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Cookie"))
		mu.Unlock()
		fmt.Fprint(w, "<html>checked</html>")
	})
	crawl := func(seed string, extra ...string) {
		t.Helper()
		os.Remove(s.state)
		args := append([]string{"crawl", "--ca", s.ca, "--tickets", s.tickets, "--state", s.state,
			"--out", s.out, "--depth", "1"}, extra...)
		if r := revisit(t, append(args, s.URL+seed)...); r.code != 0 {
			t.Fatalf("crawl %s: exit %d\n%s", seed, r.code, r.stderr)
		}
	}
	crawl("/c/set")
	crawl("/c/check")
	crawl("/c/check", "--cookies=false")
	r := revisit(t, "tickets", "list", "--tickets", s.tickets)
	if r.code != 0 || !strings.Contains(r.stdout, "COOKIES") {
		t.Fatalf("tickets list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || strings.Fields(lines[1])[3] != "1" {
		t.Errorf("tickets list, want one partition with one cookie:\n%s", r.stdout)
	}
	if r = revisit(t, "tickets", "purge", "--tickets", s.tickets); r.code != 0 {
		t.Fatalf("purge: exit %d %s", r.code, r.stderr)
	}
	crawl("/c/check")

	want := []string{"sid=s1", "sid=s1", "", ""}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Fatalf("Cookie headers seen by /c/check: %q, want %q (first crawl, restart, --cookies=false, after purge)",
			seen, want)
	}
}

// TestBlockedExitRetired crawls through two proxies a site that blocks
// (403) the first address it sees: with --blocked-status 403 that exit is
// retired, the blocked page is fetched again through the other one, and
// the crawl completes through it.
func TestBlockedExitRetired(t *testing.T) {
	s := newCLISite(t, 1)
	var mu sync.Mutex
	banned := ""
	s.Handle("/b/", func(w http.ResponseWriter, r *http.Request) {
		ip, _, _ := strings.Cut(r.RemoteAddr, ":")
		mu.Lock()
		if banned == "" {
			banned = ip
		}
		ban := banned == ip
		mu.Unlock()
		if ban {
			http.Error(w, "go away", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `<html><a href="/b/1">1</a><a href="/b/2">2</a><a href="/b/3">3</a></html>`)
	})
	labels := map[string]string{}
	args := []string{"--blocked-status", "403", "--retry-delay", "20ms", "--depth", "1"}
	for _, egress := range []string{"127.0.0.2", "127.0.0.3"} {
		p := proxytest.NewSOCKS5(t, &proxytest.Options{Egress: egress})
		labels[egress] = "socks5://" + p.Addr()
		args = append(args, "--proxy", p.URL("", ""))
	}
	args = append([]string{"crawl", "--ca", s.ca, "--tickets", s.tickets, "--state", s.state, "--out", s.out},
		args...)
	r := revisit(t, append(args, s.URL+"/b/0")...)
	if r.code != 0 {
		t.Fatalf("crawl: exit %d\n%s", r.code, r.stderr)
	}
	recs := readRecords(t, s.out)
	mu.Lock()
	bannedLabel := labels[banned]
	mu.Unlock()
	blocked, ok := 0, 0
	for _, rec := range recs {
		switch {
		case rec.Status == 403 && strings.Contains(rec.Error, "blocked") && rec.Exit == bannedLabel:
			blocked++
		case rec.Status == 200 && rec.Exit != bannedLabel:
			ok++
		default:
			t.Errorf("record %+v (banned exit %s)", rec, bannedLabel)
		}
	}
	if blocked != 1 || ok != 4 {
		t.Errorf("%d blocked and %d good records, want 1 and 4", blocked, ok)
	}
	if !strings.Contains(r.stderr, "1 blocks") || !strings.Contains(r.stderr, "retired until") {
		t.Errorf("the summary does not show the retired identity:\n%s", r.stderr)
	}
}

// TestRotatingGatewayCrawls crawls three times through one gateway
// credential whose exit moves from 127.0.0.2 to 127.0.0.3 and back between
// the crawls, with --exit-probe, against a site that refuses and counts
// tickets presented from another address than they were issued to. No
// ticket crosses; the third crawl resumes with the tickets the first got.
func TestRotatingGatewayCrawls(t *testing.T) {
	s := newCLISiteWith(t, 7, &sitetest.Options{TieTicketsToIP: true})
	s.Handle("/ip", func(w http.ResponseWriter, r *http.Request) {
		ip, _, _ := strings.Cut(r.RemoteAddr, ":")
		fmt.Fprintln(w, ip)
	})
	gw := proxytest.NewSOCKS5(t, &proxytest.Options{User: "rot", Password: "gw-secret"})
	for i, egress := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.2"} {
		if err := gw.SetEgress(egress); err != nil {
			t.Fatal(err)
		}
		os.Remove(s.state)
		os.Remove(s.out)
		r := revisit(t, s.crawlArgs("--proxy", gw.URL("rot", "gw-secret"), "--exit-probe", s.URL+"/ip",
			"--depth", "3")...)
		if r.code != 0 {
			t.Fatalf("crawl %d: exit %d\n%s", i+1, r.code, r.stderr)
		}
		recs := readRecords(t, s.out)
		resumed := 0
		for _, rec := range recs {
			if !strings.HasSuffix(rec.Exit, " ip="+egress) {
				t.Errorf("crawl %d: record exit %q, want the gateway seen as %s", i+1, rec.Exit, egress)
			}
			if rec.TLS != nil && rec.TLS.Resumed {
				resumed++
			}
		}
		t.Logf("crawl %d from %s: %d records, %d on resumed connections, %d tickets crossed so far",
			i+1, egress, len(recs), resumed, s.Crossed())
		if want := i == 2; (resumed > 0) != want {
			t.Errorf("crawl %d from %s: %d pages on resumed connections; want some only when the address comes back",
				i+1, egress, resumed)
		}
	}
	if n := s.Crossed(); n != 0 {
		t.Fatalf("%d tickets presented from another address than they were issued to", n)
	}
	r := revisit(t, "tickets", "list", "--tickets", s.tickets)
	for _, egress := range []string{"127.0.0.2", "127.0.0.3"} {
		if !strings.Contains(r.stdout, "ip="+egress) {
			t.Errorf("tickets list lacks the identity seen as %s:\n%s", egress, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "gw-secret") {
		t.Error("tickets list shows the gateway's password")
	}
}
