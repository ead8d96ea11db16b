package frontier

import (
	"strings"

	"golang.org/x/net/idna"
)

// hostProfile converts host names as browsers look them up: the UTS #46
// mapping (case folding, width folding, NFC), then Punycode for the labels
// that need it. Underscores, which real host names carry, are allowed.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
)

// hostToASCII converts a host name to its lowercase ASCII form, encoding
// each label that holds other characters with Punycode under the "xn--"
// prefix, as IDNA requires.
func hostToASCII(h string) (string, error) {
	if isASCII(h) {
		return strings.ToLower(h), nil
	}
	a, err := hostProfile.ToASCII(h)
	if err != nil {
		return "", invalid("host is not a valid internationalized name")
	}
	return a, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
