package main

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/revisit-crawl/revisit/internal/redistest"
)

// TestCrawlRedisTickets crawls a site twice with the tickets in Redis: the
// second crawl, a new process, resumes with a ticket the first stored, and
// the tickets command lists and purges them there.
func TestCrawlRedisTickets(t *testing.T) {
	srv := redistest.Start(t, nil)
	s := newCLISite(t, 7)
	s.tickets = srv.URL(srv.NewDB(t))

	r := revisit(t, s.crawlArgs("--depth", "1")...)
	if recs := readRecords(t, s.out); r.code != 0 || len(recs) != 3 {
		t.Fatalf("first crawl: exit %d, %d records\n%s", r.code, len(recs), r.stderr)
	}
	if _, err := os.Stat(s.tickets); err == nil {
		t.Fatalf("the crawl made a file named %q instead of using Redis", s.tickets)
	}

	os.Remove(s.out)
	os.Remove(s.state)
	r = revisit(t, s.crawlArgs("--depth", "0")...)
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
		t.Fatalf("tickets list after purge: exit %d\n%s", r.code, r.stdout)
	}
}

// TestRedisTicketsUnreachable points --tickets at a port where no Redis
// listens: the command fails with a message naming the address, and
// without the password of the URL.
func TestRedisTicketsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "redis://:hunter2@" + addr + "/0"
	for _, args := range [][]string{
		{"tickets", "list", "--tickets", url},
		{"crawl", "--tickets", url, "--state", t.TempDir() + "/state.db", "https://a.test/"},
	} {
		r := revisit(t, args...)
		if r.code != 1 || !strings.Contains(r.stderr, addr) {
			t.Errorf("revisit %s: exit %d, stderr %q; want 1 and the address", args[0], r.code, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout, "hunter2") {
			t.Errorf("revisit %s shows the password: %s", args[0], r.stderr)
		}
	}
}
