package childproc

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestStopAndExit(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep program")
	}
	p, err := Start(exec.Command("sleep", "30"))
	if err != nil {
		t.Fatal(err)
	}
	if exited, _ := p.Exited(); exited {
		t.Fatal("sleep exited at once")
	}
	// Ended by the signal asked for: a clean stop.
	if err := p.Stop(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatalf("Stop(SIGTERM) = %v, want nil", err)
	}
	if exited, _ := p.Exited(); !exited {
		t.Fatal("Exited() = false after Stop")
	}

	p, err = Start(exec.Command("sh", "-c", "exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	exited, err := p.Exited()
	var ee *exec.ExitError
	if !exited || !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Exited() = %v, %v; want true and exit status 3", exited, err)
	}
	// Stopping a process that is gone reports how it ended.
	if err := p.Stop(syscall.SIGTERM, time.Second); !errors.As(err, &ee) {
		t.Fatalf("Stop of an exited process = %v, want its exit status", err)
	}
}

func TestLookPath(t *testing.T) {
	notFound := errors.New("not found")
	if _, err := LookPath("", "no-such-program-here", "/nonexistent", "pkg", notFound); !errors.Is(err, notFound) {
		t.Fatalf("LookPath of a missing program = %v, want notFound", err)
	}
	if path, err := LookPath("", "sh", "/bin", "dash", notFound); err != nil || path == "" {
		t.Fatalf("LookPath(sh) = %q, %v", path, err)
	}
}
