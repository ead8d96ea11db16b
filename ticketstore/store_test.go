package ticketstore_test

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/ticketstore"
)

func TestResumeAcrossReopen(t *testing.T) {
	s := newSite(t, nil)
	path := filepath.Join(t.TempDir(), "tickets.db")

	st, err := ticketstore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := partitionOf(t, st, "", "chrome")
	resumed, c := s.visit(t, p)
	if resumed || c.Offered() || s.lastHello(t).Offered41() {
		t.Fatalf("first visit: resumed=%v offered=%v 41=%v, want none", resumed, c.Offered(), s.lastHello(t).Offered41())
	}
	if c.Received() == 0 {
		t.Fatal("first visit received no ticket")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openStore(t, path, nil)
	p = partitionOf(t, st, "", "chrome")
	for i := range 3 {
		resumed, c := s.visit(t, p)
		h := s.lastHello(t)
		last := h.Extensions[len(h.Extensions)-1]
		if !resumed || !c.Offered() || last != 41 {
			t.Fatalf("revisit %d: resumed=%v offered=%v last extension=%d, want resumed with 41 last",
				i, resumed, c.Offered(), last)
		}
	}
}

func TestPartitionIsolation(t *testing.T) {
	s := newSite(t, nil)
	st := openStore(t, "", nil)
	exits := []string{
		"socks5://alice:pw1@127.0.0.1:1080",
		"socks5://alice:pw2@127.0.0.1:1080", // same but for the password
		"socks5://alice:pw1@127.0.0.1:1081",
		"http://alice:pw1@127.0.0.1:1080",
		"",
	}
	a := partitionOf(t, st, exits[0], "chrome")
	if resumed, _ := s.visit(t, a); resumed {
		t.Fatal("first visit resumed")
	}
	for _, e := range exits[1:] {
		p := partitionOf(t, st, e, "chrome")
		if c, _ := p.Cache(s.server); c.Load() {
			t.Errorf("partition %s sees a ticket of %s", p.Label(), a.Label())
		}
	}
	other := partitionOf(t, st, exits[0], "firefox")
	if c, _ := other.Cache(s.server); c.Load() {
		t.Error("profile firefox sees a ticket of profile chrome")
	}
	if c, _ := a.Cache("localhost:1"); c.Load() {
		t.Error("another port of the same host sees the ticket")
	}
	if resumed, _ := s.visit(t, a); !resumed {
		t.Error("the partition that received the ticket did not resume")
	}
}

// crossBackend misroutes every Take to one partition, like a faulty
// backend would; the store must notice from the ticket's tag.
type crossBackend struct {
	ticketstore.Backend
	to ticketstore.PartitionID
}

func (b crossBackend) Take(_ ticketstore.PartitionID, server string, now time.Time) (ticketstore.Ticket, bool, error) {
	return b.Backend.Take(b.to, server, now)
}

func TestTagRefusesMisroutedTicket(t *testing.T) {
	s := newSite(t, nil)
	inner, err := ticketstore.OpenBolt(filepath.Join(t.TempDir(), "t.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ticketstore.New(inner, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := partitionOf(t, plain, "socks5://u:a@127.0.0.1:1", "chrome")
	s.visit(t, a)

	faulty, err := ticketstore.New(crossBackend{Backend: inner, to: a.ID()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer faulty.Close()
	b := partitionOf(t, faulty, "socks5://u:b@127.0.0.1:1", "chrome")
	if cs, ok, err := b.Take(s.server); ok || err != nil {
		t.Fatalf("Take through a misrouting backend = %v, %v, %v; want refused", cs, ok, err)
	}
}

func TestExpiry(t *testing.T) {
	clk := newClock()
	st := openStore(t, "", &ticketstore.Options{Now: clk.Now})
	p := partitionOf(t, st, "", "chrome")
	cs13 := realSession(t, tls.VersionTLS13)
	cs12 := realSession(t, tls.VersionTLS12)

	tests := []struct {
		name  string
		put   func(server string) error
		after time.Duration
		want  int // tickets returned by two takes
	}{
		{"tls13 fresh", func(s string) error { return p.Put(s, cs13) }, time.Hour, 1},
		{"tls13 at 7 days", func(s string) error { return p.Put(s, cs13) }, 7*24*time.Hour + time.Second, 0},
		{"tls12 within a day", func(s string) error { return p.Put(s, cs12) }, 23 * time.Hour, 2},
		{"tls12 after a day", func(s string) error { return p.Put(s, cs12) }, 24*time.Hour + time.Second, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			server := fmt.Sprintf("h%d.test:443", i)
			if err := tc.put(server); err != nil {
				t.Fatal(err)
			}
			clk.Advance(tc.after)
			defer clk.Advance(-tc.after)
			got := 0
			for range 2 {
				if _, ok, err := p.Take(server); err != nil {
					t.Fatal(err)
				} else if ok {
					got++
				}
			}
			if got != tc.want {
				t.Errorf("two takes after %v returned %d tickets, want %d", tc.after, got, tc.want)
			}
		})
	}
}

func TestMarkNoTicket(t *testing.T) {
	clk := newClock()
	st := openStore(t, "", &ticketstore.Options{Now: clk.Now})
	p := partitionOf(t, st, "", "chrome")
	if err := p.MarkNoTicket("a.test:443", time.Hour); err != nil {
		t.Fatal(err)
	}
	check := func(want bool) {
		t.Helper()
		got, err := p.NoTicket("a.test:443")
		if err != nil || got != want {
			t.Fatalf("NoTicket = %v, %v; want %v", got, err, want)
		}
	}
	check(true)
	clk.Advance(time.Hour)
	check(false)
}

func TestBadServerKey(t *testing.T) {
	st := openStore(t, "", nil)
	p := partitionOf(t, st, "", "chrome")
	for _, server := range []string{"", "a.test", ":443", "a.test:"} {
		if _, err := p.Cache(server); !errors.Is(err, ticketstore.ErrBadServer) {
			t.Errorf("Cache(%q) error = %v, want ErrBadServer", server, err)
		}
	}
}

func TestCacheRefusesOtherSessionKey(t *testing.T) {
	st := openStore(t, "", nil)
	p := partitionOf(t, st, "", "chrome")
	if err := p.Put("a.test:443", realSession(t, tls.VersionTLS13)); err != nil {
		t.Fatal(err)
	}
	c, _ := p.Cache("a.test:443")
	if _, ok := c.Get("b.test"); ok || c.Err() == nil {
		t.Fatalf("Get with another SNI: ok=%v err=%v; want refused with an error", ok, c.Err())
	}
	if _, ok := c.Get("A.TEST"); !ok {
		t.Fatal("Get with the server's host in another case was refused")
	}
}

func TestPasswordNeverWritten(t *testing.T) {
	s := newSite(t, nil)
	path := filepath.Join(t.TempDir(), "tickets.db")
	st, err := ticketstore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const password = "Pa55-w0rd-that-must-not-leak"
	p := partitionOf(t, st, "socks5://alice:"+password+"@127.0.0.1:1080", "chrome")
	s.visit(t, p)
	list, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Label != "socks5://alice@127.0.0.1:1080" {
		t.Fatalf("List = %+v, want one partition labelled socks5://alice@127.0.0.1:1080", list)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{password, hex.EncodeToString([]byte(password)), "alice:" + password} {
		if bytes.Contains(raw, []byte(form)) {
			t.Errorf("store file contains %q", form)
		}
	}
	if !bytes.Contains(raw, []byte("alice@127.0.0.1:1080")) {
		t.Error("store file lacks the label; the search above may be looking at the wrong file")
	}
}

func TestExitLabelAndParse(t *testing.T) {
	tests := []struct {
		in, label string
	}{
		{"", "direct"},
		{"socks5://alice:secret@127.0.0.1:1080", "socks5://alice@127.0.0.1:1080"},
		{"socks5h://alice:secret@Proxy.Example", "socks5://alice@proxy.example:1080"},
		{"http://p.example", "http://p.example:80"},
		{"https://bob:x@[::1]:8443", "https://bob@[::1]:8443"},
	}
	for _, tc := range tests {
		e, err := ticketstore.ParseExit(tc.in)
		if err != nil {
			t.Errorf("ParseExit(%q): %v", tc.in, err)
			continue
		}
		if got := e.Label(); got != tc.label {
			t.Errorf("ParseExit(%q).Label() = %q, want %q", tc.in, got, tc.label)
		}
		for _, s := range []string{e.String(), fmt.Sprintf("%v %+v %#v", e, e, e)} {
			if bytes.Contains([]byte(s), []byte("secret")) {
				t.Errorf("formatting %q shows the password: %s", tc.in, s)
			}
		}
	}
	for _, bad := range []string{"ftp://u:secret@h:1", "socks5://u:secret@:1", "http://u:secret@h:99999x"} {
		_, err := ticketstore.ParseExit(bad)
		if !errors.Is(err, ticketstore.ErrBadExit) {
			t.Errorf("ParseExit(%q) error = %v, want ErrBadExit", bad, err)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), []byte("secret")) {
			t.Errorf("ParseExit(%q) error shows the password: %v", bad, err)
		}
	}
}

func TestSealed(t *testing.T) {
	s := newSite(t, nil)
	path := filepath.Join(t.TempDir(), "tickets.db")
	key := bytes.Repeat([]byte{0x42}, ticketstore.SealKeySize)
	st, err := ticketstore.Open(path, &ticketstore.Options{SealKey: key})
	if err != nil {
		t.Fatal(err)
	}
	p := partitionOf(t, st, "", "chrome")
	s.visit(t, p)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("localhost")) {
		t.Error("sealed store shows the server certificate's name in clear")
	}

	for _, tc := range []struct {
		name string
		key  []byte
	}{
		{"no key", nil},
		{"wrong key", bytes.Repeat([]byte{0x43}, ticketstore.SealKeySize)},
	} {
		if _, err := ticketstore.Open(path, &ticketstore.Options{SealKey: tc.key}); !errors.Is(err, ticketstore.ErrSealKey) {
			t.Errorf("Open with %s: error = %v, want ErrSealKey", tc.name, err)
		}
	}
	if _, err := ticketstore.Open(path, &ticketstore.Options{SealKey: key[:5]}); err == nil {
		t.Error("Open with a short seal key succeeded")
	}

	st = openStore(t, path, &ticketstore.Options{SealKey: key})
	if resumed, _ := s.visit(t, partitionOf(t, st, "", "chrome")); !resumed {
		t.Error("sealed store did not resume after reopening")
	}

	unsealed := filepath.Join(t.TempDir(), "plain.db")
	openStore(t, unsealed, nil).Close()
	if _, err := ticketstore.Open(unsealed, &ticketstore.Options{SealKey: key}); !errors.Is(err, ticketstore.ErrSealKey) {
		t.Errorf("Open of an unsealed store with a key: error = %v, want ErrSealKey", err)
	}
}

func TestPurge(t *testing.T) {
	st := openStore(t, "", nil)
	cs := realSession(t, tls.VersionTLS13)
	a := partitionOf(t, st, "socks5://u:a@127.0.0.1:1", "chrome")
	b := partitionOf(t, st, "socks5://u:b@127.0.0.1:1", "chrome")
	for _, p := range []*ticketstore.Partition{a, b} {
		if err := p.Put("a.test:443", cs); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Purge(a.ID()); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Take("a.test:443"); ok {
		t.Error("purged partition still has its ticket")
	}
	list, _ := st.List()
	if len(list) != 1 || list[0].ID != b.ID() {
		t.Fatalf("List after Purge = %+v, want partition b only", list)
	}
	// A handle from before the purge registers its partition again.
	if err := a.Put("a.test:443", cs); err != nil {
		t.Fatal(err)
	}
	if list, _ := st.List(); len(list) != 2 {
		t.Fatalf("List after Put on a purged partition has %d entries, want 2", len(list))
	}
	if err := st.PurgeAll(); err != nil {
		t.Fatal(err)
	}
	if list, _ := st.List(); len(list) != 0 {
		t.Fatalf("List after PurgeAll = %+v, want empty", list)
	}
}

// TestConcurrentStore drives many partitions and servers from many
// goroutines; run with -race. Every taken ticket must decode, which checks
// its tag against the partition and server it was taken from.
func TestConcurrentStore(t *testing.T) {
	st := openStore(t, "", &ticketstore.Options{FlushInterval: 5 * time.Millisecond, MaxPending: 16})
	cs := realSession(t, tls.VersionTLS13)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			p := partitionOf(t, st, fmt.Sprintf("socks5://u:%d@127.0.0.1:1080", g%4), "chrome")
			for i := range 50 {
				server := fmt.Sprintf("s%d.test:443", i%10)
				if err := p.Put(server, cs); err != nil {
					t.Error(err)
					return
				}
				if _, ok, err := p.Take(server); err != nil || !ok {
					// Another goroutine on the same partition may have
					// taken both slots; an error never.
					if err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := st.List(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	list, err := st.List()
	if err != nil || len(list) != 4 {
		t.Fatalf("List = %d partitions, %v; want 4", len(list), err)
	}
	for _, ps := range list {
		if ps.Received != 100 {
			t.Errorf("partition %s received %d, want 100", ps.Label, ps.Received)
		}
		if ps.Taken > ps.Received || ps.Tickets > 10*ticketstore.MaxPerServer {
			t.Errorf("partition %s: taken %d, received %d, kept %d", ps.Label, ps.Taken, ps.Received, ps.Tickets)
		}
	}
}

func TestPeriodicPrune(t *testing.T) {
	clk := newClock()
	st := openStore(t, "", &ticketstore.Options{
		Now: clk.Now, FlushInterval: 5 * time.Millisecond, PruneInterval: time.Hour,
	})
	p := partitionOf(t, st, "", "chrome")
	if err := p.Put("a.test:443", realSession(t, tls.VersionTLS13)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(8 * 24 * time.Hour)
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := st.List()
		if err != nil {
			t.Fatal(err)
		}
		if list[0].Expired == 0 && list[0].Tickets == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired ticket not pruned in the background: %+v", list[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
