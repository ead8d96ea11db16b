package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/proxytest"
)

// The proxy credentials of TestProxyPasswordNeverShown. The passwords hold
// characters that URLs escape, so that their escaped forms differ from
// them.
const (
	secretUser  = "alice"
	secretPass  = "Qx7/s3cr:t@Pw 9%z"
	secretWrong = "Qx7/wr0ng:t@Pw 4%k"
)

// secretForms returns the forms in which a proxy password could be
// written down or logged, each named: plain, hex, base64 of the password
// and of "user:password" as HTTP Basic sends it (standard and URL
// alphabets; unpadded, which also finds the padded form), and
// percent-encoded as in a URL's user information, path or query.
func secretForms(user, pass string) map[string]string {
	forms := map[string]string{
		"plain": pass,
		"hex":   hex.EncodeToString([]byte(pass)),
		"HEX":   strings.ToUpper(hex.EncodeToString([]byte(pass))),
	}
	for name, enc := range map[string]*base64.Encoding{
		"base64": base64.RawStdEncoding, "base64url": base64.RawURLEncoding,
	} {
		forms[name+" of the password"] = enc.EncodeToString([]byte(pass))
		forms[name+" of user:password"] = enc.EncodeToString([]byte(user + ":" + pass))
	}
	userinfo := url.UserPassword(user, pass).String()
	forms["escaped in user information"] = strings.TrimPrefix(userinfo, user+":")
	forms["path-escaped"] = url.PathEscape(pass)
	forms["query-escaped"] = url.QueryEscape(pass)
	forms["query-escaped, lower case"] = strings.ToLower(url.QueryEscape(pass))
	return forms
}

// secretScan looks for the passwords in everything the commands of a
// test show or leave.
type secretScan struct {
	t       *testing.T
	forms   map[string]string // form name and password -> the form
	scanned int
}

func newSecretScan(t *testing.T, user string, passwords ...string) *secretScan {
	sc := &secretScan{t: t, forms: map[string]string{}}
	for _, pass := range passwords {
		for name, form := range secretForms(user, pass) {
			sc.forms[fmt.Sprintf("%s (%q)", name, pass)] = form
		}
	}
	return sc
}

func (sc *secretScan) check(what string, b []byte) {
	sc.t.Helper()
	sc.scanned++
	for _, name := range sc.find(b) {
		sc.t.Errorf("%s holds a proxy password, %s:\n%.2000s", what, name, b)
	}
}

// find returns the names of the forms b holds.
func (sc *secretScan) find(b []byte) []string {
	var found []string
	for name, form := range sc.forms {
		if bytes.Contains(b, []byte(form)) {
			found = append(found, name)
		}
	}
	return found
}

func (sc *secretScan) result(what string, r result) {
	sc.t.Helper()
	sc.check(what+": stdout", []byte(r.stdout))
	sc.check(what+": stderr", []byte(r.stderr))
}

// dir checks every file under dir and returns their paths.
func (sc *secretScan) dir(dir string) []string {
	sc.t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, path)
		sc.check(path, b)
		return nil
	})
	if err != nil {
		sc.t.Fatal(err)
	}
	return files
}

