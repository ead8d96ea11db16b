package transport

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	utls "github.com/refraction-networking/utls"

	"github.com/revisit-crawl/revisit/internal/ja4"
	"github.com/revisit-crawl/revisit/internal/tlstest"
)

// anyGREASE stands for whatever GREASE value a client picks in the wanted
// lists of helloSpecCase.
const anyGREASE = 0x0a0a

// Extension types the checks below look into.
const (
	extPadding         = 21
	extCompressCert    = 27
	extRecordSizeLimit = 28
	extDelegatedCreds  = 34
	extPreSharedKey    = 41
	extECH             = 0xfe0d
)

// helloSpecCase is what one spec function must put on the wire. The lists
// are in wire order, as the browser's captures give them.
type helloSpecCase struct {
	name string
	spec func() (utls.ClientHelloSpec, error)
	// ja4 and ja4r are the first visit's fingerprints; revisitJA4 is the
	// one measured when offering a ticket of a crypto/tls server. (A
	// longer ticket can push Safari's hello past 512 bytes, which drops
	// its padding: see TestHelloSafariPaddingWithTicket.)
	ja4, ja4r, revisitJA4 string

	ciphers, exts, groups, shares, versions, sigalgs []uint16
	// check looks at what the lists do not cover, on both visits.
	check func(t *testing.T, m helloMsg)
}

var helloSpecCases = []helloSpecCase{
	{
		name:       "firefox135",
		spec:       firefox135Spec,
		ja4:        "t13d1717h2_5b57614c22b0_3cbfd9057e0d",
		revisitJA4: "t13d1718h2_5b57614c22b0_5dff20295fdc",
		ja4r: "t13d1717h2_002f,0035,009c,009d,1301,1302,1303,c009,c00a,c013,c014,c02b," +
			"c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0017,001b,001c,0022,0023," +
			"002b,002d,0033,fe0d,ff01_0403,0503,0603,0804,0805,0806,0401,0501,0601,0203,0201",
		ciphers: []uint16{0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c,
			0xc030, 0xc00a, 0xc009, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		exts: []uint16{0, 23, 65281, 10, 11, 35, 16, 5, 34, 18, 51, 43, 13, 45, 28, 27,
			65037},
		groups:   []uint16{0x11ec, 0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101},
		shares:   []uint16{0x11ec, 0x001d, 0x0017},
		versions: []uint16{0x0304, 0x0303},
		sigalgs: []uint16{0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501,
			0x0601, 0x0203, 0x0201},
		check: checkFirefoxHello,
	},
	{
		name:       "safari18",
		spec:       safari18Spec,
		ja4:        "t13d2014h2_a09f3c656075_e42f34c56612",
		revisitJA4: "t13d2015h2_a09f3c656075_0558b81db3bf",
		ja4r: "t13d2014h2_000a,002f,0035,009c,009d,1301,1302,1303,c008,c009,c00a,c012,c013," +
			"c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b," +
			"002b,002d,0033,ff01_0403,0804,0401,0503,0805,0805,0501,0806,0601,0201",
		ciphers: []uint16{anyGREASE, 0x1301, 0x1302, 0x1303, 0xc02c, 0xc02b, 0xcca9, 0xc030,
			0xc02f, 0xcca8, 0xc00a, 0xc009, 0xc014, 0xc013, 0x009d, 0x009c, 0x0035, 0x002f,
			0xc008, 0xc012, 0x000a},
		exts: []uint16{anyGREASE, 0, 23, 65281, 10, 11, 16, 5, 13, 18, 51, 45, 43, 27,
			anyGREASE, 21},
		groups:   []uint16{anyGREASE, 0x001d, 0x0017, 0x0018, 0x0019},
		shares:   []uint16{anyGREASE, 0x001d},
		versions: []uint16{anyGREASE, 0x0304, 0x0303, 0x0302, 0x0301},
		sigalgs: []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0805, 0x0501, 0x0806,
			0x0601, 0x0201},
		check: checkSafariHello,
	},
}

