package transport

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// withDefaults returns req with the profile's default headers added where
// the request has none of its own: the HTTP/2 set on HTTP/2 connections,
// the HTTP/1.1 set otherwise. The caller's headers win and are kept. The
// returned request is the transport's own: its header values may be
// shared with other requests and must not be modified.
func (t *Transport) withDefaults(req *http.Request, h2 bool) *http.Request {
	o := t.h1Order
	if h2 {
		o = t.h2Order
	}
	h := make(http.Header, len(req.Header)+len(o.keys))
	for k, vs := range req.Header {
		h[k] = vs
	}
	for i, key := range o.keys {
		if def := o.defaults[i]; def != nil {
			if _, ok := h[key]; !ok {
				h[key] = def
			}
		}
	}
	out := new(http.Request)
	*out = *req
	out.Header = h
	return out
}

// checkHeaders refuses header names and values that would break the
// request framing, such as values with line breaks.
func checkHeaders(h http.Header) error {
	for k, vs := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("transport: invalid header name %q", k)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("transport: invalid value for header %q", k)
			}
		}
	}
	return nil
}

// requestFields returns the header list of req for HTTP/2: the
// pseudo-header fields in the profile's order, then the headers in its
// order, names in lower case and cookies split into crumbs as browsers
// send them (RFC 9113, 8.2.3).
func (c *h2Conn) requestFields(req *http.Request, hasBody bool) ([]hpackEntry, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if method == http.MethodConnect {
		return nil, fmt.Errorf("transport: CONNECT over HTTP/2 is not supported")
	}
	scheme := strings.ToLower(req.URL.Scheme)
	authority := req.Host
	if authority == "" {
		authority = req.URL.Host
	}
	if host, port, err := net.SplitHostPort(authority); err == nil && port == defaultPort(scheme) {
		authority = host
		if strings.Contains(host, ":") {
			authority = "[" + host + "]"
		}
	}
	fields := make([]hpackEntry, 0, 4+len(req.Header)+2)
	for _, r := range c.h2.PseudoOrder {
		switch r {
		case 'm':
			fields = append(fields, hpackEntry{":method", method})
		case 'a':
			fields = append(fields, hpackEntry{":authority", authority})
		case 's':
			fields = append(fields, hpackEntry{":scheme", scheme})
		case 'p':
			fields = append(fields, hpackEntry{":path", req.URL.RequestURI()})
		}
	}
	h := req.Header
	n, withLength := contentLength(req, hasBody)
	if withLength || len(req.Trailer) > 0 {
		h = h.Clone()
	}
	if withLength {
		h.Set("Content-Length", n)
	}
	if len(req.Trailer) > 0 {
		// Announce the trailers, as servers keep only those announced.
		h.Set("Trailer", strings.Join(slices.Sorted(maps.Keys(req.Trailer)), ", "))
	}
	for _, oh := range c.t.h2Order.apply(h, skipH2) {
		name := strings.ToLower(oh.name)
		for _, v := range oh.values {
			if name != "cookie" {
				fields = append(fields, hpackEntry{name, v})
				continue
			}
			for crumb := range strings.SplitSeq(v, ";") {
				if crumb = strings.TrimSpace(crumb); crumb != "" {
					fields = append(fields, hpackEntry{name, crumb})
				}
			}
		}
	}
	return fields, nil
}

// contentLength returns the content-length to send, if any: the body's
// known length, or 0 for a bodiless POST, PUT or PATCH, as browsers send.
func contentLength(req *http.Request, hasBody bool) (string, bool) {
	switch {
	case hasBody && req.ContentLength > 0:
		return strconv.FormatInt(req.ContentLength, 10), true
	case !hasBody && methodWantsLength(req.Method):
		return "0", true
	}
	return "", false
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// skipH2 leaves out the headers HTTP/2 forbids (RFC 9113, 8.2.2) and
// those the request line's pseudo-headers replace. TE may only say
// "trailers".
func skipH2(key string, vs []string) bool {
	switch key {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Host":
		return true
	case "Te":
		return len(vs) != 1 || vs[0] != "trailers"
	}
	return false
}
