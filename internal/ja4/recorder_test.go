package ja4

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

// checkAgainstStdlib compares a parsed Hello with what crypto/tls saw of
// the same ClientHello.
func checkAgainstStdlib(t *testing.T, h *Hello, info *tls.ClientHelloInfo) {
	t.Helper()
	if info == nil {
		t.Fatal("crypto/tls saw no ClientHello")
	}
	if !slices.Equal(h.Extensions, info.Extensions) {
		t.Errorf("Extensions = %d, crypto/tls saw %d", h.Extensions, info.Extensions)
	}
	if !slices.Equal(h.CipherSuites, info.CipherSuites) {
		t.Errorf("CipherSuites = %04x, crypto/tls saw %04x", h.CipherSuites, info.CipherSuites)
	}
	if h.SNI != info.ServerName {
		t.Errorf("SNI = %q, crypto/tls saw %q", h.SNI, info.ServerName)
	}
	if !slices.Equal(h.ALPN, info.SupportedProtos) {
		t.Errorf("ALPN = %q, crypto/tls saw %q", h.ALPN, info.SupportedProtos)
	}
	// crypto/tls makes up a list when the extension is missing.
	if h.SupportedVersions != nil && !slices.Equal(h.SupportedVersions, info.SupportedVersions) {
		t.Errorf("SupportedVersions = %04x, crypto/tls saw %04x", h.SupportedVersions, info.SupportedVersions)
	}
	var sigs, groups []uint16
	for _, s := range info.SignatureSchemes {
		sigs = append(sigs, uint16(s))
	}
	for _, c := range info.SupportedCurves {
		groups = append(groups, uint16(c))
	}
	if !slices.Equal(h.SignatureAlgorithms, sigs) {
		t.Errorf("SignatureAlgorithms = %04x, crypto/tls saw %04x", h.SignatureAlgorithms, sigs)
	}
	if !slices.Equal(h.SupportedGroups, groups) {
		t.Errorf("SupportedGroups = %04x, crypto/tls saw %04x", h.SupportedGroups, groups)
	}
}

// lastFrom returns the recorded entry of the connection from local.
func lastFrom(t *testing.T, rec *Recorder, local net.Addr) Recorded {
	t.Helper()
	hellos := rec.Hellos()
	for i := len(hellos) - 1; i >= 0; i-- {
		if hellos[i].Remote.String() == local.String() {
			return hellos[i]
		}
	}
	t.Fatalf("nothing recorded from %s among %d entries", local, len(hellos))
	return Recorded{}
}

func TestRecorderUnderTLSServer(t *testing.T) {
	rec := NewRecorder(listen(t))
	srv := serveTLS(t, rec)
	tests := []struct {
		name       string
		cfg        *tls.Config
		wantPrefix string
	}{
		{
			name: "name and alpn",
			cfg: &tls.Config{ServerName: "example.com", NextProtos: []string{"h2", "http/1.1"},
				InsecureSkipVerify: true},
			wantPrefix: "t13d",
		},
		{
			name:       "by address without alpn",
			cfg:        &tls.Config{InsecureSkipVerify: true},
			wantPrefix: "t13i",
		},
		{
			name: "tls 1.2 at most",
			cfg: &tls.Config{ServerName: "example.com", MaxVersion: tls.VersionTLS12,
				InsecureSkipVerify: true},
			wantPrefix: "t12d",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &net.Dialer{Timeout: 5 * time.Second}
			conn, err := tls.DialWithDialer(d, "tcp", rec.Addr().String(), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if got, err := io.ReadAll(conn); err != nil || string(got) != "hi" {
				t.Fatalf("read %q, %v; want hi", got, err)
			}
			hs := srv.next(t)
			if hs.err != nil {
				t.Fatalf("server handshake: %v", hs.err)
			}
			got := lastFrom(t, rec, conn.LocalAddr())
			if got.Err != nil || got.Hello == nil {
				t.Fatalf("recorded error %v", got.Err)
			}
			checkAgainstStdlib(t, got.Hello, hs.info)
			if ja4 := got.Hello.JA4(); ja4[:4] != tc.wantPrefix {
				t.Errorf("JA4() = %s, want prefix %s", ja4, tc.wantPrefix)
			}
			if _, err := Parse(got.Raw); err != nil {
				t.Errorf("recorded bytes do not parse: %v", err)
			}
		})
	}
}

