package nginxtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// h2Client returns a client that trusts s's CA and prefers HTTP/2.
func h2Client(t testing.TB, s *Server) *http.Client {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: s.CA().Pool},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// fetch does one request and returns the response with its body read.
func fetch(t testing.TB, c *http.Client, method, url string,
	body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, b
}

// tlsGet makes a new TLS connection with cfg to addr, sends one HTTP/1.1
// request for path on it and reads the response (which also takes in the
// TLS 1.3 tickets). It returns whether the handshake resumed and the
// client's address.
func tlsGet(t testing.TB, addr string, cfg *tls.Config, path string) (resumed bool, local string) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("tls.Dial(%s): %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path)
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return c.ConnectionState().DidResume, c.LocalAddr().String()
}

// logged waits for the access log line of the request made from local.
func logged(t testing.TB, s *Server, local string) Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, r := range s.Requests() {
			if r.RemoteAddr == local {
				return r
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no access log line from %s; log holds %+v", local, s.Requests())
		case <-tick.C:
		}
	}
}

// waitRequests is WaitRequests with a deadline, failing t on timeout.
func waitRequests(t testing.TB, s *Server, n int) []Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reqs, err := s.WaitRequests(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return reqs
}
