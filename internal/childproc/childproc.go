// Package childproc runs the real programs that integration tests start
// (nginx, microsocks, tinyproxy): it finds the binary, skips or fails a
// test that lacks it, starts the program as a child that dies with the
// test binary where the system allows, and stops it.
package childproc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// EnvIntegration names the environment variable that, set to 1, turns a
// missing program into a test failure instead of a skip. .ci/run sets it,
// so that CI cannot pass without the integration tests.
const EnvIntegration = "REVISIT_INTEGRATION"

// Missing skips t for want of a program, or fails it if EnvIntegration
// is 1.
func Missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(EnvIntegration) == "1" {
		t.Fatalf("%v (%s=1 requires it)", err, EnvIntegration)
	}
	t.Skipf("%v; set %s=1 to fail instead of skipping", err, EnvIntegration)
}

// LookPath finds a program: bin if it is set (a name looked up on $PATH,
// or a path), else name on $PATH or in dir, where Debian installs it. The
// error wraps notFound and names the Debian package, pkg.
func LookPath(bin, name, dir, pkg string, notFound error) (string, error) {
	if bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("%w: %v", notFound, err)
		}
		return path, nil
	}
	for _, candidate := range []string{name, dir + "/" + name} {
		if path, err := exec.LookPath(candidate); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w: %s on $PATH or in %s (Debian package: %s)", notFound, name, dir, pkg)
}

// FreeAddr returns an address on 127.0.0.1 whose port was free a moment
// ago. Another program may take it before the child binds it: callers
// check that the child listens, and retry.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("childproc: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Process is one run of a program.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd.Wait returns
	err  error         // cmd.Wait's result; read it after done is closed
}

// Start starts cmd, set to die with this process where the system allows
// it (Linux), and waits for it in the background.
func Start(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and if so how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Kill kills the process and waits for it to exit.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// Stop sends sig and waits up to timeout for the process to exit, then
// kills it. It returns nil if the process exited cleanly or was ended by
// sig, else the exit's error, or an error saying the process had to be
// killed. A process that could not be signalled (it died just now) is
// waited for, and its exit reported.
func (p *Process) Stop(sig os.Signal, timeout time.Duration) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.Kill()
		return p.err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		if endedBy(p.err, sig) {
			return nil
		}
		return p.err
	case <-timer.C:
		p.Kill()
		return fmt.Errorf("still running %v after %v; killed", timeout, sig)
	}
}

// endedBy reports whether err is the exit of a process that sig ended.
func endedBy(err error, sig os.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// ErrNotReady is returned by WaitReady when the process is still running
// but not ready after the timeout; it wraps the readiness check's last
// error.
var ErrNotReady = errors.New("not ready")

// ExitedError is returned by WaitReady when the process ended before it
// was ready. Err is how it ended.
type ExitedError struct{ Err error }

// Error says the process exited while starting, and how.
func (e *ExitedError) Error() string { return fmt.Sprintf("exited while starting (%v)", e.Err) }

// WaitReady calls ready every interval until it returns nil, the process
// exits, or timeout passes. It returns nil once ready; an *ExitedError if
// the process ended first; else an error wrapping ErrNotReady and ready's
// last error.
func (p *Process) WaitReady(timeout, interval time.Duration, ready func() error) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return &ExitedError{Err: p.err}
		case <-deadline.C:
			return fmt.Errorf("%w after %v: %w", ErrNotReady, timeout, err)
		case <-tick.C:
		}
	}
}
