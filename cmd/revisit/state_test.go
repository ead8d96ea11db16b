package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// hostilePassword is given to every command of the hostile-state tests
// in a --proxy URL; no message may show it.
const hostilePassword = "Hostile-Pa55-qz7"

// stateFiles is a state file and a ticket file written by a real crawl.
type stateFiles struct {
	site           *cliSite
	state, tickets []byte
}

func newStateFiles(t *testing.T) *stateFiles {
	t.Helper()
	s := newCLISite(t, 200)
	// A crawl stopped by --max-pages leaves URLs queued in the state.
	r := revisit(t, s.crawlArgs("--depth", "10", "--max-pages", "40")...)
	if r.code != 0 {
		t.Fatalf("crawl: exit %d\n%s", r.code, r.stderr)
	}
	f := &stateFiles{site: s}
	var err error
	if f.state, err = os.ReadFile(s.state); err != nil {
		t.Fatal(err)
	}
	if f.tickets, err = os.ReadFile(s.tickets); err != nil {
		t.Fatal(err)
	}
	return f
}

// boltMeta reads, from the newer of a bbolt file's two meta pages, the page
// size, the root page and how many pages are in use.
func boltMeta(t *testing.T, b []byte) (pageSize int, root, pages uint64) {
	t.Helper()
	// A meta page is a 16-byte page header, then magic, version, page size
	// and flags (4 bytes each), root page, sequence, free list, page count
	// and transaction ID (8 bytes each), in the machine's byte order:
	// little-endian on the machines we test on.
	const magic = 0xED0CDAED
	le := binary.LittleEndian
	m := b[16:]
	if le.Uint32(m) != magic {
		t.Fatal("no bbolt meta page at the start of the file")
	}
	pageSize = int(le.Uint32(m[8:]))
	if m1 := b[pageSize+16:]; le.Uint64(m1[48:]) > le.Uint64(m[48:]) {
		m = m1
	}
	return pageSize, le.Uint64(m[16:]), le.Uint64(m[40:])
}

// fileDamage spoils a state or ticket file. want is what the message about it
// must say.
type fileDamage struct {
	name  string
	apply func(t *testing.T, path string, good []byte, rng *rand.Rand)
	want  string
}

func putFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

var fileDamages = []fileDamage{
	{"cut to half", func(t *testing.T, path string, good []byte, _ *rand.Rand) {
		pageSize, _, pages := boltMeta(t, good)
		if len(good)/2 >= pageSize*int(pages) {
			t.Fatalf("half the file (%d bytes) holds all its %d pages", len(good)/2, pages)
		}
		putFile(t, path, good[:len(good)/2])
	}, "truncated"},
	{"cut to one page", func(t *testing.T, path string, good []byte, _ *rand.Rand) {
		pageSize, _, _ := boltMeta(t, good)
		putFile(t, path, good[:pageSize])
	}, "corrupt"},
	{"cut to 10 bytes", func(t *testing.T, path string, good []byte, _ *rand.Rand) {
		putFile(t, path, good[:10])
	}, "corrupt"},
	{"random bytes over the root page", func(t *testing.T, path string, good []byte, rng *rand.Rand) {
		pageSize, root, _ := boltMeta(t, good)
		b := bytes.Clone(good)
		for i := range pageSize {
			b[int(root)*pageSize+i] = byte(rng.Uint32())
		}
		putFile(t, path, b)
	}, "corrupt"},
	{"meta pages zeroed", func(t *testing.T, path string, good []byte, _ *rand.Rand) {
		pageSize, _, _ := boltMeta(t, good)
		b := bytes.Clone(good)
		clear(b[:2*pageSize])
		putFile(t, path, b)
	}, "corrupt"},
	{"text", func(t *testing.T, path string, _ []byte, _ *rand.Rand) {
		putFile(t, path, []byte(strings.Repeat("this is not a database\n", 500)))
	}, "corrupt"},
	{"directory", func(t *testing.T, path string, _ []byte, _ *rand.Rand) {
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		putFile(t, filepath.Join(path, "keep"), []byte("keep"))
	}, "is a directory"},
	{"locked by another process", func(t *testing.T, path string, good []byte, _ *rand.Rand) {
		putFile(t, path, good)
		// bbolt locks with flock, per open file: this process holds a
		// shared lock, as a reader would, until the test ends.
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
	}, "locked"},
}

