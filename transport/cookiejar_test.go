package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// cookieTestStart is when every jar test starts.
var cookieTestStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// cookieClock is a clock the tests move by hand.
type cookieClock struct {
	mu sync.Mutex
	t  time.Time
}

func newCookieClock() *cookieClock { return &cookieClock{t: cookieTestStart} }

func (c *cookieClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *cookieClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memCookieStore is a cookieStore in memory that lapses records at their
// expiry, as the ticket store does. With err set, saves and deletes fail.
type memCookieStore struct {
	now func() time.Time

	mu             sync.Mutex
	recs           map[string]memCookie
	saves, deletes int
	err, loadErr   error
}

type memCookie struct {
	data    []byte
	expires time.Time
}

func newMemCookieStore(now func() time.Time) *memCookieStore {
	return &memCookieStore{now: now, recs: map[string]memCookie{}}
}

func (s *memCookieStore) SaveCookie(key string, data []byte, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.saves++
	s.recs[key] = memCookie{data: bytes.Clone(data), expires: expires}
	return nil
}

func (s *memCookieStore) DeleteCookie(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.deletes++
	delete(s.recs, key)
	return nil
}

func (s *memCookieStore) LoadCookies() (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	out := map[string][]byte{}
	for k, r := range s.recs {
		if s.now().Before(r.expires) {
			out[k] = bytes.Clone(r.data)
		}
	}
	return out, nil
}

// record returns the decoded record under key, if the store has one.
func (s *memCookieStore) record(t testing.TB, key string) (cookieRecord, bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[key]
	if !ok {
		return cookieRecord{}, false
	}
	rec, err := decodeCookie(r.data)
	if err != nil {
		t.Fatalf("record %q does not decode: %v", key, err)
	}
	return rec, true
}

func (s *memCookieStore) counts() (recs, saves, deletes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs), s.saves, s.deletes
}

// newTestJar returns a jar over store (nil for none) on clock's time,
// logging into log (nil for nowhere).
func newTestJar(t testing.TB, store cookieStore, clock *cookieClock, log io.Writer) *cookieJar {
	t.Helper()
	var l *slog.Logger
	if log != nil {
		l = slog.New(slog.NewTextHandler(log, nil))
	}
	j, err := newCookieJar(store, l, clock.now)
	if err != nil {
		t.Fatalf("newCookieJar: %v", err)
	}
	return j
}

// setCookies gives j the Set-Cookie lines of a response from rawURL.
func setCookies(t testing.TB, j http.CookieJar, rawURL string, lines ...string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	resp := &http.Response{Header: http.Header{"Set-Cookie": lines}}
	j.SetCookies(u, resp.Cookies())
}

// cookieHeader returns the Cookie header j gives a request to rawURL.
func cookieHeader(t testing.TB, j http.CookieJar, rawURL string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range j.Cookies(req.URL) {
		req.AddCookie(c)
	}
	return req.Header.Get("Cookie")
}

// cookieStep is a response's Set-Cookie lines, received after a wait.
type cookieStep struct {
	wait  time.Duration
	url   string
	lines []string
}

func step(rawURL string, lines ...string) cookieStep {
	return cookieStep{url: rawURL, lines: lines}
}

func (s cookieStep) after(d time.Duration) cookieStep {
	s.wait = d
	return s
}

