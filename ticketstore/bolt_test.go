package ticketstore_test

import (
	"path/filepath"
	"testing"

	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/ticketstore/storetest"
)

func TestBoltConformance(t *testing.T) {
	paths := map[ticketstore.Backend]string{}
	storetest.Run(t, storetest.Harness{
		New: func(t testing.TB) ticketstore.Backend {
			path := filepath.Join(t.TempDir(), "tickets.db")
			b, err := ticketstore.OpenBolt(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			paths[b] = path
			return b
		},
		Reopen: func(t testing.TB, b ticketstore.Backend) ticketstore.Backend {
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			nb, err := ticketstore.OpenBolt(paths[b], nil)
			if err != nil {
				t.Fatal(err)
			}
			paths[nb] = paths[b]
			return nb
		},
	})
}
