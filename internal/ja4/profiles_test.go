package ja4

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The expected values below come from published fingerprints of real
// browsers, not from this package.
const (
	chromeJA4    = "t13d1516h2_8daaf6152771_d8a2da3f94cd"
	chromePSKJA4 = "t13d1517h2_8daaf6152771_b6f405a00624"
	firefoxJA4   = "t13d1717h2_5b57614c22b0_3cbfd9057e0d"
	safariJA4    = "t13d2014h2_a09f3c656075_e42f34c56612"

	// chromeJA4R is Chrome's raw fingerprint, written out from its lists.
	chromeJA4R = "t13d1516h2_" +
		"002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
		"0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,fe0d,ff01_" +
		"0403,0804,0401,0503,0805,0501,0806,0601"

	// firefoxJA4O keeps Firefox's fixed wire order.
	firefoxJA4O = "t13d1717h2_5b234860e130_df135d36b6d5"
)

func TestProfileFingerprints(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, rng *rand.Rand) helloSpec
		ja4   string
		ja4r  string // checked when set
		ja4o  string // checked when set
	}{
		{
			name:  "chrome 133 first visit",
			build: func(_ *testing.T, rng *rand.Rand) helloSpec { return chrome133(rng, false) },
			ja4:   chromeJA4,
			ja4r:  chromeJA4R,
		},
		{
			name:  "chrome 133 revisit with psk",
			build: func(_ *testing.T, rng *rand.Rand) helloSpec { return chrome133(rng, true) },
			ja4:   chromePSKJA4,
		},
		{
			name:  "firefox 135",
			build: func(_ *testing.T, _ *rand.Rand) helloSpec { return firefox135() },
			ja4:   firefoxJA4,
			ja4o:  firefoxJA4O,
		},
		{
			name:  "safari 18",
			build: func(t *testing.T, rng *rand.Rand) helloSpec { return safari18(t, rng) },
			ja4:   safariJA4,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Different seeds give other GREASE values and, for Chrome,
			// other extension orders; the fingerprint must not move.
			for seed := range uint64(8) {
				rng := rand.New(rand.NewPCG(seed, 1))
				msg := tc.build(t, rng).message()
				h, err := Parse(records(msg, maxRecordLen))
				if err != nil {
					t.Fatalf("seed %d: Parse: %v", seed, err)
				}
				if got := h.JA4(); got != tc.ja4 {
					t.Errorf("seed %d: JA4() = %s, want %s", seed, got, tc.ja4)
				}
				if got := h.JA4R(); tc.ja4r != "" && got != tc.ja4r {
					t.Errorf("seed %d: JA4R() = %s, want %s", seed, got, tc.ja4r)
				}
				if got := h.JA4O(); tc.ja4o != "" && got != tc.ja4o {
					t.Errorf("seed %d: JA4O() = %s, want %s", seed, got, tc.ja4o)
				}
			}
		})
	}
}

func TestChromeShuffleChangesOnlyOriginalOrder(t *testing.T) {
	seen := map[string]bool{}
	for seed := range uint64(6) {
		h, err := Parse(chrome133(rand.New(rand.NewPCG(seed, 2)), false).message())
		if err != nil {
			t.Fatal(err)
		}
		if got := h.JA4(); got != chromeJA4 {
			t.Fatalf("seed %d: JA4() = %s, want %s", seed, got, chromeJA4)
		}
		seen[h.JA4O()] = true
	}
	if len(seen) < 2 {
		t.Errorf("six shuffled hellos gave %d distinct JA4O values, want several", len(seen))
	}
}

func TestSafariPaddedTo512(t *testing.T) {
	msg := safari18(t, rand.New(rand.NewPCG(3, 3))).message()
	if len(msg) != 512 {
		t.Fatalf("safari hello is %d bytes, want 512", len(msg))
	}
	h, err := Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if last := h.Extensions[len(h.Extensions)-1]; last != 21 {
		t.Errorf("last extension = %d, want padding (21)", last)
	}
}

func TestParseProfileFields(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	spec := chrome133(rng, true)
	h, err := Parse(records(spec.message(), 300))
	if err != nil {
		t.Fatal(err)
	}
	grease := spec.ciphers[0]
	if !IsGREASE(grease) || !slices.Equal(h.CipherSuites, spec.ciphers) {
		t.Errorf("CipherSuites = %04x, want %04x", h.CipherSuites, spec.ciphers)
	}
	var types []uint16
	for _, e := range spec.exts {
		types = append(types, e.typ)
	}
	if !slices.Equal(h.Extensions, types) {
		t.Errorf("Extensions = %d, want %d", h.Extensions, types)
	}
	if h.LegacyVersion != 0x0303 {
		t.Errorf("LegacyVersion = %04x, want 0303", h.LegacyVersion)
	}
	if len(h.Random) != 32 || !slices.Equal(h.SessionID, filler(32)) {
		t.Errorf("Random %d bytes, SessionID %x; want 32 bytes and the filler", len(h.Random), h.SessionID)
	}
	if !slices.Equal(h.CompressionMethods, []byte{0}) {
		t.Errorf("CompressionMethods = %v, want [0]", h.CompressionMethods)
	}
	if h.SNI != "example.com" {
		t.Errorf("SNI = %q, want example.com", h.SNI)
	}
	if !slices.Equal(h.ALPN, []string{"h2", "http/1.1"}) {
		t.Errorf("ALPN = %q, want [h2 http/1.1]", h.ALPN)
	}
	if !slices.Equal(h.SignatureAlgorithms, chromeSigalgs) {
		t.Errorf("SignatureAlgorithms = %04x, want %04x", h.SignatureAlgorithms, chromeSigalgs)
	}
	checkGREASEThen(t, "SupportedVersions", h.SupportedVersions, 0x0304, 0x0303)
	checkGREASEThen(t, "SupportedGroups", h.SupportedGroups, 0x11ec, 0x001d, 0x0017, 0x0018)
	checkGREASEThen(t, "KeyShareGroups", h.KeyShareGroups, 0x11ec, 0x001d)
	if !slices.Equal(h.PSKModes, []uint8{1}) {
		t.Errorf("PSKModes = %v, want [1]", h.PSKModes)
	}
	if !h.HasPSK {
		t.Error("HasPSK = false, want true")
	}
}

// checkGREASEThen checks that got is one GREASE value followed by want.
func checkGREASEThen(t *testing.T, name string, got []uint16, want ...uint16) {
	t.Helper()
	if len(got) == 0 || !IsGREASE(got[0]) || !slices.Equal(got[1:], want) {
		t.Errorf("%s = %04x, want GREASE then %04x", name, got, want)
	}
}
