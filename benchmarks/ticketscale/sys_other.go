//go:build !linux

package main

import "errors"

var errLinuxOnly = errors.New("measured on Linux only")

func freeDisk(dir string) (int64, error) { return 0, errLinuxOnly }

func evict(path string) error { return errLinuxOnly }
