//go:build !linux

package nginxtest

import "syscall"

// sysProcAttr has nothing to add outside Linux: an nginx left behind by a
// test binary that died must be stopped by hand.
func sysProcAttr() *syscall.SysProcAttr { return nil }
