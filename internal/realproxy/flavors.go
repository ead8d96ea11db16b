package realproxy

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// microsocks takes everything on its command line; it blanks the user and password
// in its argv, so ps does not show it.
var microsocks = &flavor{
	name:   "microsocks",
	scheme: "socks5",
	check: func(o *Options) error {
		// RFC 1929 gives each a one-byte length.
		if len(o.User) > 255 || len(o.Password) > 255 {
			return fmt.Errorf("realproxy: microsocks: user or password longer than 255 bytes")
		}
		return nil
	},
	args: func(o *Options, _ string, port int) ([]string, error) {
		args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(port)}
		if o.User != "" {
			args = append(args, "-u", o.User, "-P", o.Password)
		}
		if o.Egress != "" {
			args = append(args, "-b", o.Egress)
		}
		return args, nil
	},
}

// tinyproxy reads a configuration file. It runs in the foreground (-d) and,
// with neither LogFile nor Syslog set, logs to stderr, so it writes no file
// at all: as root it switches to the user nobody, who could not write into
// the test's directory anyway. With no ConnectPort line it allows CONNECT
// to every port.
var tinyproxy = &flavor{
	name:   "tinyproxy",
	scheme: "http",
	check: func(o *Options) error {
		for _, s := range []string{o.User, o.Password} {
			if strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != "" {
				return fmt.Errorf("realproxy: tinyproxy takes only letters, digits, '-', '.' " +
					"and '_' in user names and passwords")
			}
		}
		return nil
	},
	args: func(o *Options, dir string, port int) ([]string, error) {
		conf := filepath.Join(dir, "tinyproxy.conf")
		if err := os.WriteFile(conf, []byte(tinyproxyConfig(o, port)), 0o600); err != nil {
			return nil, fmt.Errorf("realproxy: %w", err)
		}
		return []string{"-d", "-c", conf}, nil
	},
}

// tinyproxyConfig returns the configuration for a run on port. Timeout is
// how long a connection may sit idle.
func tinyproxyConfig(o *Options, port int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Port %d\nListen 127.0.0.1\nAllow 127.0.0.1\n", port)
	b.WriteString("Timeout 60\nMaxClients 100\nLogLevel Info\n")
	if o.Egress != "" {
		fmt.Fprintf(&b, "Bind %s\n", o.Egress)
	}
	if o.User != "" {
		fmt.Fprintf(&b, "BasicAuth %s %s\n", o.User, o.Password)
	}
	// tinyproxy warns when root keeps it running as root.
	if os.Geteuid() == 0 {
		fmt.Fprintf(&b, "User nobody\nGroup %s\n", nobodyGroup())
	}
	return b.String()
}

// nobodyGroup returns the group for unprivileged daemons: nogroup on
// Debian, nobody elsewhere.
func nobodyGroup() string {
	if _, err := user.LookupGroup("nogroup"); err == nil {
		return "nogroup"
	}
	return "nobody"
}
