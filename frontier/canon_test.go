package frontier

import (
	"errors"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lowercase scheme and host", "HTTP://WWW.Example.COM/Path", "http://www.example.com/Path"},
		{"empty path", "http://example.com", "http://example.com/"},
		{"default http port", "http://example.com:80/a", "http://example.com/a"},
		{"default https port", "https://example.com:443/a", "https://example.com/a"},
		{"other port kept", "https://example.com:8443/a", "https://example.com:8443/a"},
		{"port leading zeros", "http://example.com:0080/", "http://example.com/"},
		{"empty port", "http://example.com:/a", "http://example.com/a"},
		{"fragment removed", "http://example.com/a#top", "http://example.com/a"},
		{"empty query removed", "http://example.com/a?", "http://example.com/a"},
		{"query order kept", "http://example.com/?b=2&a=1", "http://example.com/?b=2&a=1"},
		{"dot segments", "http://example.com/a/./b/../c/", "http://example.com/a/c/"},
		{"dot segments above root", "http://example.com/../../a", "http://example.com/a"},
		{"trailing dot dot", "http://example.com/a/b/..", "http://example.com/a/"},
		{"encoded dots", "http://example.com/a/%2e%2E/b", "http://example.com/b"},
		{"unreserved decoded", "http://example.com/%7Euser/%41", "http://example.com/~user/A"},
		{"escapes uppercased", "http://example.com/a%2fb?q=%3d", "http://example.com/a%2Fb?q=%3D"},
		{"stray percent", "http://example.com/100%/x%zz", "http://example.com/100%25/x%25zz"},
		{"space and unicode escaped", "http://example.com/a b/é", "http://example.com/a%20b/%C3%A9"},
		{"query keeps slash and question", "http://example.com/?a=/b?c", "http://example.com/?a=/b?c"},
		{"backslash", `http://example.com\a\b`, "http://example.com/a/b"},
		{"surrounding space and newlines", " \thttp://exa\nmple.com/a\r\n ", "http://example.com/a"},
		{"trailing dot in host", "http://example.com./", "http://example.com/"},
		{"escaped host", "http://ex%41mple.com/", "http://example.com/"},
		{"idna", "http://Bücher.example/", "http://xn--bcher-kva.example/"},
		{"idna cjk", "http://中国.example/", "http://xn--fiqs8s.example/"},
		{"idna ideographic dot", "http://例え。テスト/", "http://xn--r8jz45g.xn--zckzah/"},
		{"fullwidth ascii host", "http://ＥＸＡＭＰＬＥ.com/", "http://example.com/"},
		{"ipv4", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/"},
		{"ipv6 compressed", "http://[2001:DB8:0:0::1]:80/", "http://[2001:db8::1]/"},
		{"underscore host", "http://my_host.example/", "http://my_host.example/"},
		{"many slashes", "http:////example.com/a", "http://example.com/a"},
		{"three slashes like browsers", "http:///example.com/a", "http://example.com/a"},
		{"sub-delims kept", "http://example.com/a;b=c,d!$&'()*+", "http://example.com/a;b=c,d!$&'()*+"},
		{"brackets escaped in path", "http://example.com/[x]", "http://example.com/%5Bx%5D"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonicalize(tc.in)
			if err != nil {
				t.Fatalf("Canonicalize(%q) error %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("Canonicalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again, err := Canonicalize(got); again != got || err != nil {
				t.Fatalf("Canonicalize(%q) = %q, %v; not idempotent", got, again, err)
			}
		})
	}
}

func TestCanonicalizeRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"relative", "/a/b"},
		{"no scheme", "example.com/a"},
		{"ftp", "ftp://example.com/"},
		{"javascript", "javascript:alert(1)"},
		{"mailto", "mailto:a@example.com"},
		{"bad scheme char", "ht_tp://example.com/"},
		{"empty host", "http://"},
		{"empty host before path", "http://:80/a"},
		{"user info", "http://user:pass@example.com/"},
		{"bad port", "http://example.com:8x/"},
		{"port too large", "http://example.com:65536/"},
		{"port zero", "http://example.com:0/"},
		{"space in host", "http://exa mple.com/"},
		{"empty label", "http://a..b/"},
		{"label too long", "http://" + string(make([]byte, 64)) + ".com/"},
		{"bad ipv4", "http://1.2.3.999/"},
		{"numeric host not ipv4", "http://1.2.3/"},
		{"unterminated ipv6", "http://[::1/"},
		{"ipv6 zone", "http://[fe80::1%25eth0]/"},
		{"ipv4 in brackets", "http://[1.2.3.4]/"},
		{"bad escape in host", "http://ex%zzample.com/"},
		{"invalid utf-8 host", "http://ex%ffample.com/"},
		{"label starting with a combining mark", "http://\u0308a.example/"},
		{"zero-width joiner in a label", "http://a\u200db.example/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonicalize(tc.in)
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("Canonicalize(%q) = %q, %v; want ErrInvalidURL", tc.in, got, err)
			}
		})
	}
}

