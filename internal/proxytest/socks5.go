package proxytest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
)

// SOCKS5 protocol values, RFC 1928 and RFC 1929.
const (
	socksVersion = 5

	methodNoAuth       = 0x00
	methodUserPass     = 0x02
	methodNoAcceptable = 0xff
	userPassVersion    = 1

	cmdConnect = 1

	atypIPv4   = 1
	atypDomain = 3
	atypIPv6   = 4
)

// SOCKS5 reply codes a proxy sends, RFC 1928 section 6.
const (
	ReplySucceeded          = 0x00 // succeeded
	ReplyGeneralFailure     = 0x01 // general SOCKS server failure
	ReplyNotAllowed         = 0x02 // connection not allowed by ruleset
	ReplyNetworkUnreachable = 0x03 // network unreachable
	ReplyHostUnreachable    = 0x04 // host unreachable, also for DNS failures and timeouts
	ReplyConnectionRefused  = 0x05 // connection refused
	ReplyCommandUnsupported = 0x07 // command not supported
	ReplyAddressUnsupported = 0x08 // address type not supported
)

// Handshake errors. They only end the client's connection; tests see
// their effect through the counters and the replies.
var (
	errAuth     = errors.New("proxytest: authentication failed")
	errProtocol = errors.New("proxytest: protocol violation")
	errAddrType = fmt.Errorf("%w: address type", errProtocol)
)

// NewSOCKS5 starts a SOCKS5 proxy that serves CONNECT to IPv4, IPv6 and
// domain-name targets, resolving names itself. With opts.User set it
// requires the username/password method. It stops at the end of the test.
func NewSOCKS5(t testing.TB, opts *Options) *Proxy {
	t.Helper()
	if opts != nil && (opts.TLSConfig != nil || opts.Certificate != nil) {
		t.Fatal("proxytest: TLS is for the HTTP proxy only")
	}
	return start(t, "socks5", opts, socks5Handshake)
}

// socks5Handshake negotiates the method, authenticates, reads the request,
// dials and replies.
func socks5Handshake(ctx context.Context, p *Proxy, client net.Conn) (net.Conn, []byte, error) {
	br := bufio.NewReader(client)
	if err := socks5Auth(p, br, client); err != nil {
		return nil, nil, err
	}

	// Request: VER CMD RSV ATYP DST.ADDR DST.PORT.
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, nil, err
	}
	if hdr[0] != socksVersion {
		return nil, nil, fmt.Errorf("%w: request version %d", errProtocol, hdr[0])
	}
	host, err := readSOCKSAddr(br, hdr[3])
	if errors.Is(err, errAddrType) {
		writeReply(client, ReplyAddressUnsupported, nil)
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	var port [2]byte
	if _, err := io.ReadFull(br, port[:]); err != nil {
		return nil, nil, err
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
	if hdr[1] != cmdConnect {
		writeReply(client, ReplyCommandUnsupported, nil)
		return nil, nil, fmt.Errorf("%w: command %d", errProtocol, hdr[1])
	}

	p.addTarget(target)
	if !p.allowed(target) {
		writeReply(client, ReplyNotAllowed, nil)
		return nil, nil, fmt.Errorf("proxytest: %s not allowed", target)
	}
	conn, err := p.dial(ctx, target)
	if err != nil {
		writeReply(client, replyFor(err), nil)
		return nil, nil, err
	}
	if err := writeReply(client, ReplySucceeded, conn.LocalAddr()); err != nil {
		conn.Close()
		return nil, nil, err
	}
	early, _ := br.Peek(br.Buffered())
	return conn, early, nil
}

// socks5Auth runs method negotiation and, when the proxy has credentials,
// the username/password subnegotiation.
func socks5Auth(p *Proxy, br *bufio.Reader, client net.Conn) error {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return err
	}
	if hdr[0] != socksVersion {
		return fmt.Errorf("%w: version %d", errProtocol, hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(br, methods); err != nil {
		return err
	}
	want := byte(methodNoAuth)
	if p.opts.User != "" {
		want = methodUserPass
	}
	if !slices.Contains(methods, want) {
		// Counted before the refusal is written, so that a client that
		// has read it sees the count.
		if want == methodUserPass {
			p.authFailures.Add(1)
		}
		client.Write([]byte{socksVersion, methodNoAcceptable})
		if want == methodUserPass {
			return fmt.Errorf("%w: client offers no username/password method", errAuth)
		}
		return fmt.Errorf("%w: client offers no method without authentication", errProtocol)
	}
	if _, err := client.Write([]byte{socksVersion, want}); err != nil {
		return err
	}
	if want == methodNoAuth {
		return nil
	}

	// RFC 1929: VER ULEN UNAME PLEN PASSWD.
	ver, err := br.ReadByte()
	if err != nil {
		return err
	}
	if ver != userPassVersion {
		return fmt.Errorf("%w: username/password version %d", errProtocol, ver)
	}
	user, err := readString8(br)
	if err != nil {
		return err
	}
	pass, err := readString8(br)
	if err != nil {
		return err
	}
	if !p.credentialsOK(user, pass) {
		p.authFailures.Add(1)
		client.Write([]byte{userPassVersion, 1})
		return fmt.Errorf("%w: user %q", errAuth, user)
	}
	_, err = client.Write([]byte{userPassVersion, 0})
	return err
}

// readSOCKSAddr reads DST.ADDR of the given type and returns it as a host.
func readSOCKSAddr(br *bufio.Reader, atyp byte) (string, error) {
	switch atyp {
	case atypIPv4, atypIPv6:
		ip := make(net.IP, 4)
		if atyp == atypIPv6 {
			ip = make(net.IP, 16)
		}
		if _, err := io.ReadFull(br, ip); err != nil {
			return "", err
		}
		return ip.String(), nil
	case atypDomain:
		name, err := readString8(br)
		if err == nil && name == "" {
			err = fmt.Errorf("%w: empty domain name", errProtocol)
		}
		return name, err
	}
	return "", fmt.Errorf("%w %d", errAddrType, atyp)
}

// readString8 reads a string led by its one-byte length.
func readString8(br *bufio.Reader) (string, error) {
	n, err := br.ReadByte()
	if err != nil {
		return "", err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// writeReply sends a reply with the bound address, 0.0.0.0:0 when nil.
func writeReply(w io.Writer, code byte, bound net.Addr) error {
	ip, port := net.IPv4zero.To4(), 0
	if ta, ok := bound.(*net.TCPAddr); ok {
		ip, port = ta.IP, ta.Port
	}
	msg := []byte{socksVersion, code, 0}
	if ip4 := ip.To4(); ip4 != nil {
		msg = append(append(msg, atypIPv4), ip4...)
	} else {
		msg = append(append(msg, atypIPv6), ip.To16()...)
	}
	msg = binary.BigEndian.AppendUint16(msg, uint16(port))
	_, err := w.Write(msg)
	return err
}

// replyFor maps a dial error to a reply code.
func replyFor(err error) byte {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReplyConnectionRefused
	case errors.Is(err, syscall.ENETUNREACH):
		return ReplyNetworkUnreachable
	case errors.Is(err, syscall.EHOSTUNREACH), errors.As(err, &dnsErr),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return ReplyHostUnreachable
	}
	return ReplyGeneralFailure
}
