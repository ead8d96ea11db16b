package ja4

import (
	"io"
	"net"
	"testing"
	"time"

	utls "github.com/refraction-networking/utls"
)

// TestUTLSChromeReadClientHello reads the ClientHello that utls's Chrome 133
// preset really writes, on the server side of a loopback connection.
func TestUTLSChromeReadClientHello(t *testing.T) {
	ln := listen(t)
	orders := map[string]bool{}
	for i := range 4 {
		clientDone := make(chan struct{})
		go func() {
			defer close(clientDone)
			c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			cfg := &utls.Config{ServerName: "example.com", InsecureSkipVerify: true}
			// The server hangs up after the ClientHello, so this fails.
			utls.UClient(c, cfg, utls.HelloChrome_133).Handshake()
		}()

		conn, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		raw, err := ReadClientHello(conn)
		conn.Close()
		<-clientDone
		if err != nil {
			t.Fatalf("connection %d: ReadClientHello: %v", i, err)
		}
		h, err := Parse(raw)
		if err != nil {
			t.Fatalf("connection %d: Parse: %v", i, err)
		}
		if got := h.JA4(); got != chromeJA4 {
			t.Errorf("connection %d: JA4() = %s, want %s\nJA4R: %s", i, got, chromeJA4, h.JA4R())
		}
		if h.SNI != "example.com" || h.HasPSK {
			t.Errorf("connection %d: SNI %q, HasPSK %v; want example.com, false", i, h.SNI, h.HasPSK)
		}
		orders[h.JA4O()] = true
	}
	// Chrome shuffles its extensions, and JA4 must not care.
	if len(orders) < 2 {
		t.Errorf("4 connections gave %d extension orders, want several", len(orders))
	}
}

// chromeWithPSK dials addr as Chrome 133 with a pre_shared_key extension
// added last, the way a current Chrome resumes, and reads the server's
// greeting so that session tickets are stored in cache.
func chromeWithPSK(t *testing.T, addr string, cache utls.ClientSessionCache) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	spec, err := utls.UTLSIdToSpec(utls.HelloChrome_133)
	if err != nil {
		t.Fatal(err)
	}
	spec.Extensions = append(spec.Extensions, &utls.UtlsPreSharedKeyExtension{})
	cfg := &utls.Config{
		ServerName:         "example.com",
		InsecureSkipVerify: true,
		ClientSessionCache: cache,
		OmitEmptyPsk:       true,
	}
	uc := utls.UClient(c, cfg, utls.HelloCustom)
	if err := uc.ApplyPreset(&spec); err != nil {
		t.Fatal(err)
	}
	if err := uc.Handshake(); err != nil {
		t.Fatalf("utls handshake: %v", err)
	}
	if got, err := io.ReadAll(uc); err != nil || string(got) != "hi" {
		t.Fatalf("read %q, %v; want hi", got, err)
	}
}

// TestUTLSChromeResumesThroughRecorder runs two real handshakes through a
// Recorder under crypto/tls: a first visit, then a resumption with the
// pre_shared_key extension. Both must match the browser's fingerprints.
func TestUTLSChromeResumesThroughRecorder(t *testing.T) {
	rec := NewRecorder(listen(t))
	srv := serveTLS(t, rec)
	cache := utls.NewLRUClientSessionCache(4)
	tests := []struct {
		name    string
		ja4     string
		resumed bool
	}{
		{"first visit", chromeJA4, false},
		{"revisit", chromePSKJA4, true},
	}
	for _, tc := range tests {
		chromeWithPSK(t, rec.Addr().String(), cache)
		hs := srv.next(t)
		if hs.err != nil {
			t.Fatalf("%s: server handshake: %v", tc.name, hs.err)
		}
		hellos := rec.Hellos()
		got := hellos[len(hellos)-1]
		if got.Err != nil {
			t.Fatalf("%s: recorded error %v", tc.name, got.Err)
		}
		checkAgainstStdlib(t, got.Hello, hs.info)
		if ja4 := got.Hello.JA4(); ja4 != tc.ja4 {
			t.Errorf("%s: JA4() = %s, want %s", tc.name, ja4, tc.ja4)
		}
		if got.Hello.HasPSK != tc.resumed || hs.resumed != tc.resumed {
			t.Errorf("%s: HasPSK %v, server resumed %v; want %v", tc.name,
				got.Hello.HasPSK, hs.resumed, tc.resumed)
		}
	}
}
