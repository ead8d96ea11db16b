package nginxtest_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/nginxtest"
)

// Examples have no test to hand to Start and need nginx, so they are only
// compiled; t stands for the *testing.T of the test using the server.

func ExampleStart() {
	var t testing.TB
	s := nginxtest.Start(t, &nginxtest.Options{MaxConcurrentStreams: 4})
	os.WriteFile(filepath.Join(s.Root(), "page.html"), []byte("<p>hi</p>"), 0o600)

	// ... fetch s.URL()+"/page.html" with the client under test, trusting
	// s.CA().Pool, then check what nginx saw:
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reqs, err := s.WaitRequests(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := reqs[0]; r.Proto != "HTTP/2.0" || r.Status != 200 {
		t.Errorf("nginx saw %s with status %d, want HTTP/2.0 and 200", r.Proto, r.Status)
	}
}

func ExampleServer_Restart() {
	var t testing.TB
	s := nginxtest.Start(t, nil)
	cfg := &tls.Config{
		RootCAs:            s.CA().Pool,
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	// A full handshake; the client caches the session ticket.
	if resp, err := client.Get(s.URL() + "/"); err == nil {
		resp.Body.Close()
	}

	// The same ticket key is loaded again, so the ticket stays good.
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	client.CloseIdleConnections()
	resp, err := client.Get(s.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !resp.TLS.DidResume {
		t.Error("no resumption after the restart")
	}
}
