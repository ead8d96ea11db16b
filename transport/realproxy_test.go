package transport_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/realproxy"
	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/transport"
)

// The tests in this file run the transport through proxies from the
// operating system (internal/realproxy), not through proxies written for
// the tests.

// startReal starts the named proxy program.
func startReal(t testing.TB, program string, opts *realproxy.Options) *realproxy.Proxy {
	t.Helper()
	switch program {
	case "microsocks":
		return realproxy.NewMicrosocks(t, opts)
	case "tinyproxy":
		return realproxy.NewTinyproxy(t, opts)
	}
	t.Fatalf("unknown proxy program %q", program)
	return nil
}

var realPrograms = []string{"microsocks", "tinyproxy"}

// TestRealProxyExitsNeverShareTickets is TestExitsNeverShareTickets with
// real proxies as the exits: the server ties every ticket to the address
// it was issued to, the exits leave from 127.0.0.2 and 127.0.0.3, and
// requests alternate between them, at once, with connections closed
// between rounds so that each round handshakes again.
func TestRealProxyExitsNeverShareTickets(t *testing.T) {
	const user, pass = "alice", "real-s3cret"
	egresses := []string{"127.0.0.2", "127.0.0.3"}
	tests := []struct {
		name     string
		programs [2]string // leaving from 127.0.0.2 and 127.0.0.3
	}{
		{"two microsocks", [2]string{"microsocks", "microsocks"}},
		{"two tinyproxy", [2]string{"tinyproxy", "tinyproxy"}},
		{"microsocks and tinyproxy", [2]string{"microsocks", "tinyproxy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, &tlstest.HTTPOptions{TieTicketsToIP: true})
			exits := map[string]*url.URL{}
			for i, egress := range egresses {
				opts := &realproxy.Options{User: user, Password: pass, Egress: egress}
				exits[egress] = mustURL(t, startReal(t, tc.programs[i], opts).URL(user, pass))
			}
			tr := e.transport(t, transport.Config{})
			resumed := alternateExits(t, e, tr, exits)
			t.Logf("resumed handshakes per exit: %v; crossed: 0", resumed)
		})
	}
}

// TestRealProxyRefusesCredentials sends wrong and missing credentials to
// real proxies: the error is ErrProxyAuth, names the proxy and the user,
// and never shows a password.
func TestRealProxyRefusesCredentials(t *testing.T) {
	e := newEnv(t, nil)
	for _, program := range realPrograms {
		t.Run(program, func(t *testing.T) {
			p := startReal(t, program, &realproxy.Options{User: "alice", Password: "right-password"})
			tr := e.transport(t, transport.Config{})
			checkAuthRefused(t, tr, e.srv.URL, p.Addr(), p.URL, [2]string{"alice", "wrong-password"},
				[2]string{"bob", "right-password"}, [2]string{"", ""})
			ctx := transport.WithProxy(context.Background(), mustURL(t, p.URL("alice", "right-password")))
			if got, _ := get(t, tr, ctx, e.srv.URL); !strings.HasPrefix(got.Remote, "127.0.0.1:") {
				t.Errorf("with the right credentials the server saw %s", got.Remote)
			}
		})
	}
}

