package transport

import (
	"fmt"
	"slices"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// decodeBlocks decodes header blocks in order with x/net's decoder, which
// keeps its dynamic table across blocks as a server does.
func decodeBlocks(t testing.TB, blocks [][]byte) [][]hpackEntry {
	t.Helper()
	d := hpack.NewDecoder(4096, nil)
	var out [][]hpackEntry
	for i, b := range blocks {
		fields, err := d.DecodeFull(b)
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		var got []hpackEntry
		for _, f := range fields {
			got = append(got, hpackEntry{f.Name, f.Value})
		}
		out = append(out, got)
	}
	return out
}

func testPolicies() map[string]*hpackPolicy {
	out := map[string]*hpackPolicy{}
	for _, p := range Profiles() {
		out[p.Name] = &p.hpack
	}
	out["plain"] = &hpackPolicy{}
	return out
}

// TestHPACKRoundTrip encodes requests with every profile's policy and
// decodes them with x/net's decoder.
func TestHPACKRoundTrip(t *testing.T) {
	reqs := [][]hpackEntry{
		{{":method", "GET"}, {":authority", "example.com"}, {":scheme", "https"}, {":path", "/"},
			{"user-agent", "Mozilla/5.0"}, {"cookie", "a=1"}, {"cookie", "session=0123456789abcdef0123"}},
		{{":method", "GET"}, {":authority", "example.com"}, {":scheme", "https"}, {":path", "/next?q=1"},
			{"user-agent", "Mozilla/5.0"}, {"cookie", "a=1"}, {"authorization", "Basic eDp5"}},
		{{":method", "POST"}, {":authority", "other.example"}, {":scheme", "https"}, {":path", "/index.html"},
			{"content-length", "12"}, {"x-big", string(make([]byte, 3000))}, {"x-empty", ""}},
	}
	for name, policy := range testPolicies() {
		t.Run(name, func(t *testing.T) {
			enc := newHPACKEncoder(policy)
			var blocks [][]byte
			for _, r := range reqs {
				blocks = append(blocks, enc.encode(nil, r))
			}
			for i, got := range decodeBlocks(t, blocks) {
				if !slices.Equal(got, reqs[i]) {
					t.Errorf("block %d decodes to %v, want %v", i, got, reqs[i])
				}
			}
		})
	}
}

// TestHPACKRepresentations checks the representation each policy picks
// for the fields browsers are known to treat differently.
func TestHPACKRepresentations(t *testing.T) {
	chrome := &hpackPolicy{indexPseudo: map[string]bool{":authority": true}}
	firefox := &hpackPolicy{noIndex: map[string]bool{":path": true}, neverIndex: map[string]bool{"authorization": true},
		shortCookie: 20, alwaysHuffman: true, lastNameMatch: true, halfTableLimit: true}
	for _, tc := range []struct {
		name   string
		policy *hpackPolicy
		field  hpackEntry
		first  byte // the representation's first byte
	}{
		{"chrome-static-path", chrome, hpackEntry{":path", "/"}, 0x84},
		{"chrome-path", chrome, hpackEntry{":path", "/a"}, 0x04},
		{"chrome-authority", chrome, hpackEntry{":authority", "x.org"}, 0x41},
		{"chrome-cookie", chrome, hpackEntry{"cookie", "a=1"}, 0x60},
		{"firefox-static-path", firefox, hpackEntry{":path", "/"}, 0x04},
		{"firefox-path-last-name", firefox, hpackEntry{":path", "/a"}, 0x05},
		{"firefox-short-cookie", firefox, hpackEntry{"cookie", "a=1"}, 0x0f},
		{"firefox-long-cookie", firefox, hpackEntry{"cookie", "a=0123456789abcdefghij"}, 0x60},
		{"firefox-authorization", firefox, hpackEntry{"authorization", "x"}, 0x1f},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newHPACKEncoder(tc.policy).encode(nil, []hpackEntry{tc.field})
			if b[0] != tc.first {
				t.Errorf("encode(%v)[0] = %#02x, want %#02x", tc.field, b[0], tc.first)
			}
		})
	}
}

// TestHPACKTableSize shrinks the table as a server's
// SETTINGS_HEADER_TABLE_SIZE would, and checks the size updates.
func TestHPACKTableSize(t *testing.T) {
	enc := newHPACKEncoder(&hpackPolicy{})
	fields := []hpackEntry{{"x-a", "1"}, {"x-b", "2"}}
	b1 := enc.encode(nil, fields)
	enc.setPeerTableSize(0)
	enc.setPeerTableSize(100)
	b2 := enc.encode(nil, fields)
	if b2[0] != 0x20 || b2[1] != 0x3f {
		t.Errorf("block after resize starts % x, want 20 3f (size 0 then 100)", b2[:2])
	}
	d := hpack.NewDecoder(4096, nil)
	for i, b := range [][]byte{b1, b2} {
		got, err := d.DecodeFull(b)
		if err != nil || len(got) != 2 {
			t.Fatalf("block %d: %v, %v", i, got, err)
		}
	}
	if enc.size > 100 {
		t.Errorf("table holds %d bytes, over its size 100", enc.size)
	}
}

// FuzzHPACKEncode encodes arbitrary fields and checks that x/net's
// decoder reads them back.
func FuzzHPACKEncode(f *testing.F) {
	f.Add("user-agent", "Mozilla/5.0", ":path", "/", uint16(4096))
	f.Add("cookie", "a=1", "cookie", "", uint16(0))
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string, size uint16) {
		fields := []hpackEntry{{n1, v1}, {n2, v2}, {n1, v1}}
		for name, policy := range testPolicies() {
			enc := newHPACKEncoder(policy)
			a := enc.encode(nil, fields)
			enc.setPeerTableSize(uint32(size))
			b := enc.encode(nil, fields)
			for i, got := range decodeBlocks(t, [][]byte{a, b}) {
				if fmt.Sprint(got) != fmt.Sprint(fields) {
					t.Fatalf("%s block %d decodes to %q, want %q", name, i, got, fields)
				}
			}
		}
	})
}
