package ticketstore_test

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/revisit-crawl/revisit/internal/redistest"
	"github.com/revisit-crawl/revisit/ticketstore"
)

// opener opens a store over one storage; opening it again gives the same
// storage, as a restarted process would see it.
type opener func(t testing.TB, opts *ticketstore.Options) *ticketstore.Store

// backends returns, by backend, a function that makes fresh storage (a
// bbolt file, a Redis database) and returns its opener.
func backends(t *testing.T) map[string]func(testing.TB) opener {
	srv := redistest.Start(t, nil)
	return map[string]func(testing.TB) opener{
		"bolt": func(t testing.TB) opener {
			path := filepath.Join(t.TempDir(), "tickets.db")
			return func(t testing.TB, opts *ticketstore.Options) *ticketstore.Store {
				return openStore(t, path, opts)
			}
		},
		"redis": func(t testing.TB) opener {
			url := srv.URL(srv.NewDB(t))
			return func(t testing.TB, opts *ticketstore.Options) *ticketstore.Store {
				t.Helper()
				st, err := ticketstore.New(openRedis(t, url, opts), opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
		},
	}
}

func saveCookie(t testing.TB, p *ticketstore.Partition, key, data string, expires time.Time) {
	t.Helper()
	rec := ticketstore.CookieRecord{Key: key, Data: []byte(data), Expires: expires}
	if err := p.SaveCookie(rec); err != nil {
		t.Fatalf("SaveCookie(%q): %v", key, err)
	}
}

// cookiesOf returns a partition's records by key.
func cookiesOf(t testing.TB, p *ticketstore.Partition) map[string]ticketstore.CookieRecord {
	t.Helper()
	recs, err := p.Cookies()
	if err != nil {
		t.Fatalf("Cookies of %s (%s): %v", p.Label(), p.Profile(), err)
	}
	out := make(map[string]ticketstore.CookieRecord, len(recs))
	for _, r := range recs {
		if _, dup := out[r.Key]; dup {
			t.Fatalf("Cookies returned key %q twice", r.Key)
		}
		out[r.Key] = r
	}
	return out
}

// cookieData returns a partition's records as key -> Data.
func cookieData(t testing.TB, p *ticketstore.Partition) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, r := range cookiesOf(t, p) {
		out[k] = string(r.Data)
	}
	return out
}

func expectCookieData(t testing.TB, p *ticketstore.Partition, want map[string]string) {
	t.Helper()
	if got := cookieData(t, p); !maps.Equal(got, want) {
		t.Fatalf("Cookies of %s (%s) = %q, want %q", p.Label(), p.Profile(), got, want)
	}
}

// listed returns the partitions of a store by ID.
func listed(t testing.TB, st *ticketstore.Store) map[ticketstore.PartitionID]ticketstore.PartitionStats {
	t.Helper()
	list, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	out := map[ticketstore.PartitionID]ticketstore.PartitionStats{}
	for _, ps := range list {
		out[ps.ID] = ps
	}
	return out
}

const (
	sessionKey = "example.com;/;session"
	prefsKey   = "example.com;/account;prefs"
)

func TestCookies(t *testing.T) {
	clk := newClock()
	st := openStore(t, "", &ticketstore.Options{Now: clk.Now})
	p := partitionOf(t, st, "socks5://alice:pw@127.0.0.1:1080", "chrome")
	expectCookieData(t, p, map[string]string{})
	if err := p.DeleteCookie(sessionKey); err != nil {
		t.Fatalf("DeleteCookie of an absent record: %v", err)
	}

	// Expiry keeps its nanoseconds, and a far one (a session cookie's
	// "never") is kept as it is.
	soon := clk.Now().Add(time.Hour + 42)
	never := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	data := []byte{0, 1, 2, 0xff}
	if err := p.SaveCookie(ticketstore.CookieRecord{Key: sessionKey, Data: data, Expires: soon}); err != nil {
		t.Fatal(err)
	}
	data[0] = 9 // the store keeps its own copy
	saveCookie(t, p, prefsKey, "dark", never)
	got := cookiesOf(t, p)
	if r := got[sessionKey]; !bytes.Equal(r.Data, []byte{0, 1, 2, 0xff}) || !r.Expires.Equal(soon) {
		t.Errorf("Cookies()[%q] = %x until %v, want 000102ff until %v", sessionKey, r.Data, r.Expires, soon)
	}
	if r := got[prefsKey]; !r.Expires.Equal(never) {
		t.Errorf("Cookies()[%q].Expires = %v, want %v", prefsKey, r.Expires, never)
	}

	saveCookie(t, p, sessionKey, "replaced", soon)
	expectCookieData(t, p, map[string]string{sessionKey: "replaced", prefsKey: "dark"})
	if err := p.DeleteCookie(prefsKey); err != nil {
		t.Fatal(err)
	}
	expectCookieData(t, p, map[string]string{sessionKey: "replaced"})

	// A record saved already expired removes the one with its key, as a
	// Set-Cookie with a past expiry does.
	saveCookie(t, p, sessionKey, "gone", clk.Now())
	expectCookieData(t, p, map[string]string{})
}

func TestSaveCookieRefusesBadRecords(t *testing.T) {
	st := openStore(t, "", nil)
	p := partitionOf(t, st, "", "chrome")
	later := time.Now().Add(time.Hour)
	tests := []struct {
		name string
		rec  ticketstore.CookieRecord
	}{
		{"no key", ticketstore.CookieRecord{Data: []byte("x"), Expires: later}},
		{"no expiry", ticketstore.CookieRecord{Key: "k", Data: []byte("x")}},
		{"too large", ticketstore.CookieRecord{Key: "k", Data: make([]byte, 1<<20), Expires: later}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := p.SaveCookie(tc.rec); !errors.Is(err, ticketstore.ErrBadCookie) {
				t.Errorf("SaveCookie = %v, want ErrBadCookie", err)
			}
		})
	}
	expectCookieData(t, p, map[string]string{})
}

