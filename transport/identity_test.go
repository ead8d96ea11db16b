package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/proxytest"
	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/transport"
)

// newIdentityEnv is an env whose server ties tickets to client addresses,
// answers /ip with the client's address as plain text (the exit probe),
// sets a cookie on /set?NAME=VALUE, and echoes everything else.
func newIdentityEnv(t *testing.T) *env {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ip", func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintln(w, host)
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		for name, vs := range r.URL.Query() {
			http.SetCookie(w, &http.Cookie{Name: name, Value: vs[0], Path: "/", MaxAge: 3600})
		}
		echoHandler().ServeHTTP(w, r)
	})
	mux.Handle("/", echoHandler())
	ca := tlstest.NewCA(t)
	e := &env{ca: ca, srv: tlstest.NewHTTPServer(t, ca, mux, &tlstest.HTTPOptions{TieTicketsToIP: true})}
	e.path = filepath.Join(t.TempDir(), "tickets.db")
	e.openStore(t)
	return e
}

// newConnGet fetches path on a new connection: idle ones are closed first.
func newConnGet(t *testing.T, e *env, tr *transport.Transport, path string) (echo, transport.ConnInfo) {
	t.Helper()
	tr.CloseIdleConnections()
	got, info := get(t, tr, nil, e.srv.URL+path)
	if info.Reused {
		t.Fatalf("GET %s reused a connection", path)
	}
	return got, info
}

// fromAddr returns the address a request arrived from.
func fromAddr(got echo) string {
	host, _, _ := net.SplitHostPort(got.Remote)
	return host
}

// TestRotatingGatewayWithProbe drives a gateway that changes its exit
// address under one credential (127.0.0.2, then 127.0.0.3, then back).
// With the exit probe, a ticket issued to one address is never offered
// from the other, and the first address's tickets come back into use when
// it returns. Without the probe the same gateway makes tickets cross
// addresses, which the server sees; that is what the probe is for.
func TestRotatingGatewayWithProbe(t *testing.T) {
	for _, probe := range []bool{true, false} {
		t.Run(fmt.Sprintf("probe=%v", probe), func(t *testing.T) {
			e := newIdentityEnv(t)
			gw := proxytest.NewSOCKS5(t, &proxytest.Options{User: "rot", Password: "pw", Egress: "127.0.0.2"})
			cfg := transport.Config{Proxies: []*url.URL{mustURL(t, gw.URL("rot", "pw"))}, RefusalLimit: 100}
			if probe {
				cfg.ExitProbe = e.srv.URL + "/ip"
			}
			tr := e.transport(t, cfg)

			phase := func(egress string, n int) (offered, resumed int) {
				if err := gw.SetEgress(egress); err != nil {
					t.Fatal(err)
				}
				for i := range n {
					got, info := newConnGet(t, e, tr, fmt.Sprintf("/%s/%d", egress, i))
					if fromAddr(got) != egress {
						t.Fatalf("request arrived from %s, want %s", fromAddr(got), egress)
					}
					if probe && info.ExitIP != egress {
						t.Errorf("connection's observed exit %q, want %s", info.ExitIP, egress)
					}
					if info.PSKOffered {
						offered++
					}
					if info.Resumed {
						resumed++
					}
				}
				return offered, resumed
			}
			_, r1 := phase("127.0.0.2", 3)
			o2, _ := phase("127.0.0.3", 3)
			_, r3 := phase("127.0.0.2", 2)
			crossed := e.srv.Crossed()
			t.Logf("resumed from .2: %d; offered from .3: %d; resumed back on .2: %d; tickets crossed: %d",
				r1, o2, r3, crossed)
			if !probe {
				if crossed == 0 {
					t.Fatal("without the probe no ticket crossed: the gateway did not rotate")
				}
				return
			}
			if crossed != 0 {
				t.Fatalf("%d tickets were offered from another address than they were issued to", crossed)
			}
			if r1 != 2 || r3 != 2 {
				t.Errorf("resumed %d of 3 connections from .2, then %d of 2 after it returned; want 2 and 2", r1, r3)
			}
			ids := tr.Identities()
			if len(ids) != 2 || ids[0].IP != "127.0.0.2" || ids[1].IP != "127.0.0.3" {
				t.Fatalf("identities %+v, want one per observed address", ids)
			}
		})
	}
}

// TestDeclaredRotatingNeverOffers: through a proxy declared rotating no
// ticket is offered, even when the server hands some out.
func TestDeclaredRotatingNeverOffers(t *testing.T) {
	e := newIdentityEnv(t)
	gw := proxytest.NewSOCKS5(t, &proxytest.Options{Egress: "127.0.0.2"})
	px := mustURL(t, gw.URL("", ""))
	tr := e.transport(t, transport.Config{Proxies: []*url.URL{px},
		Rotating: func(u *url.URL) bool { return u.String() == px.String() }})
	for i := range 4 {
		if _, info := newConnGet(t, e, tr, fmt.Sprintf("/%d", i)); info.PSKOffered {
			t.Fatalf("connection %d through a rotating proxy offered a ticket", i)
		}
	}
	ids := tr.Identities()
	if len(ids) != 1 || !ids[0].Rotating || ids[0].NewConns != 4 {
		t.Fatalf("identities %+v", ids)
	}
	list, err := e.store.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("the store holds %d partitions, want none for a rotating proxy", len(list))
	}
}

