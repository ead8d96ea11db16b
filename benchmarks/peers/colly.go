package main

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gocolly/colly/v2"
)

// runColly crawls the site with colly: asynchronous, one limit rule for
// every domain, robots.txt obeyed (colly ignores it unless told), its
// default in-memory storage, and net/http's transport trusting the site's
// root with HTTP/2 on.
func runColly(args []string) error {
	f, err := parseCrawlFlags("colly", args, nil)
	if err != nil {
		return err
	}
	roots, err := loadRoots(f.ca)
	if err != nil {
		return err
	}
	root, err := url.Parse(f.url)
	if err != nil {
		return err
	}
	start := time.Now()

	// With one host, the one rule's parallelism is both the per-host and
	// the overall limit; colly has no overall limit of its own.
	c := colly.NewCollector(colly.Async(true), colly.AllowedDomains(root.Hostname()))
	c.IgnoreRobotsTxt = false
	c.SetRequestTimeout(60 * time.Second)
	rule := &colly.LimitRule{DomainGlob: "*", Parallelism: min(f.concurrency, f.perHost)}
	if err := c.Limit(rule); err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	tr.ForceAttemptHTTP2 = true
	tr.MaxIdleConnsPerHost = f.perHost
	rt := &protoCounter{next: tr}
	c.WithTransport(rt)

	res := crawlResult{Crawler: "colly"}
	var pages, links, errs atomic.Int64
	c.OnHTML("a[href]", func(e *colly.HTMLElement) {
		links.Add(1)
		// Errors here are links colly declines: seen before, off the
		// site, or not http(s).
		e.Request.Visit(e.Attr("href"))
	})
	c.OnScraped(func(*colly.Response) { pages.Add(1) })
	c.OnError(func(*colly.Response, error) { errs.Add(1) })
	if err := c.Visit(f.url + "/"); err != nil {
		return err
	}
	c.Wait()
	tr.CloseIdleConnections()

	res.Pages, res.Links, res.Errors = pages.Load(), links.Load(), errs.Load()
	res.Protocol = rt.protos.String()
	return res.print(start)
}

// protoCounter notes the protocol of every response that passes through.
type protoCounter struct {
	next   http.RoundTripper
	protos protocols
}

func (p *protoCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(req)
	if err == nil {
		p.protos.add(resp.Proto)
	}
	return resp, err
}