// TestProxyPasswordNeverShown runs the commands that take a proxy password
// through a SOCKS5 and an HTTP proxy, on success and on the error paths (a
// wrong password, a proxy that dies mid-crawl, a failed exit probe, bad
// proxy URLs), and looks for the password in every form in their output,
// their records and every file they leave.
func TestProxyPasswordNeverShown(t *testing.T) {
	s := newCLISite(t, 15)
	hung := slowPages(s)
	root := t.TempDir()
	u := asUser{home: root, env: []string{"TMPDIR=" + root}}
	sc := newSecretScan(t, secretUser, secretPass, secretWrong)
	proxies := []struct {
		name string
		p    *proxytest.Proxy
	}{
		{"socks5", proxytest.NewSOCKS5(t, &proxytest.Options{User: secretUser, Password: secretPass})},
		{"http", proxytest.NewHTTP(t, &proxytest.Options{User: secretUser, Password: secretPass})},
	}
	for _, px := range proxies {
		good, wrong := px.p.URL(secretUser, secretPass), px.p.URL(secretUser, secretWrong)
		// The scan can fail: it finds the passwords in the URLs the
		// commands are given.
		if len(sc.find([]byte(good))) == 0 || len(sc.find([]byte(wrong))) == 0 {
			t.Fatalf("the scan does not find the password in %s", px.name)
		}
		dir := filepath.Join(root, px.name)
		crawl := func(run string, args ...string) []string {
			return append([]string{"crawl", "--ca", s.ca, "--state", filepath.Join(dir, run+".state.db"),
				"--tickets", filepath.Join(dir, "tickets.db"), "--out", filepath.Join(dir, run+".jsonl")}, args...)
		}

		r := u.run(t, crawl("good", "--proxy", good, "--depth", "3", s.PageURL(0))...)
		if r.code != 0 || !strings.Contains(r.stderr, "crawl: 15 fetched") {
			t.Fatalf("%s: crawl: exit %d\n%s", px.name, r.code, r.stderr)
		}
		sc.result(px.name+" crawl", r)

		r = u.run(t, crawl("wrong", "--proxy", wrong, "--robots=false", s.PageURL(0))...)
		wrongRecs := readRecords(t, filepath.Join(dir, "wrong.jsonl"))
		if r.code != 1 || !strings.Contains(r.stderr, "no server answered") ||
			px.p.AuthFailures() == 0 || len(wrongRecs) != 1 || !strings.Contains(wrongRecs[0].Error, "refused") {
			t.Errorf("%s: crawl with a wrong password: exit %d, %d auth failures, records %+v\n%s",
				px.name, r.code, px.p.AuthFailures(), wrongRecs, r.stderr)
		}
		sc.result(px.name+" crawl with a wrong password", r)

		slow := s.URL + "/slow/" + px.name + "/"
		killed := crawlThroughDyingProxy(t, px.p, hung, u, crawl("killed", "--proxy", good,
			"--concurrency", "8", "--per-host", "8"), slow+"1", slow+"2", slow+"3")
		sc.result(px.name+" crawl through a dying proxy", killed)

		r = u.run(t, crawl("probe", "--proxy", good, "--exit-probe", s.URL+"/no-such-probe", s.PageURL(0))...)
		if r.code != 1 || !strings.Contains(r.stderr, "exit probe") {
			t.Errorf("%s: failed exit probe: exit %d\n%s", px.name, r.code, r.stderr)
		}
		sc.result(px.name+" failed exit probe", r)

		r = u.run(t, "bench", "handshake", "--n", "3", "--ca", s.ca, "--proxy", good, s.PageURL(0))
		if r.code != 0 || !strings.Contains(r.stdout, "resumed/full") {
			t.Errorf("%s: bench: exit %d\n%s%s", px.name, r.code, r.stdout, r.stderr)
		}
		sc.result(px.name+" bench", r)
		r = u.run(t, "bench", "handshake", "--n", "3", "--ca", s.ca, "--proxy", wrong, s.PageURL(0))
		if r.code != 1 {
			t.Errorf("%s: bench with a wrong password: exit %d, want 1\n%s%s", px.name, r.code, r.stdout, r.stderr)
		}
		sc.result(px.name+" bench with a wrong password", r)

		r = u.run(t, "tickets", "list", "--tickets", filepath.Join(dir, "tickets.db"))
		if r.code != 0 || !strings.Contains(r.stdout, px.name+"://"+secretUser+"@") {
			t.Errorf("%s: tickets list: exit %d\n%s%s", px.name, r.code, r.stdout, r.stderr)
		}
		sc.result(px.name+" tickets list", r)
	}

	// Proxy URLs the CLI refuses: the usage message must not repeat them
	// whole.
	userinfo := url.UserPassword(secretUser, secretPass).String()
	for _, bad := range []string{
		"socks5://" + userinfo + "@127.0.0.1:notaport",
		"socks5://" + userinfo + "@[::1",
		"socks5://" + userinfo + "@127.0.0.1:70000",
		"socks5://" + userinfo + "@",
		"gopher://" + userinfo + "@127.0.0.1:1",
		"socks5://" + userinfo + "%zz@127.0.0.1:1",
		"socks5://" + secretUser + ":" + secretPass + "@127.0.0.1:1", // not escaped
	} {
		for _, args := range [][]string{
			{"crawl", "--proxy", bad, s.PageURL(0)},
			{"bench", "handshake", "--proxy", bad, s.PageURL(0)},
		} {
			r := u.run(t, args...)
			if r.code != 2 {
				t.Errorf("%s --proxy %q: exit %d, want 2\n%s", args[0], bad, r.code, r.stderr)
			}
			sc.result(fmt.Sprintf("%s --proxy %q", args[0], bad), r)
		}
	}

	files := sc.dir(root)
	t.Logf("%d outputs and files scanned, %d of them files under the test's directory",
		sc.scanned, len(files))
}

