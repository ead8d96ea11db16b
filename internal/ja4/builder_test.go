package ja4

import (
	"math/rand/v2"
	"testing"
)

// This file builds ClientHello messages byte by byte for the tests, from
// the cipher, extension and parameter lists of real browsers.

// wire appends big-endian TLS fields.
type wire []byte

func (w *wire) u8(v uint8)   { *w = append(*w, v) }
func (w *wire) u16(v uint16) { *w = append(*w, byte(v>>8), byte(v)) }
func (w *wire) u24(v int)    { *w = append(*w, byte(v>>16), byte(v>>8), byte(v)) }
func (w *wire) u32(v uint32) { *w = append(*w, byte(v>>24), byte(v>>16), byte(v>>8), byte(v)) }
func (w *wire) raw(b []byte) { *w = append(*w, b...) }

// vec8 appends what fill writes, led by its one-byte length.
func (w *wire) vec8(fill func(*wire)) {
	var inner wire
	fill(&inner)
	w.u8(uint8(len(inner)))
	w.raw(inner)
}

// vec16 appends what fill writes, led by its two-byte length.
func (w *wire) vec16(fill func(*wire)) {
	var inner wire
	fill(&inner)
	w.u16(uint16(len(inner)))
	w.raw(inner)
}

// ext is one extension of a test hello.
type ext struct {
	typ  uint16
	body []byte
}

// helloSpec describes a ClientHello to build.
type helloSpec struct {
	version     uint16 // legacy_version; 0 means 0x0303
	sessionID   []byte
	ciphers     []uint16
	compression []byte // nil means {0}
	exts        []ext
	noExts      bool   // leave out the extensions block entirely
	rawExts     []byte // when set, the extensions block instead of exts
}

// message returns the handshake message, header included.
func (s helloSpec) message() []byte {
	var body wire
	version := s.version
	if version == 0 {
		version = 0x0303
	}
	body.u16(version)
	body.raw(make([]byte, 32)) // random
	body.vec8(func(w *wire) { w.raw(s.sessionID) })
	body.vec16(func(w *wire) {
		for _, c := range s.ciphers {
			w.u16(c)
		}
	})
	compression := s.compression
	if compression == nil {
		compression = []byte{0}
	}
	body.vec8(func(w *wire) { w.raw(compression) })
	if !s.noExts {
		body.vec16(func(w *wire) {
			w.raw(s.rawExts)
			for _, e := range s.exts {
				w.u16(e.typ)
				w.vec16(func(w *wire) { w.raw(e.body) })
			}
		})
	}
	var msg wire
	msg.u8(typeClientHello)
	msg.u24(len(body))
	msg.raw(body)
	return msg
}

// records wraps a handshake message in handshake records carrying at most
// frag bytes each.
func records(msg []byte, frag int) []byte {
	var out wire
	for len(msg) > 0 {
		n := min(frag, len(msg))
		out.u8(recordTypeHandshake)
		out.u16(0x0301)
		out.u16(uint16(n))
		out.raw(msg[:n])
		msg = msg[n:]
	}
	return out
}

// Extension bodies.

func body(fill func(*wire)) []byte {
	var w wire
	fill(&w)
	return w
}

func sniBody(name string) []byte {
	return body(func(w *wire) {
		w.vec16(func(w *wire) {
			w.u8(0) // host_name
			w.vec16(func(w *wire) { w.raw([]byte(name)) })
		})
	})
}

func alpnBody(protos ...string) []byte {
	return body(func(w *wire) {
		w.vec16(func(w *wire) {
			for _, p := range protos {
				w.vec8(func(w *wire) { w.raw([]byte(p)) })
			}
		})
	})
}

// list16Body is the body of supported_groups, signature_algorithms and
// delegated_credentials.
func list16Body(vs ...uint16) []byte {
	return body(func(w *wire) {
		w.vec16(func(w *wire) {
			for _, v := range vs {
				w.u16(v)
			}
		})
	})
}

