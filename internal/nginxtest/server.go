package nginxtest

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
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

	"github.com/revisit-crawl/revisit/internal/childproc"
	"github.com/revisit-crawl/revisit/internal/tlstest"
)

// EnvIntegration names the environment variable that, set to 1, turns a
// missing nginx from a skipped test into a failed one.
const EnvIntegration = childproc.EnvIntegration

var (
	// ErrNotFound means no nginx binary was found.
	ErrNotFound = errors.New("nginxtest: nginx not found")
	// ErrExited means nginx ended without being asked to.
	ErrExited = errors.New("nginxtest: nginx exited unexpectedly")

	errAddrInUse = errors.New("nginxtest: address in use")
)

// How long nginx gets to accept a TLS handshake after it is started, and
// to exit after SIGQUIT.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
)

// Options configure a Server. The zero value (or nil) serves an empty
// temporary directory on a free port of 127.0.0.1 with a fresh
// internal/tlstest CA, over TLS 1.3 with HTTP/2 and nginx's limits.
type Options struct {
	// Binary is the nginx to run. Empty means nginx on $PATH, else
	// /usr/sbin/nginx.
	Binary string
	// Addr is the host:port to listen on. Empty picks a free port on
	// 127.0.0.1 (and tries another if it is taken before nginx binds it).
	Addr string
	// CertFile and KeyFile are the server's certificate chain and private
	// key in PEM; set both or neither. Neither makes a CA with
	// tlstest.NewCA and serves its leaf; Server.CA returns it.
	CertFile, KeyFile string
	// Root is the directory served. Empty means a new directory inside the
	// test's temporary directory. Uploads land in Root/upload.
	Root string
	// H1Only offers http/1.1 only, no h2.
	H1Only bool
	// TLS12 accepts TLS 1.2 as well as 1.3.
	TLS12 bool
	// TicketKeyFile is nginx's ssl_session_ticket_key: 80 bytes (or 48).
	// If the file does not exist Start writes a random key there. Empty
	// means a key of the server's own, kept over Restart.
	TicketKeyFile string
	// MaxConcurrentStreams is http2_max_concurrent_streams; 0 keeps
	// nginx's default, 128.
	MaxConcurrentStreams int
	// KeepaliveRequests is keepalive_requests, the requests served on one
	// connection before nginx closes it (with a GOAWAY on HTTP/2); 0 keeps
	// nginx's default, 1000 since nginx 1.19.10.
	KeepaliveRequests int
}

// Server is an nginx process serving HTTPS, made by Start; the zero value
// is not usable. Its methods are safe for concurrent use; Stop and Restart
// wait for each other.
type Server struct {
	t       testing.TB
	bin     string
	version string
	dir     string // holds the config, logs and nginx's temporary files
	addr    string
	root    string
	ca      *tlstest.CA

	// mu guards p, which is nil while nginx is stopped.
	mu sync.Mutex
	p  *childproc.Process
}

// Start runs nginx and returns once it completes TLS handshakes; t.Cleanup
// stops it and fails the test if nginx had died in the meantime. Without
// nginx the test is skipped, or fails if REVISIT_INTEGRATION is 1.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	bin, err := childproc.LookPath(opts.Binary, "nginx", "/usr/sbin", "nginx", ErrNotFound)
	if err != nil {
		childproc.Missing(t, err)
	}
	vers, vnum, err := version(bin)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin, version: vers, dir: t.TempDir()}
	c := s.prepare(t, opts)
	c.HTTP2On = vnum >= 1025001

	for attempt := 1; ; attempt++ {
		s.addr = opts.Addr
		if s.addr == "" {
			s.addr = childproc.FreeAddr(t)
		}
		c.Listen = s.addr
		if err := writeConfig(s.conf(), c); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		err := s.startLocked()
		s.mu.Unlock()
		if err == nil {
			break
		}
		// The free port can be taken between our check and nginx's bind.
		if opts.Addr != "" || attempt == 3 || !errors.Is(err, errAddrInUse) {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.cleanup)
	return s
}

