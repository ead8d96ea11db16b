package transport_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/revisit-crawl/revisit/internal/proxytest"
	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/transport"
)

// TestExitsNeverShareTickets runs requests through two proxies whose
// traffic leaves from 127.0.0.2 and 127.0.0.3, against a server that ties
// every ticket to the address it was issued to and counts tickets
// presented from elsewhere. Requests alternate between the exits, at once,
// with connections closed between rounds so that each round handshakes
// again.
func TestExitsNeverShareTickets(t *testing.T) {
	for _, kind := range []string{"socks5", "http", "https"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, &tlstest.HTTPOptions{TieTicketsToIP: true})
			newProxy := func(egress string) *proxytest.Proxy {
				opts := &proxytest.Options{User: "alice", Password: "s3cret", Egress: egress}
				switch kind {
				case "socks5":
					return proxytest.NewSOCKS5(t, opts)
				case "https":
					opts.Certificate = &e.ca.Leaf
				}
				return proxytest.NewHTTP(t, opts)
			}
			exits := map[string]*url.URL{}
			for _, egress := range []string{"127.0.0.2", "127.0.0.3"} {
				exits[egress] = mustURL(t, newProxy(egress).URL("alice", "s3cret"))
			}
			tr := e.transport(t, transport.Config{})
			alternateExits(t, e, tr, exits)
		})
	}
}

func TestProxyRefusesCredentials(t *testing.T) {
	ca := tlstest.NewCA(t)
	for _, kind := range []string{"socks5", "http"} {
		t.Run(kind, func(t *testing.T) {
			opts := &proxytest.Options{User: "alice", Password: "right-password"}
			var p *proxytest.Proxy
			if kind == "socks5" {
				p = proxytest.NewSOCKS5(t, opts)
			} else {
				p = proxytest.NewHTTP(t, opts)
			}
			tr, _ := transport.New(transport.Config{RootCAs: ca.Pool})
			defer tr.Close()
			checkAuthRefused(t, tr, "https://localhost:1/", p.Addr(), p.URL,
				[2]string{"alice", "wrong-password"}, [2]string{"", ""})
		})
	}
}

func TestProxyDiesMidStream(t *testing.T) {
	e := newEnv(t, &tlstest.HTTPOptions{H1Only: true})
	p := proxytest.NewSOCKS5(t, nil)
	tr := e.transport(t, transport.Config{})
	ctx := transport.WithProxy(context.Background(), mustURL(t, p.URL("", "")))
	get(t, tr, ctx, e.srv.URL)
	if p.KillAll() == 0 {
		t.Fatal("no tunnel to kill")
	}
	// The pooled connection is dead: the transport notices and retries a
	// GET on a new tunnel.
	_, info := get(t, tr, ctx, e.srv.URL)
	if info.Reused {
		t.Fatalf("request after the proxy dropped its tunnels rode a dead connection: %+v", info)
	}
}
