package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/revisit-crawl/revisit/internal/realproxy"
	"github.com/revisit-crawl/revisit/internal/sitetest"
)

// TestRealProxiesCrawlAndResume crawls a site through microsocks and
// tinyproxy, leaving from 127.0.0.2 and 127.0.0.3, with an exit probe, and
// then again with the same ticket file. The site ties every ticket to the
// address it was issued to.
//
// The tool picks the proxy by host name, so the site is crawled under two
// names: localhost, and 127.0.0.2 through a relay (see startRelay). The two
// names fall to different proxies, which the records confirm.
func TestRealProxiesCrawlAndResume(t *testing.T) {
	const user = "crawler"
	egressPass := map[string]string{"127.0.0.2": "ms-Pass-4417", "127.0.0.3": "tp-Pass-9083"}
	s := newCLISiteWith(t, 15, &sitetest.Options{TieTicketsToIP: true})
	s.Handle("/ip", func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintln(w, host)
	})
	alias := "https://" + startRelay(t, s.Addr)
	ms := realproxy.NewMicrosocks(t, &realproxy.Options{
		User: user, Password: egressPass["127.0.0.2"], Egress: "127.0.0.2"})
	tp := realproxy.NewTinyproxy(t, &realproxy.Options{
		User: user, Password: egressPass["127.0.0.3"], Egress: "127.0.0.3"})
	// With an exit probe, an exit's label is the proxy's and the address
	// observed through it.
	labels := map[string]string{ // exit label -> observed address
		"socks5://" + user + "@" + ms.Addr() + " ip=127.0.0.2": "127.0.0.2",
		"http://" + user + "@" + tp.Addr() + " ip=127.0.0.3":   "127.0.0.3",
	}
	args := []string{
		"--proxy", ms.URL(user, egressPass["127.0.0.2"]),
		"--proxy", tp.URL(user, egressPass["127.0.0.3"]),
		"--exit-probe", s.URL + "/ip", "--depth", "3", alias + "/p/0",
	}

	for crawl := 1; crawl <= 2; crawl++ {
		os.Remove(s.out)
		os.Remove(s.state)
		r := revisit(t, s.crawlArgs(args...)...)
		if r.code != 0 {
			t.Fatalf("crawl %d: exit %d\n%s", crawl, r.code, r.stderr)
		}
		checkNoPassword(t, fmt.Sprintf("crawl %d output", crawl), []byte(r.stdout+r.stderr), user, egressPass)
		resumed := checkRealProxyRecords(t, crawl, readRecords(t, s.out), s, alias, labels)
		switch {
		case crawl == 1 && len(resumed) != 0:
			t.Errorf("crawl 1: pages on resumed connections per exit = %v, want none", resumed)
		case crawl == 2 && (resumed["127.0.0.2"] == 0 || resumed["127.0.0.3"] == 0):
			t.Errorf("crawl 2: pages on resumed connections per exit = %v, want some on both", resumed)
		}
		t.Logf("crawl %d: pages on resumed connections per exit %v, tickets crossed %d",
			crawl, resumed, s.Crossed())
	}
	if n := s.Crossed(); n != 0 {
		t.Fatalf("%d tickets were presented from another address than they were issued to", n)
	}
	// Every handshake, the relay's included, came from an exit's address.
	from, resumedFrom := map[string]int{}, map[string]int{}
	for _, h := range s.Hellos() {
		host, _, _ := net.SplitHostPort(h.Remote.String())
		from[host]++
		if h.Resumed {
			resumedFrom[host]++
		}
	}
	if len(from) != 2 || from["127.0.0.2"] == 0 || from["127.0.0.3"] == 0 {
		t.Errorf("the site saw handshakes from %v, want only the exits, 127.0.0.2 and 127.0.0.3", from)
	}
	t.Logf("handshakes seen by the site, by address: %v, of which resumed: %v", from, resumedFrom)

	r := revisit(t, "tickets", "list", "--tickets", s.tickets)
	if r.code != 0 {
		t.Fatalf("tickets list: exit %d\n%s", r.code, r.stderr)
	}
	for label := range labels {
		if !strings.Contains(r.stdout, label) {
			t.Errorf("tickets list lacks exit %q:\n%s", label, r.stdout)
		}
	}
	checkNoPassword(t, "tickets list", []byte(r.stdout+r.stderr), user, egressPass)
	checkNoPasswordInDir(t, filepath.Dir(s.tickets), user, egressPass)
}