func TestCookieJarRFC(t *testing.T) {
	const (
		past   = "Thu, 01 Jan 2015 00:00:00 GMT"
		future = "Fri, 01 Jan 2027 00:00:00 GMT"
	)
	tests := []struct {
		name  string
		steps []cookieStep
		wait  time.Duration // before the requests
		want  map[string]string
	}{{
		name:  "host-only",
		steps: []cookieStep{step("https://www.example.com/", "a=1")},
		want: map[string]string{
			"https://www.example.com/":     "a=1",
			"https://sub.www.example.com/": "",
			"https://example.com/":         "",
		},
	}, {
		name:  "domain",
		steps: []cookieStep{step("https://www.example.com/", "a=1; Domain=example.com")},
		want: map[string]string{
			"https://example.com/":      "a=1",
			"https://x.y.example.com/":  "a=1",
			"https://notexample.com/":   "",
			"https://example.com.evil/": "",
		},
	}, {
		name:  "domain with a leading dot, any case",
		steps: []cookieStep{step("https://www.example.com/", "a=1; Domain=.EXAMPLE.com")},
		want:  map[string]string{"https://sub.example.com/": "a=1"},
	}, {
		name: "domain of another site or a subdomain",
		steps: []cookieStep{step("https://example.com/",
			"a=1; Domain=other.com", "b=2; Domain=www.example.com", "c=3; Domain=xample.com")},
		want: map[string]string{
			"https://other.com/":       "",
			"https://www.example.com/": "",
			"https://xample.com/":      "",
			"https://example.com/":     "",
		},
	}, {
		name: "public suffix refused",
		steps: []cookieStep{
			step("https://www.example.co.uk/", "a=1; Domain=co.uk"),
			step("https://alice.github.io/", "b=2; Domain=github.io"),
		},
		want: map[string]string{
			"https://other.co.uk/":       "",
			"https://www.example.co.uk/": "",
			"https://bob.github.io/":     "",
			"https://alice.github.io/":   "",
		},
	}, {
		name:  "public suffix host gets a host-only cookie",
		steps: []cookieStep{step("https://co.uk/", "a=1; Domain=co.uk")},
		want: map[string]string{
			"https://co.uk/":         "a=1",
			"https://example.co.uk/": "",
		},
	}, {
		name: "IP address host",
		steps: []cookieStep{
			step("https://192.0.2.1/", "a=1", "b=2; Domain=192.0.2.1", "c=3; Domain=2.1"),
			step("https://[2001:db8::1]/", "d=4"),
			step("https://1.192.0.2.1/", "e=5; Domain=192.0.2.1"),
		},
		want: map[string]string{
			"https://192.0.2.1/":     "a=1; b=2",
			"https://[2001:db8::1]/": "d=4",
		},
	}, {
		name:  "default path",
		steps: []cookieStep{step("https://example.com/a/b/c?q=1", "a=1")},
		want: map[string]string{
			"https://example.com/a/b":   "a=1",
			"https://example.com/a/b/":  "a=1",
			"https://example.com/a/b/x": "a=1",
			"https://example.com/a":     "",
			"https://example.com/a/bc":  "",
			"https://example.com/":      "",
		},
	}, {
		name: "default path at the top",
		steps: []cookieStep{
			step("https://example.com/page", "a=1"),
			step("https://example.com", "b=2"),
		},
		want: map[string]string{"https://example.com/x/y": "a=1; b=2"},
	}, {
		name:  "path attribute",
		steps: []cookieStep{step("https://example.com/", "a=1; Path=/docs", "b=2; Path=/docs/")},
		want: map[string]string{
			"https://example.com/docs":     "a=1",
			"https://example.com/docs/":    "b=2; a=1",
			"https://example.com/docs/web": "b=2; a=1",
			"https://example.com/docsx":    "",
			"https://example.com/":         "",
		},
	}, {
		name:  "relative path attribute ignored",
		steps: []cookieStep{step("https://example.com/a/b", "a=1; Path=docs")},
		want: map[string]string{
			"https://example.com/a/x": "a=1",
			"https://example.com/":    "",
		},
	}, {
		name:  "secure sent over https only",
		steps: []cookieStep{step("https://example.com/", "a=1; Secure", "b=2")},
		want: map[string]string{
			"https://example.com/": "a=1; b=2",
			"http://example.com/":  "b=2",
		},
	}, {
		name: "secure refused from http, localhost too",
		steps: []cookieStep{
			step("http://example.com/", "a=1; Secure"),
			step("http://localhost/", "b=2; Secure"),
		},
		want: map[string]string{"https://example.com/": "", "https://localhost/": ""},
	}, {
		name: "http cannot overwrite or delete a secure cookie",
		steps: []cookieStep{
			step("https://www.example.com/", "a=1; Secure", "b=1; Secure; Domain=example.com"),
			step("http://www.example.com/", "a=2", "b=2", "a=; Max-Age=0"),
			step("http://example.com/", "b=3; Domain=example.com"),
		},
		want: map[string]string{"https://www.example.com/": "a=1; b=1"},
	}, {
		name: "http may set a cookie beside a secure one on another path",
		steps: []cookieStep{
			step("https://example.com/", "a=1; Secure; Path=/login"),
			step("http://example.com/", "a=2; Path=/", "a=3; Path=/login/en"),
		},
		want: map[string]string{
			"https://example.com/login/en": "a=1; a=2",
			"http://example.com/login":     "a=2",
		},
	}, {
		name: "https may replace a secure cookie",
		steps: []cookieStep{
			step("https://example.com/", "a=1; Secure"),
			step("https://example.com/", "a=2"),
		},
		want: map[string]string{"http://example.com/": "a=2"},
	}, {
		name: "__Secure- prefix",
		steps: []cookieStep{
			step("https://example.com/", "__Secure-a=1; Secure", "__Secure-b=2", "__SECURE-c=3"),
			step("http://example.com/", "__Secure-d=4; Secure"),
		},
		want: map[string]string{"https://example.com/": "__Secure-a=1"},
	}, {
		name: "__Host- prefix",
		steps: []cookieStep{step("https://example.com/docs",
			"__Host-a=1; Secure; Path=/",
			"__Host-b=2; Secure; Path=/; Domain=example.com",
			"__Host-c=3; Secure; Path=/docs",
			"__Host-d=4; Secure",
			"__Host-e=5; Path=/",
			"__host-f=6; Path=/",
		)},
		want: map[string]string{"https://example.com/docs": "__Host-a=1"},
	}, {
		name: "SameSite=None needs Secure",
		steps: []cookieStep{step("https://example.com/",
			"a=1; SameSite=None", "b=2; SameSite=None; Secure", "c=3; SameSite=Strict")},
		want: map[string]string{"https://example.com/": "b=2; c=3"},
	}, {
		name: "Max-Age wins over Expires",
		steps: []cookieStep{step("https://example.com/",
			"a=1; Max-Age=100; Expires="+past, "b=2; Max-Age=0; Expires="+future)},
		want: map[string]string{"https://example.com/": "a=1"},
	}, {
		name:  "Max-Age expires",
		steps: []cookieStep{step("https://example.com/", "a=1; Max-Age=60", "b=2")},
		wait:  61 * time.Second,
		want:  map[string]string{"https://example.com/": "b=2"},
	}, {
		name: "Expires expires",
		steps: []cookieStep{step("https://example.com/",
			"a=1; Expires="+future, "b=2; Expires=Sat, 01 Jan 2028 00:00:00 GMT")},
		wait: 365 * 24 * time.Hour,
		want: map[string]string{"https://example.com/": "b=2"},
	}, {
		name: "dates net/http cannot read",
		steps: []cookieStep{step("https://example.com/",
			"a=1; Expires=Friday, 01-Jan-27 00:00:00 GMT", "b=2; Expires=Fri Jan  1 00:00:00 2027",
			"c=3; Expires=not a date")},
		wait: 365 * 24 * time.Hour,
		want: map[string]string{"https://example.com/": "c=3"},
	}, {
		name: "lifetime capped at 400 days",
		steps: []cookieStep{step("https://example.com/",
			"a=1; Max-Age=9999999999", "b=2; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
			"c=3; Max-Age=34559000")},
		wait: 400*24*time.Hour - time.Second,
		want: map[string]string{"https://example.com/": "a=1; b=2"},
	}, {
		name: "Max-Age=0 deletes",
		steps: []cookieStep{
			step("https://example.com/", "a=1", "b=2"),
			step("https://example.com/", "a=x; Max-Age=0"),
		},
		want: map[string]string{"https://example.com/": "b=2"},
	}, {
		name: "past Expires deletes",
		steps: []cookieStep{
			step("https://example.com/", "a=1; Max-Age=3600", "b=2"),
			step("https://example.com/", "a=1; Expires="+past),
		},
		want: map[string]string{"https://example.com/": "b=2"},
	}, {
		name: "delete needs the same domain and path",
		steps: []cookieStep{
			step("https://www.example.com/a/", "a=1; Domain=example.com", "b=2"),
			step("https://www.example.com/a/", "a=; Max-Age=0", "b=; Max-Age=0; Path=/"),
		},
		want: map[string]string{"https://www.example.com/a/": "a=1; b=2"},
	}, {
		name: "replacement keeps the creation order",
		steps: []cookieStep{
			step("https://example.com/", "a=1", "b=2"),
			step("https://example.com/", "a=3").after(time.Minute),
		},
		want: map[string]string{"https://example.com/": "a=3; b=2"},
	}, {
		name: "longer paths first, then earlier created",
		steps: []cookieStep{
			step("https://example.com/a/b/c", "a=1; Path=/", "b=2; Path=/a/b", "c=3; Path=/a"),
			step("https://example.com/", "d=4; Path=/a/b", "e=5; Path=/").after(time.Second),
		},
		want: map[string]string{"https://example.com/a/b/c": "b=2; d=4; c=3; a=1; e=5"},
	}, {
		name:  "host-only and domain cookies of one name are two cookies",
		steps: []cookieStep{step("https://example.com/", "a=1", "a=2; Domain=example.com")},
		want: map[string]string{
			"https://example.com/":     "a=1; a=2",
			"https://www.example.com/": "a=2",
		},
	}, {
		name: "hosts compared in lower case and in ASCII",
		steps: []cookieStep{
			step("https://WWW.Bücher.example/", "a=1; Domain=XN--BCHER-KVA.example"),
		},
		want: map[string]string{
			"https://www.bücher.example/":      "a=1",
			"https://x.xn--bcher-kva.example/": "a=1",
		},
	}, {
		name:  "names and values as given, quotes kept",
		steps: []cookieStep{step("https://example.com/", `a="q"`, "B=x=y")},
		want:  map[string]string{"https://example.com/": `a="q"; B=x=y`},
	}, {
		name:  "other schemes ignored",
		steps: []cookieStep{step("ftp://example.com/", "a=1")},
		want:  map[string]string{"https://example.com/": ""},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newCookieClock()
			j := newTestJar(t, nil, clock, nil)
			for _, s := range tc.steps {
				clock.advance(s.wait)
				setCookies(t, j, s.url, s.lines...)
			}
			clock.advance(tc.wait)
			for u, want := range tc.want {
				if got := cookieHeader(t, j, u); got != want {
					t.Errorf("Cookies(%s) = %q, want %q", u, got, want)
				}
			}
		})
	}
}

