//go:build !linux

package realproxy

import (
	"net"
	"time"
)

// accepting reports whether something accepts connections on addr.
// Outside Linux it cannot tell whether that is the process pid.
func accepting(pid int, addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
