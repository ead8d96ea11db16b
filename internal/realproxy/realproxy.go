package realproxy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/internal/childproc"
)

// EnvIntegration names the environment variable that, set to 1, turns a
// missing proxy binary from a skipped test into a failed one.
const EnvIntegration = childproc.EnvIntegration

var (
	// ErrNotFound means the proxy's binary was not found.
	ErrNotFound = errors.New("realproxy: binary not found")
	// ErrExited means the proxy ended without being asked to.
	ErrExited = errors.New("realproxy: proxy exited unexpectedly")

	errAddrInUse = errors.New("realproxy: address in use")
)

// How long a proxy gets to listen after it is started, and to exit after
// SIGTERM; how many ports a constructor tries.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
	maxAttempts  = 3
)

// Options configure a proxy. A nil *Options, like the zero value, gives an
// open proxy that dials targets from the system's choice of address.
type Options struct {
	// User and Password are the credentials clients must present; set
	// both or neither. Empty means no authentication. For tinyproxy they
	// may hold letters, digits, '-', '.' and '_' only.
	User, Password string

	// Egress is the local IP address targets are dialed from, such as
	// "127.0.0.2". Empty lets the system choose.
	Egress string

	// Binary is the program to run. Empty means the proxy's name on
	// $PATH, else in /usr/bin.
	Binary string
}

// flavor is what differs between the proxy programs.
type flavor struct {
	name   string // the program, also the Debian package
	scheme string // of the proxy's URL
	// args returns the command line for a run on port, after writing any
	// file the program needs into dir.
	args func(opts *Options, dir string, port int) ([]string, error)
	// check rejects options the program cannot take.
	check func(opts *Options) error
}

// Proxy is a proxy process made by NewMicrosocks or NewTinyproxy; the
// zero value is not usable. Its methods are safe for concurrent use.
type Proxy struct {
	t      testing.TB
	flavor *flavor
	bin    string
	opts   Options
	dir    string // holds the files the program reads
	addr   string
	out    *output

	// mu guards p, which is nil while the proxy is stopped.
	mu sync.Mutex
	p  *childproc.Process
}

// NewMicrosocks runs microsocks, a SOCKS5 proxy, and returns once it
// listens; t.Cleanup stops it. Without microsocks the test is skipped, or
// fails if REVISIT_INTEGRATION is 1.
func NewMicrosocks(t testing.TB, opts *Options) *Proxy {
	t.Helper()
	return start(t, microsocks, opts, childproc.FreeAddr)
}

// NewTinyproxy runs tinyproxy, an HTTP proxy used here for CONNECT, and
// returns once it listens; t.Cleanup stops it. Without tinyproxy the test
// is skipped, or fails if REVISIT_INTEGRATION is 1.
func NewTinyproxy(t testing.TB, opts *Options) *Proxy {
	t.Helper()
	return start(t, tinyproxy, opts, childproc.FreeAddr)
}

// start runs the proxy on an address from pick, trying another one while
// the child finds its address taken.
func start(t testing.TB, f *flavor, opts *Options, pick func(testing.TB) string) *Proxy {
	t.Helper()
	p := &Proxy{t: t, flavor: f, dir: t.TempDir(), out: &output{}}
	if opts != nil {
		p.opts = *opts
	}
	if err := p.checkOptions(); err != nil {
		t.Fatal(err)
	}
	bin, err := lookPath(f.name, p.opts.Binary)
	if err != nil {
		childproc.Missing(t, err)
	}
	p.bin = bin

	for attempt := 1; ; attempt++ {
		p.addr = pick(t)
		p.mu.Lock()
		err := p.startLocked()
		p.mu.Unlock()
		if err == nil {
			break
		}
		if attempt == maxAttempts || !errors.Is(err, errAddrInUse) {
			t.Fatal(err)
		}
	}
	t.Cleanup(p.cleanup)
	return p
}

func (p *Proxy) checkOptions() error {
	o := &p.opts
	if (o.User == "") != (o.Password == "") {
		return fmt.Errorf("realproxy: %s: set both User and Password, or neither", p.flavor.name)
	}
	if o.Egress != "" && net.ParseIP(o.Egress) == nil {
		return fmt.Errorf("realproxy: egress %q is not an IP address", o.Egress)
	}
	return p.flavor.check(o)
}

func (p *Proxy) port() int {
	_, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	return n
}

// startLocked runs the program on p.addr and waits until it listens there.
func (p *Proxy) startLocked() error {
	args, err := p.flavor.args(&p.opts, p.dir, p.port())
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, args...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	mark := p.out.begin(fmt.Sprintf("%s on %s", p.flavor.name, p.addr))
	proc, err := childproc.Start(cmd)
	if err != nil {
		return fmt.Errorf("realproxy: start %s: %w", p.bin, err)
	}
	if err := p.waitReady(proc, mark); err != nil {
		proc.Kill()
		return err
	}
	p.p = proc
	return nil
}

