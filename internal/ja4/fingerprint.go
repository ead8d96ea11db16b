package ja4

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// emptyHash stands for a hashed list that has no values, instead of the
// hash of an empty string.
const emptyHash = "000000000000"

// IsGREASE reports whether v is one of the sixteen GREASE values of RFC 8701
// (0x0a0a, 0x1a1a, ..., 0xfafa), which clients send in cipher suites,
// extensions, groups and versions to keep servers tolerant.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// JA4 returns the JA4 fingerprint of h, such as
// "t13d1516h2_8daaf6152771_d8a2da3f94cd".
func (h *Hello) JA4() string {
	return h.fingerprint(true, true)
}

// JA4R returns the raw JA4 fingerprint: the same three parts before the
// second and third are hashed, the lists written as comma-separated hex. As
// in the hashed form, the third part has no trailing underscore when there
// are no signature algorithms.
func (h *Hello) JA4R() string {
	return h.fingerprint(true, false)
}

// JA4O returns the JA4_o fingerprint: like JA4, but cipher suites and
// extensions keep their wire order and server_name and ALPN stay in the
// extension list. It changes when a client shuffles its extensions.
func (h *Hello) JA4O() string {
	return h.fingerprint(false, true)
}

// JA4RO returns the raw form of JA4O.
func (h *Hello) JA4RO() string {
	return h.fingerprint(false, false)
}

// fingerprint builds the four JA4 variants: sorted lists or wire order,
// hashed or raw.
func (h *Hello) fingerprint(sorted, hashed bool) string {
	ciphers := withoutGREASE(h.CipherSuites)
	exts := withoutGREASE(h.Extensions)
	if sorted {
		slices.Sort(ciphers)
		exts = slices.DeleteFunc(exts, func(e uint16) bool {
			return e == extServerName || e == extALPN
		})
		slices.Sort(exts)
	}
	b := hexList(ciphers)
	c := hexList(exts)
	if sigs := withoutGREASE(h.SignatureAlgorithms); len(sigs) > 0 {
		c += "_" + hexList(sigs)
	}
	if hashed {
		b = hash12(b, len(ciphers) == 0)
		c = hash12(c, len(exts) == 0)
	}
	return h.prefix() + "_" + b + "_" + c
}

// prefix returns the unhashed first part, such as "t13d1516h2".
func (h *Hello) prefix() string {
	sni := "i"
	if slices.Contains(h.Extensions, extServerName) {
		sni = "d"
	}
	ciphers := min(len(withoutGREASE(h.CipherSuites)), 99)
	exts := min(len(withoutGREASE(h.Extensions)), 99)
	version := versionCode(h.version())
	return fmt.Sprintf("t%s%s%02d%02d%s", version, sni, ciphers, exts, h.alpnCode())
}

// version returns the highest non-GREASE supported_versions entry, or the
// legacy version when there is none.
func (h *Hello) version() uint16 {
	best, found := uint16(0), false
	for _, v := range h.SupportedVersions {
		if !IsGREASE(v) && (!found || v > best) {
			best, found = v, true
		}
	}
	if !found {
		return h.LegacyVersion
	}
	return best
}

// versionCode returns the two characters JA4 uses for a protocol version.
func versionCode(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// alpnCode returns the first and last character of the first ALPN
// protocol, or of its hex form when either end is not an ASCII letter or
// digit, and "00" when there is no protocol or it is empty.
func (h *Hello) alpnCode() string {
	if len(h.ALPN) == 0 || h.ALPN[0] == "" {
		return "00"
	}
	p := h.ALPN[0]
	first, last := p[0], p[len(p)-1]
	if isAlnum(first) && isAlnum(last) {
		return string([]byte{first, last})
	}
	x := hex.EncodeToString([]byte(p))
	return string([]byte{x[0], x[len(x)-1]})
}

func isAlnum(b byte) bool {
	return '0' <= b && b <= '9' || 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z'
}

// withoutGREASE returns a copy of vs with the GREASE values left out.
func withoutGREASE(vs []uint16) []uint16 {
	out := make([]uint16, 0, len(vs))
	for _, v := range vs {
		if !IsGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

// hexList writes vs as lowercase 4-digit hex values separated by commas.
func hexList(vs []uint16) string {
	var sb strings.Builder
	for i, v := range vs {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%04x", v)
	}
	return sb.String()
}

// hash12 returns the first 12 hex digits of the SHA-256 of s, or
// emptyHash when the list s was built from has no values.
func hash12(s string, none bool) string {
	if none {
		return emptyHash
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