func TestCookieJarReplaceKeepsCreationTime(t *testing.T) {
	clock := newCookieClock()
	store := newMemCookieStore(clock.now)
	j := newTestJar(t, store, clock, nil)
	setCookies(t, j, "https://example.com/", "a=1")
	clock.advance(time.Minute)
	setCookies(t, j, "https://example.com/", "a=2; Max-Age=3600")

	rec, ok := store.record(t, "example.com;/;a")
	if !ok {
		t.Fatal("no record for a")
	}
	if !rec.created.Equal(cookieTestStart) {
		t.Errorf("created = %v, want %v", rec.created, cookieTestStart)
	}
	if !rec.accessed.Equal(clock.now()) || rec.value != "2" || !rec.persistent {
		t.Errorf("replaced record = %+v, want value 2, persistent, accessed now", rec)
	}
	if n := j.Len(); n != 1 {
		t.Errorf("Len() = %d, want 1", n)
	}
}

func TestCookieJarSizeLimit(t *testing.T) {
	j := newTestJar(t, nil, newCookieClock(), nil)
	fits := "a=" + strings.Repeat("x", maxCookieSize-1)
	over := "b=" + strings.Repeat("x", maxCookieSize)
	setCookies(t, j, "https://example.com/", fits, over)
	got := j.Cookies(&url.URL{Scheme: "https", Host: "example.com", Path: "/"})
	if len(got) != 1 || got[0].Name != "a" {
		t.Errorf("Cookies = %v, want only a", got)
	}
}