// prepare makes the files nginx needs and returns the config, Listen
// still to be filled in.
func (s *Server) prepare(t testing.TB, opts *Options) *config {
	t.Helper()
	c := &config{
		Dir:                  s.dir,
		Protocols:            "TLSv1.3",
		HTTP2:                !opts.H1Only,
		MaxConcurrentStreams: opts.MaxConcurrentStreams,
		KeepaliveRequests:    opts.KeepaliveRequests,
		Statuses:             statuses,
	}
	if opts.TLS12 {
		c.Protocols = "TLSv1.2 TLSv1.3"
	}
	if err := os.Mkdir(filepath.Join(s.dir, "tmp"), 0o700); err != nil {
		t.Fatalf("nginxtest: %v", err)
	}

	switch {
	case opts.CertFile == "" && opts.KeyFile == "":
		s.ca = tlstest.NewCA(t)
		c.CertFile, c.KeyFile = WriteKeyPair(t, s.dir, s.ca.Leaf)
	case opts.CertFile == "" || opts.KeyFile == "":
		t.Fatal("nginxtest: Options.CertFile and KeyFile must be set together")
	default:
		c.CertFile, c.KeyFile = absPath(t, opts.CertFile), absPath(t, opts.KeyFile)
	}

	s.root = filepath.Join(s.dir, "root")
	if opts.Root != "" {
		s.root = absPath(t, opts.Root)
	} else if err := os.Mkdir(s.root, 0o700); err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	c.Root = s.root

	// nginx resolves relative paths against its prefix, our directory.
	c.TicketKey = filepath.Join(s.dir, "ticket.key")
	if opts.TicketKeyFile != "" {
		c.TicketKey = absPath(t, opts.TicketKeyFile)
	}
	if err := ensureTicketKey(c.TicketKey); err != nil {
		t.Fatal(err)
	}
	return c
}

func absPath(t testing.TB, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	return abs
}

// ensureTicketKey writes a random 80-byte key (AES-256 tickets) to path
// unless the file exists.
func ensureTicketKey(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("nginxtest: ticket key: %w", err)
	}
	key := make([]byte, 80)
	rand.Read(key)
	_, err = f.Write(key)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("nginxtest: ticket key: %w", err)
	}
	return nil
}

func (s *Server) conf() string { return filepath.Join(s.dir, "nginx.conf") }

// startLocked runs nginx and waits until it is ready.
func (s *Server) startLocked() error {
	// Messages from before the config's error_log is open go to stderr.
	out, err := os.OpenFile(filepath.Join(s.dir, "stderr.log"),
		os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("nginxtest: %w", err)
	}
	defer out.Close() // nginx has its own copy

	cmd := exec.Command(s.bin, "-p", s.dir, "-c", s.conf(), "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = out, out
	p, err := childproc.Start(cmd)
	if err != nil {
		return fmt.Errorf("nginxtest: start %s: %w", s.bin, err)
	}
	if err := s.waitReady(p); err != nil {
		p.Kill()
		return err
	}
	s.p = p
	return nil
}

// waitReady polls until nginx completes a TLS handshake, it exits, or
// startTimeout passes.
func (s *Server) waitReady(p *childproc.Process) error {
	err := p.WaitReady(startTimeout, 20*time.Millisecond, func() error {
		// A handshake alone could be with another server on the address
		// while nginx is still retrying its bind (for 2.5 seconds). nginx
		// writes its pid file once it holds the socket.
		if err := s.checkPidFile(p); err != nil {
			return err
		}
		return probe(s.addr)
	})
	var exited *childproc.ExitedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exited):
		tail := s.logTail()
		if strings.Contains(tail, "Address already in use") {
			return fmt.Errorf("%w: %s\n%s", errAddrInUse, s.addr, tail)
		}
		return fmt.Errorf("%w while starting (%v)\n%s", ErrExited, exited.Err, tail)
	}
	return fmt.Errorf("nginxtest: no TLS handshake on %s: %v\n%s", s.addr, err, s.logTail())
}

