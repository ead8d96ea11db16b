package main

import (
	"bufio"
	"fmt"
	"math/bits"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// procStatus returns the fields of /proc/self/status.
func procStatus() map[string]string { return procFields("/proc/self/status") }

// memAvailable returns the memory the kernel reports available, page
// cache included.
func memAvailable() int64 { return kB(procFields("/proc/meminfo")["MemAvailable"]) }

// procFields reads a /proc file of "key: value" lines.
func procFields(path string) map[string]string {
	fields := map[string]string{}
	fh, err := os.Open(path)
	if err != nil {
		return fields
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// kB parses a /proc size such as "1234 kB" into bytes.
func kB(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	return n << 10
}

// rssSampler records the largest anonymous resident set seen: RssAnon is
// the process's own memory, without the pages of the mapped file, and
// /proc keeps no peak of it.
type rssSampler struct {
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func startSampler(every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() int64 {
	v := kB(procStatus()["RssAnon"])
	for {
		old := s.max.Load()
		if v <= old || s.max.CompareAndSwap(old, v) {
			return v
		}
	}
}

func (s *rssSampler) Stop() int64 {
	close(s.stop)
	<-s.done
	s.sample()
	return s.max.Load()
}

// memory prints the resident set from /proc/self/status and the live Go
// heap, and returns the heap in use after a forced collection.
func memory(when string, s *rssSampler) int64 {
	s.sample()
	fields := procStatus()
	runtime.GC() // report the live heap, not garbage awaiting collection
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("memory %s: VmHWM=%s VmRSS=%s RssAnon=%s RssFile=%s GoHeapInuse=%.1f MiB\n",
		when, fields["VmHWM"], fields["VmRSS"], fields["RssAnon"], fields["RssFile"],
		float64(ms.HeapInuse)/(1<<20))
	return int64(ms.HeapInuse)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// hist counts durations in buckets a quarter of a power of two wide, so
// that millions of latencies cost a fixed 2 KiB. Quantiles are read with
// an error under 19%.
type hist struct {
	counts [256]int64
	n      int64
	max    time.Duration
}

func bucketOf(d time.Duration) int {
	ns := uint64(max(d.Nanoseconds(), 1))
	l := bits.Len64(ns)
	if l < 3 {
		return int(ns)
	}
	return 4*(l-2) + int(ns>>(l-3)&3)
}

// bucketFloor is the smallest duration in bucket i.
func bucketFloor(i int) time.Duration {
	if i < 4 {
		return time.Duration(i)
	}
	l := i/4 + 2
	return time.Duration((4 + uint64(i%4)) << (l - 3))
}

func (h *hist) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the middle of the bucket holding quantile q, to two
// significant digits: the bucket is no more precise than that.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q * float64(h.n-1))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen > rank {
			return twoDigits((bucketFloor(i) + bucketFloor(i+1)) / 2)
		}
	}
	return h.max
}

func twoDigits(d time.Duration) time.Duration {
	unit := time.Duration(1)
	for d >= 100*unit {
		unit *= 10
	}
	return d.Round(unit)
}

// pageStats describes the file as bbolt lays it out.
type pageStats struct {
	keys        int   // server records
	leafAlloc   int64 // bytes of the servers bucket's leaf pages
	leafInuse   int64 // of which holding records
	branchAlloc int64
	depth       int
	indexAlloc  int64 // bytes of the expiry index
	free        int64 // bytes of free pages
	took        time.Duration
}

// openClosed opens a closed store file read-only, with its free list.
func openClosed(path string) (*bolt.DB, error) {
	return bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true,
		Timeout: time.Second})
}

// bucketServers is the bbolt backend's bucket of server records, and
// bucketExpiry its expiry index.
var (
	bucketServers = []byte("servers")
	bucketExpiry  = []byte("expiry")
)

// recordSize returns the mean size of the first n server records of a
// closed store file. Keys are keyed digests, so the first ones are a
// random sample.
func recordSize(path string, n int) (float64, error) {
	db, err := openClosed(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var mean float64
	err = db.View(func(tx *bolt.Tx) error {
		servers := tx.Bucket(bucketServers)
		if servers == nil {
			return fmt.Errorf("%s has no servers bucket", path)
		}
		mean = meanValue(servers, n)
		return nil
	})
	return mean, err
}

// walkPages reads the free pages of a closed store file and, if walk is
// set, bbolt's statistics of the servers bucket and the expiry index, which
// visit every page of them.
func walkPages(path string, walk bool) (pageStats, error) {
	start := time.Now()
	var ps pageStats
	db, err := openClosed(path)
	if err != nil {
		return ps, err
	}
	defer db.Close()
	ps.free = int64(db.Stats().FreePageN) * int64(db.Info().PageSize)
	if !walk {
		return ps, nil
	}
	err = db.View(func(tx *bolt.Tx) error {
		servers := tx.Bucket(bucketServers)
		if servers == nil {
			return fmt.Errorf("%s has no servers bucket", path)
		}
		st := servers.Stats()
		ps.keys, ps.depth = st.KeyN, st.Depth
		ps.leafAlloc, ps.leafInuse = int64(st.LeafAlloc), int64(st.LeafInuse)
		ps.branchAlloc = int64(st.BranchAlloc)
		if index := tx.Bucket(bucketExpiry); index != nil {
			is := index.Stats()
			ps.indexAlloc = int64(is.LeafAlloc + is.BranchAlloc)
		}
		return nil
	})
	ps.took = time.Since(start)
	return ps, err
}

// meanValue is the mean size of the first n values of a bucket.
func meanValue(b *bolt.Bucket, n int) float64 {
	var total, count int
	c := b.Cursor()
	for k, v := c.First(); k != nil && count < n; k, v = c.Next() {
		total += len(v)
		count++
	}
	if count == 0 {
		return 0
	}
	return float64(total) / float64(count)
}

// size formats a byte count in binary units.
func size(b int64) string {
	switch {
	case b >= 10<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 10<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	default:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
}

// dur formats a duration with three significant digits.
func dur(d time.Duration) string {
	switch {
	case d >= 100*time.Second:
		return d.Round(time.Second).String()
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(100 * time.Nanosecond).String()
	}
}
