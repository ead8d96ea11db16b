package boltfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/revisit-crawl/revisit/internal/boltfile"
)

func TestCheckLength(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		for i := range 2000 {
			if err := b.Put([]byte{byte(i >> 8), byte(i)}, make([]byte, 100)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	if err := boltfile.CheckLength(path, time.Second); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	if err := boltfile.CheckLength(filepath.Join(dir, "missing.db"), time.Second); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	var te *boltfile.TruncatedError
	if err := boltfile.CheckLength(path, time.Second); !errors.As(err, &te) || te.Size != fi.Size()/2 || te.Need <= te.Size {
		t.Fatalf("file cut in half: %v, want a TruncatedError", err)
	}
}
