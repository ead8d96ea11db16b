package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
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

			var mu sync.Mutex
			resumed := map[string]int{}
			for round := range 4 {
				var wg sync.WaitGroup
				for i := range 6 {
					egress := []string{"127.0.0.2", "127.0.0.3"}[i%2]
					wg.Go(func() {
						ctx := transport.WithProxy(context.Background(), exits[egress])
						got, info := get(t, tr, ctx, e.srv.URL+fmt.Sprintf("/r%d/%d", round, i))
						host, _, _ := net.SplitHostPort(got.Remote)
						if host != egress {
							t.Errorf("request for exit %s arrived from %s", egress, host)
						}
						if strings.Contains(info.Exit, "s3cret") {
							t.Errorf("exit label shows the password: %s", info.Exit)
						}
						mu.Lock()
						if info.Resumed && !info.Reused {
							resumed[egress]++
						}
						mu.Unlock()
					})
				}
				wg.Wait()
				tr.CloseIdleConnections()
			}
			if n := e.srv.Crossed(); n != 0 {
				t.Fatalf("%d tickets crossed exits", n)
			}
			if resumed["127.0.0.2"] == 0 || resumed["127.0.0.3"] == 0 {
				t.Fatalf("resumed handshakes per exit = %v, want some on both", resumed)
			}
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
			for _, creds := range []struct{ user, pass string }{{"alice", "wrong-password"}, {"", ""}} {
				ctx := transport.WithProxy(context.Background(), mustURL(t, p.URL(creds.user, creds.pass)))
				_, err := tr.RoundTrip(withContext(mustReq(t, "https://localhost:1/"), ctx))
				if !errors.Is(err, transport.ErrProxyAuth) {
					t.Fatalf("credentials %q: error = %v, want ErrProxyAuth", creds.user, err)
				}
				msg := err.Error()
				if strings.Contains(msg, "password") || !strings.Contains(msg, p.Addr()) ||
					(creds.user != "" && !strings.Contains(msg, creds.user)) {
					t.Errorf("error %q should name the proxy and user, never the password", msg)
				}
			}
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