func TestHostToASCII(t *testing.T) {
	// Punycode samples from RFC 3492 section 7.1, and the UTS #46 mapping.
	tests := []struct{ in, want string }{
		{"bücher.example", "xn--bcher-kva.example"},
		{"bu\u0308cher.example", "xn--bcher-kva.example"}, // decomposed: NFC first
		{"BÜCHER.example", "xn--bcher-kva.example"},
		{"ｂüｃｈｅｒ.example", "xn--bcher-kva.example"}, // fullwidth letters
		{"他们为什么不说中文", "xn--ihqwcrb4cv8a8dqg056pqjye"},
		{"почемужеонинеговорятпорусски", "xn--b1abfaaepdrnnbgefbadotcwatmq2g4l"},
		{"3年b組金八先生", "xn--3b-ww4c5e180e575a65lsy2b"},
		{"Some_Host.Example", "some_host.example"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := hostToASCII(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("hostToASCII(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint("http://a.example/x")
	b := Fingerprint("http://a.example/y")
	c := Fingerprint("http://b.example/x")
	if a == b || a == c {
		t.Fatalf("fingerprints collide: %x %x %x", a, b, c)
	}
	if [4]byte(a[:4]) != [4]byte(b[:4]) {
		t.Errorf("same host, different prefixes: %x %x", a[:4], b[:4])
	}
	// The fingerprint is part of the file format: it must never change.
	const want = "a379a6f6"
	if got := hex4(Fingerprint("http://example.com/")); got != want {
		t.Errorf("Fingerprint(http://example.com/) prefix = %s, want %s", got, want)
	}
}

func hex4(fp [16]byte) string {
	const digits = "0123456789abcdef"
	var b []byte
	for _, c := range fp[:4] {
		b = append(b, digits[c>>4], digits[c&15])
	}
	return string(b)
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{"http://example.com/", "HTTPS://Ex.com:443/a/../b?c#d",
		"http://[::1]:8080/%7e", "http://bücher.example/ä ö", "http://a/%2e%2E/%zz",
		`http:\\a\b`, "http://1.2.3.4/", "http://例え。テスト/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := canonicalize(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("Canonicalize(%q) error %v does not wrap ErrInvalidURL", in, err)
			}
			return
		}
		again, err := canonicalize(c.url)
		if err != nil || again.url != c.url {
			t.Fatalf("Canonicalize(%q) = %q, then %q, %v: not idempotent", in, c.url,
				again.url, err)
		}
		if c.origin+c.pathQuery() != c.url || hostnameOf(c.url) != c.hostname ||
			originOf(c.url) != c.origin {
			t.Fatalf("parts of %q disagree: %+v", c.url, c)
		}
		if !isASCII(c.url) {
			t.Fatalf("Canonicalize(%q) = %q is not ASCII", in, c.url)
		}
	})
}
