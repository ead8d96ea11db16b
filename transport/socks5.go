package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
)

// SOCKS5 (RFC 1928) with username and password authentication (RFC 1929).
// Targets are sent by name, so the proxy resolves them: DNS happens at the
// exit, as a browser behind the proxy would have it.
const (
	socksVersion     = 5
	socksNoAuth      = 0x00
	socksUserPass    = 0x02
	socksNoMethod    = 0xff
	socksConnect     = 0x01
	socksAtypIPv4    = 0x01
	socksAtypDomain  = 0x03
	socksAtypIPv6    = 0x04
	socksAuthVersion = 0x01
)

var socksReplies = map[byte]string{
	1: "general failure",
	2: "connection not allowed by ruleset",
	3: "network unreachable",
	4: "host unreachable",
	5: "connection refused",
	6: "TTL expired",
	7: "command not supported",
	8: "address type not supported",
}

func socks5Connect(conn net.Conn, ex *exit, target string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrProxy, ex.label, fmt.Sprintf(format, args...))
	}
	user, pass := "", ""
	if u := ex.proxy.User; u != nil {
		user = u.Username()
		pass, _ = u.Password()
	}
	if len(user) > 255 || len(pass) > 255 {
		return fail("username or password longer than 255 bytes")
	}

	// Greeting: offer user/password only when we have credentials.
	methods := []byte{socksNoAuth}
	if user != "" {
		methods = []byte{socksNoAuth, socksUserPass}
	}
	msg := append([]byte{socksVersion, byte(len(methods))}, methods...)
	if _, err := conn.Write(msg); err != nil {
		return fail("write greeting: %v", err)
	}
	var choice [2]byte
	if _, err := io.ReadFull(conn, choice[:]); err != nil {
		return fail("read greeting: %v", err)
	}
	if choice[0] != socksVersion {
		return fail("not a SOCKS5 proxy (version %d)", choice[0])
	}
	switch choice[1] {
	case socksNoAuth:
	case socksUserPass:
		if user == "" {
			return proxyAuthError(ex, "SOCKS5 username/password required")
		}
		if err := socksAuth(conn, ex, user, pass); err != nil {
			return err
		}
	case socksNoMethod:
		return proxyAuthError(ex, "SOCKS5 accepts none of the offered methods")
	default:
		return fail("SOCKS5 chose unknown method %d", choice[1])
	}

	req, err := socksRequest(target)
	if err != nil {
		return fail("%v", err)
	}
	if _, err := conn.Write(req); err != nil {
		return fail("write CONNECT: %v", err)
	}
	return socksReply(conn, fail, target)
}

func socksAuth(conn net.Conn, ex *exit, user, pass string) error {
	msg := []byte{socksAuthVersion, byte(len(user))}
	msg = append(msg, user...)
	msg = append(msg, byte(len(pass)))
	msg = append(msg, pass...)
	_, err := conn.Write(msg)
	clear(msg)
	if err != nil {
		return fmt.Errorf("%w: %s: write credentials: %v", ErrProxy, ex.label, err)
	}
	var resp [2]byte
	if _, err := io.ReadFull(conn, resp[:]); err != nil {
		return fmt.Errorf("%w: %s: read auth status: %v", ErrProxy, ex.label, err)
	}
	if resp[1] != 0 {
		return proxyAuthError(ex, fmt.Sprintf("SOCKS5 auth status %d", resp[1]))
	}
	return nil
}

func socksRequest(target string) ([]byte, error) {
	host, portStr, err := net.SplitHostPort(target)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port %q", portStr)
	}
	req := []byte{socksVersion, socksConnect, 0}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is4() {
			req = append(req, socksAtypIPv4)
		} else {
			req = append(req, socksAtypIPv6)
		}
		req = append(req, ip.AsSlice()...)
	} else {
		if len(host) > 255 {
			return nil, errors.New("host name longer than 255 bytes")
		}
		req = append(req, socksAtypDomain, byte(len(host)))
		req = append(req, host...)
	}
	return binary.BigEndian.AppendUint16(req, uint16(port)), nil
}

func socksReply(conn net.Conn, fail func(string, ...any) error, target string) error {
	var head [4]byte
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		return fail("read CONNECT reply: %v", err)
	}
	if head[0] != socksVersion {
		return fail("bad reply version %d", head[0])
	}
	if head[1] != 0 {
		reason := socksReplies[head[1]]
		if reason == "" {
			reason = fmt.Sprintf("reply code %d", head[1])
		}
		return fail("CONNECT %s: %s", target, reason)
	}
	// Skip the bound address and port.
	var n int
	switch head[3] {
	case socksAtypIPv4:
		n = 4
	case socksAtypIPv6:
		n = 16
	case socksAtypDomain:
		var l [1]byte
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			return fail("read bound address: %v", err)
		}
		n = int(l[0])
	default:
		return fail("bad bound address type %d", head[3])
	}
	if _, err := io.ReadFull(conn, make([]byte, n+2)); err != nil {
		return fail("read bound address: %v", err)
	}
	return nil
}