// fileSnapshot is what a path holds: a file's bytes, or a directory's
// entries.
func fileSnapshot(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			t.Fatal(err)
		}
		names := []string{"directory:"}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return strings.Join(names, " ")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// asUser runs revisit as another user, or as this one when cred is nil,
// in home, with home as its home and state directory, and env added to
// the environment.
type asUser struct {
	cred *syscall.Credential
	home string
	env  []string
}

func (u asUser) run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = u.home // where a default --state would go
	cmd.Env = append(os.Environ(), "HOME="+u.home, "XDG_STATE_HOME="+u.home)
	cmd.Env = append(cmd.Env, u.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("revisit %v hung\n%s", args, stderr.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// hostileProxy names a proxy with hostilePassword. It is never reached:
// the files fail to open first.
const hostileProxy = "socks5://alice:" + hostilePassword + "@127.0.0.1:9"

// crawlIn returns the arguments of a crawl whose state, tickets and records
// are in dir.
func crawlIn(dir string, args ...string) []string {
	return append([]string{"crawl", "--state", filepath.Join(dir, "state.db"),
		"--tickets", filepath.Join(dir, "tickets.db"), "--out", filepath.Join(dir, "out.jsonl")}, args...)
}

// checkRefused checks that a command refused a file as a user wants it:
// exit status 1 and one line that names the file and says what is wrong,
// with no panic and no password.
func checkRefused(t *testing.T, r result, what, path, want string) {
	t.Helper()
	msg := strings.TrimSpace(r.stderr)
	for _, bad := range []string{"panic", "goroutine ", "fatal error", "DATA RACE", hostilePassword} {
		if strings.Contains(r.stderr+r.stdout, bad) {
			t.Fatalf("%s: output holds %q:\n%s%s", what, bad, r.stdout, r.stderr)
		}
	}
	t.Logf("%s: exit %d: %s", what, r.code, msg)
	oneLine := !strings.Contains(msg, "\n") && strings.HasPrefix(msg, "revisit: ")
	if r.code != 1 || !oneLine || !strings.Contains(msg, path) || !strings.Contains(msg, want) {
		t.Errorf("%s: exit %d, stderr:\n%s\nwant exit 1 and one line naming %s and saying %q",
			what, r.code, r.stderr, path, want)
	}
}

// TestHostileState damages the state file and the ticket file in turn in
// every way listed in fileDamages: `revisit crawl`, and `revisit tickets list`
// for the ticket file, must refuse each with one clear line and exit
// status 1, leaving the file as it was.
func TestHostileState(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 0))
	files := newStateFiles(t)
	for _, which := range []string{"state.db", "tickets.db"} {
		for _, d := range fileDamages {
			t.Run(which+"/"+strings.ReplaceAll(d.name, " ", "_"), func(t *testing.T) {
				dir := t.TempDir()
				putFile(t, filepath.Join(dir, "state.db"), files.state)
				putFile(t, filepath.Join(dir, "tickets.db"), files.tickets)
				path := filepath.Join(dir, which)
				os.Remove(path)
				good := files.state
				if which == "tickets.db" {
					good = files.tickets
				}
				d.apply(t, path, good, rng)
				before := fileSnapshot(t, path)

				u := asUser{home: dir}
				r := u.run(t, crawlIn(dir, "--proxy", hostileProxy, files.site.PageURL(0))...)
				checkRefused(t, r, "crawl", path, d.want)
				if which == "tickets.db" {
					r = u.run(t, "tickets", "list", "--tickets", path)
					checkRefused(t, r, "tickets list", path, d.want)
				}
				if fileSnapshot(t, path) != before {
					t.Errorf("%s was changed", which)
				}
			})
		}
	}
}