// checkRealProxyRecords checks one crawl's records: every page of both
// host names fetched once with status 200, localhost and the alias each
// through one exit, the two exits different, no password in a label. It
// returns how many pages came over a connection that offered a ticket and
// resumed, by the exit's observed address. (A host's first connection is
// made for robots.txt, which has no record, so pages mostly reuse it.)
func checkRealProxyRecords(t testing.TB, crawl int, recs []record, s *cliSite, alias string,
	labels map[string]string) map[string]int {
	t.Helper()
	want := map[string]bool{}
	for i := range s.N {
		want[s.PageURL(i)] = true
		want[fmt.Sprintf("%s/p/%d", alias, i)] = true
	}
	if len(recs) != len(want) {
		t.Errorf("crawl %d: %d records, want %d", crawl, len(recs), len(want))
	}
	exitOf := map[string]string{} // base URL -> exit label
	resumed := map[string]int{}
	for _, rec := range recs {
		if !want[rec.URL] || rec.Status != 200 || rec.Error != "" || rec.TLS == nil {
			t.Errorf("crawl %d: record %+v", crawl, rec)
			continue
		}
		delete(want, rec.URL)
		ip, ok := labels[rec.Exit]
		if !ok {
			t.Errorf("crawl %d: record exit %q, want one of the proxies' labels", crawl, rec.Exit)
		}
		base := alias
		if strings.HasPrefix(rec.URL, s.URL) {
			base = s.URL
		}
		if prev, seen := exitOf[base]; seen && prev != rec.Exit {
			t.Errorf("crawl %d: %s fetched through %s and %s", crawl, base, prev, rec.Exit)
		}
		exitOf[base] = rec.Exit
		if rec.TLS.PSKOffered && rec.TLS.Resumed {
			resumed[ip]++
		}
	}
	for u := range want {
		t.Errorf("crawl %d: %s not fetched", crawl, u)
	}
	if exitOf[s.URL] == exitOf[alias] {
		t.Errorf("crawl %d: both host names went through %q; the test needs one per exit",
			crawl, exitOf[s.URL])
	}
	return resumed
}

// startRelay listens on 127.0.0.2 and relays every connection to target,
// dialing from the address the connection came from, so the target sees
// the client's own address. It gives the site a second host name whose
// visitors are told apart like the first one's. It returns the relay's
// address.
func startRelay(t testing.TB, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex // guards conns
		conns = map[net.Conn]bool{}
	)
	track := func(c net.Conn, open bool) {
		mu.Lock()
		defer mu.Unlock()
		if open {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c, true)
			wg.Go(func() {
				defer track(c, false)
				relay(c, target, track)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// relay copies between c and a new connection to target, dialed from c's
// remote address, until both directions end, then closes both. It tracks
// the new connection, so that the relay's cleanup can close it.
func relay(c net.Conn, target string, track func(c net.Conn, open bool)) {
	defer c.Close()
	from := c.RemoteAddr().(*net.TCPAddr)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from.IP}}
	up, err := d.Dial("tcp", target)
	if err != nil {
		return
	}
	track(up, true)
	defer track(up, false)
	defer up.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

// passwordForms returns the ways a proxy password could be written down:
// plain, hex, and base64 of "user:password" as in a Proxy-Authorization
// header.
func passwordForms(user string, egressPass map[string]string) []string {
	var forms []string
	for _, pass := range egressPass {
		basic := []byte(user + ":" + pass)
		forms = append(forms, pass,
			hex.EncodeToString([]byte(pass)), strings.ToUpper(hex.EncodeToString([]byte(pass))),
			base64.StdEncoding.EncodeToString(basic), base64.RawURLEncoding.EncodeToString(basic))
	}
	return forms
}

func checkNoPassword(t testing.TB, what string, b []byte, user string, egressPass map[string]string) {
	t.Helper()
	for _, form := range passwordForms(user, egressPass) {
		if bytes.Contains(b, []byte(form)) {
			t.Errorf("%s holds a proxy password as %q", what, form)
		}
	}
}

// checkNoPasswordInDir reads every file under dir.
func checkNoPasswordInDir(t testing.TB, dir, user string, egressPass map[string]string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		checkNoPassword(t, path, b, user, egressPass)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 4 {
		t.Errorf("found %d files in %s, want at least the CA, tickets, state and records", files, dir)
	}
}
