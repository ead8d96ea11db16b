package storetest

import (
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/ticketstore"
)

// Cookie keys are digests the Store computes; any bytes will do here, the
// suite uses some that are not valid UTF-8.
const (
	keyA = "\x00cookie-a\xff"
	keyB = "\x01cookie-b\xfe"
	keyC = "\x02cookie-c\xfd"
)

func cookie(data string, life time.Duration) ticketstore.Cookie {
	// Nanoseconds, which a backend must keep.
	return ticketstore.Cookie{Data: []byte(data), Expires: t0.Add(life + 123456789)}
}

func putCookie(t testing.TB, b ticketstore.Backend, id ticketstore.PartitionID, key string, c ticketstore.Cookie) {
	t.Helper()
	if err := b.PutCookie(id, key, c); err != nil {
		t.Fatalf("PutCookie(%q): %v", key, err)
	}
}

func deleteCookie(t testing.TB, b ticketstore.Backend, id ticketstore.PartitionID, key string) {
	t.Helper()
	if err := b.DeleteCookie(id, key); err != nil {
		t.Fatalf("DeleteCookie(%q): %v", key, err)
	}
}

// expectCookies reads the partition's cookies at now and checks them: want
// maps each key to the expected Data.
func expectCookies(t testing.TB, b ticketstore.Backend, id ticketstore.PartitionID, now time.Time,
	want map[string]string) map[string]ticketstore.Cookie {
	t.Helper()
	got, err := b.Cookies(id, now)
	if err != nil {
		t.Fatalf("Cookies: %v", err)
	}
	data := make(map[string]string, len(got))
	for k, c := range got {
		data[k] = string(c.Data)
	}
	if !maps.Equal(data, want) {
		t.Fatalf("Cookies(%x, %v) = %q, want %q", id[:2], now.Sub(t0), data, want)
	}
	return got
}

func testCookies(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	expectCookies(t, b, id, t0, map[string]string{})
	deleteCookie(t, b, id, keyA) // absent: no error

	a := cookie("a1", time.Hour)
	putCookie(t, b, id, keyA, a)
	putCookie(t, b, id, keyB, cookie("b1", time.Hour))
	putCookie(t, b, id, keyA, cookie("a2", 2*time.Hour))
	a.Data[0] = 'X' // the backend keeps its own copy
	got := expectCookies(t, b, id, t0, map[string]string{keyA: "a2", keyB: "b1"})
	if want := t0.Add(2*time.Hour + 123456789); !got[keyA].Expires.Equal(want) {
		t.Errorf("Expires of the replaced record = %v, want %v", got[keyA].Expires, want)
	}

	got[keyB].Data[0] = 'X' // the caller owns what is returned
	deleteCookie(t, b, id, keyA)
	expectCookies(t, b, id, t0, map[string]string{keyB: "b1"})

	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	deleteCookie(t, b, id, keyB)
	putCookie(t, b, id, keyC, cookie("", time.Hour))
	expectCookies(t, b, id, t0, map[string]string{keyC: ""})
}

func testCookiesExpiry(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	putCookie(t, b, id, keyA, cookie("short", time.Hour))
	putCookie(t, b, id, keyB, cookie("long", 2*time.Hour))
	end := t0.Add(time.Hour + 123456789)
	expectCookies(t, b, id, end.Add(-time.Nanosecond), map[string]string{keyA: "short", keyB: "long"})
	expectCookies(t, b, id, end, map[string]string{keyB: "long"})
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	expectCookies(t, b, id, t0.Add(3*time.Hour), map[string]string{})
}

func testCookiesIsolation(t *testing.T, h Harness) {
	b := open(t, h)
	a, c := partition(t, b, 1), partition(t, b, 2)
	putCookie(t, b, a, keyA, cookie("A", time.Hour))
	expectCookies(t, b, c, t0, map[string]string{})
	putCookie(t, b, c, keyA, cookie("C", time.Hour))
	deleteCookie(t, b, c, keyB)
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	expectCookies(t, b, a, t0, map[string]string{keyA: "A"})
	deleteCookie(t, b, a, keyA)
	expectCookies(t, b, c, t0, map[string]string{keyA: "C"})
	expectCookies(t, b, a, t0, map[string]string{})
}

