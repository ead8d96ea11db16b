package redisfrontier

import (
	"testing"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/frontier/frontiertest"
	"github.com/revisit-crawl/revisit/internal/redistest"
)

func TestConformance(t *testing.T) {
	srv := redistest.Start(t, nil)
	db := srv.NewDB(t)
	frontiertest.Run(t, func(t testing.TB, name string, opts *frontier.Options) frontier.Frontier {
		return open(t, crawlURL(t, srv, db, name), opts)
	})
}
