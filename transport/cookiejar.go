package transport

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// cookieStore persists a jar's cookies. Save replaces the record with the same key.
type cookieStore interface {
	SaveCookie(key string, data []byte, expires time.Time) error
	DeleteCookie(key string) error
	LoadCookies() (map[string][]byte, error) // every live record: key -> data
}

// Limits of the jar. The counts and the lifetime cap are Chrome's.
const (
	// maxCookiesPerSite bounds the cookies of one site (eTLD+1), and
	// maxCookies those of the jar.
	maxCookiesPerSite = 180
	maxCookies        = 3300
	// maxCookieSize bounds a cookie's name and value together, in bytes.
	maxCookieSize = 4096
	// maxCookieLifetime caps Max-Age and Expires (RFC 6265bis).
	maxCookieLifetime = 400 * 24 * time.Hour
	// maxPathAttr is the longest Path attribute heeded; a longer one is
	// ignored (RFC 6265bis). maxCookiePath bounds any cookie path, also
	// a default path taken from a long URL.
	maxPathAttr   = 1024
	maxCookiePath = 4096
	// maxCookieHost bounds a host or domain name, in bytes.
	maxCookieHost = 255
)

// sessionRecordLife is how long the store keeps a session cookie after it
// was last set. A browser that restores its session after a restart keeps
// session cookies; a crawler resuming after a restart is that browser, as
// long as the restart is not long after the site last set the cookie.
const sessionRecordLife = 7 * 24 * time.Hour

// accessSaveInterval is how stale the last-access time in the store may
// get. Sending a cookie updates the time in memory only, except when the
// last save is older than this: the time only orders evictions, and
// writing a record on every request would multiply the store's writes.
// A failed save is tried again then too.
const accessSaveInterval = time.Hour

// storeWarnInterval spaces the warnings about store failures: a store
// that has failed once tends to keep failing.
const storeWarnInterval = time.Minute

// A cookieJar keeps the cookies of one partition (exit and profile) the
// way a browser does: RFC 6265 section 5 with the RFC 6265bis rules
// browsers enforce (cookie prefixes, secure cookies left alone by
// non-secure origins, SameSite=None only with Secure, lifetimes capped at
// 400 days) and Chrome's limits. It implements [http.CookieJar], and is
// safe for concurrent use. Make one with newCookieJar.
//
// Every change (a cookie set, replaced, deleted or evicted) goes to the
// store as it happens; session cookies too, with a record that lapses
// sessionRecordLife after they were last set. A store failure is logged
// and counted, and the jar goes on in memory.
//
// Only https is a secure scheme: http://localhost and http://127.0.0.1
// are not, unlike in browsers, so Secure cookies are neither set nor sent
// over them. SameSite is kept but not enforced on sending, since
// http.CookieJar is not told which site a request comes from; a crawler's
// requests are top-level navigations, which get Lax cookies anyway.
// Partitioned cookies are kept like others, which is what partitioning
// amounts to when every request is a top-level one.
type cookieJar struct {
	store cookieStore // nil: memory only
	log   *slog.Logger
	now   func() time.Time
	// storeErrs counts the store's failures.
	storeErrs atomic.Int64

	// mu guards the fields below. It is held across calls to store, so
	// that the store receives a cookie's writes in the order they were
	// made; the store must not call back into the jar.
	mu       sync.Mutex
	byKey    map[string]*jarCookie
	byDomain map[string]map[string]*jarCookie // cookie domain -> key -> cookie
	bySite   map[string]map[string]*jarCookie // site -> key -> cookie
	// lastCreated is the latest creation time given out; creation times
	// are kept distinct so that the order of cookies is stable.
	lastCreated time.Time
	// lastWarn is when the last store failure was logged.
	lastWarn time.Time
}

// jarCookie is a cookie in the jar: its record and what the jar derives
// from it.
type jarCookie struct {
	cookieRecord
	key  string // recordKey
	site string // eTLD+1 of the domain, the unit of maxCookiesPerSite
	// savedAccess is the last-access time at the last save, failed or
	// not.
	savedAccess time.Time
}

