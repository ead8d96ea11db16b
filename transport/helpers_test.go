package transport_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
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