// checkPidFile reports whether nginx's pid file names p.
func (s *Server) checkPidFile(p *childproc.Process) error {
	b, err := os.ReadFile(filepath.Join(s.dir, "nginx.pid"))
	if err != nil {
		return err
	}
	if pid := strings.TrimSpace(string(b)); pid != strconv.Itoa(p.Pid()) {
		return fmt.Errorf("pid file holds %q, not nginx's pid %d", pid, p.Pid())
	}
	return nil
}

// probe makes one TLS handshake with the server. It checks that nginx
// speaks TLS, not who it is: the certificate may come from the caller.
func probe(addr string) error {
	d := &net.Dialer{Timeout: time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{
		InsecureSkipVerify: true,
		NextProtos:         []string{"http/1.1"},
	})
	if err != nil {
		return err
	}
	return c.Close()
}

// Stop stops nginx (SIGQUIT, then SIGKILL after 5 seconds) and waits for
// it to exit. It returns an error wrapping ErrExited if nginx had already
// died, and an error if it did not exit cleanly; either holds the end of
// the error log. Stopping a stopped server does nothing. The cleanup
// registered by Start calls Stop.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

func (s *Server) stopLocked() error {
	p := s.p
	if p == nil {
		return nil
	}
	s.p = nil
	if exited, err := p.Exited(); exited {
		return fmt.Errorf("%w (%v)\n%s", ErrExited, err, s.logTail())
	}
	// With master_process off nginx exits at once on SIGQUIT, without
	// waiting for open connections.
	if err := p.Stop(syscall.SIGQUIT, stopTimeout); err != nil {
		return fmt.Errorf("nginxtest: nginx stopped: %v\n%s", err, s.logTail())
	}
	return nil
}

// Restart stops nginx and starts it again on the same address with the
// same configuration and ticket key, so tickets issued before resume
// after. It also starts a stopped server. Its error is Stop's or the
// start's; after a failed start the server stays stopped.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopLocked(); err != nil {
		return err
	}
	return s.startLocked()
}

func (s *Server) cleanup() {
	if err := s.Stop(); err != nil {
		s.t.Error(err)
		return
	}
	if s.t.Failed() {
		s.t.Logf("nginx's error log ends:\n%s", s.logTail())
	}
}

// URL returns the base URL, https://localhost:PORT, or https://HOST:PORT
// when listening on another address than 127.0.0.1.
func (s *Server) URL() string {
	host, port, _ := net.SplitHostPort(s.addr)
	if host == "127.0.0.1" {
		host = "localhost"
	}
	return "https://" + net.JoinHostPort(host, port)
}

// Addr returns the address nginx listens on, host:port.
func (s *Server) Addr() string { return s.addr }

// Root returns the directory served; files written there are served at
// once.
func (s *Server) Root() string { return s.root }

// CA returns the CA whose leaf the server presents, or nil when
// Options.CertFile was set.
func (s *Server) CA() *tlstest.CA { return s.ca }

// Version returns nginx's version, such as "1.22.1".
func (s *Server) Version() string { return s.version }

// ErrorLog returns nginx's error log so far, at level info: it holds, for
// example, why nginx closed an HTTP/2 connection.
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
	return string(b)
}

// logTail returns the last lines of the error log and whatever nginx
// wrote to stderr, for error messages.
func (s *Server) logTail() string {
	const keep = 30
	lines := strings.SplitAfter(s.ErrorLog(), "\n")
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	tail := strings.Join(lines, "")
	if b, _ := os.ReadFile(filepath.Join(s.dir, "stderr.log")); len(b) > 0 {
		tail += "stderr:\n" + string(b)
	}
	if tail == "" {
		return "(nginx logged nothing)"
	}
	return tail
}
