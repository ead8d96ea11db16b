package crawler

import (
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/revisit-crawl/revisit/frontier"
)

// linkAttrs are the elements and attributes a spider commonly follows.
var linkAttrs = map[string]string{
	"a": "href", "area": "href", "link": "href", "iframe": "src", "frame": "src", "img": "src",
}

// FuzzPageLinks runs arbitrary bodies, under arbitrary Content-Types,
// through what turns a fetched page into links: charset detection and
// conversion, HTML parsing, the <base href>, and Element.Follow. It must
// never panic, and every link queued must be the frontier's canonical
// form of an absolute http(s) URL with a host, one level deeper than the
// page, so that Push accepts it as it is.
func FuzzPageLinks(f *testing.F) {
	for _, seed := range []struct{ body, contentType string }{
		{`<a href="/a">a</a><a href="b#frag">b</a><a href="//other.example/c">c</a>`, "text/html"},
		{`<html><body><div><p><a href="/x">x<table><tr><td><a href="/y`, "text/html; charset=utf-8"},
		{"<p>a\x00b</p><a href=\"/nul\x00\">n</a><a\x00 href=x>", "text/html"},
		{"<p>\xff\xfe\xc3\x28</p><a href=\"/utf8\">\xe2\x82</a><a href=\"\xff\">", "text/html; charset=utf-8"},
		{strings.Repeat("<b>", 520) + `<a href="/deep">`, "text/html"},
		{`<base href="javascript:void(0)"><a href="t/base">`, "text/html"},
		{`<base href="http://[::1"><a href="t/base">`, "text/html"},
		{`<base href="//evil.example/x/"><a href="y">`, ""},
		{`<base href="http:relative"><a href="z">`, "text/html"},
		{`<a href="http://[::1">`, "text/html"},
		{`<a href="%zz"><a href="javascript:alert(1)"><a href="mailto:a@b.c"><a href="data:,x">`, "text/html"},
		{"<a href=\"/ctl\x01x\"><a href=\"/del\x7f\"><a href=\"\t/tab\n\">", "text/html"},
		{`<a href="/` + strings.Repeat("a", 300) + `">`, "text/html"},
		{`<a href="https://h.example:99999/"><a href="https://h.example:-1/"><a href="http://:80/">`, "text/html"},
		{`<a href="https://xn--a.example/"><a href="https://a` + "\u2488" + `.example/"><a href="https://bücher.example/">`, ""},
		{`<a href="https://user:pw@h.example/"><a href="https://999.1.1.1/"><a href="http://"><a href="http:foo">`, ""},
		{`<a href="http:///x"><a href="https:\\h.example\p"><a href="HTTPS://H.EXAMPLE/%7e/./../a">`, ""},
		{`<a href="https://[::1]:8443/"><a href="https://[fe80::1%25eth0]/"><a href="//[::ffff:1.2.3.4]/">`, ""},
		{"<meta charset=shift_jis><a href=\"/\x93\xfa\">", "text/html"},
		{"<\x00a\x00 \x00h\x00r\x00e\x00f\x00=\x00/\x00u\x00>\x00", "text/html; charset=utf-16le"},
		{"\xef\xbb\xbf<a href=\"/bom\">", "text/html; charset=iso-8859-1"},
		{"\x1b$B<a href=/iso>", "text/html; charset=iso-2022-jp"},
		{`<img src="/i.png"><iframe src="/f"></iframe><area href="/m"><link href="/s.css">`, "application/xhtml+xml"},
		{"plain text, no tags", "text/plain; charset=\"unterminated"},
	} {
		f.Add([]byte(seed.body), seed.contentType)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		cfg := Config{Scope: ScopeAny, MaxDepth: -1}.withDefaults()
		c := &Crawler{cfg: cfg, log: cfg.Logger, scope: map[string]bool{}}
		page, _ := url.Parse("https://example.com/dir/page?q=1")
		req := &Request{URL: page, Depth: 3, Data: map[string]string{}, crawler: c}
		resp := &Response{Request: req, StatusCode: 200, Body: body}
		c.isHTML(contentType)
		if err := resp.parse(contentType); err != nil {
			return
		}
		resp.doc.Find("a, area, link, iframe, frame, img").Each(func(_ int, s *goquery.Selection) {
			e := &Element{Selection: s, Response: resp}
			e.Follow(linkAttrs[goquery.NodeName(s)])
		})
		for _, l := range req.links {
			u, err := url.Parse(l.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
				t.Errorf("queued %q: not an absolute http(s) URL with a host (%v)", l.URL, err)
			}
			if canon, err := frontier.Canonicalize(l.URL); err != nil || canon != l.URL {
				t.Errorf("queued %q, whose canonical form is %q, %v", l.URL, canon, err)
			}
			if l.Depth != req.Depth+1 || l.Referer != page.String() {
				t.Errorf("queued %q at depth %d from %q, want depth %d from the page", l.URL, l.Depth, l.Referer, req.Depth+1)
			}
		}
	})
}