// TestHelloSpecs makes two real handshakes per spec against a crypto/tls
// server: a first visit, which must carry the browser's ClientHello
// without pre_shared_key, and a revisit, which must offer the ticket of the
// first as the last extension and resume.
func TestHelloSpecs(t *testing.T) {
	ca := tlstest.NewCA(t)
	for _, tc := range helloSpecCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newHelloServer(t, ca, 0)
			cache := utls.NewLRUClientSessionCache(4)

			first := helloVisit(t, srv, tc, cache, "first visit")
			tc.checkLists(t, first)
			if got := first.hello.JA4(); got != tc.ja4 {
				t.Errorf("first visit: JA4() = %s, want %s", got, tc.ja4)
			}
			if got := first.hello.JA4R(); got != tc.ja4r {
				t.Errorf("first visit: JA4R() =\n%s\nwant\n%s", got, tc.ja4r)
			}
			if slices.Contains(first.hello.Extensions, extPreSharedKey) || first.resumed {
				t.Errorf("first visit: extensions %v, resumed %v; want no 41, not resumed",
					first.hello.Extensions, first.resumed)
			}
			tc.check(t, first)

			again := helloVisit(t, srv, tc, cache, "revisit")
			tc.checkLists(t, again)
			exts := again.hello.Extensions
			if last := exts[len(exts)-1]; last != extPreSharedKey || !again.resumed {
				t.Errorf("revisit: last extension %d, resumed %v; want 41, true", last, again.resumed)
			}
			if got := again.hello.JA4(); got != tc.revisitJA4 {
				t.Errorf("revisit: JA4() = %s, want %s", got, tc.revisitJA4)
			}
			tc.check(t, again)
			t.Logf("first visit JA4_r %s\nrevisit JA4 %s\nrevisit JA4_r %s",
				first.hello.JA4R(), again.hello.JA4(), again.hello.JA4R())
		})
	}
}

// TestHelloSpecsAreFresh checks that no two calls of a spec function share
// anything utls writes into. Extensions without fields are skipped: Go may
// give every pointer to a zero-size value the same address, and they hold
// nothing to share.
func TestHelloSpecsAreFresh(t *testing.T) {
	for _, tc := range helloSpecCases {
		a, errA := tc.spec()
		b, errB := tc.spec()
		if errA != nil || errB != nil {
			t.Fatalf("%s() = %v, %v; want no error", tc.name, errA, errB)
		}
		if &a.CipherSuites[0] == &b.CipherSuites[0] {
			t.Errorf("%s(): two calls share their cipher suites", tc.name)
		}
		for i := range a.Extensions {
			stateless := reflect.TypeOf(a.Extensions[i]).Elem().Size() == 0
			if !stateless && a.Extensions[i] == b.Extensions[i] {
				t.Errorf("%s(): two calls share extension %d (%T)", tc.name, i, a.Extensions[i])
			}
		}
		if _, ok := a.Extensions[len(a.Extensions)-1].(*utls.UtlsPreSharedKeyExtension); !ok {
			t.Errorf("%s(): last extension is %T, want pre_shared_key", tc.name,
				a.Extensions[len(a.Extensions)-1])
		}
	}
}

// checkLists compares the lists of m with the wanted ones. On a revisit
// the wanted extensions gain 41 at the end, and lose padding when the hello
// is long enough without it (checkSafariHello tells whether it should be).
func (tc helloSpecCase) checkLists(t *testing.T, m helloMsg) {
	t.Helper()
	h := m.hello
	exts := tc.exts
	if h.HasPSK {
		exts = append(slices.Clone(exts), extPreSharedKey)
		if !slices.Contains(h.Extensions, extPadding) {
			exts = slices.DeleteFunc(exts, func(e uint16) bool { return e == extPadding })
		}
	}
	lists := []struct {
		name      string
		got, want []uint16
	}{
		{"cipher suites", h.CipherSuites, tc.ciphers},
		{"extensions", h.Extensions, exts},
		{"supported groups", h.SupportedGroups, tc.groups},
		{"key shares", h.KeyShareGroups, tc.shares},
		{"supported versions", h.SupportedVersions, tc.versions},
		{"signature algorithms", h.SignatureAlgorithms, tc.sigalgs},
	}
	for _, l := range lists {
		if !matchGREASE(l.got, l.want) {
			t.Errorf("%s: %s = %04x, want %04x", m.visit, l.name, l.got, l.want)
		}
	}
	if !slices.Equal(h.ALPN, []string{"h2", "http/1.1"}) || !slices.Equal(h.PSKModes, []byte{1}) {
		t.Errorf("%s: ALPN %q, psk modes %v; want [h2 http/1.1], [1]", m.visit, h.ALPN, h.PSKModes)
	}
	if !slices.Equal(m.serverSaw, h.Extensions) {
		t.Errorf("%s: crypto/tls saw extensions %v, ja4.Parse %v", m.visit, m.serverSaw, h.Extensions)
	}
}

