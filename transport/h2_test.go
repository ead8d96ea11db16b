package transport_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/transport"
)

// h2Site serves the handlers the HTTP/2 behaviour tests need, over Go's
// HTTP/2 server.
type h2Site struct {
	ca  *tlstest.CA
	srv *tlstest.HTTPServer
	// inFlight and peak count the requests the handler runs at once.
	inFlight, peak atomic.Int64
	// release unblocks /block requests; canceled counts those whose
	// context ended.
	release  chan struct{}
	canceled atomic.Int64
}

func newH2Site(t *testing.T, h2 *http2.Server) *h2Site {
	t.Helper()
	s := &h2Site{ca: tlstest.NewCA(t), release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/bytes/{n}", s.bytes)
	mux.HandleFunc("/sha", s.sha)
	mux.HandleFunc("/slow", s.slow)
	mux.HandleFunc("/block", s.block)
	mux.HandleFunc("/trailers", s.trailers)
	mux.HandleFunc("/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	s.srv = tlstest.NewHTTPServer(t, s.ca, mux, &tlstest.HTTPOptions{H2: h2})
	return s
}

// payload returns n bytes that depend on n only.
func payload(n int) []byte {
	var seed [32]byte
	seed[0], seed[1], seed[2] = byte(n), byte(n>>8), byte(n>>16)
	b := make([]byte, n)
	rand.NewChaCha8(seed).Read(b)
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (s *h2Site) bytes(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.Write(payload(n))
}

// sha answers the SHA-256 of the request body and its trailers.
func (s *h2Site) sha(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%d %x %s", n, h.Sum(nil), r.Trailer.Get("X-Check"))
}

// slow counts concurrent requests and answers after a short wait.
func (s *h2Site) slow(w http.ResponseWriter, r *http.Request) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(5 * time.Millisecond)
	io.WriteString(w, "ok")
}

func (s *h2Site) block(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	select {
	case <-s.release:
	case <-r.Context().Done():
		s.canceled.Add(1)
	}
}

func (s *h2Site) trailers(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Trailer", "X-Sum")
	body := payload(100000)
	w.Write(body)
	w.Header().Set("X-Sum", sum(body))
}

func (s *h2Site) transport(t *testing.T, cfg transport.Config) *transport.Transport {
	t.Helper()
	cfg.RootCAs = s.ca.Pool
	tr, err := transport.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func do(t *testing.T, tr http.RoundTripper, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("%s %s went over %s, want HTTP/2", req.Method, req.URL, resp.Proto)
	}
	return resp, body
}

func newReq(t *testing.T, ctx context.Context, method, url string, body []byte) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestH2LargeDownload reads bodies larger than the stream and connection
// receive windows, so the client must give credit back as it reads.
func TestH2LargeDownload(t *testing.T) {
	s := newH2Site(t, nil)
	tr := s.transport(t, transport.Config{})
	for _, n := range []int{0, 1, 16384, 16385, 20 << 20} {
		_, body := do(t, tr, newReq(t, t.Context(), "GET", s.srv.URL+"/bytes/"+strconv.Itoa(n), nil))
		if len(body) != n || sum(body) != sum(payload(n)) {
			t.Errorf("GET /bytes/%d: got %d bytes, sha %s, want %d bytes, sha %s",
				n, len(body), sum(body)[:8], n, sum(payload(n))[:8])
		}
	}
}

// TestH2LargeUpload sends bodies larger than the server's windows, of
// known and unknown length, with trailers.
func TestH2LargeUpload(t *testing.T) {
	s := newH2Site(t, nil)
	tr := s.transport(t, transport.Config{})
	for _, tc := range []struct {
		name    string
		n       int
		known   bool
		trailer bool
	}{
		{"empty", 0, true, false},
		{"small", 1000, true, false},
		{"big", 6 << 20, true, false},
		{"big-unknown-length", 3 << 20, false, false},
		{"trailers", 300000, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := payload(tc.n)
			req := newReq(t, t.Context(), "POST", s.srv.URL+"/sha", data)
			if !tc.known {
				req.Body = io.NopCloser(bytes.NewReader(data))
				req.ContentLength = -1
			}
			want := fmt.Sprintf("%d %s ", tc.n, sum(data))
			if tc.trailer {
				req.Trailer = http.Header{"X-Check": {"yes"}}
				want += "yes"
			}
			_, body := do(t, tr, req)
			if string(body) != want {
				t.Errorf("POST /sha = %q, want %q", body, want)
			}
		})
	}
}

// TestH2ConcurrentStreams sends many requests at once over one connection
// to a server that allows 8 streams: all succeed, and the server never
// runs more than 8 at a time.
func TestH2ConcurrentStreams(t *testing.T) {
	s := newH2Site(t, &http2.Server{MaxConcurrentStreams: 8})
	tr := s.transport(t, transport.Config{MaxConnsPerHost: 1})
	var conns sync.Map
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Go(func() {
			req := newReq(t, t.Context(), "GET", fmt.Sprintf("%s/slow?i=%d", s.srv.URL, i), nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || string(b) != "ok" {
				errs <- fmt.Errorf("body %q, %v", b, err)
				return
			}
			if resp.TLS != nil {
				conns.Store(string(resp.TLS.TLSUnique), true)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := s.peak.Load(); p > 8 || p < 2 {
		t.Errorf("server ran %d requests at once, want 2 to 8", p)
	}
	if hs := len(s.srv.Hellos()); hs != 1 {
		t.Errorf("%d connections were made, want 1", hs)
	}
}

// TestH2Trailers reads response trailers after the body.
func TestH2Trailers(t *testing.T) {
	s := newH2Site(t, nil)
	tr := s.transport(t, transport.Config{})
	resp, body := do(t, tr, newReq(t, t.Context(), "GET", s.srv.URL+"/trailers", nil))
	if got, want := resp.Trailer.Get("X-Sum"), sum(body); got != want {
		t.Errorf("trailer X-Sum = %q, want %q", got, want)
	}
}

// TestH2CancelAndClose ends streams early, by context and by closing the
// body, and checks that the server saw them reset and that the connection
// still serves requests.
func TestH2CancelAndClose(t *testing.T) {
	s := newH2Site(t, nil)
	tr := s.transport(t, transport.Config{})

	ctx, cancel := context.WithCancel(t.Context())
	resp, err := tr.RoundTrip(newReq(t, ctx, "GET", s.srv.URL+"/block", nil))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
	resp.Body.Close()

	// A canceled request that is still waiting for its head.
	ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := tr.RoundTrip(newReq(t, ctx, "GET", s.srv.URL+"/bytes/1?wait", nil)); err != nil {
		t.Fatalf("quick request: %v", err)
	}

	// Closing a big body half read resets its stream.
	resp, err = tr.RoundTrip(newReq(t, t.Context(), "GET", s.srv.URL+"/bytes/"+strconv.Itoa(30<<20), nil))
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(io.Discard, resp.Body, 1000)
	resp.Body.Close()

	waitFor(t, "server to see the reset", func() bool { return s.canceled.Load() == 1 })
	resp, _ = do(t, tr, newReq(t, t.Context(), "GET", s.srv.URL+"/bytes/10", nil))
	if info, _ := transport.Info(resp); !info.Reused {
		t.Error("the connection was not reused after streams were reset")
	}
	if hs := len(s.srv.Hellos()); hs != 1 {
		t.Errorf("%d connections were made, want 1", hs)
	}
}

// TestH2ServerReset gets a stream reset by the server mid-response.
func TestH2ServerReset(t *testing.T) {
	s := newH2Site(t, nil)
	tr := s.transport(t, transport.Config{})
	_, err := tr.RoundTrip(newReq(t, t.Context(), "GET", s.srv.URL+"/abort", nil))
	var se http2.StreamError
	if !errors.As(err, &se) || se.Code != http2.ErrCodeInternal {
		t.Fatalf("GET /abort: %v, want a stream error INTERNAL_ERROR", err)
	}
	if !strings.Contains(err.Error(), "reset") {
		t.Errorf("error %q does not say the stream was reset", err)
	}
	do(t, tr, newReq(t, t.Context(), "GET", s.srv.URL+"/bytes/5", nil))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
