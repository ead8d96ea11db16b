package ja4

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// basicSpec is a small valid hello for mutation tests.
func basicSpec() helloSpec {
	return helloSpec{
		ciphers: []uint16{0x1301, 0xc02b},
		exts: []ext{
			{0, sniBody("a.test")},
			{16, alpnBody("h2")},
			{43, versionsBody(0x0304)},
			{13, list16Body(0x0403)},
			{51, keyShareBody(share{0x001d, 32})},
			{45, pskModesBody(1)},
			{41, pskBody()},
		},
	}
}

// withExt returns basicSpec with the body of extension typ replaced, or
// the extension added.
func withExt(typ uint16, body []byte) helloSpec {
	s := basicSpec()
	for i := range s.exts {
		if s.exts[i].typ == typ {
			s.exts[i].body = body
			return s
		}
	}
	s.exts = append(s.exts, ext{typ, body})
	return s
}

func TestParseValid(t *testing.T) {
	msg := basicSpec().message()
	tests := []struct {
		name string
		raw  []byte
	}{
		{"bare message", msg},
		{"one record", records(msg, maxRecordLen)},
		{"records of 7 bytes", records(msg, 7)},
		{"records of 1 byte", records(msg, 1)},
		{"trailing record ignored", append(records(msg, 50), records([]byte{20, 0, 0, 0}, 9)...)},
		{"trailing bytes ignored", append(slices.Clone(msg), 0xde, 0xad)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Parse(tc.raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if h.SNI != "a.test" || !h.HasPSK || !slices.Equal(h.ALPN, []string{"h2"}) {
				t.Errorf("Parse = SNI %q, HasPSK %v, ALPN %q; want a.test, true, [h2]",
					h.SNI, h.HasPSK, h.ALPN)
			}
			if got, want := h.JA4()[:10], "t13d0207h2"; got != want {
				t.Errorf("JA4 prefix = %s, want %s", got, want)
			}
		})
	}
}