// waitReady polls until the process listens on p.addr, it exits, or
// startTimeout passes.
func (p *Proxy) waitReady(proc *childproc.Process, mark int) error {
	err := proc.WaitReady(startTimeout, 10*time.Millisecond, func() error {
		if accepting(proc.Pid(), p.addr) {
			return nil
		}
		return errors.New("not accepting yet")
	})
	var exited *childproc.ExitedError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &exited):
		return fmt.Errorf("realproxy: %s not listening on %s: %v\n%s",
			p.flavor.name, p.addr, err, p.out.since(mark))
	case taken(p.addr):
		// Neither program says why its bind failed in a way worth
		// parsing, so look at the port instead.
		return fmt.Errorf("%w: %s\n%s", errAddrInUse, p.addr, p.out.since(mark))
	}
	return fmt.Errorf("%w while starting on %s (%v)\n%s", ErrExited, p.addr, exited.Err, p.out.since(mark))
}

// taken reports whether another socket listens on addr.
func taken(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return errors.Is(err, syscall.EADDRINUSE)
	}
	ln.Close()
	return false
}

// Addr returns the proxy's address, such as "127.0.0.1:41234". It stays
// the same over Kill and Restart.
func (p *Proxy) Addr() string { return p.addr }

// URL returns the proxy's URL with the given credentials, such as
// "socks5://user:pass@127.0.0.1:41234" or "http://user:pass@127.0.0.1:41234".
// Both empty leave out the user information.
func (p *Proxy) URL(user, pass string) string {
	u := url.URL{Scheme: p.flavor.scheme, Host: p.addr}
	if user != "" || pass != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// Name returns the program's name: "microsocks" or "tinyproxy".
func (p *Proxy) Name() string { return p.flavor.name }

// Output returns what the process wrote to stdout and stderr over all its
// runs, each run led by a line naming it.
func (p *Proxy) Output() string { return p.out.String() }

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
// The kernel closes every connection the proxy held. Killing a stopped
// proxy does nothing.
func (p *Proxy) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.p != nil {
		p.p.Kill()
		p.p = nil
	}
}

// Restart stops the proxy if it runs and starts it again on the same
// address with the same options. It fails if the address was taken in the
// meantime; the proxy then stays stopped.
func (p *Proxy) Restart() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.stopLocked(); err != nil {
		return err
	}
	return p.startLocked()
}

// Stop asks the proxy to exit (SIGTERM, then SIGKILL after 5 seconds) and
// waits for it. It returns an error wrapping ErrExited if the process had
// already died without being killed. Stopping a stopped proxy does
// nothing. The cleanup registered by the constructor calls Stop.
func (p *Proxy) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopLocked()
}

func (p *Proxy) stopLocked() error {
	proc := p.p
	if proc == nil {
		return nil
	}
	p.p = nil
	if exited, err := proc.Exited(); exited {
		return fmt.Errorf("%w: %s on %s (%v)", ErrExited, p.flavor.name, p.addr, err)
	}
	if err := proc.Stop(syscall.SIGTERM, stopTimeout); err != nil {
		return fmt.Errorf("realproxy: %s stopped: %v", p.flavor.name, err)
	}
	return nil
}

func (p *Proxy) cleanup() {
	if err := p.Stop(); err != nil {
		p.t.Error(err)
	}
	if p.t.Failed() {
		p.t.Logf("%s output:\n%s", p.flavor.name, p.Output())
	}
}

// output collects a child's stdout and stderr. It keeps the first
// maxOutput bytes of each run, which is plenty for a test's traffic.
type output struct {
	// mu guards the fields below.
	mu  sync.Mutex
	b   strings.Builder
	run int // bytes written in the current run
}

const maxOutput = 1 << 20

// begin starts a run with a line naming it and returns the offset where
// the run's output starts.
func (o *output) begin(what string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(&o.b, "--- %s\n", what)
	o.run = 0
	return o.b.Len()
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if keep := maxOutput - o.run; keep > 0 {
		o.b.Write(p[:min(len(p), keep)])
		if len(p) > keep {
			o.b.WriteString("\n[output cut]\n")
		}
	}
	o.run += len(p)
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// since returns the output from offset on.
func (o *output) since(offset int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s := o.b.String()[offset:]; s != "" {
		return s
	}
	return "(no output)"
}

// lookPath finds the program name, or bin if set, as Debian installs it.
func lookPath(name, bin string) (string, error) {
	return childproc.LookPath(bin, name, "/usr/bin", name, ErrNotFound)
}