// TestRealProxyKilledMidTransfer kills the proxy process while a response
// is streaming through it: reading the body fails instead of hanging, a
// request while the proxy is down fails at once, and once the proxy is
// back on its address the exit works again and resumes its session.
func TestRealProxyKilledMidTransfer(t *testing.T) {
	const user, pass = "alice", "kill-s3cret"
	for _, program := range realPrograms {
		t.Run(program, func(t *testing.T) {
			e, release := newStreamEnv(t)
			p := startReal(t, program, &realproxy.Options{User: user, Password: pass, Egress: "127.0.0.2"})
			tr := e.transport(t, transport.Config{})
			ctx := transport.WithProxy(context.Background(), mustURL(t, p.URL(user, pass)))
			get(t, tr, ctx, e.srv.URL+"/before")

			// The deadline only bounds a hang; the read must end long before.
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			resp, err := tr.RoundTrip(withContext(mustReq(t, e.srv.URL+"/stream"), sctx))
			if err != nil {
				t.Fatalf("GET /stream: %v", err)
			}
			defer resp.Body.Close()
			if _, err := io.ReadFull(resp.Body, make([]byte, streamChunk)); err != nil {
				t.Fatalf("reading the first chunk: %v", err)
			}
			p.Kill()
			_, err = io.Copy(io.Discard, resp.Body)
			switch {
			case err == nil:
				t.Fatal("the body ended cleanly after the proxy was killed")
			case sctx.Err() != nil:
				t.Fatalf("reading the body hung until the deadline: %v", err)
			}
			t.Logf("%s killed mid-body: %v", program, err)
			release()

			// Nothing listens on the proxy's address now.
			dctx, dcancel := context.WithTimeout(ctx, 20*time.Second)
			defer dcancel()
			_, err = tr.RoundTrip(withContext(mustReq(t, e.srv.URL+"/down"), dctx))
			if !errors.Is(err, transport.ErrProxy) || dctx.Err() != nil {
				t.Fatalf("request through the dead proxy: %v, want ErrProxy at once", err)
			}
			if msg := err.Error(); !strings.Contains(msg, p.Addr()) || strings.Contains(msg, pass) {
				t.Errorf("error %q should name the proxy, never the password", msg)
			}

			if err := p.Restart(); err != nil {
				t.Fatal(err)
			}
			got, info := get(t, tr, ctx, e.srv.URL+"/after")
			if host, _, _ := net.SplitHostPort(got.Remote); host != "127.0.0.2" {
				t.Errorf("after the restart the server saw %s, want 127.0.0.2", got.Remote)
			}
			if info.Reused || !info.Resumed {
				t.Errorf("after the restart: %+v, want a new connection resuming the exit's session", info)
			}
			if n := e.srv.Crossed(); n != 0 {
				t.Errorf("%d tickets crossed exits", n)
			}
		})
	}
}

const streamChunk = 1 << 10

// newStreamEnv is newEnv with tickets tied to IPs, whose server also
// answers /stream with one chunk and then holds the response open until
// the client goes away or release is called.
func newStreamEnv(t testing.TB) (e *env, release func()) {
	t.Helper()
	released := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(released) }) }
	mux := http.NewServeMux()
	mux.Handle("/", echoHandler())
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, streamChunk))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-released:
		}
	})
	ca := tlstest.NewCA(t)
	e = &env{ca: ca, srv: tlstest.NewHTTPServer(t, ca, mux, &tlstest.HTTPOptions{TieTicketsToIP: true})}
	// Registered after the server, so it runs before the server waits for
	// its handlers.
	t.Cleanup(release)
	e.path = filepath.Join(t.TempDir(), "tickets.db")
	e.openStore(t)
	return e, release
}

// TestProxy401IsAuthError answers CONNECT the way tinyproxy 1.11.1 answers
// wrong credentials, with 401 and WWW-Authenticate; the transport reports
// it as ErrProxyAuth like a 407. It needs no proxy program.
func TestProxy401IsAuthError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Tinyproxy\"\r\n"+
			"Connection: close\r\n\r\n")
	})
	defer wg.Wait()
	defer ln.Close()

	ca := tlstest.NewCA(t)
	tr, err := transport.New(transport.Config{RootCAs: ca.Pool})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	proxy := mustURL(t, "http://alice:wrong-password@"+ln.Addr().String())
	ctx := transport.WithProxy(context.Background(), proxy)
	_, err = tr.RoundTrip(withContext(mustReq(t, "https://localhost:1/"), ctx))
	if !errors.Is(err, transport.ErrProxyAuth) || strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("CONNECT answered 401: error = %v, want ErrProxyAuth without the password", err)
	}
}
