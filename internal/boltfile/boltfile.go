// Package boltfile holds what the bbolt-backed stores (the frontier and
// the ticket store) do to a file around opening it: the check they make
// before opening it for writing, and tightening its mode.
package boltfile

import (
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TruncatedError reports a file shorter than the pages its meta page
// counts, such as a copy cut short.
type TruncatedError struct {
	// Size is the file's length and Need the length its pages take.
	Size, Need int64
}

// Error says how short the file is.
func (e *TruncatedError) Error() string {
	return fmt.Sprintf("truncated: %d bytes, its pages need %d", e.Size, e.Need)
}

// CheckLength returns a *TruncatedError when the file at path is shorter
// than its pages. Opened for writing, bbolt reads its list of free pages at
// once, and that may lie past the end of a cut file, where reading the
// memory map faults; opened read-only, as here, it reads only the meta
// pages. A missing, empty or irregular file passes: the real open creates
// it or reports the problem. Errors of bbolt's read-only open (a lock held
// past timeout, an invalid file) are returned as they are.
func CheckLength(path string, timeout time.Duration) error {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return err
	}
	defer db.Close()
	var need int64
	db.View(func(tx *bolt.Tx) error {
		need = tx.Size()
		return nil
	})
	if fi.Size() < need {
		return &TruncatedError{Size: fi.Size(), Need: need}
	}
	return nil
}

// TightenMode makes an existing file at path 0600 if its mode gives anyone
// but the owner any access. bbolt creates new files with the mode asked
// for, but leaves an existing file's alone.
func TightenMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	return os.Chmod(path, 0o600)
}
