package main

import (
	"os/exec"
	"syscall"
	"time"
)

// cpuTime returns the user plus system CPU time of this process so far:
// every thread of the client, none of the servers and relays, which run in
// other processes.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// setChildAttr makes the kernel kill nginx when this process dies, so that
// an interrupted run leaves no server behind.
func setChildAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
