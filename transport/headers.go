package transport

import (
	"fmt"
	"net/http"

	"golang.org/x/net/http/httpguts"
)

// withDefaults returns req with the profile's default headers added where
// the request has none of its own: the HTTP/2 set on HTTP/2 connections,
// the HTTP/1.1 set otherwise. The caller's headers win and are kept.
func (t *Transport) withDefaults(req *http.Request, h2 bool) *http.Request {
	defaults := t.profile.h1Headers
	if h2 {
		defaults = t.profile.headers
	}
	h := req.Header.Clone()
	if h == nil {
		h = make(http.Header, len(defaults))
	}
	for _, f := range defaults {
		if f.value == "" {
			continue
		}
		key := http.CanonicalHeaderKey(f.name)
		if _, ok := h[key]; !ok {
			h[key] = []string{f.value}
		}
	}
	out := req.Clone(req.Context())
	out.Header = h
	out.Body = req.Body
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
