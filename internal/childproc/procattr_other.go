//go:build !linux

package childproc

import "syscall"

// sysProcAttr has nothing to add outside Linux: a child left behind by a
// test binary that died must be stopped by hand.
func sysProcAttr() *syscall.SysProcAttr { return nil }
