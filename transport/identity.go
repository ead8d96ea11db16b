package transport

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/revisit-crawl/revisit/ticketstore"
)

// An identity is what a server sees of one visitor: one exit as observed
// (a proxy credential and, when probed, the address it left from) with
// the transport's profile, and the tickets and cookies it holds there.
// Every connection belongs to one identity, and only its tickets and
// cookies travel on it.
type identity struct {
	ex    *exit
	ip    string                 // observed exit address, "" when not known
	label string                 // the exit's label with the address: "socks5://u@h:p ip=A"
	part  *ticketstore.Partition // nil: no ticket is stored or offered
	jar   *cookieJar             // nil: cookies are off

	// mu guards the fields below.
	mu sync.Mutex
	st IdentityStats
	// refusedInARow counts the offered tickets refused since the last one
	// accepted.
	refusedInARow int
}

// IdentityStats describes one identity: an exit, as observed, with the
// transport's profile. See [Transport.Identities].
type IdentityStats struct {
	// Exit is the exit's label, never with a password; IP the address the
	// exit was observed to leave from, when an exit probe told it.
	Exit string
	IP   string
	// Profile is the profile's name.
	Profile string
	// Rotating reports an exit declared rotating: no ticket goes through
	// it, and its cookies last for the transport's life only.
	Rotating bool

	// Requests counts the requests sent, Errors those that got no
	// response, and Blocks the responses retired the identity for.
	Requests, Errors, Blocks int64
	// NewConns counts the connections made; Offered those that offered a
	// ticket; Resumed those the server resumed and Refused those where
	// it answered the ticket with a full handshake.
	NewConns, Offered, Resumed, Refused int64
	// Cookies is the number of cookies held; zero with cookies off.
	Cookies int

	// RetiredUntil is when a retired identity takes requests again; zero
	// or past when it is in use. See [Transport.Retire].
	RetiredUntil time.Time
	// NoTicketsUntil is when tickets are offered again after servers kept
	// refusing them through this identity; zero or past when they are.
	NoTicketsUntil time.Time
}

// ErrAllRetired is returned for a request whose exits, from
// [Config.Proxies], are all retired for now.
var ErrAllRetired = errors.New("transport: every exit is retired for now")

// newIdentity returns the identity of ex observed at ip, with its
// partition and cookie jar.
func (t *Transport) newIdentity(ex *exit, ip string) (*identity, error) {
	eid, err := ticketstore.ExitFromURL(ex.proxy)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedScheme, err)
	}
	eid.IP = ip
	id := &identity{ex: ex, ip: ip, label: eid.Label(), st: IdentityStats{Exit: ex.label, IP: ip,
		Profile: t.profile.Name, Rotating: ex.rotating}}
	if t.cfg.Tickets != nil && !ex.rotating {
		if id.part, err = t.cfg.Tickets.Partition(eid, t.profile.Name); err != nil {
			return nil, err
		}
	}
	if t.cfg.Cookies {
		var store cookieStore
		if id.part != nil {
			store = partitionCookies{id.part}
		}
		jar, err := newCookieJar(store, t.log.With("exit", ex.label, "ip", ip), t.now)
		if err != nil {
			return nil, err
		}
		id.jar = jar
	}
	return id, nil
}

