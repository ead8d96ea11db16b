package frontier

import (
	"crypto/sha256"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Canonicalize returns the canonical form of an absolute http or https URL, the form the
// frontier stores, deduplicates on and hands back in leases.
//
// It lowercases the scheme and host, converts an internationalized host to its ASCII
// (Punycode) form, removes a trailing dot from the host, removes the default port,
// resolves "." and ".." path segments, turns backslashes in the path into slashes, decodes
// percent-escaped unreserved characters, uppercases the remaining escapes, escapes bytes
// that may not appear raw, drops an empty query and the fragment. The path is never
// empty. Query parameters keep their order: reordering them can change what a server
// returns.
//
// Canonicalize never panics. A URL it cannot accept yields an error wrapping
// [ErrInvalidURL] that says why: another scheme, user info (credentials do not belong in
// a crawl's state file), a malformed host or port. Canonicalizing a canonical URL returns
// it unchanged.
func Canonicalize(rawURL string) (string, error) {
	c, err := canonicalize(rawURL)
	if err != nil {
		return "", err
	}
	return c.url, nil
}

// Fingerprint returns the 16-byte key under which the frontier deduplicates a canonical
// URL. The first 4 bytes derive from the host alone, so the keys of one host sort near
// each other on disk; the other 12 from the whole URL. It is stable across versions and
// processes: it is part of the state file format.
func Fingerprint(canonicalURL string) [16]byte {
	var fp [16]byte
	host := canonicalURL
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	hh := sha256.Sum256([]byte(host))
	uh := sha256.Sum256([]byte(canonicalURL))
	copy(fp[:4], hh[:4])
	copy(fp[4:], uh[:12])
	return fp
}

// canonURL is a canonical URL with the parts the frontier needs.
type canonURL struct {
	url      string // the whole canonical URL
	scheme   string // "http" or "https"
	hostname string // ASCII host without port; IPv6 in brackets
	origin   string // scheme://host[:port]
}

// pathQuery returns the path and query of the canonical URL.
func (c canonURL) pathQuery() string { return c.url[len(c.origin):] }

func canonicalize(raw string) (canonURL, error) {
	s := stripURL(raw)

	scheme, rest, err := splitScheme(s)
	if err != nil {
		return canonURL{}, err
	}

	// Like browsers for special schemes, any run of slashes or backslashes may introduce
	// the authority.
	rest = strings.TrimLeft(rest, `/\`)
	end := strings.IndexAny(rest, `/\?#`)
	if end < 0 {
		end = len(rest)
	}
	authority, rest := rest[:end], rest[end:]
	hostname, port, err := parseAuthority(authority, scheme)
	if err != nil {
		return canonURL{}, err
	}

	rawPath, rawQuery, hasQuery := rest, "", false
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rawPath = rest[:i]
	}
	if i := strings.IndexByte(rawPath, '?'); i >= 0 {
		rawPath, rawQuery, hasQuery = rawPath[:i], rawPath[i+1:], true
	}

	path := strings.ReplaceAll(rawPath, `\`, "/")
	path = removeDotSegments(escape(path, isPathByte))
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	query := escape(rawQuery, isQueryByte)

	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(hostname) + len(port) + 1 + len(path) + len(query) + 1)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(hostname)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	originLen := b.Len()
	b.WriteString(path)
	if hasQuery && query != "" {
		b.WriteByte('?')
		b.WriteString(query)
	}
	u := b.String()
	return canonURL{url: u, scheme: scheme, hostname: hostname, origin: u[:originLen]}, nil
}

// stripURL removes leading and trailing control characters and spaces, and tabs and
// newlines anywhere, as browsers do with an href.
func stripURL(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\r\n") {
		s = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(s)
	}
	return s
}

func splitScheme(s string) (scheme, rest string, err error) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return "", "", invalid("missing scheme")
	}
	scheme = strings.ToLower(s[:i])
	for j := 0; j < len(scheme); j++ {
		c := scheme[j]
		ok := isAlpha(c) || (j > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'))
		if !ok {
			return "", "", invalid("malformed scheme")
		}
	}
	if scheme != "http" && scheme != "https" {
		return "", "", invalid("unsupported scheme " + strconv.Quote(scheme))
	}
	return scheme, s[i+1:], nil
}

// parseAuthority returns the canonical host and the port, empty when it is the
// scheme's default.
func parseAuthority(a, scheme string) (host, port string, err error) {
	if strings.IndexByte(a, '@') >= 0 {
		return "", "", invalid("user info in url")
	}
	if a == "" {
		return "", "", invalid("empty host")
	}
	var rawPort string
	if a[0] == '[' {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", invalid("unterminated ipv6 literal")
		}
		host, err = canonicalIPv6(a[1:end])
		if err != nil {
			return "", "", err
		}
		switch rest := a[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			rawPort = rest[1:]
		default:
			return "", "", invalid("junk after ipv6 literal")
		}
	} else {
		h := a
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			h, rawPort = a[:i], a[i+1:]
		}
		host, err = canonicalHost(h)
		if err != nil {
			return "", "", err
		}
	}
	port, err = canonicalPort(rawPort, scheme)
	return host, port, err
}

func canonicalIPv6(s string) (string, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil || !addr.Is6() || addr.Zone() != "" {
		return "", invalid("malformed ipv6 literal")
	}
	return "[" + addr.String() + "]", nil
}

func canonicalPort(p, scheme string) (string, error) {
	if p == "" {
		return "", nil
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return "", invalid("malformed port")
		}
		n = n*10 + int(p[i]-'0')
		if n > 65535 {
			return "", invalid("port out of range")
		}
	}
	switch {
	case n == 0:
		return "", invalid("port 0")
	case scheme == "http" && n == 80, scheme == "https" && n == 443:
		return "", nil
	}
	return strconv.Itoa(n), nil
}

// canonicalHost lowercases a registered name or IPv4 address, converts Unicode labels to
// Punycode and checks what is left.
func canonicalHost(h string) (string, error) {
	h, err := unescapeHost(h)
	if err != nil {
		return "", err
	}
	h, err = hostToASCII(h)
	if err != nil {
		return "", err
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", invalid("empty host")
	}
	if len(h) > 253 {
		return "", invalid("host too long")
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return "", err
		}
	}

	// A host whose last label is numeric can only be an IPv4 address, as in browsers;
	// otherwise "1.2.3.999" would reach the resolver as a name.
	if last := labels[len(labels)-1]; isNumeric(last) {
		addr, err := netip.ParseAddr(h)
		if err != nil || !addr.Is4() {
			return "", invalid("malformed ipv4 address")
		}
	}
	return h, nil
}

func checkLabel(l string) error {
	if l == "" {
		return invalid("empty host label")
	}
	if len(l) > 63 {
		return invalid("host label too long")
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(isAlpha(c) || isDigit(c) || c == '-' || c == '_') {
			return invalid("invalid character in host")
		}
	}
	return nil
}

func unescapeHost(h string) (string, error) {
	if strings.IndexByte(h, '%') < 0 {
		return h, nil
	}
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		if h[i] != '%' {
			b.WriteByte(h[i])
			continue
		}
		if i+2 >= len(h) || !isHex(h[i+1]) || !isHex(h[i+2]) {
			return "", invalid("malformed escape in host")
		}
		b.WriteByte(unhex(h[i+1])<<4 | unhex(h[i+2]))
		i += 2
	}
	s := b.String()
	if !utf8.ValidString(s) {
		return "", invalid("host is not utf-8")
	}
	return s, nil
}

// removeDotSegments applies RFC 3986 section 5.2.4 to an absolute path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			// out[0] is the empty segment before the leading slash: never pop it.
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if r == "" {
		return "/"
	}
	return r
}

// escape normalizes percent-encoding: escapes of unreserved characters are decoded,
// other escapes uppercased, a stray '%' becomes "%25" and every byte that may not appear
// raw is escaped.
func escape(s string, raw func(byte) bool) string {
	if !needsEscape(s, raw) {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			d := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(d) {
				b.WriteByte(d)
			} else {
				b.WriteByte('%')
				b.WriteByte(hexDigits[d>>4])
				b.WriteByte(hexDigits[d&15])
			}
			i += 2
		case c != '%' && raw(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// needsEscape reports whether escape would change s.
func needsEscape(s string, raw func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if !raw(c) {
				return true
			}
			continue
		}
		if i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
			return true
		}
		if isUnreserved(unhex(s[i+1])<<4 | unhex(s[i+2])) {
			return true
		}
		i += 2
	}
	return false
}

func isPathByte(c byte) bool {
	return isUnreserved(c) || isSubDelim(c) || c == ':' || c == '@' || c == '/'
}

func isQueryByte(c byte) bool { return isPathByte(c) || c == '?' }

func isUnreserved(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

func isSubDelim(c byte) bool { return strings.IndexByte("!$&'()*+,;=", c) >= 0 }

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

func isUpperHex(c byte) bool { return isDigit(c) || (c >= 'A' && c <= 'F') }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// SplitURL returns the origin (scheme, host and port: the unit of robots.txt) and the
// host name (without port, IPv6 in brackets: the unit of politeness) of a canonical
// URL. It tolerates any string.
func SplitURL(canonicalURL string) (origin, host string) {
	return originOf(canonicalURL), hostnameOf(canonicalURL)
}