// crawlThroughDyingProxy runs a crawl of slow pages through p, kills
// every connection of p under it and interrupts it, as its retries would
// take half a minute.
func crawlThroughDyingProxy(t *testing.T, p *proxytest.Proxy, hung chan string, u asUser,
	args []string, slow ...string) result {
	t.Helper()
	cmd := exec.Command(bin, append(args, slow...)...)
	cmd.Dir = u.home
	cmd.Env = append(os.Environ(), "HOME="+u.home, "XDG_STATE_HOME="+u.home)
	cmd.Env = append(cmd.Env, u.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	killMidFetch(t, p, hung, args[slices.Index(args, "--out")+1], slow...)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if code != 130 {
		t.Errorf("interrupted crawl: %v, want exit status 130\n%s", err, stderr.String())
	}
	return result{code, stdout.String(), stderr.String()}
}

// killMidFetch waits until the slow pages are all requested through p,
// kills every connection of p, and waits until the records in out show
// their fetches failed.
func killMidFetch(t *testing.T, p *proxytest.Proxy, hung chan string, out string, slow ...string) {
	t.Helper()
	waiting := map[string]bool{}
	for _, a := range slow {
		u, err := url.Parse(a)
		if err != nil {
			t.Fatal(err)
		}
		waiting[u.Path] = true
	}
	timeout := time.After(time.Minute)
	for len(waiting) > 0 {
		select {
		case path := <-hung:
			delete(waiting, path)
		case <-timeout:
			t.Fatalf("slow pages %v never requested", waiting)
		}
	}
	if n := p.KillAll(); n == 0 {
		t.Errorf("KillAll found no tunnel to kill")
	}
	// The transport sends a request again once on a new connection when its
	// connection breaks: the proxy dies again until the fetches fail.
	for {
		b, _ := os.ReadFile(out)
		if bytes.Count(b, []byte(`"error":"`))-bytes.Count(b, []byte(`"error":""`)) >= len(slow) {
			return
		}
		select {
		case <-timeout:
			t.Fatalf("the killed fetches were not recorded:\n%s", b)
		case <-time.After(20 * time.Millisecond):
			p.KillAll()
		}
	}
}

// slowPages makes the site's pages under /slow/ answer only once the
// client gives up, and sends the path of each request to the channel it
// returns.
func slowPages(s *cliSite) chan string {
	hung := make(chan string, 64)
	s.Handle("/slow/", func(w http.ResponseWriter, r *http.Request) {
		hung <- r.URL.Path
		<-r.Context().Done()
	})
	return hung
}

// lockedBuffer is a buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// debugCrawl runs `revisit crawl args` in this process with every package
// logging at debug level into log. The command logs warnings and errors
// only and has no flag for more, so this is the one way to see the debug
// and info lines of the libraries.
func debugCrawl(ctx context.Context, log *lockedBuffer, args ...string) error {
	c := &cli{stdout: log, stderr: log, logLevel: slog.LevelDebug}
	return c.crawl(ctx, args)
}

// TestProxyPasswordNotInDebugLogs crawls in this process with the
// libraries logging at debug level, through proxies that are killed under
// the crawl and given a wrong password, and looks for the password in the
// log and the files.
func TestProxyPasswordNotInDebugLogs(t *testing.T) {
	s := newCLISite(t, 15)
	hung := slowPages(s)
	root := t.TempDir()
	sc := newSecretScan(t, secretUser, secretPass, secretWrong)
	var log lockedBuffer
	for i, p := range []*proxytest.Proxy{
		proxytest.NewSOCKS5(t, &proxytest.Options{User: secretUser, Password: secretPass}),
		proxytest.NewHTTP(t, &proxytest.Options{User: secretUser, Password: secretPass}),
	} {
		crawl := func(run, pass string, extra ...string) []string {
			return append([]string{"--ca", s.ca, "--proxy", p.URL(secretUser, pass),
				"--state", filepath.Join(root, fmt.Sprintf("%s%d.state.db", run, i)),
				"--tickets", filepath.Join(root, "tickets.db"),
				"--out", filepath.Join(root, fmt.Sprintf("%s%d.jsonl", run, i))}, extra...)
		}

		// A crawl whose slow pages are in flight when the proxy dies; it is
		// stopped then, as its retries would take half a minute.
		slow := fmt.Sprintf("%s/slow/%d/", s.URL, i)
		args := crawl("killed", secretPass, "--per-host", "8", s.PageURL(0), slow+"1", slow+"2", slow+"3")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		done := make(chan error, 1)
		go func() { done <- debugCrawl(ctx, &log, args...) }()
		killMidFetch(t, p, hung, args[slices.Index(args, "--out")+1], slow+"1", slow+"2", slow+"3")
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("debug crawl through a dying proxy: %v, want it stopped", err)
		}

		ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		args = crawl("wrong", secretWrong, "--robots=false", s.PageURL(0))
		if err := debugCrawl(ctx, &log, args...); err == nil || !strings.Contains(err.Error(), "no server answered") {
			t.Errorf("debug crawl with a wrong password: %v, want no server answered", err)
		}
		cancel()
		recs := readRecords(t, args[slices.Index(args, "--out")+1])
		if len(recs) != 1 || !strings.Contains(recs[0].Error, "refused user") {
			t.Errorf("debug crawl with a wrong password wrote %+v, want the refusal", recs)
		}
	}
	b := log.Bytes()
	if !bytes.Contains(b, []byte("level=DEBUG")) {
		t.Errorf("the libraries logged nothing at debug level:\n%s", b)
	}
	sc.check("debug log", b)
	sc.dir(root)
}