// matchGREASE reports whether got equals want, where anyGREASE in want
// matches any GREASE value.
func matchGREASE(got, want []uint16) bool {
	return slices.EqualFunc(got, want, func(g, w uint16) bool {
		return g == w || w == anyGREASE && ja4.IsGREASE(g)
	})
}

// checkFirefoxHello checks the extension bodies that JA4 does not see.
func checkFirefoxHello(t *testing.T, m helloMsg) {
	t.Helper()
	bodies := []struct {
		name string
		typ  uint16
		want string // hex
	}{
		{"record_size_limit", extRecordSizeLimit, "4001"},
		{"delegated_credentials", extDelegatedCreds, "00080403050306030203"},
		{"compress_certificate", extCompressCert, "06000100020003"}, // zlib, brotli, zstd
	}
	for _, b := range bodies {
		if got := fmt.Sprintf("%x", m.bodies[b.typ]); got != b.want {
			t.Errorf("%s: %s = %s, want %s", m.visit, b.name, got, b.want)
		}
	}
	ech := m.bodies[extECH]
	if len(ech) != 281 {
		t.Fatalf("%s: ECH extension body = %d bytes, want 281", m.visit, len(ech))
	}
	// type outer (0), KDF HKDF-SHA256 (1), AEAD AES-128-GCM (1) or
	// ChaCha20-Poly1305 (3), config id, enc of 32 bytes, payload of 239.
	kdf, aead := binary.BigEndian.Uint16(ech[1:]), binary.BigEndian.Uint16(ech[3:])
	encLen, payloadLen := binary.BigEndian.Uint16(ech[6:]), binary.BigEndian.Uint16(ech[40:])
	if ech[0] != 0 || kdf != 1 || (aead != 1 && aead != 3) || encLen != 32 || payloadLen != 239 {
		t.Errorf("%s: ECH type %d, kdf %d, aead %d, enc %d B, payload %d B; want 0, 1, 1 or 3, 32, 239",
			m.visit, ech[0], kdf, aead, encLen, payloadLen)
	}
}

// checkSafariHello checks the GREASE extensions and the padding. BoringSSL
// pads a hello of 256 to 511 bytes, pre_shared_key counted, to exactly 512
// when at least 5 bytes are missing, and otherwise adds the smallest
// padding extension, 5 bytes.
func checkSafariHello(t *testing.T, m helloMsg) {
	t.Helper()
	exts := m.hello.Extensions
	if len(exts) < 15 {
		t.Fatalf("%s: extensions = %v, want at least 15", m.visit, exts)
	}
	if exts[0] == exts[14] {
		t.Errorf("%s: both GREASE extensions are %04x, want two values", m.visit, exts[0])
	}
	if got := m.bodies[exts[14]]; !slices.Equal(got, []byte{0}) {
		t.Errorf("%s: second GREASE extension body = %x, want 00", m.visit, got)
	}
	if got := m.bodies[extCompressCert]; !slices.Equal(got, []byte{2, 0, 1}) {
		t.Errorf("%s: compress_certificate = %x, want 020001 (zlib)", m.visit, got)
	}

	pad, padded := m.bodies[extPadding]
	unpadded := m.size
	if padded {
		unpadded -= 4 + len(pad)
	}
	wantPadded := unpadded > 255 && unpadded < 512
	wantSize := unpadded
	if wantPadded {
		wantSize = max(512, unpadded+5)
	}
	if padded != wantPadded || m.size != wantSize || m.size < 512 {
		t.Errorf("%s: hello of %d bytes without padding: padded %v to %d bytes, want %v, %d",
			m.visit, unpadded, padded, m.size, wantPadded, wantSize)
	}
	if slices.ContainsFunc(pad, func(b byte) bool { return b != 0 }) {
		t.Errorf("%s: padding = %x, want zeros", m.visit, pad)
	}
}