// TestReadOnlyState gives revisit a state or ticket file it may read but
// not write. We may run as root, whom file modes do not stop: then revisit
// runs as nobody, in a directory of its own.
func TestReadOnlyState(t *testing.T) {
	files := newStateFiles(t)
	for _, which := range []string{"state.db", "tickets.db"} {
		t.Run(which, func(t *testing.T) {
			u := asUser{home: t.TempDir()}
			if os.Geteuid() == 0 {
				u.cred = &syscall.Credential{Uid: 65534, Gid: 65534}
				reachableBy(t, u.home, bin)
			}
			putFile(t, filepath.Join(u.home, "state.db"), files.state)
			putFile(t, filepath.Join(u.home, "tickets.db"), files.tickets)
			path := filepath.Join(u.home, which)
			if err := os.Chmod(path, 0o400); err != nil {
				t.Fatal(err)
			}
			if u.cred != nil {
				for _, name := range []string{"", "state.db", "tickets.db"} {
					if err := os.Chown(filepath.Join(u.home, name), 65534, 65534); err != nil {
						t.Fatal(err)
					}
				}
			}
			before := fileSnapshot(t, path)
			r := u.run(t, crawlIn(u.home, "--proxy", hostileProxy, files.site.PageURL(0))...)
			checkRefused(t, r, "crawl", path, "permission denied")
			if which == "tickets.db" {
				r = u.run(t, "tickets", "list", "--tickets", path)
				checkRefused(t, r, "tickets list", path, "permission denied")
			}
			if fileSnapshot(t, path) != before {
				t.Errorf("%s was changed", which)
			}
		})
	}
}

// reachableBy opens the way for user nobody to dir and to the binary: the
// directories the test made for them get search permission for others,
// and a directory above them without it skips the test.
func reachableBy(t *testing.T, dir, binary string) {
	t.Helper()
	for _, p := range []string{filepath.Dir(dir), filepath.Dir(binary)} {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
		for up := filepath.Dir(p); ; up = filepath.Dir(up) {
			fi, err := os.Stat(up)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm()&0o001 == 0 {
				t.Skipf("user nobody cannot reach %s: %s is mode %v", p, up, fi.Mode().Perm())
			}
			if up == filepath.Dir(up) {
				break
			}
		}
	}
}

// TestStateHeldByCrawl runs a crawl that hangs on its seed, holding its
// state and ticket files; a second crawl and `revisit tickets list` on
// either must say the file is locked and leave, and the first crawl still
// stops cleanly.
func TestStateHeldByCrawl(t *testing.T) {
	s := newCLISite(t, 1)
	hung := make(chan struct{}, 1)
	s.Handle("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case hung <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	})
	held := t.TempDir()
	holder := exec.Command(bin, "crawl", "--ca", s.ca, "--state", filepath.Join(held, "state.db"),
		"--tickets", filepath.Join(held, "tickets.db"), "--out", filepath.Join(held, "out.jsonl"), s.URL+"/hang")
	var holderErr bytes.Buffer
	holder.Stderr = &holderErr
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	select {
	case <-hung:
	case <-time.After(time.Minute):
		t.Fatalf("the holding crawl never fetched its seed\n%s", holderErr.String())
	}

	// The other commands use files of their own, and one of the holder's.
	other := t.TempDir()
	heldState, heldTickets := filepath.Join(held, "state.db"), filepath.Join(held, "tickets.db")
	ownTickets, ownOut := filepath.Join(other, "tickets.db"), filepath.Join(other, "out.jsonl")
	tests := []struct {
		name, path string
		args       []string
	}{
		{"crawl on its state", heldState, []string{"crawl", "--state", heldState,
			"--tickets", ownTickets, "--out", ownOut, "--proxy", hostileProxy, s.PageURL(0)}},
		{"crawl on its tickets", heldTickets, []string{"crawl", "--state", filepath.Join(other, "state.db"),
			"--tickets", heldTickets, "--out", ownOut, "--proxy", hostileProxy, s.PageURL(0)}},
		{"tickets list", heldTickets, []string{"tickets", "list", "--tickets", heldTickets}},
	}
	u := asUser{home: other}
	for _, tc := range tests {
		checkRefused(t, u.run(t, tc.args...), tc.name, tc.path, "locked")
	}

	holder.Process.Signal(syscall.SIGINT)
	err := holder.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("holding crawl, interrupted: %v, want exit status 130\n%s", err, holderErr.String())
	}
}

