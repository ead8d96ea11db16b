package ticketstore_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/revisit-crawl/revisit/ticketstore"
)

func benchPartition(b *testing.B) (*ticketstore.Store, *ticketstore.Partition) {
	st := openStore(b, "", nil)
	return st, partitionOf(b, st, "socks5://u:p@127.0.0.1:1080", "chrome")
}

// BenchmarkPut measures what storing a received ticket costs the goroutine
// that receives it (the TLS read loop): encoding and the write-behind
// buffer, not the commit.
func BenchmarkPut(b *testing.B) {
	_, p := benchPartition(b)
	cs := realSession(b, tls.VersionTLS13)
	servers := make([]string, 1024)
	for i := range servers {
		servers[i] = fmt.Sprintf("h%d.test:443", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := p.Put(servers[i%len(servers)], cs); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkTake measures taking a ticket for a handshake: reading it from
// the file or the buffer, decoding it and checking its tag.
func BenchmarkTake(b *testing.B) {
	st, p := benchPartition(b)
	cs := realSession(b, tls.VersionTLS13)
	const n = 4096
	fill := func() {
		for i := range n {
			if err := p.Put(fmt.Sprintf("h%d.test:443", i), cs); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	fill()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == n {
			b.StopTimer()
			fill()
			i = 0
			b.StartTimer()
		}
		if _, ok, err := p.Take(fmt.Sprintf("h%d.test:443", i)); !ok || err != nil {
			b.Fatalf("Take: ok=%v err=%v", ok, err)
		}
		i++
	}
}

// BenchmarkTakeMiss measures a first visit: looking up a server with no
// ticket.
func BenchmarkTakeMiss(b *testing.B) {
	_, p := benchPartition(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := p.Take("nobody.test:443"); ok {
			b.Fatal("unexpected ticket")
		}
	}
}

// BenchmarkPutLatency reports the distribution of the time single Puts
// hold their caller while the background commits run.
func BenchmarkPutLatency(b *testing.B) {
	_, p := benchPartition(b)
	cs := realSession(b, tls.VersionTLS13)
	lat := make([]time.Duration, 0, 1<<16)
	i := 0
	for b.Loop() {
		start := time.Now()
		if err := p.Put(fmt.Sprintf("h%d.test:443", i%50000), cs); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		i++
	}
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(q(0.5), "p50-ns/put")
	b.ReportMetric(q(0.99), "p99-ns/put")
	b.ReportMetric(q(1), "max-ns/put")
}

// BenchmarkSyncCommit is the cost the write-behind buffer keeps off the
// read loop: one bbolt transaction, with its fsync, per ticket.
func BenchmarkSyncCommit(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "sync.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 1500)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("t"))
			if err != nil {
				return err
			}
			return bk.Put(fmt.Appendf(nil, "h%d", i), val)
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// cookieRecord is a record the size a jar writes for a session cookie.
func cookieRecord(i int) ticketstore.CookieRecord {
	return ticketstore.CookieRecord{
		Key:     fmt.Sprintf("h%d.example.com;/;session_id", i),
		Data:    make([]byte, 160),
		Expires: time.Now().Add(24 * time.Hour),
	}
}

// benchCookies measures, on the stores open returns, saving a record and
// reading a partition of 1,000.
func benchCookies(b *testing.B, open func(b *testing.B, opts *ticketstore.Options) *ticketstore.Store) {
	seal := bytes.Repeat([]byte{1}, ticketstore.SealKeySize)
	for _, sealed := range []bool{false, true} {
		opts := &ticketstore.Options{}
		name := "plain"
		if sealed {
			opts.SealKey, name = seal, "sealed"
		}
		b.Run("SaveCookie/"+name, func(b *testing.B) {
			p := partitionOf(b, open(b, opts), "", "chrome")
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := p.SaveCookie(cookieRecord(i % 1024)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("Cookies1000/"+name, func(b *testing.B) {
			st := open(b, opts)
			p := partitionOf(b, st, "", "chrome")
			for i := range 1000 {
				if err := p.SaveCookie(cookieRecord(i)); err != nil {
					b.Fatal(err)
				}
			}
			if err := st.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if recs, err := p.Cookies(); err != nil || len(recs) != 1000 {
					b.Fatalf("Cookies = %d records, %v", len(recs), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
		})
	}
}

// BenchmarkBoltCookies measures cookie records in a bbolt file: saving one
// costs the caller encoding and the write-behind buffer, not the commit;
// reading 1,000 reads them from the file.
func BenchmarkBoltCookies(b *testing.B) {
	benchCookies(b, func(b *testing.B, opts *ticketstore.Options) *ticketstore.Store {
		return openStore(b, "", opts)
	})
}