// TestHelloSafariPaddingWithTicket resumes with tickets of growing size,
// from crypto/tls's own to 300 bytes more, so that the Safari hello moves
// from padded to 512 bytes, through a padding extension of 5 bytes, to no
// padding at all, and checks every case against BoringSSL's rule. The
// extension count in JA4 drops from 15 to 14 with the padding.
func TestHelloSafariPaddingWithTicket(t *testing.T) {
	const unpaddedJA4 = "t13d2014h2_a09f3c656075_cfa2fb88e388"
	i := slices.IndexFunc(helloSpecCases, func(tc helloSpecCase) bool { return tc.name == "safari18" })
	tc := helloSpecCases[i]
	ca := tlstest.NewCA(t)
	var extras []int
	for extra := range 65 {
		extras = append(extras, extra)
	}
	seen := map[string]bool{}
	for _, extra := range append(extras, 300) {
		srv := newHelloServer(t, ca, extra)
		cache := utls.NewLRUClientSessionCache(4)
		helloVisit(t, srv, tc, cache, "first visit")
		m := helloVisit(t, srv, tc, cache, fmt.Sprintf("revisit, ticket +%d B", extra))
		checkSafariHello(t, m)
		exts := m.hello.Extensions
		if !m.resumed || exts[len(exts)-1] != extPreSharedKey {
			t.Errorf("%s: resumed %v, extensions %v; want true, 41 last", m.visit, m.resumed, exts)
		}

		want, regime := tc.revisitJA4, "padded to 512"
		switch pad, padded := m.bodies[extPadding]; {
		case !padded:
			want, regime = unpaddedJA4, "not padded"
		case len(pad) == 1:
			regime = "padded past 512"
		}
		seen[regime] = true
		if got := m.hello.JA4(); got != want {
			t.Errorf("%s (%s): JA4() = %s, want %s", m.visit, regime, got, want)
		}
	}
	for _, regime := range []string{"padded to 512", "padded past 512", "not padded"} {
		if !seen[regime] {
			t.Errorf("no ticket size gave a hello %s", regime)
		}
	}
}

// helloMsg is one ClientHello as the server received it.
type helloMsg struct {
	visit   string
	hello   *ja4.Hello
	size    int               // handshake message, 4-byte header included
	bodies  map[uint16][]byte // extension bodies by type
	resumed bool              // the server resumed the session
	// serverSaw is crypto/tls's list of the extensions, for comparison.
	serverSaw []uint16
}

// helloVisit makes one handshake with a fresh spec of tc, offering a
// ticket from cache if it holds one, and reads the server's greeting so
// that the tickets the server sends reach cache. It returns what the
// server received.
func helloVisit(t *testing.T, srv *helloServer, tc helloSpecCase,
	cache utls.ClientSessionCache, visit string) helloMsg {
	t.Helper()
	spec, err := tc.spec()
	if err != nil {
		t.Fatal(err)
	}
	if err := dialHello(t, srv.addr, &spec, &utls.Config{
		ServerName:         "localhost",
		RootCAs:            srv.ca.Pool,
		ClientSessionCache: cache,
		OmitEmptyPsk:       true,
	}); err != nil {
		t.Fatalf("%s: %v", visit, err)
	}

	res := srv.next(t)
	if res.err != nil {
		t.Fatalf("%s: server handshake: %v", visit, res.err)
	}
	hellos := srv.rec.Hellos()
	rec := hellos[len(hellos)-1]
	if rec.Err != nil {
		t.Fatalf("%s: recorded hello: %v", visit, rec.Err)
	}
	msg, bodies, err := helloBodies(rec.Raw)
	if err != nil {
		t.Fatalf("%s: %v", visit, err)
	}
	return helloMsg{visit: visit, hello: rec.Hello, size: len(msg), bodies: bodies,
		resumed: res.resumed, serverSaw: res.exts}
}