// newCookieJar returns a jar holding the cookies of store, which may be
// nil for a jar in memory only. Records that do not decode are logged,
// deleted from the store and skipped. A nil log discards; a nil now means
// time.Now.
func newCookieJar(store cookieStore, log *slog.Logger, now func() time.Time) (*cookieJar, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	j := &cookieJar{
		store:    store,
		log:      log,
		now:      now,
		byKey:    map[string]*jarCookie{},
		byDomain: map[string]map[string]*jarCookie{},
		bySite:   map[string]map[string]*jarCookie{},
	}
	if store == nil {
		return j, nil
	}
	recs, err := store.LoadCookies()
	if err != nil {
		return nil, fmt.Errorf("transport: load cookies: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	t := now()
	for key, data := range recs {
		j.loadLocked(key, data, t)
	}
	return j, nil
}

// loadLocked adds the cookie of one stored record.
func (j *cookieJar) loadLocked(key string, data []byte, now time.Time) {
	rec, err := decodeCookie(data)
	if err == nil && recordKey(&rec) != key {
		err = fmt.Errorf("%w: kept under another key", errBadCookieRecord)
	}
	if err != nil {
		// A record this jar cannot read would be warned about at every
		// start until it lapses; drop it for good.
		j.log.LogAttrs(context.Background(), slog.LevelWarn, "transport: dropping a cookie record",
			slog.String("key", key), slog.Any("error", err))
		j.deleteStoredLocked(key)
		return
	}
	if !rec.expires.After(now) {
		return // the store lapses it
	}
	if rec.created.After(j.lastCreated) {
		j.lastCreated = rec.created
	}
	j.addLocked(&jarCookie{cookieRecord: rec, key: key, site: cookieSite(rec.domain),
		savedAccess: rec.accessed})
}

// Len returns the number of cookies in the jar, expired ones aside.
func (j *cookieJar) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	n := 0
	for _, c := range j.byKey {
		if !c.expiredAt(now) {
			n++
		}
	}
	return n
}

// StoreErrors returns the number of store writes that failed.
func (j *cookieJar) StoreErrors() int64 { return j.storeErrs.Load() }

// SetCookies takes the cookies of a response to u, following RFC 6265
// section 5.3 and RFC 6265bis. It ignores URLs other than http and https.
func (j *cookieJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	host, ok := cookieHost(u)
	if !ok {
		return
	}
	secure := secureScheme(u.Scheme)
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	for _, hc := range cookies {
		if hc == nil {
			continue
		}
		if rec, ok := newCookieRecord(u, host, secure, hc, now); ok {
			j.setLocked(rec, secure, now)
		}
	}
}

// setLocked stores rec, received over a secure scheme or not, replacing
// the cookie of the same identity; an expired rec deletes that cookie.
func (j *cookieJar) setLocked(rec cookieRecord, secure bool, now time.Time) {
	if !secure && j.shadowsSecureLocked(&rec) {
		return
	}
	key := recordKey(&rec)
	old := j.byKey[key]
	if rec.persistent && !rec.expires.After(now) {
		if old != nil {
			j.removeLocked(old, true)
		}
		return
	}
	rec.accessed = now
	if old != nil {
		rec.created = old.created
		old.cookieRecord = rec
		j.saveLocked(old)
		return
	}
	rec.created = j.creationTimeLocked(now)
	c := &jarCookie{cookieRecord: rec, key: key, site: cookieSite(rec.domain)}
	j.addLocked(c)
	j.saveLocked(c)
}

// shadowsSecureLocked reports whether rec, from a non-secure origin, would
// overlay a secure cookie, which RFC 6265bis forbids: a cookie of the same
// name, on a domain that domain-matches rec's or the other way round,
// whose path rec's path path-matches. Such origins cannot delete secure
// cookies either. It scans the jar (at most maxCookies cookies), a cost
// only cookies from http pay.
func (j *cookieJar) shadowsSecureLocked(rec *cookieRecord) bool {
	for _, c := range j.byKey {
		if c.name != rec.name || !c.secure {
			continue
		}
		related := domainMatch(c.domain, rec.domain) || domainMatch(rec.domain, c.domain)
		if related && pathMatch(rec.path, c.path) {
			return true
		}
	}
	return false
}

// creationTimeLocked returns now, or just after the last creation time
// given out if now is not later.
func (j *cookieJar) creationTimeLocked(now time.Time) time.Time {
	if !now.After(j.lastCreated) {
		now = j.lastCreated.Add(time.Nanosecond)
	}
	j.lastCreated = now
	return now
}

// Cookies returns the cookies to send with a request to u, following RFC
// 6265 section 5.4: longest path first, then earliest created. Only their
// names, values and quoting are set.
func (j *cookieJar) Cookies(u *url.URL) []*http.Cookie {
	host, ok := cookieHost(u)
	if !ok {
		return nil
	}
	secure := secureScheme(u.Scheme)
	path := u.EscapedPath()
	if path == "" || path[0] != '/' {
		path = "/"
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()

	// Cookies that may go to host are on it or on one of its parents.
	var hits []*jarCookie
	for d := host; d != ""; {
		for _, c := range j.byDomain[d] {
			if c.expiredAt(now) {
				j.removeLocked(c, false) // its record lapses by itself
			} else if c.sendsTo(host, path, secure) {
				hits = append(hits, c)
			}
		}
		_, d, _ = strings.Cut(d, ".")
	}
	if len(hits) == 0 {
		return nil
	}
	slices.SortFunc(hits, func(a, b *jarCookie) int {
		if n := cmp.Compare(len(b.path), len(a.path)); n != 0 {
			return n
		}
		return a.created.Compare(b.created)
	})

	out := make([]*http.Cookie, len(hits))
	for i, c := range hits {
		c.accessed = now
		if now.Sub(c.savedAccess) >= accessSaveInterval {
			j.saveLocked(c)
		}
		out[i] = &http.Cookie{Name: c.name, Value: c.value, Quoted: c.quoted}
	}
	return out
}

// expiredAt reports whether c has expired at now. Session cookies expire
// with the jar.
func (c *jarCookie) expiredAt(now time.Time) bool {
	return c.persistent && !c.expires.After(now)
}

// sendsTo reports whether c goes with a request to host and path, over a
// secure scheme or not.
func (c *jarCookie) sendsTo(host, path string, secure bool) bool {
	if c.hostOnly && c.domain != host || !domainMatch(host, c.domain) {
		return false
	}
	return (secure || !c.secure) && pathMatch(path, c.path)
}

// addLocked puts c in the jar and evicts cookies if it went over a limit.
func (j *cookieJar) addLocked(c *jarCookie) {
	j.byKey[c.key] = c
	addIndexed(j.byDomain, c.domain, c)
	addIndexed(j.bySite, c.site, c)
	if over := len(j.bySite[c.site]) - maxCookiesPerSite; over > 0 {
		j.evictLocked(j.bySite[c.site], over, c)
	}
	if over := len(j.byKey) - maxCookies; over > 0 {
		j.evictLocked(j.byKey, over, c)
	}
}

// evictLocked removes every expired cookie of set and then, if that was
// fewer than n, the least recently used ones until n are gone, keeping
// keep.
func (j *cookieJar) evictLocked(set map[string]*jarCookie, n int, keep *jarCookie) {
	now := j.now()
	for _, c := range set {
		if c != keep && c.expiredAt(now) {
			j.removeLocked(c, false)
			n--
		}
	}
	for ; n > 0; n-- {
		var lru *jarCookie
		for _, c := range set {
			if c != keep && (lru == nil || usedBefore(c, lru)) {
				lru = c
			}
		}
		if lru == nil {
			return
		}
		j.removeLocked(lru, true)
	}
}

// usedBefore orders cookies by last access, then by creation.
func usedBefore(a, b *jarCookie) bool {
	if !a.accessed.Equal(b.accessed) {
		return a.accessed.Before(b.accessed)
	}
	return a.created.Before(b.created)
}

// removeLocked takes c out of the jar and, if persist, out of the store.
func (j *cookieJar) removeLocked(c *jarCookie, persist bool) {
	delete(j.byKey, c.key)
	removeIndexed(j.byDomain, c.domain, c.key)
	removeIndexed(j.bySite, c.site, c.key)
	if persist {
		j.deleteStoredLocked(c.key)
	}
}

func addIndexed(index map[string]map[string]*jarCookie, k string, c *jarCookie) {
	m := index[k]
	if m == nil {
		m = map[string]*jarCookie{}
		index[k] = m
	}
	m[c.key] = c
}

func removeIndexed(index map[string]map[string]*jarCookie, k, key string) {
	delete(index[k], key)
	if len(index[k]) == 0 {
		delete(index, k)
	}
}

// saveLocked writes c's record to the store.
func (j *cookieJar) saveLocked(c *jarCookie) {
	if j.store == nil {
		return
	}
	c.savedAccess = c.accessed
	if err := j.store.SaveCookie(c.key, encodeCookie(&c.cookieRecord), c.expires); err != nil {
		j.storeFailedLocked("save", err)
	}
}

// deleteStoredLocked deletes the record under key from the store.
func (j *cookieJar) deleteStoredLocked(key string) {
	if j.store == nil {
		return
	}
	if err := j.store.DeleteCookie(key); err != nil {
		j.storeFailedLocked("delete", err)
	}
}

// storeFailedLocked counts a store failure and logs it, unless another
// was logged within storeWarnInterval.
func (j *cookieJar) storeFailedLocked(op string, err error) {
	n := j.storeErrs.Add(1)
	now := j.now()
	if n > 1 && now.Sub(j.lastWarn) < storeWarnInterval {
		return
	}
	j.lastWarn = now
	j.log.LogAttrs(context.Background(), slog.LevelWarn, "transport: cookie store failed",
		slog.String("op", op), slog.Any("error", err), slog.Int64("failures", n))
}

// newCookieRecord builds the cookie that hc, received from u (whose
// canonical host is host) over a secure scheme or not, asks to store,
// following RFC 6265 section 5.3 and RFC 6265bis. It reports false for a
// cookie to ignore. The record's creation and access times are not set.
func newCookieRecord(u *url.URL, host string, secure bool, hc *http.Cookie,
	now time.Time) (cookieRecord, bool) {
	rec := cookieRecord{name: hc.Name, value: hc.Value, quoted: hc.Quoted, secure: hc.Secure,
		httpOnly: hc.HttpOnly, sameSite: hc.SameSite, partitioned: hc.Partitioned}
	if !cookieNameValueOK(hc.Name, hc.Value) {
		return rec, false
	}
	if rec.sameSite < 0 || rec.sameSite > http.SameSiteNoneMode {
		rec.sameSite = 0 // not a value net/http gives
	}
	var ok bool
	if rec.domain, rec.hostOnly, ok = cookieDomain(host, hc.Domain); !ok {
		return rec, false
	}
	rec.path = hc.Path
	if rec.path == "" || rec.path[0] != '/' || len(rec.path) > maxPathAttr {
		rec.path = defaultPath(u)
	}

	// Secure cookies come from secure origins only, and SameSite=None
	// ones must be Secure (RFC 6265bis).
	secureOK := secure || !hc.Secure
	noneOK := hc.SameSite != http.SameSiteNoneMode || hc.Secure
	if len(rec.path) > maxCookiePath || !secureOK || !noneOK || !cookiePrefixOK(hc) {
		return rec, false
	}
	rec.expires, rec.persistent = cookieExpiry(hc, now)
	return rec, true
}

// cookieDomain returns the domain of a cookie received from host with the
// Domain attribute attr, and whether the cookie is host-only (RFC 6265
// section 5.3, steps 4 to 6). It reports false for a cookie to ignore.
func cookieDomain(host, attr string) (domain string, hostOnly, ok bool) {
	d := strings.ToLower(strings.TrimPrefix(attr, "."))
	if d == "" {
		return host, true, true
	}
	if !isASCII(d) {
		var err error
		if d, err = idna.Lookup.ToASCII(d); err != nil {
			return "", false, false
		}
	}

	// An IP address is matched whole: a cookie can only be host-only on
	// it. So can a cookie on a public suffix, where a Domain attribute
	// naming the host itself counts as none.
	if isIPHost(host) || isIPHost(d) || isPublicSuffix(d) {
		return host, true, d == host
	}
	if !validCookieHost(d) || strings.HasSuffix(d, ".") || !domainMatch(host, d) {
		return "", false, false
	}
	return d, false, true
}

// cookieExpiry returns when a cookie expires, and whether it is
// persistent: Max-Age wins over Expires, and both are capped at
// maxCookieLifetime. A session cookie's expiry is when its record lapses.
// An expiry not after now deletes the cookie.
func cookieExpiry(hc *http.Cookie, now time.Time) (time.Time, bool) {
	limit := now.Add(maxCookieLifetime)
	switch {
	case hc.MaxAge < 0:
		return time.Time{}, true
	case hc.MaxAge > 0:
		if int64(hc.MaxAge) >= int64(maxCookieLifetime/time.Second) {
			return limit, true
		}
		return now.Add(time.Duration(hc.MaxAge) * time.Second), true
	}
	exp := hc.Expires
	if exp.IsZero() && hc.RawExpires != "" {
		// net/http reads two date layouts; browsers read the rest too.
		exp, _ = parseCookieDate(hc.RawExpires)
	}
	if exp.IsZero() {
		return now.Add(sessionRecordLife), false
	}
	if exp.After(limit) {
		exp = limit
	}
	return exp, true
}

// cookiePrefixOK enforces RFC 6265bis's name prefixes, matched without
// regard to case as browsers do: a __Secure- cookie must be Secure, and a
// __Host- one also host-only with Path=/.
func cookiePrefixOK(hc *http.Cookie) bool {
	switch {
	case hasPrefixFold(hc.Name, "__Secure-"):
		return hc.Secure
	case hasPrefixFold(hc.Name, "__Host-"):
		return hc.Secure && hc.Domain == "" && hc.Path == "/"
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// cookieHost returns the canonical host of an http or https URL: lower
// case, in ASCII. It reports false for other URLs and hosts a cookie
// cannot be kept for.
func cookieHost(u *url.URL) (string, bool) {
	if u == nil || !strings.EqualFold(u.Scheme, "http") && !secureScheme(u.Scheme) {
		return "", false
	}
	h := strings.ToLower(u.Hostname())
	if !isASCII(h) {
		var err error
		if h, err = idna.Lookup.ToASCII(h); err != nil {
			return "", false
		}
	}
	return h, validCookieHost(h)
}

// secureScheme reports whether a scheme is secure for cookies. Only https
// is, so that the rule is plain; browsers also count localhost.
func secureScheme(scheme string) bool { return strings.EqualFold(scheme, "https") }

// validCookieHost reports whether h can be a cookie's domain: letters,
// digits, '-', '_', '.' and, for IPv6, ':', in labels that are not empty
// but for a last dot. A domain never starts with a dot nor holds a
// semicolon, which recordKey relies on.
func validCookieHost(h string) bool {
	if h == "" || len(h) > maxCookieHost || h[0] == '.' || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		b := h[i]
		ok := 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
			b == '-' || b == '_' || b == '.' || b == ':'
		if !ok {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isIPHost(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

func isPublicSuffix(d string) bool {
	ps, _ := publicsuffix.PublicSuffix(d)
	return ps == d
}

// cookieSite returns the site of a cookie domain: its eTLD+1, or the
// domain itself when it is an IP address or a public suffix.
func cookieSite(domain string) string {
	if isIPHost(domain) {
		return domain
	}
	site, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return site
}

// domainMatch reports whether host domain-matches domain (RFC 6265
// section 5.1.3): it is domain, or a name (not an IP address) ending in
// a dot and domain.
func domainMatch(host, domain string) bool {
	if host == domain {
		return true
	}
	sub := strings.HasSuffix(host, domain) && host[len(host)-len(domain)-1] == '.'
	return sub && !isIPHost(host)
}

// defaultPath returns the path a cookie from u gets without a Path
// attribute (RFC 6265 section 5.1.4): u's path up to its last slash.
func defaultPath(u *url.URL) string {
	p := u.EscapedPath()
	i := strings.LastIndexByte(p, '/')
	if p == "" || p[0] != '/' || i == 0 {
		return "/"
	}
	return p[:i]
}

// pathMatch reports whether a request path path-matches a cookie path
// (RFC 6265 section 5.1.4).
func pathMatch(path, cookiePath string) bool {
	if !strings.HasPrefix(path, cookiePath) {
		return false
	}
	n := len(cookiePath)
	return len(path) == n || cookiePath[n-1] == '/' || path[n] == '/'
}

// parseCookieDate reads a cookie date the lenient way of RFC 6265 section
// 5.1.1: tokens split by delimiters, the first of each kind taken (time,
// day of month, month, year), two-digit years in 1970-2069. It returns
// the time in UTC, or false for a date it cannot read.
func parseCookieDate(s string) (time.Time, bool) {
	var hms [3]int
	day, month, year := -1, -1, -1
	haveTime := false
	for _, tok := range strings.FieldsFunc(s, isDateDelimiter) {
		switch {
		case !haveTime && parseTimeToken(tok, &hms):
			haveTime = true
		case day < 0 && leadingDigits(tok, 1, 2) > 0:
			day, _ = digitsValue(tok, 2)
		case month < 0 && monthOf(tok) > 0:
			month = monthOf(tok)
		case year < 0 && leadingDigits(tok, 2, 4) > 0:
			year, _ = digitsValue(tok, 4)
		}
	}
	switch {
	case 70 <= year && year <= 99:
		year += 1900
	case 0 <= year && year <= 69:
		year += 2000
	}
	valid := haveTime && day >= 1 && day <= 31 && month > 0 && year >= 1601 &&
		hms[0] <= 23 && hms[1] <= 59 && hms[2] <= 59
	if !valid {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hms[0], hms[1], hms[2], 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, false // such as 31 April
	}
	return t, true
}

// isDateDelimiter reports whether r separates the tokens of a cookie date:
// tab, and the printable ASCII characters that are neither letters,
// digits nor ':'.
func isDateDelimiter(r rune) bool {
	alnum := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	return r == '\t' || 0x20 <= r && r <= 0x7e && !alnum && r != ':'
}

// leadingDigits returns the number of digits tok starts with if it is
// between lo and hi and the digits are followed by a non-digit or the end;
// otherwise 0.
func leadingDigits(tok string, lo, hi int) int {
	n := 0
	for n < len(tok) && '0' <= tok[n] && tok[n] <= '9' {
		n++
	}
	if n < lo || n > hi {
		return 0
	}
	return n
}

// digitsValue returns the value of the up to max digits tok starts with,
// and the rest of tok.
func digitsValue(tok string, max int) (int, string) {
	v, i := 0, 0
	for ; i < len(tok) && i < max && '0' <= tok[i] && tok[i] <= '9'; i++ {
		v = v*10 + int(tok[i]-'0')
	}
	return v, tok[i:]
}

// parseTimeToken reads a token of the form h:m:s, each of one or two
// digits, optionally followed by a non-digit and anything.
func parseTimeToken(tok string, hms *[3]int) bool {
	for i := range hms {
		if leadingDigits(tok, 1, 2) == 0 {
			return false
		}
		hms[i], tok = digitsValue(tok, 2)
		if i < 2 {
			if tok == "" || tok[0] != ':' {
				return false
			}
			tok = tok[1:]
		}
	}
	return true
}

// monthOf returns the month a token names by its first three letters, or
// 0.
func monthOf(tok string) int {
	if len(tok) < 3 {
		return 0
	}
	const months = "janfebmaraprmayjunjulaugsepoctnovdec"
	i := strings.Index(months, strings.ToLower(tok[:3]))
	if i < 0 || i%3 != 0 {
		return 0
	}
	return i/3 + 1
}
