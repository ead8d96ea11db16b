package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartAndDatabases(t *testing.T) {
	s := Start(t, nil)
	if want := fmt.Sprintf("redis://%s/3", s.Addr()); s.URL(3) != want {
		t.Errorf("URL(3) = %q, want %q", s.URL(3), want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	a, b := s.NewDB(t), s.NewDB(t)
	if a == b {
		t.Fatalf("NewDB returned %d twice", a)
	}
	ca, cb := s.Client(t, a), s.Client(t, b)
	if err := ca.Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := cb.Get(ctx, "k").Err(); err != redis.Nil {
		t.Errorf("GET k in database %d = %v, want nil: databases not separate", b, err)
	}
	s.Flush(t, a)
	if n, err := ca.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("DBSIZE after Flush = %d, %v; want 0", n, err)
	}
}

// TestNoPersistence checks that the server was told to write nothing: a
// test must not leave a dump behind or slow down on fsync.
func TestNoPersistence(t *testing.T) {
	s := Start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := s.Client(t, 0).ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"save": "", "appendonly": "no", "bind": "127.0.0.1"} {
		if cfg[key] != want {
			t.Errorf("CONFIG GET %s = %q, want %q", key, cfg[key], want)
		}
	}
}

func TestPassword(t *testing.T) {
	s := Start(t, &Options{Password: "sesame-42"})
	if u := s.URL(1); !strings.HasPrefix(u, "redis://:sesame-42@127.0.0.1:") {
		t.Errorf("URL(1) = %q, want the password in it", u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client(t, 0).Ping(ctx).Err(); err != nil {
		t.Errorf("PING with the password: %v", err)
	}
	anon := redis.NewClient(&redis.Options{Addr: s.Addr(), DisableIdentity: true, MaxRetries: -1})
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil {
		t.Error("PING without the password succeeded")
	}
}