func versionsBody(vs ...uint16) []byte {
	return body(func(w *wire) {
		w.vec8(func(w *wire) {
			for _, v := range vs {
				w.u16(v)
			}
		})
	})
}

// share is one key_share entry: a group and the size of its key.
type share struct {
	group uint16
	size  int
}

func keyShareBody(shares ...share) []byte {
	return body(func(w *wire) {
		w.vec16(func(w *wire) {
			for _, s := range shares {
				w.u16(s.group)
				w.vec16(func(w *wire) { w.raw(filler(s.size)) })
			}
		})
	})
}

func pskModesBody(modes ...uint8) []byte {
	return body(func(w *wire) { w.vec8(func(w *wire) { w.raw(modes) }) })
}

// pskBody is a pre_shared_key body with one ticket and its binder.
func pskBody() []byte {
	return body(func(w *wire) {
		w.vec16(func(w *wire) {
			w.vec16(func(w *wire) { w.raw(filler(192)) })
			w.u32(0x01020304)
		})
		w.vec16(func(w *wire) {
			w.vec8(func(w *wire) { w.raw(filler(32)) })
		})
	})
}

// certCompressBody lists compression algorithms (1 zlib, 2 brotli, 3 zstd).
func certCompressBody(algs ...uint16) []byte {
	return body(func(w *wire) {
		w.vec8(func(w *wire) {
			for _, a := range algs {
				w.u16(a)
			}
		})
	})
}

// echGREASEBody is an outer ECH extension with a random-looking payload.
func echGREASEBody(payload int) []byte {
	return body(func(w *wire) {
		w.u8(0)    // outer
		w.u16(1)   // HKDF-SHA256
		w.u16(1)   // AES-128-GCM
		w.u8(0x42) // config id
		w.vec16(func(w *wire) { w.raw(filler(32)) })
		w.vec16(func(w *wire) { w.raw(filler(payload)) })
	})
}

// filler returns n non-zero bytes standing for keys and tickets.
func filler(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

// greaseValues are the sixteen GREASE values.
var greaseValues = func() []uint16 {
	var vs []uint16
	for i := range 16 {
		b := uint16(i<<4 | 0xa)
		vs = append(vs, b<<8|b)
	}
	return vs
}()

// greasePicks returns n distinct GREASE values drawn with rng.
func greasePicks(rng *rand.Rand, n int) []uint16 {
	perm := rng.Perm(len(greaseValues))
	out := make([]uint16, n)
	for i := range out {
		out[i] = greaseValues[perm[i]]
	}
	return out
}

// Browser profiles, from the lists in the project's profile notes.

var (
	chromeCiphers = []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
		0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}
	chromeSigalgs = []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}

	firefoxCiphers = []uint16{0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8,
		0xc02c, 0xc030, 0xc00a, 0xc009, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}
	firefoxSigalgs = []uint16{0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401,
		0x0501, 0x0601, 0x0203, 0x0201}

	safariCiphers = []uint16{0x1301, 0x1302, 0x1303, 0xc02c, 0xc02b, 0xcca9, 0xc030,
		0xc02f, 0xcca8, 0xc00a, 0xc009, 0xc014, 0xc013, 0x009d, 0x009c, 0x0035, 0x002f,
		0xc008, 0xc012, 0x000a}
	safariSigalgs = []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0805, 0x0501,
		0x0806, 0x0601, 0x0201}
)