// setHostCookies sets one host-only cookie on each of n hosts
// h<i>.<site>, a second apart.
func setHostCookies(t testing.TB, j *cookieJar, clock *cookieClock, site string, n int) {
	t.Helper()
	for i := range n {
		clock.advance(time.Second)
		setCookies(t, j, fmt.Sprintf("https://h%d.%s/", i, site), "c=1")
	}
}

func TestCookieJarSiteLimit(t *testing.T) {
	clock := newCookieClock()
	store := newMemCookieStore(clock.now)
	j := newTestJar(t, store, clock, nil)
	setCookies(t, j, "https://other.com/", "o=1")
	setHostCookies(t, j, clock, "example.com", maxCookiesPerSite)

	// Use h0's cookie, so that h1's is now the least recently used.
	clock.advance(time.Second)
	cookieHeader(t, j, "https://h0.example.com/")
	clock.advance(time.Second)
	setCookies(t, j, "https://new.example.com/", "c=1")

	if n := j.Len(); n != maxCookiesPerSite+1 {
		t.Errorf("Len() = %d, want %d", n, maxCookiesPerSite+1)
	}
	for host, want := range map[string]string{"h0": "c=1", "h1": "", "h2": "c=1", "new": "c=1"} {
		if got := cookieHeader(t, j, "https://"+host+".example.com/"); got != want {
			t.Errorf("Cookies(%s) = %q, want %q", host, got, want)
		}
	}
	if _, ok := store.record(t, "h1.example.com;/;c"); ok {
		t.Error("the evicted cookie is still in the store")
	}
	if recs, _, _ := store.counts(); recs != maxCookiesPerSite+1 {
		t.Errorf("store holds %d records, want %d", recs, maxCookiesPerSite+1)
	}
}