func TestRecorderPassesBytesThrough(t *testing.T) {
	hello := records(basicSpec().message(), 100)
	bad := records(helloSpec{exts: []ext{{23, nil}, {23, nil}}}.message(), 100)
	tests := []struct {
		name    string
		send    []byte
		wantErr error // nil: a Hello is recorded
		wantRaw []byte
	}{
		{"hello then data", append(bytes.Clone(hello), "after the hello"...), nil, hello},
		{"hello alone", hello, nil, hello},
		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrNotHandshake, []byte("GET /")},
		{"nothing", nil, io.EOF, nil},
		{"hello cut short", hello[:150], io.ErrUnexpectedEOF, hello[:150]},
		{"malformed hello", bad, ErrMalformed, bad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := NewRecorder(listen(t))
			got := make(chan []byte, 1)
			go func() {
				c, err := rec.Accept()
				if err != nil {
					got <- nil
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				b, _ := io.ReadAll(c)
				got <- b
			}()

			c, err := net.Dial("tcp", rec.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			c.(*net.TCPConn).CloseWrite()
			if b := <-got; !bytes.Equal(b, tc.send) {
				t.Errorf("consumer read %q, want %q", b, tc.send)
			}

			entry := lastFrom(t, rec, c.LocalAddr())
			if !bytes.Equal(entry.Raw, tc.wantRaw) {
				t.Errorf("recorded Raw = %q, want %q", entry.Raw, tc.wantRaw)
			}
			if tc.wantErr == nil {
				if entry.Err != nil || entry.Hello == nil || entry.Hello.SNI != "a.test" {
					t.Errorf("recorded %+v, want the hello for a.test", entry)
				}
				return
			}
			if !errors.Is(entry.Err, tc.wantErr) || entry.Hello != nil {
				t.Errorf("recorded error %v and hello %v, want error %v", entry.Err, entry.Hello, tc.wantErr)
			}
		})
	}
}

// TestRecorderBadClientsDoNotBlock holds a silent connection and a garbage
// one open while a real client completes its handshake.
func TestRecorderBadClientsDoNotBlock(t *testing.T) {
	rec := NewRecorder(listen(t))
	srv := serveTLS(t, rec)
	silent, err := net.Dial("tcp", rec.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	garbage, err := net.Dial("tcp", rec.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	if _, err := garbage.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n")); err != nil {
		t.Fatal(err)
	}
	if hs := srv.next(t); hs.err == nil {
		t.Fatal("handshake with the garbage client succeeded")
	}

	cfg := &tls.Config{ServerName: "example.com", InsecureSkipVerify: true}
	d := &net.Dialer{Timeout: 5 * time.Second}
	good, err := tls.DialWithDialer(d, "tcp", rec.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("real client blocked by the others: %v", err)
	}
	defer good.Close()
	if hs := srv.next(t); hs.err != nil {
		t.Fatalf("real client's handshake: %v", hs.err)
	}

	silent.Close()
	if hs := srv.next(t); hs.err == nil {
		t.Fatal("handshake with the silent client succeeded")
	}
	checks := []struct {
		name string
		conn net.Conn
		want error
	}{
		{"silent", silent, io.EOF},
		{"garbage", garbage, ErrNotHandshake},
	}
	for _, c := range checks {
		if got := lastFrom(t, rec, c.conn.LocalAddr()); !errors.Is(got.Err, c.want) {
			t.Errorf("%s client: recorded error %v, want %v", c.name, got.Err, c.want)
		}
	}
	if got := lastFrom(t, rec, good.LocalAddr()); got.Err != nil || got.Hello.SNI != "example.com" {
		t.Errorf("real client: recorded %v, %v; want its hello", got.Err, got.Hello)
	}
}

// TestRecorderReadDeadline checks that a deadline set by the consumer ends
// the recording read with the network's own timeout error, and that bytes
// sent later still reach the consumer.
func TestRecorderReadDeadline(t *testing.T) {
	rec := NewRecorder(listen(t))
	client, err := net.Dial("tcp", rec.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := rec.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 64)
	if n, err := server.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %d, %v; want a deadline error", n, err)
	}
	var ne net.Error
	if _, err := server.Read(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("second Read error = %v, want a net.Error timeout", err)
	}
	if got := lastFrom(t, rec, client.LocalAddr()); !errors.Is(got.Err, os.ErrDeadlineExceeded) {
		t.Errorf("recorded error %v, want a deadline error", got.Err)
	}

	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(server, buf[:4]); err != nil || string(buf[:n]) != "late" {
		t.Errorf("Read after the deadline = %q, %v; want late", buf[:n], err)
	}
	if n := len(rec.Hellos()); n != 1 {
		t.Errorf("%d entries recorded, want 1: only the first Read records", n)
	}
}