func TestParseOddButValid(t *testing.T) {
	tests := []struct {
		name  string
		spec  helloSpec
		check func(*Hello) bool
	}{
		{
			name: "no extensions block",
			spec: helloSpec{ciphers: []uint16{0x002f}, noExts: true},
			check: func(h *Hello) bool {
				return h.Extensions == nil && h.JA4() == "t12i010000_"+hash12("002f", false)+"_000000000000"
			},
		},
		{
			name:  "empty extensions block",
			spec:  helloSpec{ciphers: []uint16{0x002f}},
			check: func(h *Hello) bool { return len(h.Extensions) == 0 },
		},
		{
			name: "second host name ignored",
			spec: withExt(0, body(func(w *wire) {
				w.vec16(func(w *wire) {
					w.u8(0)
					w.vec16(func(w *wire) { w.raw([]byte("first.test")) })
					w.u8(0)
					w.vec16(func(w *wire) { w.raw([]byte("second.test")) })
				})
			})),
			check: func(h *Hello) bool { return h.SNI == "first.test" },
		},
		{
			name: "empty server name list",
			spec: withExt(0, []byte{0, 0}),
			check: func(h *Hello) bool {
				return h.SNI == "" && h.JA4()[3] == 'd'
			},
		},
		{
			name:  "empty alpn protocol",
			spec:  withExt(16, alpnBody("", "h2")),
			check: func(h *Hello) bool { return slices.Equal(h.ALPN, []string{"", "h2"}) },
		},
		{
			name:  "unknown extension kept",
			spec:  helloSpec{exts: []ext{{0x1234, []byte{1, 2, 3}}}},
			check: func(h *Hello) bool { return slices.Equal(h.Extensions, []uint16{0x1234}) },
		},
		{
			name:  "no ciphers",
			spec:  helloSpec{exts: []ext{{23, nil}}},
			check: func(h *Hello) bool { return h.JA4()[11:23] == emptyHash },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Parse(tc.spec.message())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tc.check(h) {
				t.Errorf("Parse = %+v, check failed", h)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	valid := basicSpec().message()
	tooLarge := []byte{typeClientHello, 0x01, 0x00, 0x00}
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"server hello", append([]byte{2}, valid[1:]...), ErrNotClientHello},
		{"alert record", []byte{21, 3, 3, 0, 2, 2, 40}, ErrNotHandshake},
		{"application data record", append([]byte{23}, records(valid, 100)[1:]...), ErrNotHandshake},
		{"neither records nor a message", []byte("GET / HTTP/1.1\r\n"), ErrNotClientHello},
		{"empty record", append([]byte{22, 3, 1, 0, 0}, records(valid, 100)...), ErrMalformed},
		{"record over 16 KiB", []byte{22, 3, 1, 0x40, 0x01, 1}, ErrMalformed},
		{"record of wrong version", func() []byte {
			r := records(valid, 100)
			r[1] = 2
			return r
		}(), ErrNotHandshake},
		{"records cut short", records(valid, 50)[:120], ErrMalformed},
		{"message longer than its bytes", valid[:len(valid)-1], ErrMalformed},
		{"announced size too large", tooLarge, ErrTooLarge},
		{"session id of 33 bytes", helloSpec{sessionID: make([]byte, 33)}.message(), ErrMalformed},
		{"odd cipher list", func() []byte {
			m := helloSpec{ciphers: []uint16{0x1301}, noExts: true}.message()
			// Cipher length 2 -> 1 and the message shortened to match.
			m[4+2+32+1+1] = 1
			m = append(m[:4+2+32+1+2+1], m[4+2+32+1+2+2:]...)
			m[3]--
			return m
		}(), ErrMalformed},
		{"extensions block too long", func() []byte {
			m := slices.Clone(valid)
			// After header, version, random, session id, two ciphers and
			// one compression method come the two bytes of the length.
			m[4+2+32+1+2+4+1+1+1]++
			return m
		}(), ErrMalformed},
		{"bytes after the extensions", func() []byte {
			m := append(slices.Clone(valid), 0)
			m[3]++
			return m
		}(), ErrMalformed},
		{"duplicate extension", helloSpec{exts: []ext{{23, nil}, {23, nil}}}.message(), ErrMalformed},
		{"duplicate grease extension", helloSpec{exts: []ext{{0x0a0a, nil}, {0x0a0a, nil}}}.message(),
			ErrMalformed},
		{"extension past the block", helloSpec{rawExts: []byte{0, 23, 0, 5}}.message(), ErrMalformed},
		{"extension header cut", helloSpec{rawExts: []byte{0, 23, 0}}.message(), ErrMalformed},
		{"sni entry overruns", withExt(0, []byte{0, 4, 0, 0, 9, 'a'}).message(), ErrMalformed},
		{"sni trailing byte", withExt(0, append(sniBody("a.test"), 0)).message(), ErrMalformed},
		{"sni without list", withExt(0, nil).message(), ErrMalformed},
		{"alpn entry overruns", withExt(16, []byte{0, 3, 5, 'h', '2'}).message(), ErrMalformed},
		{"supported versions odd", withExt(43, []byte{3, 3, 4, 3}).message(), ErrMalformed},
		{"signature algorithms odd", withExt(13, []byte{0, 1, 4}).message(), ErrMalformed},
		{"groups longer than body", withExt(10, []byte{0, 4, 0, 0x1d}).message(), ErrMalformed},
		{"key share truncated", withExt(51, []byte{0, 6, 0, 0x1d, 0, 32, 1, 2}).message(), ErrMalformed},
		{"psk modes overrun", withExt(45, []byte{2, 1}).message(), ErrMalformed},
		{"psk binders overrun", withExt(41, append(pskBody()[:len(pskBody())-33], 0, 33, 40)).message(),
			ErrMalformed},
		{"psk identity without age", withExt(41, []byte{0, 3, 0, 1, 'x', 0, 0}).message(), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Parse(tc.raw)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(% x...) = %v, %v; want error %v", head(tc.raw), h, err, tc.want)
			}
			if h != nil {
				t.Errorf("Parse returned a Hello with error %v", err)
			}
		})
	}
}

// TestParseEveryTruncation cuts a real-sized hello at every length, in both
// input forms: all must fail cleanly.
func TestParseEveryTruncation(t *testing.T) {
	msg := chrome133(rand.New(rand.NewPCG(1, 1)), true).message()
	recs := records(msg, 512)
	for _, raw := range [][]byte{msg, recs} {
		for n := range len(raw) {
			if h, err := Parse(raw[:n]); err == nil {
				t.Fatalf("Parse of the first %d of %d bytes = %v, want an error", n, len(raw), h)
			}
		}
		if _, err := Parse(raw); err != nil {
			t.Fatalf("Parse of all %d bytes: %v", len(raw), err)
		}
	}
}

// TestParseDoesNotAlias checks that a Hello does not share memory with the
// input, which callers may reuse.
func TestParseDoesNotAlias(t *testing.T) {
	raw := basicSpec().message()
	h, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	sni, sid := h.SNI, slices.Clone(h.SessionID)
	for i := range raw {
		raw[i] = 0xff
	}
	if h.SNI != sni || !slices.Equal(h.SessionID, sid) || h.Random[0] == 0xff {
		t.Errorf("Hello changed with its input: SNI %q, session %x", h.SNI, h.SessionID)
	}
}

func head(b []byte) []byte {
	return b[:min(len(b), 12)]
}