func TestCookieJarEvictsExpiredFirst(t *testing.T) {
	clock := newCookieClock()
	j := newTestJar(t, nil, clock, nil)
	setCookies(t, j, "https://h0.example.com/", "c=1")
	setCookies(t, j, "https://short.example.com/", "c=1; Max-Age=60")
	setHostCookies(t, j, clock, "x.example.com", maxCookiesPerSite-2)
	clock.advance(time.Minute)
	setCookies(t, j, "https://new.example.com/", "c=1")

	if got := cookieHeader(t, j, "https://h0.example.com/"); got != "c=1" {
		t.Errorf("the least recently used cookie was evicted before the expired one")
	}
	if n := j.Len(); n != maxCookiesPerSite {
		t.Errorf("Len() = %d, want %d", n, maxCookiesPerSite)
	}
}

func TestCookieJarTotalLimit(t *testing.T) {
	clock := newCookieClock()
	j := newTestJar(t, nil, clock, nil)
	const perSite = 100
	for s := range maxCookies / perSite {
		setHostCookies(t, j, clock, fmt.Sprintf("site%d.com", s), perSite)
	}
	clock.advance(time.Second)
	setCookies(t, j, "https://new.com/", "c=1")

	if n := j.Len(); n != maxCookies {
		t.Errorf("Len() = %d, want %d", n, maxCookies)
	}
	if got := cookieHeader(t, j, "https://h0.site0.com/"); got != "" {
		t.Error("the least recently used cookie was not evicted")
	}
	if got := cookieHeader(t, j, "https://h1.site0.com/"); got != "c=1" {
		t.Error("more than one cookie was evicted")
	}
}

func TestCookieJarLastAccess(t *testing.T) {
	clock := newCookieClock()
	store := newMemCookieStore(clock.now)
	j := newTestJar(t, store, clock, nil)
	setCookies(t, j, "https://example.com/", "a=1; Max-Age=86400")
	const key = "example.com;/;a"

	// Reads update the time in memory, and the store only hourly.
	for range 30 {
		clock.advance(time.Minute)
		cookieHeader(t, j, "https://example.com/")
	}
	if got := j.byKey[key].accessed; !got.Equal(clock.now()) {
		t.Errorf("last access in memory = %v, want %v", got, clock.now())
	}
	if _, saves, _ := store.counts(); saves != 1 {
		t.Errorf("%d saves after 30 reads within the hour, want 1", saves)
	}
	clock.advance(31 * time.Minute)
	cookieHeader(t, j, "https://example.com/")
	rec, _ := store.record(t, key)
	if _, saves, _ := store.counts(); saves != 2 || !rec.accessed.Equal(clock.now()) {
		t.Errorf("after an hour: %d saves, stored access %v; want 2 and %v",
			saves, rec.accessed, clock.now())
	}
}

