package ticketstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Exit is where a target server sees a connection come from: direct, or
// one proxy endpoint with one credential. Two exits that differ in any
// field, the password included, are two exits and never share tickets.
//
// Exit holds the password so that it can tell credentials apart; the store
// writes only a keyed digest of it. Its String and Label methods leave the
// password out.
type Exit struct {
	// Scheme is "http", "https" or "socks5"; empty means a direct
	// connection, and then the other fields are ignored.
	Scheme   string
	Host     string
	Port     string
	Username string
	Password string
	// IP, when known, is the address the target server sees, as observed
	// through the proxy. Setting it splits one proxy's tickets by the
	// egress address it used.
	IP string
}

// Direct is the exit of connections made without a proxy.
var Direct = Exit{}

// defaultPorts are filled in when a proxy URL names no port, so that
// http://p and http://p:80 are one exit.
var defaultPorts = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}

// ParseExit returns the exit of a proxy URL; an empty string is [Direct].
// Errors never contain the password.
func ParseExit(proxy string) (Exit, error) {
	if proxy == "" {
		return Direct, nil
	}
	u, err := url.Parse(proxy)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Exit{}, fmt.Errorf("%w: proxy URL: %v", ErrBadExit, err)
	}
	return ExitFromURL(u)
}

// ExitFromURL returns the exit of a parsed proxy URL; nil is [Direct].
// The scheme socks5h is the same exit as socks5.
func ExitFromURL(u *url.URL) (Exit, error) {
	if u == nil {
		return Direct, nil
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "socks5h" {
		scheme = "socks5"
	}
	if _, ok := defaultPorts[scheme]; !ok {
		return Exit{}, fmt.Errorf("%w: proxy scheme %q (want http, https or socks5)", ErrBadExit, u.Scheme)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return Exit{}, fmt.Errorf("%w: proxy URL %s has no host", ErrBadExit, u.Redacted())
	}
	port := u.Port()
	if port == "" {
		port = defaultPorts[scheme]
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Exit{}, fmt.Errorf("%w: proxy URL %s: port %s is not between 1 and 65535",
			ErrBadExit, u.Redacted(), port)
	}
	e := Exit{Scheme: scheme, Host: host, Port: port}
	if u.User != nil {
		e.Username = u.User.Username()
		e.Password, _ = u.User.Password()
	}
	return e, nil
}

// IsDirect reports whether e is the direct exit.
func (e Exit) IsDirect() bool { return e.Scheme == "" }

// Label names the exit without its password: "direct", or
// scheme://user@host:port, followed by " ip=ADDR" when IP is known.
func (e Exit) Label() string {
	if e.IsDirect() {
		if e.IP != "" {
			return "direct ip=" + e.IP
		}
		return "direct"
	}
	var b strings.Builder
	b.WriteString(e.Scheme)
	b.WriteString("://")
	if e.Username != "" {
		b.WriteString(url.User(e.Username).String())
		b.WriteByte('@')
	}
	b.WriteString(net.JoinHostPort(e.Host, e.Port))
	if e.IP != "" {
		b.WriteString(" ip=")
		b.WriteString(e.IP)
	}
	return b.String()
}

// String returns [Exit.Label], so that an exit printed by mistake shows no
// password.
func (e Exit) String() string { return e.Label() }

// GoString keeps %#v from printing the password too.
func (e Exit) GoString() string { return "ticketstore.Exit(" + e.Label() + ")" }

// digest returns the partition ID of (e, profile) under key. Every field
// is length-prefixed, so no two different identities encode alike.
func (e Exit) digest(key []byte, profile string) PartitionID {
	m := hmac.New(sha256.New, key)
	var b []byte
	b = append(b, "revisit partition v1"...)
	fields := []string{e.Scheme, e.Host, e.Port, e.Username, e.Password, e.IP, profile}
	if e.IsDirect() {
		fields = []string{"", "", "", "", "", e.IP, profile}
	}
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	m.Write(b)
	var id PartitionID
	copy(id[:], m.Sum(nil))
	clear(b)
	return id
}