// identityFor returns the identity a new connection through ex belongs
// to: with an exit probe, the one of the address the probe sees now.
func (t *Transport) identityFor(ctx context.Context, ex *exit) (*identity, error) {
	ip := ex.staticIP
	if ex.probed() {
		var err error
		if ip, err = t.probe(ctx, ex); err != nil {
			return nil, err
		}
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if id := ex.ids[ip]; id != nil {
		ex.current = id
		return id, nil
	}
	id, err := t.newIdentity(ex, ip)
	if err != nil {
		return nil, err
	}
	ex.ids[ip] = id
	ex.current = id
	return id, nil
}

// probed reports whether new connections through ex ask the exit probe
// for their address first.
func (ex *exit) probed() bool { return ex.probe != "" }

// maxProbeBody bounds the probe's answer: an address and some spaces.
const maxProbeBody = 256

// ExitAddress asks Config.ExitProbe which address requests through proxy
// (nil: direct) leave from, on a connection of its own. Use it to check
// the probe and the proxies before a crawl: the transport asks the probe
// before each new connection anyway.
func (t *Transport) ExitAddress(ctx context.Context, proxy *url.URL) (string, error) {
	if t.cfg.ExitProbe == "" {
		return "", errors.New("transport: no exit probe configured")
	}
	ex, err := t.exitFor(proxy)
	if err != nil {
		return "", err
	}
	return t.probeVia(ctx, ex, t.cfg.ExitProbe)
}

// probe asks the exit probe through ex.
func (t *Transport) probe(ctx context.Context, ex *exit) (string, error) {
	return t.probeVia(ctx, ex, ex.probe)
}

// probeVia asks the probe URL, through ex on a connection of its own,
// which address it sees. The connection offers no ticket, keeps none and
// sends no cookie.
func (t *Transport) probeVia(ctx context.Context, ex *exit, probe string) (string, error) {
	cfg := t.cfg
	cfg.Tickets, cfg.Cookies, cfg.ExitProbe, cfg.ExitIP, cfg.Proxies = nil, false, "", nil, nil
	cfg.Proxy = func(*http.Request) (*url.URL, error) { return ex.proxy, nil }
	cfg.Logger = t.log
	pt, err := New(cfg)
	if err != nil {
		return "", err
	}
	defer pt.Close()
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout+cfg.TLSHandshakeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probe, nil)
	if err != nil {
		return "", fmt.Errorf("transport: exit probe: %w", err)
	}
	resp, err := pt.RoundTrip(req)
	if err != nil {
		return "", fmt.Errorf("transport: exit probe through %s: %w", ex.label, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody+1))
	if err != nil {
		return "", fmt.Errorf("transport: exit probe through %s: %w", ex.label, err)
	}
	text := strings.TrimSpace(string(b))
	ip := net.ParseIP(text)
	if resp.StatusCode != http.StatusOK || len(b) > maxProbeBody || ip == nil {
		return "", fmt.Errorf("transport: exit probe through %s: answered %s, not an address",
			ex.label, resp.Status)
	}
	return ip.String(), nil
}

// noteRequest counts a request sent with identity id.
func (id *identity) noteRequest(err error) {
	if id == nil {
		return
	}
	id.mu.Lock()
	id.st.Requests++
	if err != nil {
		id.st.Errors++
	}
	id.mu.Unlock()
}

// noteHandshake counts a new connection of id. When servers refuse the
// tickets offered through it limit times in a row, tickets are offered
// there no more for pause: something between the exit and the servers,
// such as an exit that changed, makes them worthless.
func (t *Transport) noteHandshake(id *identity, info ConnInfo) {
	id.mu.Lock()
	defer id.mu.Unlock()
	id.st.NewConns++
	if !info.PSKOffered {
		return
	}
	id.st.Offered++
	if info.Resumed {
		id.st.Resumed++
		id.refusedInARow = 0
		return
	}
	id.st.Refused++
	id.refusedInARow++
	if id.refusedInARow < t.cfg.RefusalLimit {
		return
	}
	id.refusedInARow = 0
	id.st.NoTicketsUntil = t.now().Add(t.cfg.RefusalPause)
	t.log.Warn("transport: servers keep refusing the tickets offered through this exit; offering none there for a while",
		"exit", id.ex.label, "ip", id.ip, "profile", t.profile.Name, "refused", t.cfg.RefusalLimit,
		"until", id.st.NoTicketsUntil.Format(time.RFC3339))
}

// ticketsPaused reports whether id offers no ticket for now.
func (t *Transport) ticketsPaused(id *identity) bool {
	id.mu.Lock()
	defer id.mu.Unlock()
	return t.now().Before(id.st.NoTicketsUntil)
}

// retired reports whether id takes no requests chosen from
// [Config.Proxies] for now.
func (t *Transport) retired(id *identity) bool {
	id.mu.Lock()
	defer id.mu.Unlock()
	return t.now().Before(id.st.RetiredUntil)
}

