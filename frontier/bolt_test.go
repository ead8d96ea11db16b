package frontier_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/frontier/frontiertest"
)

func TestBoltConformance(t *testing.T) {
	dir := t.TempDir()
	frontiertest.Run(t, func(t testing.TB, name string, opts *frontier.Options) frontier.Frontier {
		t.Helper()
		var o frontier.Options
		if opts != nil {
			o = *opts
		}
		o.NoSync = true
		f, err := frontier.Open(filepath.Join(dir, t.Name(), name+".db"), &o)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	})
}

// TestRobotsFailuresContained: a robots.txt fetcher that panics, or one
// that would never end (cut off after RobotsTimeout), counts as
// unreachable: the host's URLs fail and Next goes on.
func TestRobotsFailuresContained(t *testing.T) {
	tests := map[string]frontier.Options{
		"panic": {Robots: func(context.Context, string) (int, []byte, error) {
			panic("bug in the caller's fetcher")
		}},
		"never ends": {RobotsTimeout: 50 * time.Millisecond,
			Robots: func(ctx context.Context, _ string) (int, []byte, error) {
				// A body that trickles: the fetcher reads until its
				// context ends, and returns what it has.
				<-ctx.Done()
				return 200, []byte("User-agent: *\nAllow: /"), nil
			}},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var reasons []error
			opts.NoSync, opts.RobotsAttempts = true, 1
			opts.OnSkip = func(_ frontier.Request, reason error) { reasons = append(reasons, reason) }
			f, err := frontier.Open(filepath.Join(t.TempDir(), "f.db"), &opts)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Push(ctx, frontier.Request{URL: "http://a.test/"}); err != nil {
				t.Fatal(err)
			}
			if l, err := f.Next(ctx); !errors.Is(err, frontier.ErrDrained) {
				t.Fatalf("Next = %v, %v; want ErrDrained", l, err)
			}
			if len(reasons) != 1 || !errors.Is(reasons[0], frontier.ErrRobotsUnavailable) {
				t.Fatalf("OnSkip reasons = %v, want one ErrRobotsUnavailable", reasons)
			}
		})
	}
}
