package crawler

import (
	"fmt"

	"github.com/PuerkitoBio/goquery"
)

// A panicking callback must not take the crawl down: its panic becomes the
// page's error, with the callback's name.
func (c *Crawler) recoverCallback(url, name string, err *error) {
	if r := recover(); r != nil {
		*err = &FetchError{URL: url, Stage: StageCallback, Err: fmt.Errorf("%s panicked: %v", name, r)}
	}
}

// logCallbackError logs the panic of a callback whose error has nowhere
// else to go.
func (c *Crawler) logCallbackError(err *error) {
	if *err != nil {
		c.log.Warn("crawler: callback failed", "err", *err)
	}
}

func (c *Crawler) callRequest(r *Request) (err error) {
	defer c.recoverCallback(r.URL.String(), "OnRequest", &err)
	for _, fn := range c.onRequest {
		fn(r)
	}
	return nil
}

func (c *Crawler) callResponse(resp *Response) (err error) {
	defer c.recoverCallback(resp.Request.URL.String(), "OnResponse/OnHTML", &err)
	for _, fn := range c.onResponse {
		fn(resp)
	}
	if resp.doc == nil {
		return nil
	}
	for _, cb := range c.onHTML {
		resp.doc.Find(cb.selector).Each(func(_ int, s *goquery.Selection) {
			cb.fn(&Element{Selection: s, Response: resp})
		})
	}
	return nil
}

func (c *Crawler) callError(resp *Response, cause error) {
	var err error
	url := ""
	if resp != nil {
		url = resp.Request.URL.String()
	}
	// recover works only when called by the deferred function itself:
	// recoverCallback is deferred alone, and the log after it.
	defer c.logCallbackError(&err)
	defer c.recoverCallback(url, "OnError", &err)
	for _, fn := range c.onError {
		fn(resp, cause)
	}
}

func (c *Crawler) callScraped(resp *Response) {
	var err error
	defer c.logCallbackError(&err)
	defer c.recoverCallback(resp.Request.URL.String(), "OnScraped", &err)
	for _, fn := range c.onScraped {
		fn(resp)
	}
}
