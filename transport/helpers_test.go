package transport_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

// echo is what the test handler answers: what the server saw.
type echo struct {
	Proto   string
	Resumed bool
	Remote  string
	Header  http.Header
}

func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		json.NewEncoder(w).Encode(echo{
			Proto:   r.Proto,
			Resumed: r.TLS != nil && r.TLS.DidResume,
			Remote:  r.RemoteAddr,
			Header:  r.Header,
		})
	})
}

type env struct {
	ca    *tlstest.CA
	srv   *tlstest.HTTPServer
	store *ticketstore.Store
	path  string
}

func newEnv(t testing.TB, opts *tlstest.HTTPOptions) *env {
	t.Helper()
	ca := tlstest.NewCA(t)
	e := &env{ca: ca, srv: tlstest.NewHTTPServer(t, ca, echoHandler(), opts)}
	e.path = filepath.Join(t.TempDir(), "tickets.db")
	e.openStore(t)
	return e
}

func (e *env) openStore(t testing.TB) {
	t.Helper()
	st, err := ticketstore.Open(e.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	t.Cleanup(func() { st.Close() })
}

func (e *env) transport(t testing.TB, cfg transport.Config) *transport.Transport {
	t.Helper()
	if cfg.Tickets == nil {
		cfg.Tickets = e.store
	}
	if cfg.RootCAs == nil {
		cfg.RootCAs = e.ca.Pool
	}
	tr, err := transport.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// get fetches url and returns what the server echoed and the connection
// facts.
func get(t testing.TB, tr http.RoundTripper, ctx context.Context, url string) (echo, transport.ConnInfo) {
	t.Helper()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	info, ok := transport.Info(resp)
	if !ok {
		t.Fatal("response carries no connection facts")
	}
	if resp.TLS == nil {
		t.Error("resp.TLS is nil")
	}
	var e echo
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("decode echo: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	return e, info
}

var tls13 = &tls.Config{MinVersion: tls.VersionTLS13}

// alternateExits sends 4 rounds of 6 requests at once, alternating between
// the exits (proxy URLs keyed by the address their traffic leaves from),
// with idle connections closed between rounds so that each round
// handshakes again. Each request must reach the server from its exit's
// address and carry the exit's label without the password. It fails the
// test if a ticket crossed exits (the server must tie tickets to client
// addresses) or if an exit never resumed, and returns the resumed
// handshakes per exit.
func alternateExits(t *testing.T, e *env, tr *transport.Transport, exits map[string]*url.URL) map[string]int {
	t.Helper()
	egresses := slices.Sorted(maps.Keys(exits))
	var mu sync.Mutex
	resumed := map[string]int{}
	for round := range 4 {
		var wg sync.WaitGroup
		for i := range 6 {
			egress := egresses[i%len(egresses)]
			wg.Go(func() {
				px := exits[egress]
				ctx := transport.WithProxy(context.Background(), px)
				got, info := get(t, tr, ctx, e.srv.URL+fmt.Sprintf("/r%d/%d", round, i))
				if host, _, _ := net.SplitHostPort(got.Remote); host != egress {
					t.Errorf("request for exit %s arrived from %s", egress, host)
				}
				if want := px.Scheme + "://" + px.User.Username() + "@" + px.Host; info.Exit != want {
					t.Errorf("exit label %q, want %q", info.Exit, want)
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
	for _, egress := range egresses {
		if resumed[egress] == 0 {
			t.Fatalf("resumed handshakes per exit = %v, want some on each", resumed)
		}
	}
	return resumed
}

// checkAuthRefused sends a request to target through the proxy at addr
// with each pair of credentials, which it must refuse: the error is
// ErrProxyAuth and names the proxy and the user, never the password.
func checkAuthRefused(t *testing.T, tr *transport.Transport, target, addr string,
	proxyURL func(user, pass string) string, creds ...[2]string) {
	t.Helper()
	for _, c := range creds {
		user, pass := c[0], c[1]
		ctx := transport.WithProxy(context.Background(), mustURL(t, proxyURL(user, pass)))
		_, err := tr.RoundTrip(withContext(mustReq(t, target), ctx))
		if !errors.Is(err, transport.ErrProxyAuth) {
			t.Fatalf("credentials %q: error = %v, want ErrProxyAuth", user, err)
		}
		msg := err.Error()
		if strings.Contains(msg, "password") || (pass != "" && strings.Contains(msg, pass)) ||
			!strings.Contains(msg, addr) || (user != "" && !strings.Contains(msg, user)) {
			t.Errorf("error %q should name the proxy and user, never the password", msg)
		}
	}
}
