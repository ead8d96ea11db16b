package ticketstore_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/redistest"
	"github.com/revisit-crawl/revisit/ticketstore"
)

// TestRedisCookieLayout checks the hash a partition's cookie records are
// kept in: named by the partition digest, its fields by cookie digests,
// sealed values that hold neither key nor data in clear, and a TTL that
// ends with the latest record. An expired record is deleted by the read
// that meets it.
func TestRedisCookieLayout(t *testing.T) {
	srv := redistest.Start(t, nil)
	db := srv.NewDB(t)
	clk := newClock()
	opts := &ticketstore.Options{Now: clk.Now, SealKey: bytes.Repeat([]byte{5}, ticketstore.SealKeySize)}
	st, err := ticketstore.New(openRedis(t, srv.URL(db), opts), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := partitionOf(t, st, "socks5://alice:pw@127.0.0.1:1080", "chrome")
	const key, value = "secret-site.example;/;sid", "value-of-the-cookie"
	saveCookie(t, p, key, value, clk.Now().Add(time.Hour))
	saveCookie(t, p, prefsKey, "p", clk.Now().Add(2*time.Hour))

	rc := srv.Client(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hkey := "revisit:t:c:" + p.ID().String()
	fields, err := rc.HGetAll(ctx, hkey).Result()
	if err != nil || len(fields) != 2 {
		t.Fatalf("HGETALL %s = %q, %v; want 2 records", hkey, fields, err)
	}
	for f, v := range fields {
		if b, err := hex.DecodeString(f); err != nil || len(b) != 16 {
			t.Errorf("field %q is not a 16-byte digest in hex", f)
		}
		for _, clear := range []string{"secret-site", value} {
			if strings.Contains(f, clear) || strings.Contains(v, clear) {
				t.Errorf("record %q holds %q in clear", f, clear)
			}
		}
	}
	ttl, err := rc.PTTL(ctx, hkey).Result()
	if err != nil || ttl <= time.Hour || ttl > 2*time.Hour+2*time.Millisecond {
		t.Errorf("PTTL %s = %v, %v; want the latest record's 2h", hkey, ttl, err)
	}

	clk.Advance(time.Hour)
	expectCookieData(t, p, map[string]string{prefsKey: "p"})
	if n, err := rc.HLen(ctx, hkey).Result(); err != nil || n != 1 {
		t.Errorf("HLEN after reading past an expiry = %d, %v; want 1", n, err)
	}
}

// TestRedisCookiesPurgeByAnotherClient purges, through one store, a
// partition another store goes on using: the next cookie record the other
// saves registers the partition again, so that listings show it.
func TestRedisCookiesPurgeByAnotherClient(t *testing.T) {
	srv := redistest.Start(t, nil)
	url := srv.URL(srv.NewDB(t))
	open := func() *ticketstore.Store {
		st, err := ticketstore.New(openRedis(t, url, nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	user, admin := open(), open()
	p := partitionOf(t, user, "socks5://bob:pw@127.0.0.1:1080", "chrome")
	saveCookie(t, p, sessionKey, "s1", time.Now().Add(time.Hour))
	if err := admin.Purge(p.ID()); err != nil {
		t.Fatal(err)
	}
	if list := listed(t, admin); len(list) != 0 {
		t.Fatalf("List after Purge = %+v, want nothing", list)
	}
	expectCookieData(t, p, map[string]string{})

	saveCookie(t, p, prefsKey, "p1", time.Now().Add(time.Hour))
	ps, ok := listed(t, admin)[p.ID()]
	if !ok || ps.Label != "socks5://bob@127.0.0.1:1080" || ps.Cookies != 1 {
		t.Fatalf("List after a new cookie = %+v, %v; want the partition again with 1 cookie", ps, ok)
	}
}

// BenchmarkRedisCookies measures cookie records in a local Redis: each
// save is one script run, each read of 1,000 records one.
func BenchmarkRedisCookies(b *testing.B) {
	srv := redistest.Start(b, nil)
	benchCookies(b, func(b *testing.B, opts *ticketstore.Options) *ticketstore.Store {
		st, err := ticketstore.New(openRedis(b, srv.URL(srv.NewDB(b)), opts), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	})
}
