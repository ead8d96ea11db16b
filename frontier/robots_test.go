package frontier

import (
	"strings"
	"testing"
	"time"
)

func TestRobotsAllowed(t *testing.T) {
	const body = "\xef\xbb\xbf# comment\n" +
		"Disallow: /before-any-group\n" +
		"User-agent: *\n" +
		"Disallow: /private\n" +
		"Allow: /private/open\n" +
		"Disallow: /*.pdf$\n" +
		"Disallow: /search*q=\n" +
		"Disallow:\n" +
		"this line is garbage\n" +
		"\n" +
		"User-agent: OtherBot\n" +
		"User-agent: REVISIT/2.0\n" +
		"Disallow: /mine   # trailing comment\n" +
		"Allow: /mine/ok\n" +
		"Disallow: /tie\n" +
		"Allow: /tie\n" +
		"Disallow: /%7euser/\n" +
		"Disallow: /caf\xc3\xa9\n" +
		"Crawl-delay: 2.5\n" +
		"\r\n" +
		"user-agent: revisit\r\n" +
		"disallow: /second-group\r\n"
	r := ParseRobots([]byte(body))
	tests := []struct {
		agent, path string
		want        bool
	}{
		{"revisit", "/", true},
		{"revisit", "/mine", false},
		{"revisit", "/mine/x", false},
		{"revisit", "/mine/ok", true},
		{"revisit", "/tie", true},
		{"revisit", "/private", true}, // a named group replaces "*"
		{"revisit", "/second-group/x", false},
		{"revisit", "/~user/x", false},
		{"revisit", "/caf%C3%A9", false},
		{"revisit", "/robots.txt", true},
		{"Revisit/1.0 (+https://example.com)", "/mine", false},
		{"otherbot", "/mine", false},
		{"somebot", "/private", false},
		{"somebot", "/private/open/x", true},
		{"somebot", "/before-any-group", true},
		{"somebot", "/a/b.pdf", false},
		{"somebot", "/a/b.pdf?x", true},
		{"somebot", "/search?x=1&q=2", false},
		{"somebot", "/searchable", true},
		{"somebot", "/mine", true},
	}
	for _, tc := range tests {
		t.Run(tc.agent+tc.path, func(t *testing.T) {
			if got := r.Allowed(tc.agent, tc.path); got != tc.want {
				t.Fatalf("Allowed(%q, %q) = %v, want %v", tc.agent, tc.path, got, tc.want)
			}
		})
	}
	if d, ok := r.CrawlDelay("revisit"); !ok || d != 2500*time.Millisecond {
		t.Errorf("CrawlDelay(revisit) = %v, %v; want 2.5s", d, ok)
	}
	if d, ok := r.CrawlDelay("somebot"); ok {
		t.Errorf("CrawlDelay(somebot) = %v, want none", d)
	}
}

func TestRobotsSpecialCases(t *testing.T) {
	tests := []struct {
		name, body, path string
		want             bool
	}{
		{"empty file", "", "/a", true},
		{"disallow all", "User-agent: *\nDisallow: /\n", "/a", false},
		{"robots.txt always allowed", "User-agent: *\nDisallow: /\n", "/robots.txt", true},
		{"longest match wins", "User-agent: *\nAllow: /a\nDisallow: /a/b\n", "/a/b/c", false},
		{"longer allow wins", "User-agent: *\nDisallow: /a\nAllow: /a/b\n", "/a/b/c", true},
		{"anchored", "User-agent: *\nDisallow: /a$\n", "/a/", true},
		{"anchored exact", "User-agent: *\nDisallow: /a$\n", "/a", false},
		{"star alone", "User-agent: *\nDisallow: *\n", "/x", false},
		{"dollar in middle is literal", "User-agent: *\nDisallow: /a$b\n", "/a$b", false},
		{"pattern without slash", "User-agent: *\nDisallow: private\n", "/private", false},
		{"groups for star merge", "User-agent: *\nDisallow: /a\n\nUser-agent: *\nDisallow: /b\n",
			"/b", false},
		{"sitemap does not end group", "User-agent: *\nSitemap: /s.xml\nDisallow: /a\n", "/a", false},
		{"mac line endings", "User-agent: *\rDisallow: /a\r", "/a", false},
		{"multiple stars", "User-agent: *\nDisallow: /*/b*/d$\n", "/x/by/zz/d", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseRobots([]byte(tc.body)).Allowed("revisit", tc.path); got != tc.want {
				t.Fatalf("Allowed(%q) under %q = %v, want %v", tc.path, tc.body, got, tc.want)
			}
		})
	}
}

func TestRobotsSizeLimit(t *testing.T) {
	body := "User-agent: *\n" + strings.Repeat("# padding\n", MaxRobotsSize/10) +
		"Disallow: /late\n"
	if !ParseRobots([]byte(body)).Allowed("revisit", "/late") {
		t.Fatalf("a rule past %d bytes was applied", MaxRobotsSize)
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/", "/anything", true},
		{"/a*", "/a", true},
		{"/a*c", "/abc", true},
		{"/a*c$", "/abcx", false},
		{"/a*c$", "/abcc", true},
		{"/*.php$", "/x.php", true},
		{"/*.php$", "/x.php5", false},
		{"/a**b", "/ab", true},
		{"*", "", true},
		{"/x", "/", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.path, func(t *testing.T) {
			if got := matchPattern(tc.pattern, tc.path); got != tc.want {
				t.Fatalf("matchPattern(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
			}
		})
	}
}

func TestRobotsOutcome(t *testing.T) {
	tests := []struct {
		status int
		kind   robotsKind
		ok     bool
	}{
		{200, robotsParsed, true},
		{204, robotsParsed, true},
		{301, robotsAllowAll, true},
		{404, robotsAllowAll, true},
		{403, robotsAllowAll, true},
		{429, 0, false},
		{500, 0, false},
		{503, 0, false},
		{0, 0, false},
	}
	for _, tc := range tests {
		kind, ok := robotsOutcome(tc.status, nil)
		if kind != tc.kind || ok != tc.ok {
			t.Errorf("robotsOutcome(%d) = %v, %v; want %v, %v", tc.status, kind, ok, tc.kind, tc.ok)
		}
	}
}

func FuzzParseRobots(f *testing.F) {
	f.Add([]byte("User-agent: *\nDisallow: /a*b$\nAllow: /a\nCrawl-delay: 1\n"), "/ab")
	f.Add([]byte("user-agent: revisit\ndisallow: /\n"), "/x?y")
	f.Add([]byte("\xef\xbb\xbfUser-agent:*\r\nDisallow:%zz\r\n"), "/%zz")
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		r := ParseRobots(body)
		r.Allowed("revisit", path)
		r.CrawlDelay("revisit")
		for _, g := range r.groups {
			for _, rule := range g.rules {
				if rule.pattern == "" || (rule.pattern[0] != '/' && rule.pattern[0] != '*') {
					t.Fatalf("pattern %q does not start with / or *", rule.pattern)
				}
			}
			if g.crawlDelay < 0 {
				t.Fatalf("negative crawl delay %v", g.crawlDelay)
			}
		}
		if !r.Allowed("revisit", "/robots.txt") {
			t.Fatalf("/robots.txt disallowed")
		}
	})
}