// chrome133 builds a Chrome 133 hello: GREASE in ciphers, groups, versions
// and key shares, a GREASE extension first and last, the other extensions
// shuffled with rng, and with psk the pre_shared_key extension at the end.
func chrome133(rng *rand.Rand, psk bool) helloSpec {
	g := greasePicks(rng, 6)
	middle := []ext{
		{0, sniBody("example.com")},
		{5, []byte{1, 0, 0, 0, 0}}, // status_request: OCSP, no responders
		{10, list16Body(g[2], 0x11ec, 0x001d, 0x0017, 0x0018)},
		{11, []byte{1, 0}}, // ec_point_formats: uncompressed
		{13, list16Body(chromeSigalgs...)},
		{16, alpnBody("h2", "http/1.1")},
		{18, nil}, // signed_certificate_timestamp
		{23, nil}, // extended_master_secret
		{27, certCompressBody(2)},
		{35, nil}, // session_ticket
		{43, versionsBody(g[3], 0x0304, 0x0303)},
		{45, pskModesBody(1)},
		{51, keyShareBody(share{g[4], 1}, share{0x11ec, 1216}, share{0x001d, 32})},
		{17613, body(func(w *wire) { // ALPS: h2
			w.vec16(func(w *wire) { w.vec8(func(w *wire) { w.raw([]byte("h2")) }) })
		})},
		{65037, echGREASEBody(208)},
		{65281, []byte{0}}, // renegotiation_info
	}
	rng.Shuffle(len(middle), func(i, j int) { middle[i], middle[j] = middle[j], middle[i] })
	exts := append([]ext{{g[0], nil}}, middle...)
	exts = append(exts, ext{g[1], []byte{0}})
	if psk {
		exts = append(exts, ext{41, pskBody()})
	}
	return helloSpec{
		sessionID: filler(32),
		ciphers:   append([]uint16{g[5]}, chromeCiphers...),
		exts:      exts,
	}
}

// firefox135 builds a Firefox 135 hello: no GREASE, fixed order.
func firefox135() helloSpec {
	return helloSpec{
		sessionID: filler(32),
		ciphers:   firefoxCiphers,
		exts: []ext{
			{0, sniBody("example.com")},
			{23, nil},
			{65281, []byte{0}},
			{10, list16Body(0x11ec, 0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101)},
			{11, []byte{1, 0}},
			{35, nil},
			{16, alpnBody("h2", "http/1.1")},
			{5, []byte{1, 0, 0, 0, 0}},
			{34, list16Body(0x0403, 0x0503, 0x0603, 0x0203)}, // delegated_credentials
			{18, nil},
			{51, keyShareBody(share{0x11ec, 1216}, share{0x001d, 32}, share{0x0017, 65})},
			{43, versionsBody(0x0304, 0x0303)},
			{13, list16Body(firefoxSigalgs...)},
			{45, pskModesBody(1)},
			{28, []byte{0x40, 0x01}}, // record_size_limit 16385
			{27, certCompressBody(1, 2, 3)},
			{65037, echGREASEBody(281 - 1 - 2 - 2 - 1 - 2 - 32 - 2)},
		},
	}
}

// safari18 builds a Safari 18 hello, padded to a 512-byte handshake
// message as BoringSSL does.
func safari18(t testing.TB, rng *rand.Rand) helloSpec {
	t.Helper()
	g := greasePicks(rng, 6)
	s := helloSpec{
		sessionID: filler(32),
		ciphers:   append([]uint16{g[0]}, safariCiphers...),
		exts: []ext{
			{g[1], nil},
			{0, sniBody("example.com")},
			{23, nil},
			{65281, []byte{0}},
			{10, list16Body(g[2], 0x001d, 0x0017, 0x0018, 0x0019)},
			{11, []byte{1, 0}},
			{16, alpnBody("h2", "http/1.1")},
			{5, []byte{1, 0, 0, 0, 0}},
			{13, list16Body(safariSigalgs...)},
			{18, nil},
			{51, keyShareBody(share{g[3], 1}, share{0x001d, 32})},
			{45, pskModesBody(1)},
			{43, versionsBody(g[4], 0x0304, 0x0303, 0x0302, 0x0301)},
			{27, certCompressBody(1)},
			{g[5], []byte{0}},
		},
	}
	pad := 512 - len(s.message()) - 4
	if pad < 0 {
		t.Fatalf("safari hello is %d bytes before padding, want under 508", len(s.message()))
	}
	s.exts = append(s.exts, ext{21, make([]byte, pad)})
	return s
}
