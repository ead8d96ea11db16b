package transport_test

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/revisit-crawl/revisit/internal/ja4"
	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

var update = flag.Bool("update", false, "rewrite the golden fingerprint files in testdata")

// helloServer is a TLS server that records the raw ClientHello of every
// connection and answers one HTTP/1.1 response.
func helloServer(t *testing.T, ca *tlstest.CA) (*ja4.Recorder, string) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := ja4.NewRecorder(inner)
	ln := tls.NewListener(rec, &tls.Config{Certificates: []tls.Certificate{ca.Leaf}, NextProtos: []string{"http/1.1"}})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(inner.Addr().String())
	return rec, "https://localhost:" + port + "/"
}

// TestProfileFingerprints computes JA4 from the bytes each profile really
// writes, on a first visit and on a revisit, and checks them against the
// real browser's values and against the golden files in testdata (JA4,
// the raw JA4 with sorted lists, and whether 41 came last).
func TestProfileFingerprints(t *testing.T) {
	ca := tlstest.NewCA(t)
	for _, p := range transport.Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			rec, url := helloServer(t, ca)
			st, err := ticketstore.Open(filepath.Join(t.TempDir(), "t.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tr, _ := transport.New(transport.Config{Profile: p, Tickets: st, RootCAs: ca.Pool})
			defer tr.Close()
			for range 3 {
				req := mustReq(t, url)
				req.Close = true
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			hellos := rec.Hellos()
			if len(hellos) != 3 {
				t.Fatalf("server recorded %d ClientHellos, want 3", len(hellos))
			}
			var golden strings.Builder
			for i, h := range hellos {
				if h.Err != nil {
					t.Fatalf("ClientHello %d: %v", i, h.Err)
				}
				want, visit := p.JA4, "first visit"
				if i > 0 {
					want, visit = p.JA4Revisit, "revisit"
				}
				if got := h.Hello.JA4(); got != want {
					t.Errorf("%s JA4 = %s, want %s", visit, got, want)
				}
				ext := h.Hello.Extensions
				if last := ext[len(ext)-1]; (i > 0) != (last == 41) || (i == 0 && slices.Contains(ext, 41)) {
					t.Errorf("%s extensions %v: 41 must be absent on a first visit and last on a revisit", visit, ext)
				}
				if i < 2 {
					fmt.Fprintf(&golden, "%s JA4   %s\n%s JA4_r %s\n", visit, h.Hello.JA4(), visit, h.Hello.JA4R())
				}
			}
			checkGolden(t, filepath.Join("testdata", p.Name+".ja4"), golden.String())
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Fingerprints -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("fingerprint changed:\n%s\nwant (%s):\n%s", got, path, want)
	}
}
