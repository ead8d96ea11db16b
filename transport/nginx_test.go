package transport_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/nginxtest"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

// The HTTP/2 client against a server that is not Go's: Debian's nginx.
// These tests skip where nginx is missing, and fail there when
// REVISIT_INTEGRATION=1 (as .ci/run sets it).

func nginxTransport(t *testing.T, srv *nginxtest.Server, cfg transport.Config) *transport.Transport {
	t.Helper()
	cfg.RootCAs = srv.CA().Pool
	tr, err := transport.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestNginxH2Transfers downloads and uploads bodies larger than every
// flow-control window, for each profile.
func TestNginxH2Transfers(t *testing.T) {
	srv := nginxtest.Start(t, nil)
	big := payload(20 << 20)
	if err := os.WriteFile(filepath.Join(srv.Root(), "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range transport.Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			tr := nginxTransport(t, srv, transport.Config{Profile: p})
			_, body := do(t, tr, newReq(t, t.Context(), "GET", srv.URL()+"/big", nil))
			if !bytes.Equal(body, big) {
				t.Fatalf("GET /big: %d bytes, sha %s; want %d bytes", len(body), sum(body)[:8], len(big))
			}
			up := payload(7 << 20)
			resp, _ := do(t, tr, newReq(t, t.Context(), "PUT", srv.URL()+"/upload/"+p.Name, up))
			if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PUT: status %d", resp.StatusCode)
			}
			_, back := do(t, tr, newReq(t, t.Context(), "GET", srv.URL()+"/upload/"+p.Name, nil))
			if !bytes.Equal(back, up) {
				t.Errorf("uploaded %d bytes, read back %d (sha %s, want %s)", len(up), len(back), sum(back)[:8], sum(up)[:8])
			}
		})
	}
}

// TestNginxH2StreamsAndGoAway sends many requests at once to an nginx
// that allows 4 streams per connection and 10 requests per connection
// (after which it sends GOAWAY): every request succeeds.
func TestNginxH2StreamsAndGoAway(t *testing.T) {
	srv := nginxtest.Start(t, &nginxtest.Options{MaxConcurrentStreams: 4, KeepaliveRequests: 10})
	if err := os.WriteFile(filepath.Join(srv.Root(), "page"), payload(30000), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := nginxTransport(t, srv, transport.Config{MaxConnsPerHost: 2})
	const n = 100
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req := newReq(t, t.Context(), "GET", srv.URL()+"/page?i="+strconv.Itoa(i), nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(b) != 30000 {
				t.Errorf("request %d: %d bytes, %v", i, len(b), err)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	reqs, err := srv.WaitRequests(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	conns := map[uint64]int{}
	for _, r := range reqs {
		if r.Proto != "HTTP/2.0" {
			t.Errorf("request %s went over %s", r.URI, r.Proto)
		}
		conns[r.Conn]++
	}
	for c, k := range conns {
		if k > 10 {
			t.Errorf("connection %d carried %d requests, over nginx's limit of 10", c, k)
		}
	}
	if len(conns) < n/10 {
		t.Errorf("%d connections for %d requests, want at least %d", len(conns), n, n/10)
	}
}

// TestNginxResumption: nginx accepts the tickets a profile stored, also
// after nginx restarted and the store was reopened.
func TestNginxResumption(t *testing.T) {
	srv := nginxtest.Start(t, nil)
	path := filepath.Join(t.TempDir(), "tickets.db")
	for _, p := range transport.Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			for round := range 3 {
				if round == 2 {
					if err := srv.Restart(); err != nil {
						t.Fatal(err)
					}
				}
				st, err := ticketstore.Open(path, nil)
				if err != nil {
					t.Fatal(err)
				}
				tr, err := transport.New(transport.Config{Profile: p, Tickets: st, RootCAs: srv.CA().Pool})
				if err != nil {
					t.Fatal(err)
				}
				resp, _ := do(t, tr, newReq(t, t.Context(), "GET", srv.URL()+"/", nil))
				info, _ := transport.Info(resp)
				tr.Close()
				st.Close()
				if want := round > 0; info.PSKOffered != want || info.Resumed != want {
					t.Errorf("round %d: offered %v, resumed %v; want %v", round, info.PSKOffered, info.Resumed, want)
				}
			}
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	reqs, err := srv.WaitRequests(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for _, r := range reqs {
		if r.Resumed {
			resumed++
		}
	}
	if resumed != 6 {
		t.Errorf("nginx logged %d resumed sessions, want 6", resumed)
	}
}