func TestCookieJarPersistence(t *testing.T) {
	clock := newCookieClock()
	store := newMemCookieStore(clock.now)
	j1 := newTestJar(t, store, clock, nil)
	setCookies(t, j1, "https://www.example.com/docs/x",
		"p=1; Max-Age=3600; Secure; HttpOnly; SameSite=Strict; Partitioned",
		`q="2"; Domain=example.com; Path=/; Max-Age=864000; SameSite=Lax`,
		"s=3",
		"gone=4; Max-Age=60",
		"del=5")
	setCookies(t, j1, "https://www.example.com/docs/x", "del=; Max-Age=0")
	clock.advance(2 * time.Minute)
	const page = "https://www.example.com/docs/x"
	const want = `p=1; s=3; q="2"`

	j2 := newTestJar(t, store, clock, nil)
	for _, key := range []string{".example.com;/;q", "www.example.com;/docs;p"} {
		got, want := j2.byKey[key], j1.byKey[key]
		if got == nil || !sameCookieRecord(got.cookieRecord, want.cookieRecord) {
			t.Errorf("cookie %s after a restart:\n%+v\nwant\n%+v", key, got, want)
		}
	}
	if got := cookieHeader(t, j2, page); got != want {
		t.Errorf("after a restart, Cookies(%s) = %q, want %q", page, got, want)
	}

	// A session cookie's record lapses a week after it was set.
	clock.advance(sessionRecordLife)
	j3 := newTestJar(t, store, clock, nil)
	if got := cookieHeader(t, j3, page); got != `q="2"` {
		t.Errorf("a week later, Cookies(%s) = %q, want %q", page, got, `q="2"`)
	}
}

// sameCookieRecord compares records, times by the instant they denote.
func sameCookieRecord(a, b cookieRecord) bool {
	times := a.created.Equal(b.created) && a.accessed.Equal(b.accessed) &&
		a.expires.Equal(b.expires)
	a.created, a.accessed, a.expires = time.Time{}, time.Time{}, time.Time{}
	b.created, b.accessed, b.expires = time.Time{}, time.Time{}, time.Time{}
	return times && a == b
}

func TestCookieJarCreationOrderSurvivesRestart(t *testing.T) {
	clock := newCookieClock()
	store := newMemCookieStore(clock.now)
	j1 := newTestJar(t, store, clock, nil)
	setCookies(t, j1, "https://example.com/", "a=1", "b=2", "c=3")
	j2 := newTestJar(t, store, clock, nil)
	setCookies(t, j2, "https://example.com/", "d=4")
	if got := cookieHeader(t, j2, "https://example.com/"); got != "a=1; b=2; c=3; d=4" {
		t.Errorf("Cookies = %q, want %q", got, "a=1; b=2; c=3; d=4")
	}
}

func TestCookieJarDropsBadRecords(t *testing.T) {
	clock := newCookieClock()
	store := newMemCookieStore(clock.now)
	good := testCookieRecord()
	rec := encodeCookie(&good)
	later := clock.now().Add(time.Hour)
	store.recs[recordKey(&good)] = memCookie{data: rec, expires: later}
	store.recs["garbage"] = memCookie{data: []byte("not a record"), expires: later}
	store.recs["elsewhere"] = memCookie{data: rec, expires: later}
	var log bytes.Buffer

	j := newTestJar(t, store, clock, &log)
	if n := j.Len(); n != 1 {
		t.Errorf("Len() = %d, want 1", n)
	}
	if n := strings.Count(log.String(), "dropping a cookie record"); n != 2 {
		t.Errorf("logged %d dropped records, want 2; log:\n%s", n, log.String())
	}
	if recs, _, _ := store.counts(); recs != 1 {
		t.Errorf("store holds %d records, want the good one only", recs)
	}
}

