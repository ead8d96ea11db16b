package crawler

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/PuerkitoBio/goquery"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/transport"
)

// Request is a URL about to be fetched, as callbacks see it.
type Request struct {
	// URL is the canonical URL being fetched.
	URL *url.URL
	// Depth is the number of links followed from a seed.
	Depth int
	// Referer is the page that linked here, if any.
	Referer string
	// Data is per-request data that callbacks may read and set. It is
	// stored with the URL in the frontier, survives restarts, and is
	// copied to the requests of links followed from this page.
	Data map[string]string
	// Header holds extra request headers an OnRequest callback sets; the
	// transport adds the profile's defaults around them.
	Header http.Header

	// Attempt counts the fetches of this URL, this one included.
	Attempt int

	crawler *Crawler
	hops    int                // redirect hops taken to reach this URL
	aborted bool               // set by Abort
	links   []frontier.Request // to queue when the page is done
}

// Abort, called from an OnRequest callback, stops the request: the URL is
// recorded as failed with ErrAborted and not fetched.
func (r *Request) Abort() { r.aborted = true }

// Follow queues a link found on this page, resolved against the page's
// URL, at one more depth; it carries a copy of Data. Links out of scope,
// filtered, too deep or already known are dropped silently; a malformed
// one is reported.
func (r *Request) Follow(link string) error {
	return r.crawler.follow(r, link, 0)
}

// payload is what the crawler stores in frontier.Request.Data.
type payload struct {
	Data map[string]string `json:"d,omitempty"`
	Hops int               `json:"h,omitempty"`
}

func encodePayload(data map[string]string, hops int) []byte {
	if len(data) == 0 && hops == 0 {
		return nil
	}
	b, _ := json.Marshal(payload{Data: data, Hops: hops})
	return b
}

func decodePayload(b []byte) (payload, error) {
	var p payload
	if len(b) == 0 {
		return p, nil
	}
	err := json.Unmarshal(b, &p)
	return p, err
}

// Response is a fetched page, as callbacks see it.
type Response struct {
	Request *Request
	// StatusCode and Header are the server's.
	StatusCode int
	Header     http.Header
	// Body is the decoded body, converted to UTF-8 when it is HTML; at
	// most Config.MaxBodySize bytes.
	Body []byte
	// Conn describes the connection: exit, profile, TLS facts. Zero when
	// the transport is not revisit's.
	Conn transport.ConnInfo

	doc *goquery.Document
	// baseURL is the resolved <base href> or the page's URL, found once
	// per page, not once per link.
	baseOnce sync.Once
	baseURL  *url.URL
}

// IsHTML reports whether the response was parsed as HTML.
func (r *Response) IsHTML() bool { return r.doc != nil }

// Document returns the parsed HTML document, or nil.
func (r *Response) Document() *goquery.Document { return r.doc }

// Follow queues a link found on this page; see [Request.Follow].
func (r *Response) Follow(link string) error { return r.Request.Follow(link) }

// Emit sends a user item to the crawl's sink.
func (r *Response) Emit(item any) error { return r.Request.crawler.emit(item) }

// base returns the URL relative links resolve against: the document's
// <base href> if it is a valid http(s) URL, else the page's URL. Like
// browsers, which ignore a javascript: or data: base, it does not let a
// garbage base turn every relative link into one that cannot be followed.
func (r *Response) base() *url.URL {
	r.baseOnce.Do(func() {
		r.baseURL = r.Request.URL
		if r.doc == nil {
			return
		}
		href, ok := r.doc.Find("base[href]").First().Attr("href")
		if !ok {
			return
		}
		u, err := r.Request.URL.Parse(strings.TrimSpace(href))
		if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			r.baseURL = u
		}
	})
	return r.baseURL
}

// Element is one HTML element matched by an OnHTML selector.
type Element struct {
	// Selection is the element as goquery sees it, for queries beyond the
	// helpers here.
	Selection *goquery.Selection
	// Response is the page the element is on.
	Response *Response
}

// Attr returns an attribute's value, or "".
func (e *Element) Attr(name string) string {
	v, _ := e.Selection.Attr(name)
	return v
}

// Text returns the element's text content, trimmed.
func (e *Element) Text() string { return strings.TrimSpace(e.Selection.Text()) }

// AbsURL resolves the URL in an attribute against the page (its <base href>
// if any). It reports false for an empty or malformed value.
func (e *Element) AbsURL(attr string) (*url.URL, bool) {
	v := strings.TrimSpace(e.Attr(attr))
	if v == "" {
		return nil, false
	}
	u, err := e.Response.base().Parse(v)
	if err != nil {
		return nil, false
	}
	return u, true
}

// Follow queues the link in an attribute (href, src...), as
// [Request.Follow] does.
func (e *Element) Follow(attr string) error {
	u, ok := e.AbsURL(attr)
	if !ok {
		return nil
	}
	return e.Response.Request.crawler.follow(e.Response.Request, u.String(), 0)
}
