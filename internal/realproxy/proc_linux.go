package realproxy

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// accepting reports whether the process pid holds the socket listening on
// addr, a port of 127.0.0.1. A bare connect would also succeed against
// another program that took the port first.
func accepting(pid int, addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	sockets := listeningSockets(n)
	if len(sockets) == 0 {
		return false
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err == nil && sockets[link] {
			return true
		}
	}
	return false
}

// listeningSockets returns the IPv4 TCP sockets listening on port, named
// as /proc/PID/fd links name them: "socket:[INODE]".
func listeningSockets(port int) map[string]bool {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return nil
	}
	defer f.Close()
	const listen = "0A" // TCP_LISTEN in the kernel's numbering
	want := fmt.Sprintf(":%04X", port)
	found := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != listen || !strings.HasSuffix(fields[1], want) {
			continue
		}
		found["socket:["+fields[9]+"]"] = true
	}
	return found
}
