package ticketstore_test

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/revisit-crawl/revisit/ticketstore"
)

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "revisit")
	path := filepath.Join(dir, "tickets.db")
	openStore(t, path, nil).Close()
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {path, 0o600}} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("mode of %s = %v, want %v", tc.path, got, tc.want)
		}
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	openStore(t, path, nil).Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("existing 0644 file left at %v, want 0600", fi.Mode().Perm())
	}
}

func TestLockedFile(t *testing.T) {
	if os.Getenv("TICKETSTORE_LOCKED") != "" {
		t.Skip("child process")
	}
	path := filepath.Join(t.TempDir(), "tickets.db")
	openStore(t, path, nil) // held open until cleanup

	_, err := ticketstore.Open(path, &ticketstore.Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ticketstore.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open in this process: error = %v, want ErrLocked naming %s", err, path)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestLockedFileChild$")
	cmd.Env = append(os.Environ(), "TICKETSTORE_LOCKED="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestLockedFileChild is the other process of TestLockedFile.
func TestLockedFileChild(t *testing.T) {
	path := os.Getenv("TICKETSTORE_LOCKED")
	if path == "" {
		t.Skip("runs as the child of TestLockedFile")
	}
	_, err := ticketstore.Open(path, &ticketstore.Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ticketstore.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open from another process: error = %v, want ErrLocked naming %s", err, path)
	}
}

func TestDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := make([]byte, 64<<10)
	rand.Read(random)

	// A real store, then copies of it damaged in different ways.
	good := filepath.Join(dir, "good.db")
	st := openStore(t, good, nil)
	p := partitionOf(t, st, "", "chrome")
	cs := realSession(t, tls.VersionTLS13)
	for i := range 200 {
		if err := p.Put(fmt.Sprintf("h%d.test:443", i), cs); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := goodBytes[:len(goodBytes)/3]
	metaBroken := append([]byte(nil), goodBytes...)
	for i := 16; i < 64; i++ {
		metaBroken[i] ^= 0xff
		metaBroken[4096+i] ^= 0xff
	}

	foreign := filepath.Join(dir, "foreign.db")
	db, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	db.Close()

	tests := []struct {
		name string
		path string
	}{
		{"random bytes", write("random.db", random)},
		{"text", write("text.db", []byte("this is not a database\n"))},
		{"truncated", write("truncated.db", truncated)},
		{"both meta pages broken", write("meta.db", metaBroken)},
		{"another bbolt file", foreign},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ticketstore.Open(tc.path, &ticketstore.Options{LockTimeout: 100 * time.Millisecond})
			if !errors.Is(err, ticketstore.ErrCorrupt) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("Open error = %v, want ErrCorrupt naming the file", err)
			}
		})
	}

	// Damaged data pages may open; then every use must fail or miss
	// cleanly, never panic.
	for off := 2 * 4096; off+4096 <= len(goodBytes); off += 4096 {
		bad := append([]byte(nil), goodBytes...)
		for i := off + 8; i < off+200; i++ {
			bad[i] ^= 0x5a
		}
		path := write(fmt.Sprintf("page%d.db", off), bad)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("damaged page at %d: panic %v", off, r)
				}
			}()
			st, err := ticketstore.Open(path, nil)
			if err != nil {
				return
			}
			defer st.Close()
			st.List()
			p, err := st.Partition(ticketstore.Direct, "chrome")
			if err != nil {
				return
			}
			for i := range 200 {
				p.Take(fmt.Sprintf("h%d.test:443", i))
			}
			st.Prune()
		}()
	}
}

func TestNewerFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tickets.db")
	openStore(t, path, nil).Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("format"), binary.BigEndian.AppendUint32(nil, 99))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = ticketstore.Open(path, nil)
	if !errors.Is(err, ticketstore.ErrNewerFormat) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open error = %v, want ErrNewerFormat naming the file", err)
	}
}

// TestSurvivesSIGKILL runs a child process that stores one ticket and one
// cookie record per partition in a loop and reports each pair as soon as
// Put and SaveCookie return. The child is
// killed; every ticket reported early enough must be in the file, and the
// file must open cleanly. The store promises the tickets of the last
// FlushInterval (250ms) at most are lost; the test allows two seconds, as
// a loaded machine can delay a commit.
func TestSurvivesSIGKILL(t *testing.T) {
	if os.Getenv("TICKETSTORE_CHILD") != "" {
		t.Skip("child process")
	}
	path := filepath.Join(t.TempDir(), "tickets.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLChild$", "-test.v")
		cmd.Env = append(os.Environ(), "TICKETSTORE_CHILD="+path, fmt.Sprintf("TICKETSTORE_ROUND=%d", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Read reports for three seconds, then kill the child while it
		// goes on storing.
		stored := map[string]time.Time{}
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		timeout := time.After(30 * time.Second)
		var first time.Time
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("round %d: child exited early", round)
				}
				if name, ok := strings.CutPrefix(line, "stored "); ok {
					stored[name] = time.Now()
					if first.IsZero() {
						first = time.Now()
					}
				}
				if !first.IsZero() && time.Since(first) > 3*time.Second+time.Duration(round)*100*time.Millisecond {
					break read
				}
			case <-timeout:
				t.Fatalf("round %d: child reported %d tickets in 30s", round, len(stored))
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		killed := time.Now()
		for range lines {
		}
		cmd.Wait()

		st, err := ticketstore.Open(path, nil)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		list, err := st.List()
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]int{}
		for _, ps := range list {
			have[ps.Profile] = min(ps.Tickets, ps.Cookies)
		}
		old := 0
		for name, at := range stored {
			if killed.Sub(at) <= 2*time.Second {
				continue
			}
			old++
			if have[name] == 0 {
				t.Errorf("round %d: ticket or cookie of %s stored %v before the kill is lost",
					round, name, killed.Sub(at).Round(time.Millisecond))
			}
		}
		if old < 10 {
			t.Errorf("round %d: only %d tickets were old enough to check", round, old)
		}
		p, err := st.Partition(ticketstore.Direct, fmt.Sprintf("r%d-p0", round))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := p.Take("localhost:443"); !ok || err != nil {
			t.Errorf("round %d: first ticket not readable after the kill: ok=%v err=%v", round, ok, err)
		}
		st.Close()
		t.Logf("round %d: %d tickets reported, %d checked, %d partitions in the file",
			round, len(stored), old, len(list))
	}
}

// TestSIGKILLChild is the child of TestSurvivesSIGKILL; it runs only there.
func TestSIGKILLChild(t *testing.T) {
	path := os.Getenv("TICKETSTORE_CHILD")
	if path == "" {
		t.Skip("runs as the child of TestSurvivesSIGKILL")
	}
	round, _ := strconv.Atoi(os.Getenv("TICKETSTORE_ROUND"))
	st, err := ticketstore.Open(path, &ticketstore.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cs := realSession(t, tls.VersionTLS13)
	for i := 0; ; i++ {
		name := fmt.Sprintf("r%d-p%d", round, i)
		p, err := st.Partition(ticketstore.Direct, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Put("localhost:443", cs); err != nil {
			t.Fatal(err)
		}
		rec := ticketstore.CookieRecord{Key: "localhost;/;sid", Data: []byte(name), Expires: time.Now().Add(time.Hour)}
		if err := p.SaveCookie(rec); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("stored %s\n", name)
		time.Sleep(30 * time.Millisecond)
	}
}