// TestCookiesSurviveRestart saves records, closes the store and opens it
// again, over either backend, sealed or not.
func TestCookiesSurviveRestart(t *testing.T) {
	for name, fresh := range backends(t) {
		for _, sealed := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "", true: "/sealed"}[sealed], func(t *testing.T) {
				opts := &ticketstore.Options{}
				if sealed {
					opts.SealKey = bytes.Repeat([]byte{0x42}, ticketstore.SealKeySize)
				}
				open := fresh(t)
				st := open(t, opts)
				p := partitionOf(t, st, "socks5://alice:pw@127.0.0.1:1080", "chrome")
				expires := time.Now().Add(time.Hour)
				saveCookie(t, p, sessionKey, "s1", expires)
				saveCookie(t, p, prefsKey, "p1", expires)
				if err := p.DeleteCookie(prefsKey); err != nil {
					t.Fatal(err)
				}
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}

				st = open(t, opts)
				p = partitionOf(t, st, "socks5://alice:pw@127.0.0.1:1080", "chrome")
				got := cookiesOf(t, p)
				s := got[sessionKey]
				if len(got) != 1 || string(s.Data) != "s1" || !s.Expires.Equal(expires) {
					t.Fatalf("Cookies after reopening = %+v, want only %q = s1 until %v",
						got, sessionKey, expires)
				}
				if ps := listed(t, st)[p.ID()]; ps.Cookies != 1 {
					t.Errorf("List after reopening counts %d cookies, want 1", ps.Cookies)
				}
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestCookiesIsolation saves a record in one partition: no other exit, no
// other profile, and not the same exit with another password, sees it.
func TestCookiesIsolation(t *testing.T) {
	for name, fresh := range backends(t) {
		t.Run(name, func(t *testing.T) {
			open := fresh(t)
			st := open(t, nil)
			const owner = "socks5://alice:pw1@127.0.0.1:1080"
			a := partitionOf(t, st, owner, "chrome")
			saveCookie(t, a, sessionKey, "alice's", time.Now().Add(time.Hour))
			others := []*ticketstore.Partition{
				partitionOf(t, st, "socks5://alice:pw2@127.0.0.1:1080", "chrome"), // another password
				partitionOf(t, st, "socks5://alice:pw1@127.0.0.1:1081", "chrome"),
				partitionOf(t, st, "http://alice:pw1@127.0.0.1:1080", "chrome"),
				partitionOf(t, st, "", "chrome"),
				partitionOf(t, st, owner, "firefox"),
			}
			for _, p := range others {
				expectCookieData(t, p, map[string]string{})
				// Deleting the key elsewhere leaves the owner's record.
				if err := p.DeleteCookie(sessionKey); err != nil {
					t.Fatal(err)
				}
			}
			saveCookie(t, others[0], sessionKey, "other's", time.Now().Add(time.Hour))
			expectCookieData(t, a, map[string]string{sessionKey: "alice's"})
			expectCookieData(t, others[0], map[string]string{sessionKey: "other's"})
		})
	}
}

// misroute hands a partition's cookie calls the records of another place,
// as a faulty or tampered backend would: those of another partition, or
// each record under another key.
type misroute struct {
	ticketstore.Backend
	from, to ticketstore.PartitionID
	swapKeys bool
}

func (m misroute) Cookies(id ticketstore.PartitionID, now time.Time) (map[string]ticketstore.Cookie, error) {
	if id == m.from {
		id = m.to
	}
	recs, err := m.Backend.Cookies(id, now)
	if err != nil || !m.swapKeys {
		return recs, err
	}
	keys := slices.Sorted(maps.Keys(recs))
	out := make(map[string]ticketstore.Cookie, len(recs))
	for i, k := range keys {
		out[keys[(i+1)%len(keys)]] = recs[k]
	}
	return out, nil
}

// logBuffer collects what a logger writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestCookiesKeptElsewhereRefused reads, through a misrouting backend,
// records kept under another partition or another key. Sealed, they do not
// open; plain, their key does not match the digest they were found under.
// Either way they are logged and left out, and the call does not fail.
func TestCookiesKeptElsewhereRefused(t *testing.T) {
	key := bytes.Repeat([]byte{7}, ticketstore.SealKeySize)
	tests := []struct {
		name     string
		sealKey  []byte
		swapKeys bool
		why      string // in the warning
	}{
		{"sealed, other partition", key, false, "seal does not open"},
		{"sealed, other key", key, true, "seal does not open"},
		{"plain, other partition", nil, false, "another partition or key"},
		{"plain, other key", nil, true, "another partition or key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tickets.db")
			opts := &ticketstore.Options{SealKey: tc.sealKey}
			st := openStore(t, path, opts)
			a := partitionOf(t, st, "socks5://u:a@127.0.0.1:1", "chrome")
			b := partitionOf(t, st, "socks5://u:b@127.0.0.1:1", "chrome")
			later := time.Now().Add(time.Hour)
			saveCookie(t, a, sessionKey, "a1", later)
			saveCookie(t, a, prefsKey, "a2", later)
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}

			// Partition b is handed a's records; or a its own, each under
			// the other's key.
			reader, from := "socks5://u:b@127.0.0.1:1", b.ID()
			if tc.swapKeys {
				reader, from = "socks5://u:a@127.0.0.1:1", a.ID()
			}
			inner, err := ticketstore.OpenBolt(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			m := misroute{Backend: inner, from: from, to: a.ID(), swapKeys: tc.swapKeys}
			faulty, err := ticketstore.New(m, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer faulty.Close()
			expectCookieData(t, partitionOf(t, faulty, reader, "chrome"), map[string]string{})
			if n := strings.Count(logs.String(), tc.why); n != 2 {
				t.Errorf("%d warnings say %q, want 2:\n%s", n, tc.why, logs.String())
			}
		})
	}
}

