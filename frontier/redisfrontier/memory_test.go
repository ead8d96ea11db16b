package redisfrontier

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/internal/redistest"
)

// TestMemoryPerURL measures what 100,000 queued URLs cost in Redis, and what they would
// cost once done, when only their deduplication fingerprints remain. It logs the
// figures and checks they stay within bounds.
func TestMemoryPerURL(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 100,000 URLs")
	}
	const n, hosts = 100_000, 100
	srv := redistest.Start(t, nil)
	db := srv.NewDB(t)
	rdb := srv.Client(t, db)
	f := open(t, crawlURL(t, srv, db, "mem"), nil)
	used := func() int64 {
		t.Helper()
		info, err := rdb.Info(ctxT(t), "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				b, _ := strconv.ParseInt(v, 10, 64)
				return b
			}
		}
		t.Fatal("INFO memory has no used_memory")
		return 0
	}

	before := used()
	reqs := make([]frontier.Request, 0, 1000)
	urlBytes := 0
	for i := range n {
		u := fmt.Sprintf("https://www.host%d.example/articles/%d/page.html", i%hosts, i)
		urlBytes += len(u)
		reqs = append(reqs, frontier.Request{URL: u})
		if len(reqs) == cap(reqs) {
			if res, err := f.Push(ctxT(t), reqs...); err != nil || res.Added != len(reqs) {
				t.Fatalf("Push = %+v, %v", res, err)
			}
			reqs = reqs[:0]
		}
	}
	queued := float64(used()-before) / n

	// What a done URL keeps: its fingerprint in a deduplication shard.
	var seen int64
	for i := range seenShards {
		shard, _ := seenKey([16]byte{4: byte(i >> 8), 5: byte(i)})
		b, err := rdb.MemoryUsage(ctxT(t), f.prefix+"s:"+shard).Result()
		if err != nil {
			t.Fatal(err)
		}
		seen += b
	}
	done := float64(seen) / n
	t.Logf("%d URLs of %.0f bytes on average: %.0f bytes per queued URL, %.1f bytes per done URL",
		n, float64(urlBytes)/n, queued, done)
	if done > 32 {
		t.Errorf("a done URL costs %.1f bytes, want at most 32", done)
	}
	if queued > 400 {
		t.Errorf("a queued URL costs %.0f bytes, want at most 400", queued)
	}
}