// TestRefusedTicketsPause: a gateway changes its exit on every
// connection and was not declared rotating, and no probe tells: the
// server refuses every ticket, each issued to the other address. After
// RefusalLimit refusals in a row the identity offers none for a while, so
// the server sees no more than that many foreign tickets.
func TestRefusedTicketsPause(t *testing.T) {
	e := newIdentityEnv(t)
	gw := proxytest.NewSOCKS5(t, &proxytest.Options{Egress: "127.0.0.2"})
	tr := e.transport(t, transport.Config{Proxies: []*url.URL{mustURL(t, gw.URL("", ""))},
		RefusalLimit: 2, RefusalPause: time.Hour})
	for i := range 8 {
		gw.SetEgress([]string{"127.0.0.2", "127.0.0.3"}[i%2])
		newConnGet(t, e, tr, fmt.Sprintf("/%d", i))
	}
	ids := tr.Identities()
	if len(ids) != 1 {
		t.Fatalf("identities %+v", ids)
	}
	id := ids[0]
	t.Logf("%+v; crossed %d", id, e.srv.Crossed())
	if id.Refused != 2 || e.srv.Crossed() != 2 {
		t.Errorf("%d tickets refused, %d seen crossing; want 2 and 2, then no more offers", id.Refused, e.srv.Crossed())
	}
	if !id.NoTicketsUntil.After(time.Now().Add(50 * time.Minute)) {
		t.Errorf("tickets paused until %v, want about an hour from now", id.NoTicketsUntil)
	}
}

// TestRetireMovesToOtherExits: retiring the identity a host's requests go
// through sends them through the pool's next exit; with every exit
// retired requests fail with ErrAllRetired.
func TestRetireMovesToOtherExits(t *testing.T) {
	e := newIdentityEnv(t)
	var pool []*url.URL
	for _, egress := range []string{"127.0.0.2", "127.0.0.3"} {
		pool = append(pool, mustURL(t, proxytest.NewSOCKS5(t, &proxytest.Options{Egress: egress}).URL("", "")))
	}
	tr := e.transport(t, transport.Config{Proxies: pool})
	retire := func() string {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/x", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		info, _ := transport.Info(resp)
		if !tr.Retire(resp, time.Hour) {
			t.Fatal("Retire refused a response of this transport")
		}
		return info.Exit
	}
	first := retire()
	second := retire()
	if first == second {
		t.Fatalf("after retiring %s the next request went through it again", first)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/x", nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, transport.ErrAllRetired) {
		t.Fatalf("with both exits retired: %v, want ErrAllRetired", err)
	}
	blocks := 0
	for _, id := range tr.Identities() {
		blocks += int(id.Blocks)
		if id.RetiredUntil.IsZero() {
			t.Errorf("identity %s not retired", id.Exit)
		}
	}
	if blocks != 2 {
		t.Errorf("%d blocks counted, want 2", blocks)
	}
	// A request pinned to an exit still goes there.
	got, _ := get(t, tr, transport.WithProxy(context.Background(), pool[0]), e.srv.URL+"/pinned")
	if fromAddr(got) != "127.0.0.2" {
		t.Errorf("pinned request arrived from %s", fromAddr(got))
	}
}

// TestCookiesPerIdentity: a cookie set through one exit is sent back
// through that exit only, survives a restart with the store, and a
// request with a Cookie header of its own gets none added.
func TestCookiesPerIdentity(t *testing.T) {
	e := newIdentityEnv(t)
	pa := mustURL(t, proxytest.NewSOCKS5(t, &proxytest.Options{Egress: "127.0.0.2"}).URL("", ""))
	pb := mustURL(t, proxytest.NewSOCKS5(t, &proxytest.Options{Egress: "127.0.0.3"}).URL("", ""))
	via := func(p *url.URL) context.Context { return transport.WithProxy(context.Background(), p) }
	tr := e.transport(t, transport.Config{Cookies: true})

	get(t, tr, via(pa), e.srv.URL+"/set?visitor=alpha")
	got, _ := get(t, tr, via(pa), e.srv.URL+"/page")
	if c := got.Header.Get("Cookie"); c != "visitor=alpha" {
		t.Fatalf("through exit A the server got Cookie %q, want visitor=alpha", c)
	}
	got, _ = get(t, tr, via(pb), e.srv.URL+"/page")
	if c := got.Header.Get("Cookie"); c != "" {
		t.Fatalf("through exit B the server got A's cookie: %q", c)
	}
	get(t, tr, via(pb), e.srv.URL+"/set?visitor=bravo")

	// A restart: a new transport over the reopened store.
	tr.Close()
	e.store.Close()
	e.openStore(t)
	tr = e.transport(t, transport.Config{Cookies: true})
	for p, want := range map[*url.URL]string{pa: "visitor=alpha", pb: "visitor=bravo"} {
		got, _ := get(t, tr, via(p), e.srv.URL+"/again")
		if c := got.Header.Get("Cookie"); c != want {
			t.Errorf("after the restart the server got Cookie %q through %s, want %q", c, p.Host, want)
		}
	}
	list, err := e.store.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.Cookies != 1 {
			t.Errorf("partition %s lists %d cookies, want 1", p.Label, p.Cookies)
		}
	}

	req, _ := http.NewRequestWithContext(via(pa), http.MethodGet, e.srv.URL+"/own", nil)
	req.Header.Set("Cookie", "mine=1")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if body := readAll(t, resp); !strings.Contains(body, `"Cookie":["mine=1"]`) {
		t.Errorf("a request with its own Cookie header: server saw %s", body)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
