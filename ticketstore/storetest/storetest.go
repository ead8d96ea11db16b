// Package storetest is the conformance suite of ticketstore backends: every
// [ticketstore.Backend] passes [Run]. The suite checks the semantics a
// browser-like client relies on (single use, two tickets per server,
// expiry, marks, cookie records, isolation of partitions) and, given a way
// to reopen the storage, durability.
package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/ticketstore"
)

// Harness tells [Run] how to make backends.
type Harness struct {
	// New returns a fresh, empty backend. The suite closes it, unless it
	// hands it to Reopen.
	New func(t testing.TB) ticketstore.Backend
	// Reopen closes b and opens the same storage again. Nil skips the
	// durability tests.
	Reopen func(t testing.TB, b ticketstore.Backend) ticketstore.Backend
}

// t0 is the suite's clock origin; backends get times, never read clocks.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"InitOnce", testInitOnce},
		{"SingleUse", testSingleUse},
		{"TwoSlots", testTwoSlots},
		{"TLS12KeptAndReplaces", testTLS12},
		{"Expiry", testExpiry},
		{"Clear", testClear},
		{"Marks", testMarks},
		{"Isolation", testIsolation},
		{"ConcurrentTakeOnce", testConcurrentTakeOnce},
		{"ConcurrentMany", testConcurrentMany},
		{"Stats", testStats},
		{"Purge", testPurge},
		{"Prune", testPrune},
		{"Durability", testDurability},
		{"Cookies", testCookies},
		{"CookiesExpiry", testCookiesExpiry},
		{"CookiesIsolation", testCookiesIsolation},
		{"CookiesStats", testCookiesStats},
		{"CookiesPurge", testCookiesPurge},
		{"CookiesPrune", testCookiesPrune},
		{"CookiesConcurrent", testCookiesConcurrent},
		{"CookiesDurability", testCookiesDurability},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func open(t *testing.T, h Harness) ticketstore.Backend {
	t.Helper()
	b := h.New(t)
	if _, err := b.Init(freshHeader); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func freshHeader() ticketstore.Header {
	return ticketstore.Header{Secret: bytes.Repeat([]byte{7}, 32)}
}

func partition(t testing.TB, b ticketstore.Backend, n byte) ticketstore.PartitionID {
	t.Helper()
	id := ticketstore.PartitionID{n, 0xaa}
	meta := ticketstore.PartitionMeta{Label: fmt.Sprintf("socks5://u%d@127.0.0.1:1080", n), Profile: "chrome", Created: t0}
	if err := b.Register(id, meta); err != nil {
		t.Fatalf("Register: %v", err)
	}
	return id
}

func ticket(data string, tls13 bool, life time.Duration) ticketstore.Ticket {
	return ticketstore.Ticket{Data: []byte(data), TLS13: tls13, Received: t0, Expires: t0.Add(life)}
}

func add(t testing.TB, b ticketstore.Backend, id ticketstore.PartitionID, server string, tk ticketstore.Ticket) {
	t.Helper()
	if err := b.Add(id, server, tk); err != nil {
		t.Fatalf("Add(%s): %v", server, err)
	}
}

// expectTake takes from server at now and checks the result: want is the
// expected Data, or "" for a miss.
func expectTake(t testing.TB, b ticketstore.Backend, id ticketstore.PartitionID, server string, now time.Time, want string) {
	t.Helper()
	got, ok, err := b.Take(id, server, now)
	if err != nil {
		t.Fatalf("Take(%s): %v", server, err)
	}
	switch {
	case want == "" && ok:
		t.Fatalf("Take(%s) = %q, want no ticket", server, got.Data)
	case want != "" && !ok:
		t.Fatalf("Take(%s) = no ticket, want %q", server, want)
	case want != "" && string(got.Data) != want:
		t.Fatalf("Take(%s) = %q, want %q", server, got.Data, want)
	}
}

func testInitOnce(t *testing.T, h Harness) {
	b := h.New(t)
	defer b.Close()
	first, err := b.Init(freshHeader)
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.Init(func() ticketstore.Header {
		t.Error("second Init created a header again")
		return ticketstore.Header{Secret: bytes.Repeat([]byte{9}, 32)}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Secret, second.Secret) {
		t.Errorf("Init secrets differ: %x and %x", first.Secret, second.Secret)
	}
}

func testSingleUse(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	add(t, b, id, "a.test:443", ticket("t1", true, time.Hour))
	expectTake(t, b, id, "a.test:443", t0, "t1")
	expectTake(t, b, id, "a.test:443", t0, "")
}

func testTwoSlots(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	for _, d := range []string{"t1", "t2", "t3"} {
		add(t, b, id, "a.test:443", ticket(d, true, time.Hour))
	}
	expectTake(t, b, id, "a.test:443", t0, "t3")
	expectTake(t, b, id, "a.test:443", t0, "t2")
	expectTake(t, b, id, "a.test:443", t0, "")
}

func testTLS12(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	add(t, b, id, "a.test:443", ticket("t13a", true, time.Hour))
	add(t, b, id, "a.test:443", ticket("t13b", true, time.Hour))
	add(t, b, id, "a.test:443", ticket("s12", false, time.Hour))
	expectTake(t, b, id, "a.test:443", t0, "s12")
	expectTake(t, b, id, "a.test:443", t0, "s12")
	add(t, b, id, "a.test:443", ticket("s12b", false, time.Hour))
	expectTake(t, b, id, "a.test:443", t0, "s12b")
}

func testExpiry(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	add(t, b, id, "a.test:443", ticket("long", true, 2*time.Hour))
	add(t, b, id, "a.test:443", ticket("short", true, time.Hour))
	// The newest has expired: the older, still live, is returned.
	expectTake(t, b, id, "a.test:443", t0.Add(90*time.Minute), "long")

	add(t, b, id, "b.test:443", ticket("b", true, time.Hour))
	expectTake(t, b, id, "b.test:443", t0.Add(time.Hour), "")
	expectTake(t, b, id, "b.test:443", t0, "")

	add(t, b, id, "c.test:443", ticket("s12", false, time.Hour))
	expectTake(t, b, id, "c.test:443", t0.Add(59*time.Minute), "s12")
	expectTake(t, b, id, "c.test:443", t0.Add(61*time.Minute), "")
}

func testClear(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	add(t, b, id, "a.test:443", ticket("t1", true, time.Hour))
	add(t, b, id, "a.test:443", ticket("t2", true, time.Hour))
	if err := b.Clear(id, "a.test:443"); err != nil {
		t.Fatal(err)
	}
	expectTake(t, b, id, "a.test:443", t0, "")
}

func testMarks(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	marked := func(server string, now time.Time) bool {
		t.Helper()
		ok, err := b.Marked(id, server, now)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if err := b.Mark(id, "a.test:443", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !marked("a.test:443", t0) || marked("a.test:443", t0.Add(time.Hour)) {
		t.Error("mark not in force exactly until its end")
	}
	if marked("a.test:8443", t0) {
		t.Error("mark leaked to another port")
	}
	add(t, b, id, "a.test:443", ticket("t1", true, time.Hour))
	if err := b.Clear(id, "a.test:443"); err != nil {
		t.Fatal(err)
	}
	if !marked("a.test:443", t0) {
		t.Error("Clear removed the mark")
	}
	if err := b.Mark(id, "a.test:443", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if marked("a.test:443", t0) {
		t.Error("zero Mark did not remove the mark")
	}
}

func testIsolation(t *testing.T, h Harness) {
	b := open(t, h)
	a, c := partition(t, b, 1), partition(t, b, 2)
	add(t, b, a, "a.test:443", ticket("A", true, time.Hour))
	expectTake(t, b, c, "a.test:443", t0, "")
	expectTake(t, b, a, "a.test:8443", t0, "")
	expectTake(t, b, a, "A.test:443", t0, "")
	if err := b.Mark(a, "a.test:443", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Marked(c, "a.test:443", t0); ok {
		t.Error("mark leaked to another partition")
	}
	expectTake(t, b, a, "a.test:443", t0, "A")
}

func testConcurrentTakeOnce(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	add(t, b, id, "a.test:443", ticket("t1", true, time.Hour))
	add(t, b, id, "a.test:443", ticket("t2", true, time.Hour))
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got []string
	)
	for range 32 {
		wg.Go(func() {
			tk, ok, err := b.Take(id, "a.test:443", t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				got = append(got, string(tk.Data))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != 2 || got[0] == got[1] {
		t.Fatalf("32 concurrent takes of 2 tickets got %q, want each once", got)
	}
}

// testConcurrentMany adds and takes across partitions and servers at once;
// every ticket names where it was put, and each must come back from there,
// at most once.
func testConcurrentMany(t *testing.T, h Harness) {
	b := open(t, h)
	const parts, servers, rounds = 4, 8, 20
	ids := make([]ticketstore.PartitionID, parts)
	for i := range ids {
		ids[i] = partition(t, b, byte(i+1))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	for p := range parts {
		for s := range servers {
			wg.Go(func() {
				server := fmt.Sprintf("s%d.test:443", s)
				for r := range rounds {
					data := fmt.Sprintf("p%d/%s/r%d", p, server, r)
					if err := b.Add(ids[p], server, ticket(data, true, time.Hour)); err != nil {
						t.Error(err)
						return
					}
					tk, ok, err := b.Take(ids[p], server, t0)
					if err != nil || !ok {
						t.Errorf("Take after Add: ok=%v err=%v", ok, err)
						return
					}
					if !bytes.HasPrefix(tk.Data, []byte(fmt.Sprintf("p%d/%s/", p, server))) {
						t.Errorf("Take(p%d, %s) returned %q from elsewhere", p, server, tk.Data)
					}
					mu.Lock()
					if seen[string(tk.Data)] {
						t.Errorf("ticket %q taken twice", tk.Data)
					}
					seen[string(tk.Data)] = true
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
}

func testStats(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	add(t, b, id, "a.test:443", ticket("a1", true, time.Hour))
	add(t, b, id, "a.test:443", ticket("a2", true, 2*time.Hour))
	add(t, b, id, "b.test:443", ticket("b1", true, 3*time.Hour))
	add(t, b, id, "c.test:443", ticket("c1", true, time.Minute))
	expectTake(t, b, id, "b.test:443", t0, "b1")
	if err := b.Mark(id, "d.test:443", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(30 * time.Minute)
	stats, err := b.Stats(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 {
		t.Fatalf("Stats returned %d partitions, want 1", len(stats))
	}
	got := stats[0]
	want := ticketstore.PartitionStats{
		ID:            id,
		PartitionMeta: ticketstore.PartitionMeta{Label: "socks5://u1@127.0.0.1:1080", Profile: "chrome", Created: t0},
		Servers:       1, Tickets: 2, Expired: 1, Marked: 1,
		FirstExpiry: t0.Add(time.Hour), LastExpiry: t0.Add(2 * time.Hour),
		Received: 4, Taken: 1,
	}
	if !got.Created.Equal(want.Created) || !got.FirstExpiry.Equal(want.FirstExpiry) ||
		!got.LastExpiry.Equal(want.LastExpiry) {
		t.Errorf("Stats times = %v %v %v, want %v %v %v", got.Created, got.FirstExpiry,
			got.LastExpiry, want.Created, want.FirstExpiry, want.LastExpiry)
	}
	got.Created, got.FirstExpiry, got.LastExpiry = want.Created, want.FirstExpiry, want.LastExpiry
	if got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func testPurge(t *testing.T, h Harness) {
	b := open(t, h)
	a, c := partition(t, b, 1), partition(t, b, 2)
	add(t, b, a, "a.test:443", ticket("A", true, time.Hour))
	add(t, b, c, "a.test:443", ticket("C", true, time.Hour))
	if err := b.Purge(a); err != nil {
		t.Fatal(err)
	}
	expectTake(t, b, a, "a.test:443", t0, "")
	stats, err := b.Stats(t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].ID != c {
		t.Fatalf("after Purge, Stats = %+v, want only partition %v", stats, c)
	}
	if err := b.PurgeAll(); err != nil {
		t.Fatal(err)
	}
	expectTake(t, b, c, "a.test:443", t0, "")
	if stats, _ := b.Stats(t0); len(stats) != 0 {
		t.Fatalf("after PurgeAll, Stats = %+v, want none", stats)
	}
}

func testPrune(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	add(t, b, id, "a.test:443", ticket("a", true, time.Hour))
	add(t, b, id, "b.test:443", ticket("b", true, time.Hour))
	add(t, b, id, "b.test:443", ticket("b2", true, 3*time.Hour))
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	n, err := b.Prune(t0.Add(2 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Prune removed %d tickets, want 1 (b.test keeps a live one)", n)
	}
	expectTake(t, b, id, "b.test:443", t0.Add(2*time.Hour), "b2")
	stats, err := b.Stats(t0.Add(2 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].Expired != 0 || stats[0].Tickets != 0 {
		t.Errorf("after Prune and Take, Stats = %+v, want nothing left", stats)
	}
}

func testDurability(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("backend cannot be reopened")
	}
	b := h.New(t)
	if _, err := b.Init(freshHeader); err != nil {
		t.Fatal(err)
	}
	id := partition(t, b, 1)
	add(t, b, id, "a.test:443", ticket("t1", true, time.Hour))
	add(t, b, id, "a.test:443", ticket("t2", true, time.Hour))
	add(t, b, id, "b.test:443", ticket("b", true, time.Hour))
	expectTake(t, b, id, "a.test:443", t0, "t2")
	if err := b.Mark(id, "c.test:443", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b = h.Reopen(t, b)
	defer b.Close()
	h1, err := b.Init(freshHeader)
	if err != nil || !bytes.Equal(h1.Secret, freshHeader().Secret) {
		t.Fatalf("header after reopen = %x, %v", h1.Secret, err)
	}
	expectTake(t, b, id, "a.test:443", t0, "t1")
	expectTake(t, b, id, "a.test:443", t0, "")
	expectTake(t, b, id, "b.test:443", t0, "b")
	if ok, err := b.Marked(id, "c.test:443", t0); err != nil || !ok {
		t.Errorf("mark after reopen = %v, %v; want true", ok, err)
	}
}
