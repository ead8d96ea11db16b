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

	checkRevisitAndPurge(t, s)
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