// TestDamagedPages writes random bytes over each page in use of a state
// file and a ticket file, one at a time, the whole page or all but its
// header. Most such damage cannot be seen when the file is opened, which
// reads only a few pages: a crawl may then go on, or stop when it meets the
// damage. Either way nothing may crash, and a file refused when opened must
// be left as it was.
func TestDamagedPages(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 0))
	files := newStateFiles(t)
	s := files.site
	outcomes := map[string]int{}
	for _, which := range []string{"state.db", "tickets.db"} {
		good := files.state
		if which == "tickets.db" {
			good = files.tickets
		}
		pageSize, _, _ := boltMeta(t, good)
		for _, id := range pagesInUse(t, good) {
			for _, from := range []int{0, 16} {
				dir := t.TempDir()
				putFile(t, filepath.Join(dir, "state.db"), files.state)
				putFile(t, filepath.Join(dir, "tickets.db"), files.tickets)
				path := filepath.Join(dir, which)
				b := bytes.Clone(good)
				for i := id*pageSize + from; i < (id+1)*pageSize; i++ {
					b[i] = byte(rng.Uint32())
				}
				putFile(t, path, b)
				what := fmt.Sprintf("%s page %d from byte %d", which, id, from)

				u := asUser{home: dir}
				args := crawlIn(dir, "--ca", s.ca, "--max-pages", "5", s.PageURL(0))
				outcomes[checkDamaged(t, u.run(t, args...), what+": crawl", path, string(b))]++
				if which == "tickets.db" {
					putFile(t, path, b)
					r := u.run(t, "tickets", "list", "--tickets", path)
					outcomes[checkDamaged(t, r, what+": tickets list", path, string(b))]++
				}
			}
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// checkDamaged checks a command run on a damaged file and names its
// outcome.
func checkDamaged(t *testing.T, r result, what, path, before string) string {
	t.Helper()
	for _, bad := range []string{"panic", "goroutine ", "fatal error", "DATA RACE"} {
		if strings.Contains(r.stderr, bad) {
			t.Fatalf("%s: stderr holds %q:\n%s", what, bad, r.stderr)
		}
	}
	msg := strings.TrimSpace(r.stderr)
	t.Logf("%s: exit %d: %.200s", what, r.code, msg[strings.LastIndex(msg, "\n")+1:])
	switch {
	case r.code == 0:
		return "worked"
	case r.code != 1:
		t.Errorf("%s: exit %d, want 0 or 1\n%s", what, r.code, r.stderr)
		return "bad exit"
	case strings.HasPrefix(msg, "revisit: ") && !strings.Contains(msg, "\n"):
		// Refused at once, without crawling.
		if !strings.Contains(msg, path) || !strings.Contains(msg, "corrupt") {
			t.Errorf("%s: %s\nwant the file named and called corrupt", what, msg)
		}
		if fileSnapshot(t, path) != before {
			t.Errorf("%s: the refused file was changed", what)
		}
		return "refused"
	}
	if !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "corrupt") {
		t.Errorf("%s: exit 1 with\n%s\nwant the file named and called corrupt", what, r.stderr)
	}
	return "stopped"
}

// pagesInUse lists the pages of a bbolt file that hold data or the free
// list, found by opening a copy.
func pagesInUse(t *testing.T, b []byte) []int {
	t.Helper()
	path := filepath.Join(t.TempDir(), "copy.db")
	putFile(t, path, b)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []int
	err = db.View(func(tx *bolt.Tx) error {
		for id := 2; ; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			if info.Type != "free" {
				ids = append(ids, id)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
