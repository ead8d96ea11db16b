package childproc

import "syscall"

// sysProcAttr makes the child get SIGKILL when the thread that started it
// ends, which covers a test binary that dies without its cleanups. It is a
// best effort: a program that changes its user (tinyproxy run as root)
// loses the setting.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
