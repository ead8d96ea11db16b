// Package redistest runs a real redis-server on loopback for tests: a
// private, throwaway instance with no persistence, stopped when the test
// ends.
//
// [Start] looks for redis-server on $PATH, else in /usr/bin, where Debian's
// redis-server package installs it. Without it the test is skipped, unless
// the environment variable REVISIT_INTEGRATION is 1: then it fails, so that
// CI cannot pass by skipping.
//
// A server has [Databases] numbered databases. Tests that share one server
// take a database each with [Server.NewDB], which empties it first, so they
// neither see nor disturb each other's keys.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/revisit-crawl/revisit/internal/childproc"
)

// Databases is how many numbered databases a server has.
const Databases = 64

// ErrNotFound means no redis-server binary was found.
var ErrNotFound = errors.New("redistest: redis-server not found")

// How long redis-server gets to answer PING after it is started, and to exit
// after SIGTERM.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
)

// Options configure a Server. The zero value, and nil, start redis-server
// from $PATH or /usr/bin without a password.
type Options struct {
	// Binary is the redis-server to run. Empty means redis-server on
	// $PATH, else /usr/bin/redis-server.
	Binary string
	// Password, when set, is required of clients (requirepass).
	Password string
}

// Server is a running redis-server made by [Start]. Its methods are safe for
// concurrent use.
type Server struct {
	t        testing.TB
	addr     string
	dir      string
	password string
	p        *childproc.Process

	// mu guards next, the lowest database NewDB has not handed out.
	mu   sync.Mutex
	next int
}

// Start runs redis-server on a free port of 127.0.0.1 and returns once it
// answers PING; t.Cleanup stops it. Without redis-server the test is
// skipped, or fails if REVISIT_INTEGRATION is 1.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	bin, err := childproc.LookPath(opts.Binary, "redis-server", "/usr/bin", "redis-server", ErrNotFound)
	if err != nil {
		childproc.Missing(t, err)
	}
	s := &Server{t: t, dir: t.TempDir(), password: opts.Password}
	for attempt := 1; ; attempt++ {
		s.addr = childproc.FreeAddr(t)
		err := s.start(bin)
		if err == nil {
			break
		}
		// Another program can take the port between FreeAddr and the bind.
		if attempt == 3 || !strings.Contains(err.Error(), "in use") {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

// start runs redis-server on s.addr and waits until it answers.
func (s *Server) start(bin string) error {
	_, port, _ := net.SplitHostPort(s.addr)
	args := []string{
		"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--databases", strconv.Itoa(Databases),
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}
	if s.password != "" {
		args = append(args, "--requirepass", s.password)
	}
	p, err := childproc.Start(exec.Command(bin, args...))
	if err != nil {
		return fmt.Errorf("redistest: start %s: %w", bin, err)
	}
	if err := s.waitReady(p); err != nil {
		p.Kill()
		return err
	}
	s.p = p
	return nil
}

// waitReady polls until the server answers PING, it exits, or
// startTimeout passes.
func (s *Server) waitReady(p *childproc.Process) error {
	err := p.WaitReady(startTimeout, 10*time.Millisecond, s.ping)
	var exited *childproc.ExitedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exited):
		return fmt.Errorf("redistest: redis-server %v\n%s", err, s.logTail())
	}
	return fmt.Errorf("redistest: no answer to PING on %s: %v\n%s", s.addr, err, s.logTail())
}

// ping speaks just enough of the protocol to ask for PONG, so that a
// readiness probe does not depend on the client library under test.
func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	cmd := "PING\r\n"
	if s.password != "" {
		cmd = fmt.Sprintf("*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(s.password), s.password) + cmd
	}
	if _, err := c.Write([]byte(cmd)); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	if s.password != "" {
		if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
			return fmt.Errorf("AUTH answered %q, %v", line, err)
		}
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func (s *Server) stop() {
	if exited, err := s.p.Exited(); exited {
		s.t.Errorf("redistest: redis-server died during the test (%v)\n%s", err, s.logTail())
		return
	}
	if err := s.p.Stop(syscall.SIGTERM, stopTimeout); err != nil {
		s.t.Errorf("redistest: redis-server stopped: %v\n%s", err, s.logTail())
	}
}

// logTail returns the end of the server's log, for error messages.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	if len(lines) == 0 || lines[0] == "" {
		return "(redis-server logged nothing)"
	}
	return strings.Join(lines, "")
}

// Addr returns the address the server listens on, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.addr }

// URL returns the URL of database db, redis://127.0.0.1:PORT/DB, with the
// server's password if it has one.
func (s *Server) URL(db int) string {
	auth := ""
	if s.password != "" {
		auth = ":" + s.password + "@"
	}
	return fmt.Sprintf("redis://%s%s/%d", auth, s.addr, db)
}

// NewDB returns the number of a database no other caller of NewDB on this
// server got, emptied. It fails the test when the server has no database
// left.
func (s *Server) NewDB(t testing.TB) int {
	t.Helper()
	s.mu.Lock()
	db := s.next
	s.next++
	s.mu.Unlock()
	if db >= Databases {
		t.Fatalf("redistest: all %d databases are taken", Databases)
	}
	s.Flush(t, db)
	return db
}

// Client returns a client of database db, closed when t ends. Tests use it
// to look at what the code under test stored.
func (s *Server) Client(t testing.TB, db int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                     s.addr,
		Password:                 s.password,
		DB:                       db,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// Flush empties database db.
func (s *Server) Flush(t testing.TB, db int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client(t, db).FlushDB(ctx).Err(); err != nil {
		t.Fatalf("redistest: FLUSHDB %d: %v", db, err)
	}
}