// damage corrupts every cookie record a backend returns.
type damage struct {
	ticketstore.Backend
	fn func([]byte) []byte
}

func (d damage) Cookies(id ticketstore.PartitionID, now time.Time) (map[string]ticketstore.Cookie, error) {
	recs, err := d.Backend.Cookies(id, now)
	for k, c := range recs {
		c.Data = d.fn(c.Data)
		recs[k] = c
	}
	return recs, err
}

func TestUnreadableCookiesDropped(t *testing.T) {
	tests := []struct {
		name string
		fn   func([]byte) []byte
		// sealedOnly marks damage that only a seal can notice.
		sealedOnly bool
	}{
		{"empty", func([]byte) []byte { return nil }, false},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, false},
		{"first byte", func(b []byte) []byte { b[0] ^= 1; return b }, false},
		{"last byte", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, true},
		{"ticket payload", func([]byte) []byte { return []byte{1, 1, 'x', 'y'} }, false},
	}
	for _, sealed := range []bool{false, true} {
		for _, tc := range tests {
			if tc.sealedOnly && !sealed {
				continue
			}
			t.Run(tc.name+map[bool]string{false: "", true: "/sealed"}[sealed], func(t *testing.T) {
				var logs logBuffer
				opts := &ticketstore.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
				if sealed {
					opts.SealKey = bytes.Repeat([]byte{1}, ticketstore.SealKeySize)
				}
				inner, err := ticketstore.OpenBolt(filepath.Join(t.TempDir(), "t.db"), nil)
				if err != nil {
					t.Fatal(err)
				}
				st, err := ticketstore.New(damage{Backend: inner, fn: tc.fn}, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				p := partitionOf(t, st, "", "chrome")
				saveCookie(t, p, sessionKey, "secret value", time.Now().Add(time.Hour))
				expectCookieData(t, p, map[string]string{})
				if !strings.Contains(logs.String(), "dropping unreadable cookie record") {
					t.Errorf("no warning logged:\n%s", logs.String())
				}
			})
		}
	}
}