// Retire takes the identity that served resp out of use for d: requests
// whose exit comes from [Config.Proxies] go through the other exits
// meanwhile (a request pinned with [WithProxy] still goes where it is
// told). Use it when a response shows the site has blocked that visitor.
// It reports whether resp came from this transport.
func (t *Transport) Retire(resp *http.Response, d time.Duration) bool {
	info, ok := Info(resp)
	if !ok || info.id == nil || info.id.ex.owner != t {
		return false
	}
	id := info.id
	id.mu.Lock()
	id.st.Blocks++
	until := t.now().Add(d)
	if until.After(id.st.RetiredUntil) {
		id.st.RetiredUntil = until
	}
	id.mu.Unlock()
	t.log.Info("transport: identity retired", "exit", id.ex.label, "ip", id.ip,
		"profile", t.profile.Name, "until", until.Format(time.RFC3339))
	return true
}

// Identities describes every identity the transport has used: each exit,
// as observed, with its counters.
func (t *Transport) Identities() []IdentityStats {
	t.mu.Lock()
	exits := make([]*exit, 0, len(t.exits))
	for _, ex := range t.exits {
		exits = append(exits, ex)
	}
	t.mu.Unlock()
	var out []IdentityStats
	for _, ex := range exits {
		ex.mu.Lock()
		for _, id := range ex.ids {
			id.mu.Lock()
			st := id.st
			id.mu.Unlock()
			if id.jar != nil {
				st.Cookies = id.jar.Len()
			}
			out = append(out, st)
		}
		ex.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b IdentityStats) int {
		return strings.Compare(a.Exit+" "+a.IP, b.Exit+" "+b.IP)
	})
	return out
}

// chooseFromPool picks the exit of req from [Config.Proxies]: the one the
// request's host hashes to, so that a site always sees the same visitor,
// or, while that one is retired, the next one in the list that is not.
func (t *Transport) chooseFromPool(req *http.Request) (*url.URL, error) {
	proxies := t.cfg.Proxies
	h := fnv.New32a()
	io.WriteString(h, strings.ToLower(req.URL.Hostname()))
	first := int(h.Sum32() % uint32(len(proxies)))
	for i := range proxies {
		p := proxies[(first+i)%len(proxies)]
		ex, err := t.exitFor(p)
		if err != nil {
			return nil, err
		}
		if !t.exitRetired(ex) {
			return p, nil
		}
	}
	return nil, ErrAllRetired
}

// exitRetired reports whether the identity ex last connected as is
// retired.
func (t *Transport) exitRetired(ex *exit) bool {
	ex.mu.Lock()
	id := ex.current
	ex.mu.Unlock()
	return id != nil && t.retired(id)
}

// partitionCookies keeps a jar's cookies in a ticket store partition.
type partitionCookies struct{ p *ticketstore.Partition }

func (c partitionCookies) SaveCookie(key string, data []byte, expires time.Time) error {
	return c.p.SaveCookie(ticketstore.CookieRecord{Key: key, Data: data, Expires: expires})
}

func (c partitionCookies) DeleteCookie(key string) error { return c.p.DeleteCookie(key) }

func (c partitionCookies) LoadCookies() (map[string][]byte, error) {
	recs, err := c.p.Cookies()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(recs))
	for _, r := range recs {
		out[r.Key] = r.Data
	}
	return out, nil
}

// cookies returns the identity's cookie jar, or nil.
func (id *identity) cookies() *cookieJar {
	if id == nil {
		return nil
	}
	return id.jar
}

// addCookies sets req's Cookie header to the jar's cookies for its URL,
// in the jar's order, as one field: the HTTP/2 writer splits it into
// crumbs as browsers do.
func addCookies(req *http.Request, cookies []*http.Cookie) {
	if len(cookies) == 0 {
		return
	}
	var b strings.Builder
	for i, c := range cookies {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.Name)
		b.WriteByte('=')
		if c.Quoted {
			b.WriteByte('"')
		}
		b.WriteString(c.Value)
		if c.Quoted {
			b.WriteByte('"')
		}
	}
	req.Header["Cookie"] = []string{b.String()}
}
