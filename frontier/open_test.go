package frontier_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
	bolt "go.etcd.io/bbolt"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		prepare func(path string) error
		want    error
	}{
		{"garbage file", func(p string) error {
			return os.WriteFile(p, []byte(strings.Repeat("not a database ", 1000)), 0o600)
		}, frontier.ErrCorrupt},
		{"other bbolt file", func(p string) error {
			db, err := bolt.Open(p, 0o600, nil)
			if err != nil {
				return err
			}
			defer db.Close()
			return db.Update(func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket([]byte("tickets"))
				return err
			})
		}, frontier.ErrCorrupt},
		{"newer format", func(p string) error {
			f, err := frontier.Open(p, nil)
			if err != nil {
				return err
			}
			f.Close()
			db, err := bolt.Open(p, 0o600, nil)
			if err != nil {
				return err
			}
			defer db.Close()
			return db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Put([]byte("format"), []byte{99})
			})
		}, frontier.ErrNewerFormat},
		{"locked", func(p string) error {
			f, err := frontier.Open(p, nil)
			if err != nil {
				return err
			}
			t.Cleanup(func() { f.Close() })
			return nil
		}, frontier.ErrLocked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".db")
			if err := tc.prepare(path); err != nil {
				t.Fatal(err)
			}
			f, err := frontier.Open(path, &frontier.Options{LockTimeout: 50 * time.Millisecond})
			if err == nil {
				f.Close()
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open = %v, want %v naming %s", err, tc.want, path)
			}
		})
	}
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "state.db")
	f, err := frontier.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %v, want %v", p, got, want)
		}
	}
	// A file made readable by others is tightened when opened again.
	f.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err = frontier.Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("reopened 0644 file: mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestCorruptRecordSkipped damages one queued record on disk and checks that the crawl
// records it as failed and goes on.
func TestCorruptRecordSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := context.Background()
	f, err := frontier.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Push(ctx, frontier.Request{URL: "http://a.test/1"},
		frontier.Request{URL: "http://a.test/2"}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket([]byte("queue")).Cursor().First()
		return tx.Bucket([]byte("queue")).Put(k, []byte{1, 0xff})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	var skipped []error
	f, err = frontier.Open(path, &frontier.Options{
		OnSkip: func(_ frontier.Request, reason error) { skipped = append(skipped, reason) }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := f.Next(ctx)
	if err != nil || l.URL != "http://a.test/2" {
		t.Fatalf("Next = %v, %v; want the intact record", l, err)
	}
	f.Done(ctx, l)
	if _, err := f.Next(ctx); !errors.Is(err, frontier.ErrDrained) {
		t.Fatalf("Next = %v, want ErrDrained", err)
	}
	if len(skipped) != 1 || !errors.Is(skipped[0], frontier.ErrCorrupt) {
		t.Fatalf("OnSkip saw %v, want one ErrCorrupt", skipped)
	}
	var failures []frontier.Failure
	f.Failures(ctx, func(fl frontier.Failure) bool { failures = append(failures, fl); return true })
	if len(failures) != 1 || failures[0].Reason != "corrupt record" {
		t.Fatalf("Failures = %+v, want the corrupt record", failures)
	}
}
