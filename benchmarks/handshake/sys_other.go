//go:build !linux

package main

import (
	"os/exec"
	"time"
)

// cpuTime is measured on Linux only.
func cpuTime() (time.Duration, bool) { return 0, false }

func setChildAttr(cmd *exec.Cmd) {}
