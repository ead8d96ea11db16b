package nginxtest

import "syscall"

// sysProcAttr has Linux kill nginx when the test binary dies, say on a
// test timeout, so no server outlives its test. Linux sends the signal
// when the thread that started nginx ends; Go ends a thread only when a
// goroutine locked to it returns, so only a caller of Start or Restart
// that locked its goroutine to its thread and then returned would lose
// its nginx early.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
