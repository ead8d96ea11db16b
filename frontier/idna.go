package frontier

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// hostToASCII converts a host name to lowercase ASCII, encoding each label that holds
// other characters with Punycode (RFC 3492) under the "xn--" prefix, as IDNA requires.
//
// TODO: golang.org/x/net/idna would also apply the UTS #46 mapping and NFC
// normalization, but it needs golang.org/x/text, which this module does not require.
// Without them a host written in decomposed Unicode (rare: HTML and browsers produce
// NFC) gets a different ASCII form than its composed spelling, so the two are crawled as
// different hosts, and some characters IDNA disallows are accepted.
func hostToASCII(h string) (string, error) {
	if isASCII(h) {
		return strings.ToLower(h), nil
	}
	if !utf8.ValidString(h) {
		return "", invalid("host is not utf-8")
	}
	h = strings.Map(mapHostRune, h)
	labels := strings.Split(h, ".")
	for i, l := range labels {
		if isASCII(l) {
			continue
		}
		enc, err := punycode(l)
		if err != nil {
			return "", err
		}
		labels[i] = "xn--" + enc
	}
	return strings.Join(labels, "."), nil
}

// mapHostRune applies the parts of the UTS #46 mapping that need no tables: the
// ideographic and fullwidth full stops separate labels, fullwidth ASCII becomes ASCII,
// and letters are lowercased.
func mapHostRune(r rune) rune {
	switch {
	case r == '\u3002' || r == '\uff0e' || r == '\uff61':
		return '.'
	case r >= '\uff01' && r <= '\uff5e':
		r -= 0xfee0
	}
	return unicode.ToLower(r)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Punycode parameters from RFC 3492 section 5.
const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
)

// punycode encodes one label per RFC 3492 section 6.3, without the "xn--" prefix.
func punycode(label string) (string, error) {
	runes := []rune(label)
	var out []byte
	for _, r := range runes {
		switch {
		case r < utf8.RuneSelf:
			out = append(out, byte(r))
		case !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)):
			return "", invalid("invalid character in host")
		}
	}
	basic := len(out)
	if basic > 0 {
		out = append(out, '-')
	}

	n, delta, bias := rune(pcInitialN), 0, pcInitialBias
	for h := basic; h < len(runes); {
		m := rune(unicode.MaxRune + 1)
		for _, r := range runes {
			if r >= n && r < m {
				m = r
			}
		}
		// Labels are at most 63 bytes after encoding, so any delta that large is an
		// error long before it could overflow an int.
		delta += int(m-n) * (h + 1)
		if delta > 1<<30 {
			return "", invalid("host label too long")
		}
		n = m
		for _, r := range runes {
			if r < n {
				delta++
			}
			if r != n {
				continue
			}
			out = appendVarint(out, delta, bias)
			bias = adaptBias(delta, h+1, h == basic)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return string(out), nil
}

// appendVarint writes q as a generalized variable-length integer.
func appendVarint(out []byte, q, bias int) []byte {
	for k := pcBase; ; k += pcBase {
		t := k - bias
		if t < pcTMin {
			t = pcTMin
		} else if t > pcTMax {
			t = pcTMax
		}
		if q < t {
			break
		}
		out = append(out, pcDigit(t+(q-t)%(pcBase-t)))
		q = (q - t) / (pcBase - t)
	}
	return append(out, pcDigit(q))
}

func adaptBias(delta, points int, first bool) int {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / points
	k := 0
	for delta > (pcBase-pcTMin)*pcTMax/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}

func pcDigit(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}
