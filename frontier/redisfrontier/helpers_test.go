package redisfrontier

import (
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/internal/redistest"
)

// crawlURL returns the URL of a fresh crawl named after t and name on a database of
// its own.
func crawlURL(t testing.TB, srv *redistest.Server, db int, name string) string {
	return fmt.Sprintf("%s?crawl=%s", srv.URL(db), url.QueryEscape(t.Name()+"/"+name))
}

// open opens a crawl and closes it when t ends.
func open(t testing.TB, rawURL string, opts *frontier.Options) *Frontier {
	t.Helper()
	f, err := Open(rawURL, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", rawURL, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// abandon disconnects without giving back any lease, as a process that dies does.
func (f *Frontier) abandon() {
	if _, ok := f.shut(); ok {
		f.rdb.Close()
	}
}

// drain runs workers goroutines on each frontier, each leasing until the
// crawl is drained, calling fetch with the lease and then settling it with
// Done. Errors fail the test.
func drain(t *testing.T, fs []*Frontier, workers int, fetch func(l *frontier.Lease)) {
	t.Helper()
	var wg sync.WaitGroup
	for _, f := range fs {
		for range workers {
			wg.Go(func() {
				for {
					l, err := f.Next(ctxT(t))
					if errors.Is(err, frontier.ErrDrained) {
						return
					}
					if err != nil {
						t.Errorf("Next: %v", err)
						return
					}
					fetch(l)
					if err := f.Done(ctxT(t), l); err != nil {
						t.Errorf("Done(%s): %v", l.URL, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
}
