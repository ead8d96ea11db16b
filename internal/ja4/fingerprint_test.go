package ja4

import (
	"strings"
	"testing"
)

// specHello holds the example lists of the JA4 specification.
func specHello() *Hello {
	return &Hello{
		LegacyVersion: 0x0303,
		CipherSuites: []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
			0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		Extensions: []uint16{0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d,
			0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015},
		ALPN:                []string{"h2", "http/1.1"},
		SupportedVersions:   []uint16{0x0304, 0x0303},
		SignatureAlgorithms: []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
	}
}

// The expected strings in this test are the specification's own examples.
func TestSpecificationExamples(t *testing.T) {
	h := specHello()
	withGREASE := specHello()
	withGREASE.CipherSuites = append([]uint16{0x3a3a}, withGREASE.CipherSuites...)
	withGREASE.Extensions = append([]uint16{0xcaca}, withGREASE.Extensions...)
	withGREASE.Extensions = append(withGREASE.Extensions, 0x1a1a)
	withGREASE.SupportedVersions = append([]uint16{0x7a7a}, withGREASE.SupportedVersions...)
	noSigs := specHello()
	noSigs.SignatureAlgorithms = nil

	tests := []struct {
		name string
		got  string
		want string
	}{
		{"JA4", h.JA4(), "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"JA4 with GREASE", withGREASE.JA4(), "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"JA4O", h.JA4O(), "t13d1516h2_acb858a92679_18f69afefd3d"},
		{"JA4R", h.JA4R(), "t13d1516h2_" +
			"002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
			"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_" +
			"0403,0804,0401,0503,0805,0501,0806,0601"},
		{"JA4RO", h.JA4RO(), "t13d1516h2_" +
			"1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_" +
			"001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_" +
			"0403,0804,0401,0503,0805,0501,0806,0601"},
		{"JA4RO with GREASE", withGREASE.JA4RO(), h.JA4RO()},
		{"JA4 without signature algorithms", noSigs.JA4(), "t13d1516h2_8daaf6152771_6d807ffa2a79"},
		{"JA4R without signature algorithms", noSigs.JA4R(), "t13d1516h2_" +
			"002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
			"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("%s = %s, want %s", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestALPNCode(t *testing.T) {
	tests := []struct {
		name string
		alpn []string
		want string
	}{
		{"h2", []string{"h2", "http/1.1"}, "h2"},
		{"http/1.1 first", []string{"http/1.1", "h2"}, "h1"},
		{"no ALPN", nil, "00"},
		{"empty first value", []string{"", "h2"}, "00"},
		{"single character", []string{"x"}, "xx"},
		{"capitals and digits", []string{"Z9"}, "Z9"},
		// The cases below are the specification's own.
		{"one non-alphanumeric byte", []string{"\xab"}, "ab"},
		{"two non-alphanumeric bytes", []string{"\xab\xcd"}, "ad"},
		{"non-alphanumeric last", []string{"0\xab"}, "3b"},
		{"non-alphanumeric tail", []string{"01\xab\xcd"}, "3d"},
		{"alphanumeric ends only", []string{"0\xab\xcd1"}, "01"},
		{"punctuation at the end", []string{"h2-"}, "6d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &Hello{ALPN: tc.alpn}
			if got := h.alpnCode(); got != tc.want {
				t.Errorf("alpnCode(%q) = %s, want %s", tc.alpn, got, tc.want)
			}
			// The code is the last two characters of the first part.
			if got := h.JA4()[8:10]; got != tc.want {
				t.Errorf("JA4 ALPN part for %q = %s, want %s", tc.alpn, got, tc.want)
			}
		})
	}
}

func TestVersionCode(t *testing.T) {
	tests := []struct {
		name     string
		legacy   uint16
		versions []uint16
		want     string
	}{
		{"supported_versions wins", 0x0303, []uint16{0x0304, 0x0303}, "13"},
		{"highest, not first", 0x0303, []uint16{0x0302, 0x0304, 0x0303}, "13"},
		{"GREASE ignored", 0x0303, []uint16{0xfafa, 0x0303}, "12"},
		{"only GREASE falls back to legacy", 0x0301, []uint16{0x2a2a}, "10"},
		{"no extension: legacy 1.2", 0x0303, nil, "12"},
		{"legacy 1.1", 0x0302, nil, "11"},
		{"legacy 1.0", 0x0301, nil, "10"},
		{"ssl 3", 0x0300, nil, "s3"},
		{"ssl 2", 0x0002, nil, "s2"},
		{"dtls 1.0", 0xfeff, nil, "d1"},
		{"dtls 1.2", 0xfefd, nil, "d2"},
		{"dtls 1.3", 0xfefc, nil, "d3"},
		{"draft version unknown", 0x0303, []uint16{0x7f1c}, "00"},
		{"unknown legacy", 0x1234, nil, "00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &Hello{LegacyVersion: tc.legacy, SupportedVersions: tc.versions}
			if got := h.JA4()[1:3]; got != tc.want {
				t.Errorf("version of legacy %04x, supported %04x = %s, want %s",
					tc.legacy, tc.versions, got, tc.want)
			}
		})
	}
}