func TestCookieJarStoreErrors(t *testing.T) {
	clock := newCookieClock()
	store := newMemCookieStore(clock.now)
	store.err = errors.New("disk full")
	var log bytes.Buffer
	j := newTestJar(t, store, clock, &log)

	setCookies(t, j, "https://example.com/", "a=1", "b=2")
	if got := cookieHeader(t, j, "https://example.com/"); got != "a=1; b=2" {
		t.Errorf("Cookies = %q, want the cookies kept in memory", got)
	}
	clock.advance(2 * storeWarnInterval)
	setCookies(t, j, "https://example.com/", "a=; Max-Age=0")

	if n := j.StoreErrors(); n != 3 {
		t.Errorf("StoreErrors() = %d, want 3", n)
	}
	if n := strings.Count(log.String(), "cookie store failed"); n != 2 {
		t.Errorf("logged %d failures, want 2 (one a minute); log:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "disk full") {
		t.Errorf("log does not name the error:\n%s", log.String())
	}
}

func TestCookieJarLoadError(t *testing.T) {
	clock := newCookieClock()
	store := newMemCookieStore(clock.now)
	store.loadErr = errors.New("store closed")
	_, err := newCookieJar(store, nil, clock.now)
	if !errors.Is(err, store.loadErr) {
		t.Errorf("newCookieJar = %v, want %v", err, store.loadErr)
	}
}

func TestCookieJarMemoryOnly(t *testing.T) {
	j, err := newCookieJar(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	setCookies(t, j, "https://example.com/", "a=1")
	if got := cookieHeader(t, j, "https://example.com/"); got != "a=1" {
		t.Errorf("Cookies = %q, want a=1", got)
	}
}

// TestCookieJarWithClient runs the jar under http.Client against a local
// server.
func TestCookieJarWithClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "visit", Value: r.URL.Path, Path: "/"})
		io.WriteString(w, r.Header.Get("Cookie"))
	}))
	defer srv.Close()
	j, err := newCookieJar(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: j}
	var got []string
	for _, p := range []string{"/first", "/second"} {
		resp, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, string(b))
	}
	if got[0] != "" || got[1] != "visit=/first" {
		t.Errorf("server saw Cookie headers %q, want [\"\" \"visit=/first\"]", got)
	}
}

func TestCookieJarConcurrent(t *testing.T) {
	clock := newCookieClock()
	store := newMemCookieStore(clock.now)
	j := newTestJar(t, store, clock, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				host := fmt.Sprintf("https://h%d.example.com/", i%5)
				setCookies(t, j, host, fmt.Sprintf("g%d=%d; Domain=example.com", g, i),
					fmt.Sprintf("n%d=1; Max-Age=%d", i%7, i%3))
				j.Cookies(&url.URL{Scheme: "https", Host: fmt.Sprintf("h%d.example.com", g)})
				j.Len()
				clock.advance(time.Second)
			}
		})
	}
	wg.Wait()
	got := cookieHeader(t, j, "https://example.com/")
	for g := range 8 {
		if !strings.Contains(got, fmt.Sprintf("g%d=199", g)) {
			t.Errorf("Cookies = %q, want g%d=199 in it", got, g)
		}
	}
	// The store holds exactly what the jar holds.
	j2 := newTestJar(t, store, clock, nil)
	if a, b := j.Len(), j2.Len(); a != b {
		t.Errorf("jar holds %d cookies, a jar over its store %d", a, b)
	}
}

func TestParseCookieDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time // zero: not a date
	}{
		{"Wed, 09 Jun 2021 10:18:14 GMT", time.Date(2021, 6, 9, 10, 18, 14, 0, time.UTC)},
		{"Wednesday, 09-Jun-21 10:18:14 GMT", time.Date(2021, 6, 9, 10, 18, 14, 0, time.UTC)},
		{"Wed Jun  9 10:18:14 2021", time.Date(2021, 6, 9, 10, 18, 14, 0, time.UTC)},
		{"9 june 70 1:2:3", time.Date(1970, 6, 9, 1, 2, 3, 0, time.UTC)},
		{"09-Jun-69 10:18:14", time.Date(2069, 6, 9, 10, 18, 14, 0, time.UTC)},
		{"Thu, 29 Feb 2024 23:59:59 GMT", time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
		{"Thu, 31 Apr 2021 10:00:00 GMT", time.Time{}},
		{"Thu, 01 Jan 1600 00:00:00 GMT", time.Time{}},
		{"Wed, 09 Jun 2021 24:00:00 GMT", time.Time{}},
		{"Wed, 09 Jun 2021 10:18 GMT", time.Time{}},
		{"Wed, 32 Jun 2021 10:18:14 GMT", time.Time{}},
		{"Wed, 09 Foo 2021 10:18:14 GMT", time.Time{}},
		{"Wed, 009 Jun 2021 10:18:14 GMT", time.Time{}},
		{"", time.Time{}},
	}
	for _, tc := range tests {
		got, ok := parseCookieDate(tc.in)
		if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
			t.Errorf("parseCookieDate(%q) = %v, %v, want %v", tc.in, got, ok, tc.want)
		}
	}
}

// testCookieRecord is a record with every field set.
func testCookieRecord() cookieRecord {
	return cookieRecord{
		name: "sid", value: "abc", domain: "example.com", path: "/app",
		secure: true, httpOnly: true, quoted: true, partitioned: true, persistent: true,
		sameSite: http.SameSiteLaxMode,
		created:  cookieTestStart, accessed: cookieTestStart.Add(time.Minute),
		expires: cookieTestStart.Add(time.Hour),
	}
}

func TestCookieRecordRoundTrip(t *testing.T) {
	for _, r := range []cookieRecord{testCookieRecord(), {
		name: "", value: "v", domain: "::1", path: "/", hostOnly: true,
		created: time.Unix(0, 1), accessed: time.Unix(0, -1), expires: time.Unix(1<<32, 0),
	}} {
		got, err := decodeCookie(encodeCookie(&r))
		if err != nil || !sameCookieRecord(got, r) {
			t.Errorf("decodeCookie(encodeCookie(%+v)) = %+v, %v", r, got, err)
		}
	}
}

func TestCookieRecordKey(t *testing.T) {
	a := cookieRecord{name: "n", domain: "example.com", path: "/", hostOnly: true}
	b := a
	b.hostOnly = false
	if ka, kb := recordKey(&a), recordKey(&b); ka == kb {
		t.Errorf("host-only and domain cookies share key %q", ka)
	}
}

func TestCookieRecordDecodeRejects(t *testing.T) {
	good := testCookieRecord()
	rec := encodeCookie(&good)
	edit := func(f func(r *cookieRecord)) []byte {
		r := testCookieRecord()
		f(&r)
		return encodeCookie(&r)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"trailing byte", append(bytes.Clone(rec), 0)},
		{"version", append([]byte{2}, rec[1:]...)},
		{"unknown flag", append([]byte{rec[0], rec[1] | 0x80}, rec[2:]...)},
		{"same-site", append([]byte{rec[0], rec[1], 5}, rec[3:]...)},
		{"oversized", append(bytes.Clone(rec), make([]byte, maxCookieRecord)...)},
		{"empty name and value", edit(func(r *cookieRecord) { r.name, r.value = "", "" })},
		{"too long", edit(func(r *cookieRecord) { r.value = strings.Repeat("v", maxCookieSize) })},
		{"semicolon in name", edit(func(r *cookieRecord) { r.name = "a;b" })},
		{"empty domain", edit(func(r *cookieRecord) { r.domain = "" })},
		{"dot domain", edit(func(r *cookieRecord) { r.domain = ".example.com" })},
		{"upper-case domain", edit(func(r *cookieRecord) { r.domain = "Example.com" })},
		{"relative path", edit(func(r *cookieRecord) { r.path = "app" })},
	}
	for i := range len(rec) {
		tests = append(tests, struct {
			name string
			in   []byte
		}{fmt.Sprintf("truncated to %d", i), rec[:i]})
	}
	for _, tc := range tests {
		if _, err := decodeCookie(tc.in); !errors.Is(err, errBadCookieRecord) {
			t.Errorf("%s: decodeCookie = %v, want %v", tc.name, err, errBadCookieRecord)
		}
	}
}