// TestCLIFileModes checks the modes of what a crawl creates: the state and
// ticket files 0600, and every directory created for them 0700, under
// XDG_STATE_HOME or, without it, under ~/.local/state.
func TestCLIFileModes(t *testing.T) {
	s := newCLISite(t, 3)
	for _, tc := range []struct {
		name string
		env  func(root string) []string
		// created are the directories the crawl must create for the
		// default ticket file, the last one holding it.
		created []string
	}{
		{"XDG_STATE_HOME", func(root string) []string {
			return []string{"XDG_STATE_HOME=" + filepath.Join(root, "xdg", "state"), "HOME=" + root}
		}, []string{"xdg", "xdg/state", "xdg/state/revisit"}},
		{"HOME", func(root string) []string {
			return []string{"XDG_STATE_HOME=", "HOME=" + filepath.Join(root, "home")}
		}, []string{"home", "home/.local", "home/.local/state", "home/.local/state/revisit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			state := filepath.Join(root, "new", "nested", "state.db")
			cmd := exec.Command(bin, "crawl", "--ca", s.ca, "--state", state, "--out", filepath.Join(root, "out.jsonl"),
				"--depth", "1", s.PageURL(0))
			cmd.Env = append(os.Environ(), tc.env(root)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("crawl: %v\n%s", err, out)
			}
			tickets := filepath.Join(root, tc.created[len(tc.created)-1], "tickets.db")
			want := map[string]os.FileMode{state: 0o600, tickets: 0o600,
				filepath.Join(root, "new"): 0o700, filepath.Join(root, "new", "nested"): 0o700}
			for _, d := range tc.created {
				want[filepath.Join(root, d)] = 0o700
			}
			for path, mode := range want {
				fi, err := os.Stat(path)
				if err != nil {
					t.Error(err)
					continue
				}
				if fi.Mode().Perm() != mode {
					t.Errorf("mode of %s = %v, want %v", path, fi.Mode().Perm(), mode)
				}
			}
		})
	}
}