func TestFingerprintEdges(t *testing.T) {
	many := make([]uint16, 120)
	for i := range many {
		many[i] = uint16(0x1000 + i)
	}
	tests := []struct {
		name string
		h    *Hello
		want string // prefix of JA4, or all of it
	}{
		{
			name: "nothing offered",
			h:    &Hello{LegacyVersion: 0x0303},
			want: "t12i000000_000000000000_000000000000",
		},
		{
			name: "only GREASE offered",
			h: &Hello{LegacyVersion: 0x0303, CipherSuites: []uint16{0x0a0a},
				Extensions: []uint16{0x1a1a, 0x2a2a}},
			want: "t12i000000_000000000000_000000000000",
		},
		{
			name: "only sni and alpn",
			h: &Hello{LegacyVersion: 0x0303, Extensions: []uint16{0, 16},
				ALPN: []string{"h2"}},
			want: "t12d0002h2_000000000000_000000000000",
		},
		{
			name: "counts capped at 99",
			h:    &Hello{LegacyVersion: 0x0303, CipherSuites: many, Extensions: many},
			want: "t12i9999",
		},
		{
			name: "sni without a name still counts",
			h:    &Hello{LegacyVersion: 0x0303, Extensions: []uint16{0}},
			want: "t12d0001",
		},
		{
			name: "SCSV and reserved values count",
			h:    &Hello{LegacyVersion: 0x0303, CipherSuites: []uint16{0x00ff, 0x5600, 0xfe01}},
			want: "t12i0300",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.h.JA4(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("JA4() = %s, want %s...", got, tc.want)
			}
		})
	}
}

func TestJA4HashedMatchesRaw(t *testing.T) {
	h := specHello()
	raw := strings.SplitN(h.JA4R(), "_", 3)
	hashed := strings.Split(h.JA4(), "_")
	if got, want := hashed[1], hash12(raw[1], false); got != want {
		t.Errorf("cipher hash = %s, want hash of raw list %s", got, want)
	}
	if got, want := hashed[2], hash12(raw[2], false); got != want {
		t.Errorf("extension hash = %s, want hash of raw list %s", got, want)
	}
}

func TestIsGREASE(t *testing.T) {
	tests := []struct {
		v    uint16
		want bool
	}{
		{0x0a0a, true},
		{0x3a3a, true},
		{0xaaaa, true},
		{0xfafa, true},
		{0x0a1a, false},
		{0x1a0a, false},
		{0x0b0b, false},
		{0x0000, false},
		{0x1301, false},
		{0xfe0d, false},
	}
	for _, tc := range tests {
		if got := IsGREASE(tc.v); got != tc.want {
			t.Errorf("IsGREASE(%#04x) = %v, want %v", tc.v, got, tc.want)
		}
	}
	count := 0
	for v := range 1 << 16 {
		if IsGREASE(uint16(v)) {
			count++
		}
	}
	if count != 16 {
		t.Errorf("IsGREASE holds for %d values, want 16", count)
	}
}