// dialHello runs a utls handshake with spec over a new connection to addr
// and reads until the server closes. utls panics on some misuses of a
// spec; dialHello turns that into an error.
func dialHello(t *testing.T, addr string, spec *utls.ClientHelloSpec,
	cfg *utls.Config) (err error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("utls panic: %v", r)
		}
	}()
	uc := utls.UClient(conn, cfg, utls.HelloCustom)
	if err := uc.ApplyPreset(spec); err != nil {
		return fmt.Errorf("ApplyPreset: %w", err)
	}
	if err := uc.HandshakeContext(t.Context()); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if p := uc.ConnectionState().NegotiatedProtocol; p != "h2" {
		return fmt.Errorf("negotiated protocol %q, want h2", p)
	}
	got, err := io.ReadAll(uc)
	if err != nil || string(got) != "hi" {
		return fmt.Errorf("read %q, %v; want hi", got, err)
	}
	return nil
}

// helloBodies reassembles the ClientHello handshake message from the
// records in raw and returns it with its extension bodies by type.
func helloBodies(raw []byte) (msg []byte, bodies map[uint16][]byte, err error) {
	for len(raw) >= 5 {
		n := int(binary.BigEndian.Uint16(raw[3:]))
		if len(raw) < 5+n {
			return nil, nil, fmt.Errorf("record of %d bytes truncated", n)
		}
		msg, raw = append(msg, raw[5:5+n]...), raw[5+n:]
	}
	if len(msg) < 4 || len(msg) != 4+(int(msg[1])<<16|int(msg[2])<<8|int(msg[3])) {
		return nil, nil, fmt.Errorf("records hold %d bytes, not one whole message", len(msg))
	}

	// Skip version, random, session id, cipher suites and compression
	// methods to reach the extensions block.
	b := msg[4+2+32:]
	b = b[1+int(b[0]):]
	b = b[2+int(binary.BigEndian.Uint16(b)):]
	b = b[1+int(b[0]):]
	b = b[2:]
	bodies = make(map[uint16][]byte)
	for len(b) >= 4 {
		typ, n := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return nil, nil, fmt.Errorf("extension %d truncated", typ)
		}
		bodies[typ], b = b[4:4+n], b[4+n:]
	}
	return msg, bodies, nil
}

// helloResult is what the server learned from one connection.
type helloResult struct {
	exts    []uint16 // crypto/tls's ClientHelloInfo.Extensions
	resumed bool
	err     error
}

// helloServer is a TLS 1.3 server on loopback, offering h2 and http/1.1
// and issuing session tickets, behind a ja4.Recorder. Each connection gets
// "hi" after the handshake and is closed.
type helloServer struct {
	ca   *tlstest.CA
	rec  *ja4.Recorder
	addr string
	done chan helloResult
	wg   sync.WaitGroup
}

// newHelloServer starts a helloServer whose tickets carry extra bytes more
// than crypto/tls's; cleanup stops it and waits for its goroutines.
func newHelloServer(t *testing.T, ca *tlstest.CA, extra int) *helloServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &helloServer{ca: ca, rec: ja4.NewRecorder(ln), addr: ln.Addr().String(),
		done: make(chan helloResult, 8)}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{ca.Leaf},
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	// One key for every per-connection clone, so that a ticket from one
	// connection resumes on the next.
	var key [32]byte
	rand.Read(key[:])
	cfg.SetSessionTicketKeys([][32]byte{key})
	if extra > 0 {
		cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
			ss.Extra = append(ss.Extra, make([]byte, extra))
			return cfg.EncryptTicket(cs, ss)
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.rec.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(c, cfg.Clone())
			}()
		}
	}()
	t.Cleanup(func() {
		s.rec.Close()
		s.wg.Wait()
	})
	return s
}

func (s *helloServer) handle(c net.Conn, cfg *tls.Config) {
	defer c.Close()
	var res helloResult
	cfg.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		res.exts = slices.Clone(hi.Extensions)
		return nil, nil
	}
	tc := tls.Server(c, cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	res.err = tc.Handshake()
	if res.err == nil {
		res.resumed = tc.ConnectionState().DidResume
		_, res.err = io.WriteString(tc, "hi")
		tc.Close()
	}
	s.done <- res
}

// next waits for the next connection the server is done with.
func (s *helloServer) next(t *testing.T) helloResult {
	t.Helper()
	select {
	case r := <-s.done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("server: no handshake finished within 10s")
		return helloResult{}
	}
}