func testCookiesStats(t *testing.T, h Harness) {
	b := open(t, h)
	id, other := partition(t, b, 1), partition(t, b, 2)
	putCookie(t, b, id, keyA, cookie("a", time.Hour))
	putCookie(t, b, id, keyB, cookie("b", 2*time.Hour))
	putCookie(t, b, id, keyC, cookie("c", time.Minute))
	add(t, b, id, "a.test:443", ticket("t", true, time.Hour))
	putCookie(t, b, other, keyA, cookie("o", time.Hour))
	stats, err := b.Stats(t0.Add(30 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got := map[ticketstore.PartitionID][2]int{}
	for _, ps := range stats {
		got[ps.ID] = [2]int{ps.Cookies, ps.Tickets}
	}
	// The partition with cookies alone is listed, with no ticket.
	want := map[ticketstore.PartitionID][2]int{id: {2, 1}, other: {1, 0}}
	if !maps.Equal(got, want) {
		t.Errorf("Stats (cookies, tickets) = %v, want %v", got, want)
	}
}

func testCookiesPurge(t *testing.T, h Harness) {
	b := open(t, h)
	a, c := partition(t, b, 1), partition(t, b, 2)
	putCookie(t, b, a, keyA, cookie("A", time.Hour))
	putCookie(t, b, c, keyA, cookie("C", time.Hour))
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	putCookie(t, b, a, keyB, cookie("A2", time.Hour)) // not yet committed
	if err := b.Purge(a); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	expectCookies(t, b, a, t0, map[string]string{})
	expectCookies(t, b, c, t0, map[string]string{keyA: "C"})
	if err := b.PurgeAll(); err != nil {
		t.Fatal(err)
	}
	expectCookies(t, b, c, t0, map[string]string{})
}

func testCookiesPrune(t *testing.T, h Harness) {
	b := open(t, h)
	id := partition(t, b, 1)
	putCookie(t, b, id, keyA, cookie("a", time.Hour))
	putCookie(t, b, id, keyB, cookie("b", 3*time.Hour))
	add(t, b, id, "a.test:443", ticket("t", true, time.Hour))
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	n, err := b.Prune(t0.Add(2 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Prune removed %d tickets, want 1; cookie records are not counted", n)
	}
	// Asked as of before the expiry, only a record still kept shows.
	expectCookies(t, b, id, t0, map[string]string{keyB: "b"})
}

// testCookiesConcurrent writes and deletes records in several partitions
// from many goroutines while others read and flush; every partition ends
// with exactly the records its writers left.
func testCookiesConcurrent(t *testing.T, h Harness) {
	b := open(t, h)
	const parts, writers, keys = 3, 4, 30
	ids := make([]ticketstore.PartitionID, parts)
	for i := range ids {
		ids[i] = partition(t, b, byte(i+1))
	}
	var wg sync.WaitGroup
	for p := range parts {
		for w := range writers {
			wg.Go(func() {
				for k := range keys {
					key := fmt.Sprintf("w%d/k%d", w, k)
					c := cookie(fmt.Sprintf("p%d/%s", p, key), time.Hour)
					if err := b.PutCookie(ids[p], key, c); err != nil {
						t.Error(err)
						return
					}
					if k%3 == 0 {
						if err := b.DeleteCookie(ids[p], key); err != nil {
							t.Error(err)
							return
						}
					}
				}
			})
		}
		wg.Go(func() {
			for range 10 {
				if _, err := b.Cookies(ids[p], t0); err != nil {
					t.Error(err)
				}
				if err := b.Flush(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for p, id := range ids {
		want := map[string]string{}
		for w := range writers {
			for k := range keys {
				if k%3 != 0 {
					key := fmt.Sprintf("w%d/k%d", w, k)
					want[key] = fmt.Sprintf("p%d/%s", p, key)
				}
			}
		}
		expectCookies(t, b, id, t0, want)
	}
}

func testCookiesDurability(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("backend cannot be reopened")
	}
	b := h.New(t)
	if _, err := b.Init(freshHeader); err != nil {
		t.Fatal(err)
	}
	id := partition(t, b, 1)
	putCookie(t, b, id, keyA, cookie("a1", time.Hour))
	putCookie(t, b, id, keyB, cookie("b", time.Hour))
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	putCookie(t, b, id, keyA, cookie("a2", time.Hour))
	deleteCookie(t, b, id, keyB)
	putCookie(t, b, id, keyC, cookie("c", time.Hour))
	b = h.Reopen(t, b)
	defer b.Close()
	got := expectCookies(t, b, id, t0, map[string]string{keyA: "a2", keyC: "c"})
	if want := t0.Add(time.Hour + 123456789); !got[keyC].Expires.Equal(want) {
		t.Errorf("Expires after reopen = %v, want %v", got[keyC].Expires, want)
	}
	stats, err := b.Stats(t0)
	if err != nil || len(stats) != 1 || stats[0].Cookies != 2 {
		t.Errorf("Stats after reopen = %+v, %v; want one partition with 2 cookies", stats, err)
	}
}
