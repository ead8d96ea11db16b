package ticketstore_test

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/revisit-crawl/revisit/internal/redistest"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/ticketstore/storetest"
)

// epochClock is the backend clock of the conformance suite. The suite's
// times lie in the past, and key expiry counted from the real clock would
// delete its tickets at once; counted from the epoch, keys outlive the
// suite, which so checks the scripts' own expiry checks.
func epochClock() time.Time { return time.Unix(0, 0) }

func openRedis(t testing.TB, url string, opts *ticketstore.Options) ticketstore.Backend {
	t.Helper()
	b, err := ticketstore.OpenRedis(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRedisConformance(t *testing.T) {
	srv := redistest.Start(t, nil)
	opts := &ticketstore.Options{Now: epochClock}
	var mu sync.Mutex
	urls := map[ticketstore.Backend]string{}
	storetest.Run(t, storetest.Harness{
		New: func(t testing.TB) ticketstore.Backend {
			url := srv.URL(srv.NewDB(t))
			b := openRedis(t, url, opts)
			mu.Lock()
			urls[b] = url
			mu.Unlock()
			return b
		},
		Reopen: func(t testing.TB, b ticketstore.Backend) ticketstore.Backend {
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			nb := openRedis(t, urls[b], opts)
			urls[nb] = urls[b]
			return nb
		},
	})
}

// TestRedisSharedStore opens two stores on one database, as two processes
// would: their first Init calls agree on one header, so both name the
// partition alike, and a ticket one stores the other takes, once.
func TestRedisSharedStore(t *testing.T) {
	srv := redistest.Start(t, nil)
	url := srv.URL(srv.NewDB(t))

	var (
		wg     sync.WaitGroup
		stores [2]*ticketstore.Store
		errs   [2]error
	)
	for i := range stores {
		wg.Go(func() {
			b, err := ticketstore.OpenRedis(url, nil)
			if err == nil {
				stores[i], err = ticketstore.New(b, nil)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(func() { s.Close() })
	}

	const proxy = "socks5://alice:pw@127.0.0.1:1080"
	a, b := partitionOf(t, stores[0], proxy, "chrome"), partitionOf(t, stores[1], proxy, "chrome")
	if a.ID() != b.ID() {
		t.Fatalf("partition IDs differ: %v and %v; the stores do not share the secret", a.ID(), b.ID())
	}
	if err := a.Put("a.test:443", realSession(t, tls.VersionTLS13)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Take("a.test:443"); err != nil || !ok {
		t.Fatalf("Take by the second store = %v, %v; want the ticket", ok, err)
	}
	if _, ok, err := a.Take("a.test:443"); err != nil || ok {
		t.Fatalf("Take by the first store after the second = %v, %v; want nothing", ok, err)
	}
}

// TestRedisConcurrentInit checks that first calls of Init racing from many
// clients all return the one header stored.
func TestRedisConcurrentInit(t *testing.T) {
	srv := redistest.Start(t, nil)
	url := srv.URL(srv.NewDB(t))
	const n = 8
	secrets := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		b := openRedis(t, url, nil)
		defer b.Close()
		wg.Go(func() {
			h, err := b.Init(func() ticketstore.Header {
				return ticketstore.Header{Secret: []byte(fmt.Sprintf("secret of client %02d....", i))}
			})
			if err != nil {
				t.Error(err)
			}
			secrets[i] = string(h.Secret)
		})
	}
	wg.Wait()
	for i, s := range secrets {
		if s != secrets[0] {
			t.Fatalf("client %d got secret %q, client 0 %q", i, s, secrets[0])
		}
	}
}

// TestRedisTwoClientsTakeOnce fills many servers' slots through one
// client, then takes from all of them through two clients at once: every
// ticket comes out exactly once.
func TestRedisTwoClientsTakeOnce(t *testing.T) {
	srv := redistest.Start(t, nil)
	url := srv.URL(srv.NewDB(t))
	clients := []ticketstore.Backend{openRedis(t, url, nil), openRedis(t, url, nil)}
	for _, c := range clients {
		defer c.Close()
	}
	id := ticketstore.PartitionID{1}
	if err := clients[0].Register(id, ticketstore.PartitionMeta{Label: "direct", Profile: "chrome"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	const servers = 200
	for s := range servers {
		for slot := range ticketstore.MaxPerServer {
			tk := ticketstore.Ticket{Data: []byte(fmt.Sprintf("s%d/%d", s, slot)), TLS13: true,
				Received: now, Expires: now.Add(time.Hour)}
			if err := clients[0].Add(id, fmt.Sprintf("s%d.test:443", s), tk); err != nil {
				t.Fatal(err)
			}
		}
	}

	var (
		mu    sync.Mutex
		taken = map[string]int{}
		wg    sync.WaitGroup
		takes int
	)
	start := time.Now()
	for _, c := range clients {
		for range 4 {
			wg.Go(func() {
				for s := range servers {
					for range ticketstore.MaxPerServer + 1 {
						tk, ok, err := c.Take(id, fmt.Sprintf("s%d.test:443", s), now)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						takes++
						if ok {
							taken[string(tk.Data)]++
						}
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(taken) != servers*ticketstore.MaxPerServer {
		t.Errorf("%d distinct tickets taken, want %d", len(taken), servers*ticketstore.MaxPerServer)
	}
	for data, n := range taken {
		if n != 1 {
			t.Errorf("ticket %s taken %d times", data, n)
		}
	}
	t.Logf("%d takes by 2 clients × 4 goroutines in %v: %.0f takes/s", takes, elapsed,
		float64(takes)/elapsed.Seconds())
}

// TestRedisKeyExpiry checks that tickets and marks vanish by themselves
// once over, by the store's clock, and that a ticket past its end is not
// returned while its key still exists.
func TestRedisKeyExpiry(t *testing.T) {
	srv := redistest.Start(t, nil)
	db := srv.NewDB(t)
	b := openRedis(t, srv.URL(db), nil)
	defer b.Close()
	rc := srv.Client(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	id := ticketstore.PartitionID{2}
	now := time.Now()
	// Long enough that a slow machine still finds the keys before they
	// expire.
	life := 3 * time.Second
	tk := ticketstore.Ticket{Data: []byte("t"), TLS13: true, Received: now, Expires: now.Add(life)}
	if err := b.Add(id, "a.test:443", tk); err != nil {
		t.Fatal(err)
	}
	if err := b.Mark(id, "a.test:443", now.Add(life)); err != nil {
		t.Fatal(err)
	}
	keys, err := rc.Keys(ctx, "revisit:t:*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys = %q, %v; want a ticket list and a mark", keys, err)
	}
	for _, k := range keys {
		ttl, err := rc.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 || ttl > life+2*time.Millisecond {
			t.Errorf("PTTL %s = %v, %v; want in (0, %v]", k, ttl, err, life)
		}
	}
	if _, ok, err := b.Take(id, "a.test:443", now.Add(life)); ok || err != nil {
		t.Errorf("Take at the expiry = %v, %v; want nothing", ok, err)
	}

	for {
		n, err := rc.Exists(ctx, keys...).Result()
		if err != nil {
			t.Fatalf("keys still there after waiting: %v", err)
		}
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestRedisKeyNamesHideTheExit stores a ticket received through a proxy
// with a user and a password, then reads every key in the database: no key
// name holds the host, the user or the password, and no value holds the
// password.
func TestRedisKeyNamesHideTheExit(t *testing.T) {
	srv := redistest.Start(t, nil)
	db := srv.NewDB(t)
	b := openRedis(t, srv.URL(db), nil)
	st, err := ticketstore.New(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const user, password, host = "alice-user", "Pa55-w0rd-that-must-not-leak", "proxy-host.example"
	p := partitionOf(t, st, "socks5://"+user+":"+password+"@"+host+":1080", "chrome")
	site := newSite(t, nil)
	site.visit(t, p)

	rc := srv.Client(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var all []string
	iter := rc.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		all = append(all, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(all) < 3 {
		t.Fatalf("keys = %q, want a header, a partition and the site's tickets", all)
	}
	hidden := []string{user, password, host, "localhost", hex.EncodeToString([]byte(password))}
	for _, k := range all {
		if !strings.HasPrefix(k, "revisit:t:") {
			t.Errorf("key %q is outside the store's prefix", k)
		}
		for _, h := range hidden {
			if strings.Contains(strings.ToLower(k), strings.ToLower(h)) {
				t.Errorf("key %q holds %q", k, h)
			}
		}
		if v := dumpKey(t, ctx, rc, k); strings.Contains(v, password) {
			t.Errorf("value of %q holds the password", k)
		}
	}
}

// dumpKey returns everything a key holds, as one string.
func dumpKey(t *testing.T, ctx context.Context, rc *redis.Client, key string) string {
	t.Helper()
	kind, err := rc.Type(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	switch kind {
	case "string":
		return rc.Get(ctx, key).Val()
	case "list":
		return strings.Join(rc.LRange(ctx, key, 0, -1).Val(), "\n")
	case "hash":
		return fmt.Sprint(rc.HGetAll(ctx, key).Val())
	}
	t.Fatalf("key %q has unexpected type %s", key, kind)
	return ""
}

// TestRedisPurgeAllKeepsOthers shares the database with another program's
// key: PurgeAll removes the store's partitions only, and keeps its header.
func TestRedisPurgeAllKeepsOthers(t *testing.T) {
	srv := redistest.Start(t, nil)
	db := srv.NewDB(t)
	rc := srv.Client(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rc.Set(ctx, "other:key", "theirs", 0).Err(); err != nil {
		t.Fatal(err)
	}
	b := openRedis(t, srv.URL(db), nil)
	defer b.Close()
	h, err := b.Init(func() ticketstore.Header { return ticketstore.Header{Secret: make([]byte, 32)} })
	if err != nil {
		t.Fatal(err)
	}
	id := ticketstore.PartitionID{3}
	now := time.Now()
	b.Register(id, ticketstore.PartitionMeta{Label: "direct", Profile: "chrome", Created: now})
	b.Add(id, "a.test:443", ticketstore.Ticket{Data: []byte("x"), TLS13: true, Received: now, Expires: now.Add(time.Hour)})
	b.Mark(id, "b.test:443", now.Add(time.Hour))
	if err := b.PurgeAll(); err != nil {
		t.Fatal(err)
	}
	keys, err := rc.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if want := []string{"other:key", "revisit:t:header"}; !slices.Equal(keys, want) {
		t.Errorf("keys after PurgeAll = %q, want %q", keys, want)
	}
	h2, err := b.Init(func() ticketstore.Header { t.Error("header made again"); return h })
	if err != nil || string(h2.Secret) != string(h.Secret) {
		t.Errorf("header after PurgeAll = %x, %v; want %x", h2.Secret, err, h.Secret)
	}
}

// TestRedisOpenErrors checks that a server that cannot be reached, or that
// refuses the password, gives an error at once that names the server and
// not the password.
func TestRedisOpenErrors(t *testing.T) {
	const password = "Secret-pw-9931"
	srv := redistest.Start(t, &redistest.Options{Password: "the-right-one"})

	closed := freePort(t)
	silent := silentListener(t)
	tests := []struct {
		name, url, addr string
	}{
		{"refused", "redis://:" + password + "@" + closed + "/0", closed},
		{"silent", "redis://u:" + password + "@" + silent + "/0", silent},
		{"wrong password", "redis://:" + password + "@" + srv.Addr() + "/0", srv.Addr()},
		{"malformed", "redis://:" + password + "@[::1/0", ""},
		{"bad database", "redis://:" + password + "@" + closed + "/nine", closed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ticketstore.OpenRedis(tc.url, &ticketstore.Options{DialTimeout: 300 * time.Millisecond})
			if err == nil {
				b.Close()
				t.Fatalf("OpenRedis(%s) succeeded", tc.name)
			}
			t.Logf("OpenRedis: %v", err)
			msg := err.Error()
			if strings.Contains(msg, password) {
				t.Errorf("error shows the password: %v", err)
			}
			if tc.addr != "" && !strings.Contains(msg, tc.addr) {
				t.Errorf("error does not name %s: %v", tc.addr, err)
			}
		})
	}
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentListener accepts connections and never answers.
func silentListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestRedisClosed(t *testing.T) {
	srv := redistest.Start(t, nil)
	b := openRedis(t, srv.URL(srv.NewDB(t)), nil)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Take(ticketstore.PartitionID{}, "a.test:443", time.Now()); !errors.Is(err, ticketstore.ErrClosed) {
		t.Errorf("Take after Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); !errors.Is(err, ticketstore.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

// TestRedisPurgeByAnotherClient purges, through one client, a partition
// that another goes on using: the next ticket the other stores registers
// the partition again, so that listings show it.
func TestRedisPurgeByAnotherClient(t *testing.T) {
	srv := redistest.Start(t, nil)
	url := srv.URL(srv.NewDB(t))
	user, admin := openRedis(t, url, nil), openRedis(t, url, nil)
	defer user.Close()
	defer admin.Close()
	id := ticketstore.PartitionID{4}
	now := time.Now()
	meta := ticketstore.PartitionMeta{Label: "socks5://bob@127.0.0.1:1080", Profile: "chrome", Created: now}
	if err := user.Register(id, meta); err != nil {
		t.Fatal(err)
	}
	tk := ticketstore.Ticket{Data: []byte("x"), TLS13: true, Received: now, Expires: now.Add(time.Hour)}
	if err := user.Add(id, "a.test:443", tk); err != nil {
		t.Fatal(err)
	}
	if err := admin.Purge(id); err != nil {
		t.Fatal(err)
	}
	if stats, err := admin.Stats(now); err != nil || len(stats) != 0 {
		t.Fatalf("Stats after Purge = %+v, %v; want nothing", stats, err)
	}
	if err := user.Add(id, "a.test:443", tk); err != nil {
		t.Fatal(err)
	}
	stats, err := admin.Stats(now)
	if err != nil || len(stats) != 1 {
		t.Fatalf("Stats after a new ticket = %+v, %v; want the partition again", stats, err)
	}
	if got := stats[0]; got.Label != meta.Label || got.Tickets != 1 || got.Received != 1 {
		t.Errorf("Stats = %+v, want label %s, 1 ticket, 1 received", got, meta.Label)
	}
}

// TestRedisSealed opens a sealed store over Redis: another process with
// the same key shares it, one with another key or none is refused.
func TestRedisSealed(t *testing.T) {
	srv := redistest.Start(t, nil)
	url := srv.URL(srv.NewDB(t))
	key := make([]byte, ticketstore.SealKeySize)
	other := make([]byte, ticketstore.SealKeySize)
	other[0] = 1
	open := func(sealKey []byte) (*ticketstore.Store, error) {
		opts := &ticketstore.Options{SealKey: sealKey}
		b := openRedis(t, url, opts)
		st, err := ticketstore.New(b, opts)
		if err != nil {
			b.Close()
			return nil, err
		}
		t.Cleanup(func() { st.Close() })
		return st, nil
	}
	first, err := open(key)
	if err != nil {
		t.Fatal(err)
	}
	p := partitionOf(t, first, "", "chrome")
	if err := p.Put("a.test:443", realSession(t, tls.VersionTLS13)); err != nil {
		t.Fatal(err)
	}
	second, err := open(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := partitionOf(t, second, "", "chrome").Take("a.test:443"); !ok || err != nil {
		t.Errorf("Take through a second store with the key = %v, %v; want the ticket", ok, err)
	}
	for _, k := range [][]byte{other, nil} {
		if _, err := open(k); !errors.Is(err, ticketstore.ErrSealKey) {
			t.Errorf("New with seal key %x = %v, want ErrSealKey", k, err)
		}
	}
}

// BenchmarkRedisAddTake measures a ticket's round trip through a local
// Redis from two clients at once, as two crawler processes would share it:
// each iteration stores a ticket and takes it back.
func BenchmarkRedisAddTake(b *testing.B) {
	srv := redistest.Start(b, nil)
	url := srv.URL(srv.NewDB(b))
	clients := []ticketstore.Backend{openRedis(b, url, nil), openRedis(b, url, nil)}
	id := ticketstore.PartitionID{5}
	if err := clients[0].Register(id, ticketstore.PartitionMeta{Label: "direct", Profile: "chrome"}); err != nil {
		b.Fatal(err)
	}
	for _, c := range clients {
		defer c.Close()
	}
	var next atomic.Int64
	now := time.Now()
	data := make([]byte, 2048) // a session with its certificate chain
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1)
		c := clients[n%2]
		server := fmt.Sprintf("s%d.test:443", n)
		tk := ticketstore.Ticket{Data: data, TLS13: true, Received: now, Expires: now.Add(time.Hour)}
		for pb.Next() {
			if err := c.Add(id, server, tk); err != nil {
				b.Fatal(err)
			}
			if _, ok, err := c.Take(id, server, now); err != nil || !ok {
				b.Fatalf("Take = %v, %v", ok, err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "takes/s")
}