func TestCookiesPurge(t *testing.T) {
	for name, fresh := range backends(t) {
		t.Run(name, func(t *testing.T) {
			open := fresh(t)
			st := open(t, nil)
			a := partitionOf(t, st, "socks5://u:a@127.0.0.1:1", "chrome")
			b := partitionOf(t, st, "socks5://u:b@127.0.0.1:1", "chrome")
			later := time.Now().Add(time.Hour)
			saveCookie(t, a, sessionKey, "a", later)
			saveCookie(t, b, sessionKey, "b", later)
			if err := st.Purge(a.ID()); err != nil {
				t.Fatal(err)
			}
			expectCookieData(t, a, map[string]string{})
			expectCookieData(t, b, map[string]string{sessionKey: "b"})
			if list := listed(t, st); len(list) != 1 {
				t.Fatalf("List after Purge = %+v, want partition b only", list)
			}

			// A handle from before the purge registers its partition again
			// when it saves a cookie, and the partition is listed with it.
			saveCookie(t, a, prefsKey, "a2", later)
			if ps, ok := listed(t, st)[a.ID()]; !ok || ps.Cookies != 1 || ps.Tickets != 0 {
				t.Fatalf("List after SaveCookie on a purged partition: %+v, %v; want it with 1 cookie", ps, ok)
			}
			if err := st.PurgeAll(); err != nil {
				t.Fatal(err)
			}
			expectCookieData(t, a, map[string]string{})
			expectCookieData(t, b, map[string]string{})
			if list := listed(t, st); len(list) != 0 {
				t.Fatalf("List after PurgeAll = %+v, want empty", list)
			}
		})
	}
}

// TestCookiesExpireAndPrune checks that an expired record is not returned
// or counted, and that pruning removes it: with the clock turned back, it
// does not come back.
func TestCookiesExpireAndPrune(t *testing.T) {
	for name, fresh := range backends(t) {
		t.Run(name, func(t *testing.T) {
			open := fresh(t)
			clk := newClock()
			st := open(t, &ticketstore.Options{Now: clk.Now})
			p := partitionOf(t, st, "", "chrome")
			saveCookie(t, p, sessionKey, "short", clk.Now().Add(time.Hour))
			saveCookie(t, p, prefsKey, "long", clk.Now().Add(3*time.Hour))
			if ps := listed(t, st)[p.ID()]; ps.Cookies != 2 {
				t.Fatalf("List counts %d cookies, want 2", ps.Cookies)
			}

			clk.Advance(time.Hour)
			expectCookieData(t, p, map[string]string{prefsKey: "long"})
			if ps := listed(t, st)[p.ID()]; ps.Cookies != 1 {
				t.Errorf("List after the expiry counts %d cookies, want 1", ps.Cookies)
			}
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
			// Pruning works in whole seconds.
			clk.Advance(time.Second)
			if _, err := st.Prune(); err != nil {
				t.Fatal(err)
			}
			clk.Advance(-time.Hour - time.Second)
			expectCookieData(t, p, map[string]string{prefsKey: "long"})
		})
	}
}

// TestCookieKeysNotInNames checks that a cookie's key appears in no key
// of the bbolt file, and, sealed, nowhere in the file.
func TestCookieKeysNotInNames(t *testing.T) {
	const key, value = "secret-site.example;/;sid", "value-of-the-cookie"
	for _, sealed := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "tickets.db")
		opts := &ticketstore.Options{}
		if sealed {
			opts.SealKey = bytes.Repeat([]byte{3}, ticketstore.SealKeySize)
		}
		st := openStore(t, path, opts)
		saveCookie(t, partitionOf(t, st, "", "chrome"), key, value, time.Now().Add(time.Hour))
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		names, values := boltContents(t, path)
		if strings.Contains(names, "secret-site") {
			t.Errorf("sealed=%v: a key of the file holds the cookie's key", sealed)
		}
		if !sealed && !strings.Contains(values, key) {
			t.Errorf("plain store lacks the cookie's key in its values; the search looks amiss")
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if sealed && (bytes.Contains(raw, []byte("secret-site")) || bytes.Contains(raw, []byte(value))) {
			t.Error("sealed store shows the cookie's key or value in clear")
		}
	}
}

// boltContents returns every bucket and key name of a bbolt file, and
// every value, each joined in one string.
func boltContents(t *testing.T, path string) (names, values string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, v strings.Builder
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			n.Write(name)
			return bk.ForEach(func(k, val []byte) error {
				n.Write(k)
				v.Write(val)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n.String(), v.String()
}

// formatOf reads the format version of a bbolt store file and whether it
// has the cookie buckets.
func formatOf(t *testing.T, path string) (version uint32, cookieBuckets bool) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		version = binary.BigEndian.Uint32(tx.Bucket([]byte("meta")).Get([]byte("format")))
		cookieBuckets = tx.Bucket([]byte("cookies")) != nil && tx.Bucket([]byte("cookie-expiry")) != nil
		return nil
	})
	return version, cookieBuckets
}

// TestFormat1File makes a file as the format before cookies wrote it: it
// opens, reads and lists without being written, and becomes format 2,
// tickets kept, when a cookie record is first committed.
func TestFormat1File(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tickets.db")
	st := openStore(t, path, nil)
	p := partitionOf(t, st, "", "chrome")
	if err := p.Put("a.test:443", realSession(t, tls.VersionTLS13)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if v, ok := formatOf(t, path); v != 2 || !ok {
		t.Fatalf("new file: format %d, cookie buckets %v; want 2 with them", v, ok)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"cookies", "cookie-expiry"} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("format"), binary.BigEndian.AppendUint32(nil, 1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// No background commit or pruning runs while the file is read.
	slow := &ticketstore.Options{FlushInterval: time.Hour}
	st = openStore(t, path, slow)
	p = partitionOf(t, st, "", "chrome")
	expectCookieData(t, p, map[string]string{})
	if ps := listed(t, st)[p.ID()]; ps.Tickets != 1 || ps.Cookies != 0 {
		t.Errorf("List of the format 1 file = %+v, want 1 ticket, no cookie", ps)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("reading the format 1 file wrote to it")
	}

	// Writes that touch no cookie leave the format as it was.
	st = openStore(t, path, slow)
	if _, err := st.Prune(); err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ticketstore.PartitionID{1}); err != nil { // another partition
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if v, ok := formatOf(t, path); v != 1 || ok {
		t.Fatalf("after pruning and purging: format %d, cookie buckets %v; want 1 without them", v, ok)
	}

	st = openStore(t, path, slow)
	p = partitionOf(t, st, "", "chrome")
	saveCookie(t, p, sessionKey, "s", time.Now().Add(time.Hour))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if v, ok := formatOf(t, path); v != 2 || !ok {
		t.Fatalf("after a cookie: format %d, cookie buckets %v; want 2 with them", v, ok)
	}
	st = openStore(t, path, nil)
	p = partitionOf(t, st, "", "chrome")
	expectCookieData(t, p, map[string]string{sessionKey: "s"})
	if _, ok, err := p.Take("a.test:443"); !ok || err != nil {
		t.Errorf("ticket of the format 1 file after the upgrade: %v, %v", ok, err)
	}
}

// TestBoltCookieAfterPurge writes a cookie record into a partition just
// purged, as a save racing the purge would: the commit drops it, so the
// purge is not undone.
func TestBoltCookieAfterPurge(t *testing.T) {
	b, err := ticketstore.OpenBolt(filepath.Join(t.TempDir(), "t.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fresh := func() ticketstore.Header { return ticketstore.Header{Secret: make([]byte, 32)} }
	if _, err := b.Init(fresh); err != nil {
		t.Fatal(err)
	}
	id := ticketstore.PartitionID{9}
	if err := b.Register(id, ticketstore.PartitionMeta{Label: "direct", Profile: "chrome"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Purge(id); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	late := ticketstore.Cookie{Data: []byte("late"), Expires: now.Add(time.Hour)}
	if err := b.PutCookie(id, "k", late); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Cookies(id, now); err != nil || len(got) != 0 {
		t.Errorf("Cookies after a write into a purged partition = %v, %v; want none", got, err)
	}
}
