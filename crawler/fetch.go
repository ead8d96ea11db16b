package crawler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html/charset"

	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/transport"
)

// outcome is what to do with a lease after its fetch.
type outcome int

const (
	settleDone  outcome = iota // fetched; links queued
	settleRetry                // a reason that may pass: queue again later
	settleFail                 // failed for good
	settleNone                 // the crawl is stopping: leave the lease
)

// handle fetches one leased URL, runs the callbacks, queues the links and
// settles the lease. It returns an error only when the frontier fails.
func (c *Crawler) handle(ctx context.Context, l *frontier.Lease) error {
	req, err := c.newRequest(l)
	if err != nil {
		c.stats.addError("request")
		c.write(&Record{URL: l.URL, Depth: l.Depth, Attempt: l.Attempts, Error: err.Error(), FetchedAt: time.Now().UTC()})
		return c.cfg.Frontier.Fail(ctx, l, err)
	}
	resp, rec, out, ferr := c.process(ctx, req, l)
	if out == settleNone {
		return nil
	}
	// Links first, then Done: a crash between the two fetches the page
	// again, and its links are not lost. They go before the record is
	// written, which must say if the frontier refused a redirect's target.
	if out == settleDone && len(req.links) > 0 {
		res, err := c.cfg.Frontier.Push(ctx, req.links...)
		if err != nil {
			return c.settle(ctx, err)
		}
		if err := c.refused(rec, res.Rejected); err != nil {
			ferr, out = err, settleFail
			c.callError(resp, err)
		}
	}
	if ferr != nil {
		rec.Error = ferr.Error()
		c.stats.addError(errorKind(ferr))
	}
	c.stats.addPage(rec)
	c.write(rec)

	switch out {
	case settleRetry:
		if rec.Status == http.StatusTooManyRequests || rec.Status == http.StatusServiceUnavailable {
			if err := c.cfg.Frontier.Backoff(ctx, l.Host, retryAfter(resp)); err != nil && ctx.Err() == nil {
				return err
			}
		}
		return c.settle(ctx, c.cfg.Frontier.Retry(ctx, l, ferr))
	case settleFail:
		return c.settle(ctx, c.cfg.Frontier.Fail(ctx, l, ferr))
	}
	if err := c.settle(ctx, c.cfg.Frontier.Done(ctx, l)); err != nil {
		return err
	}
	if resp != nil && ferr == nil {
		c.callScraped(resp)
	}
	return nil
}

// refused turns the frontier's refusal of a redirect's target (too long,
// say) into the redirect's error. A refused link is only logged: a page
// does not fail for the links it carries.
func (c *Crawler) refused(rec *Record, rejected []*frontier.URLError) error {
	for _, e := range rejected {
		if rec.Redirect != "" {
			return &FetchError{URL: rec.URL, Stage: StageRedirect, Status: rec.Status,
				Err: fmt.Errorf("%w: target refused: %w", ErrBadRedirect, e)}
		}
		c.log.Debug("crawler: link refused", "page", rec.URL, "err", e)
	}
	return nil
}

// settle passes on a frontier error, unless the crawl is stopping anyway.
func (c *Crawler) settle(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("crawler: frontier: %w", err)
	}
	return nil
}

func (c *Crawler) newRequest(l *frontier.Lease) (*Request, error) {
	u, err := url.Parse(l.URL)
	if err != nil {
		return nil, &FetchError{URL: l.URL, Stage: StageRequest, Err: err}
	}
	p, err := decodePayload(l.Data)
	if err != nil {
		c.log.Warn("crawler: unreadable request data; going on without it", "url", l.URL, "err", err)
	}
	if p.Data == nil {
		p.Data = map[string]string{}
	}
	return &Request{
		URL: u, Depth: l.Depth, Referer: l.Referer, Data: p.Data, Header: http.Header{},
		Attempt: l.Attempts, crawler: c, hops: p.Hops,
	}, nil
}

// process runs OnRequest, the fetch and the response callbacks.
func (c *Crawler) process(ctx context.Context, req *Request, l *frontier.Lease) (*Response, *Record, outcome, error) {
	rec := &Record{URL: l.URL, Depth: l.Depth, Attempt: l.Attempts, FetchedAt: time.Now().UTC()}
	if err := c.callRequest(req); err != nil {
		return nil, rec, settleFail, err
	}
	if req.aborted {
		return nil, rec, settleFail, &FetchError{URL: l.URL, Stage: StageRequest, Err: ErrAborted}
	}
	resp, out, err := c.fetch(ctx, req, rec)
	if out == settleNone {
		return nil, rec, out, nil
	}
	if err != nil {
		c.callError(resp, err)
		return resp, rec, out, err
	}
	if resp == nil { // a redirect, queued
		return nil, rec, out, nil
	}
	if err := c.callResponse(resp); err != nil {
		return resp, rec, settleFail, err
	}
	return resp, rec, settleDone, nil
}

// fetch gets the URL and reads its body. A nil response with a nil error
// is a redirect whose target was queued.
func (c *Crawler) fetch(ctx context.Context, req *Request, rec *Record) (*Response, outcome, error) {
	fctx, cancel := context.WithTimeout(ctx, c.cfg.FetchTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(fctx, http.MethodGet, req.URL.String(), nil)
	if err != nil {
		return nil, settleFail, &FetchError{URL: rec.URL, Stage: StageRequest, Err: err}
	}
	for k, vs := range req.Header {
		hreq.Header[k] = slices.Clone(vs)
	}
	setNavigationHeaders(hreq, req.Referer)

	start := time.Now()
	hresp, err := c.cfg.Transport.RoundTrip(hreq)
	rec.FetchedAt = start.UTC()
	if err != nil {
		rec.DurationMS = ms(time.Since(start))
		if ctx.Err() != nil {
			return nil, settleNone, nil
		}
		return nil, fetchOutcome(err), &FetchError{URL: rec.URL, Stage: StageFetch, Err: c.timedOut(fctx, err)}
	}
	defer hresp.Body.Close()
	info, _ := transport.Info(hresp)
	rec.setConn(info, hresp)
	rec.Status = hresp.StatusCode
	rec.ContentType = hresp.Header.Get("Content-Type")

	if isRedirect(hresp.StatusCode) {
		rec.DurationMS = ms(time.Since(start))
		return nil, settleDone, c.redirect(req, hresp, rec)
	}
	body, berr := readBody(hresp.Body, c.cfg.MaxBodySize, hresp.ContentLength)
	rec.Bytes = int64(len(body))
	rec.DurationMS = ms(time.Since(start))
	if berr != nil && ctx.Err() != nil {
		return nil, settleNone, nil
	}
	resp := &Response{Request: req, StatusCode: hresp.StatusCode, Header: hresp.Header, Body: body, Conn: info}
	if berr != nil {
		out := settleFail
		if !errors.Is(berr, ErrBodyTooLarge) && isNetError(berr) {
			out = settleRetry
		}
		return resp, out, &FetchError{URL: rec.URL, Stage: StageBody, Status: rec.Status, Err: c.timedOut(fctx, berr)}
	}
	if c.blocked(resp) {
		if r, ok := c.cfg.Transport.(retirer); ok {
			r.Retire(hresp, c.cfg.BlockCooldown)
		}
		return resp, settleRetry, &FetchError{URL: rec.URL, Stage: StageBlocked, Status: rec.Status, Err: ErrBlocked}
	}
	if hresp.StatusCode >= 400 {
		return resp, statusOutcome(hresp.StatusCode),
			&FetchError{URL: rec.URL, Stage: StageStatus, Status: hresp.StatusCode, Err: fmt.Errorf("%w %s", ErrHTTPStatus, hresp.Status)}
	}
	if c.isHTML(rec.ContentType) {
		if err := resp.parse(rec.ContentType); err != nil {
			return resp, settleFail, &FetchError{URL: rec.URL, Stage: StageParse, Status: rec.Status, Err: err}
		}
	}
	return resp, settleDone, nil
}

// timedOut says so in err when the fetch ran out of Config.FetchTimeout:
// what the transport reports then (a canceled context, a read deadline)
// does not name the limit that was reached.
func (c *Crawler) timedOut(fctx context.Context, err error) error {
	// The transport sets the deadline on the connection, whose reads may
	// fail an instant before the context notices.
	deadline, ok := fctx.Deadline()
	expired := errors.Is(fctx.Err(), context.DeadlineExceeded) || (ok && !time.Now().Before(deadline))
	if !expired {
		return err
	}
	return &timeoutError{limit: c.cfg.FetchTimeout, err: err}
}

// timeoutError is a fetch that ran out of FetchTimeout. It matches
// context.DeadlineExceeded as well as its cause.
type timeoutError struct {
	limit time.Duration
	err   error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no complete response within %v: %v", e.limit, e.err)
}

func (e *timeoutError) Unwrap() []error { return []error{e.err, context.DeadlineExceeded} }

// setNavigationHeaders makes a followed link look like a click: the
// Referer and Sec-Fetch-Site a browser would send.
func setNavigationHeaders(r *http.Request, referer string) {
	if referer == "" || r.Header.Get("Referer") != "" {
		return
	}
	r.Header.Set("Referer", referer)
	if r.Header.Get("Sec-Fetch-Site") != "" {
		return
	}
	from, err := url.Parse(referer)
	if err != nil {
		return
	}
	site := "cross-site"
	switch {
	case from.Scheme == r.URL.Scheme && strings.EqualFold(from.Host, r.URL.Host):
		site = "same-origin"
	case domainOf(strings.ToLower(from.Hostname())) == domainOf(strings.ToLower(r.URL.Hostname())):
		site = "same-site"
	}
	r.Header.Set("Sec-Fetch-Site", site)
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// redirect queues the target of a redirect as a URL of its own: the
// frontier's deduplication then covers every hop, and a loop ends at the
// first URL seen twice.
func (c *Crawler) redirect(req *Request, resp *http.Response, rec *Record) error {
	loc := resp.Header.Get("Location")
	io.CopyN(io.Discard, resp.Body, 4<<10)
	fail := func(err error) error {
		return &FetchError{URL: rec.URL, Stage: StageRedirect, Status: rec.Status, Err: err}
	}
	if loc == "" {
		return fail(fmt.Errorf("%w: no Location", ErrBadRedirect))
	}
	target, err := req.URL.Parse(loc)
	if err != nil {
		return fail(fmt.Errorf("%w: Location %q: %v", ErrBadRedirect, clip(loc), err))
	}
	if target.Scheme != "http" && target.Scheme != "https" {
		return fail(fmt.Errorf("%w: Location %q is not http(s)", ErrBadRedirect, clip(loc)))
	}
	_, canon, err := canonical(target.String())
	if err != nil {
		// A port out of range, a host that is no host name, ...
		return fail(fmt.Errorf("%w: Location %q: %v", ErrBadRedirect, clip(loc), err))
	}
	rec.Redirect = target.String()
	if req.hops+1 > c.cfg.MaxRedirects {
		return fail(ErrTooManyRedirects)
	}
	if req.Depth == 0 {
		// A seed that redirects brings its target's host into scope.
		c.addScope(canon.Hostname())
	}
	return c.follow(req, target.String(), req.hops+1)
}

// readBody reads at most limit bytes; a longer body gives ErrBodyTooLarge
// with the first limit bytes. size is the body's length if known, else
// -1.
func readBody(r io.Reader, limit, size int64) ([]byte, error) {
	var buf bytes.Buffer
	// A known size saves the copies of a buffer growing from 512 bytes;
	// MinRead more lets ReadFrom see the end without growing again.
	if size > 0 {
		buf.Grow(int(min(size, limit)) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return buf.Bytes(), err
	}
	if n > limit {
		return buf.Bytes()[:limit], fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	return buf.Bytes(), nil
}

func (c *Crawler) isHTML(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// No or malformed type: sniff like a browser would.
		return contentType == ""
	}
	return slices.Contains(c.cfg.HTMLTypes, mt)
}

// parse converts the body to UTF-8 (from the Content-Type charset, a
// <meta> declaration, or a guess) and parses it. A body that is UTF-8
// already, most of the web, or 7-bit in an encoding that reads 7-bit text
// as ASCII, is parsed as it is, without a copy.
func (r *Response) parse(contentType string) error {
	converted := r.Body
	enc, name, _ := charset.DetermineEncoding(r.Body[:min(len(r.Body), 1024)], contentType)
	switch {
	case name == "utf-8":
		converted = bytes.TrimPrefix(converted, []byte("\xef\xbb\xbf"))
	case !isASCII(r.Body) || !asciiCompatible[name]:
		var err error
		converted, err = io.ReadAll(enc.NewDecoder().Reader(bytes.NewReader(r.Body)))
		if err != nil {
			return err
		}
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(converted))
	if err != nil {
		return err
	}
	r.Body = converted
	r.doc = doc
	return nil
}

// fetchOutcome decides on a failed exchange: network trouble may pass;
// a request the transport cannot make will not.
func fetchOutcome(err error) outcome {
	if errors.Is(err, transport.ErrUnsupportedScheme) || errors.Is(err, transport.ErrProxyAuth) {
		return settleFail
	}
	return settleRetry
}

func statusOutcome(code int) outcome {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return settleRetry
	}
	return settleDone
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(resp *Response) time.Duration {
	if resp == nil {
		return 0
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// errorKind names an error's kind for the statistics.
// retirer is a transport that can take the identity behind a response
// out of use, as *transport.Transport does.
type retirer interface {
	Retire(resp *http.Response, d time.Duration) bool
}

// blocked asks Config.Blocked about resp. A panic in it is logged and
// counts as not blocked.
func (c *Crawler) blocked(resp *Response) bool {
	if c.cfg.Blocked == nil {
		return false
	}
	var err error
	yes := func() bool {
		defer c.logCallbackError(&err)
		defer c.recoverCallback(resp.Request.URL.String(), "Blocked", &err)
		return c.cfg.Blocked(resp)
	}()
	return yes && err == nil
}

func errorKind(err error) string {
	var fe *FetchError
	if !errors.As(err, &fe) {
		return "other"
	}
	switch {
	case fe.Stage == StageStatus && fe.Status >= 500:
		return "http_5xx"
	case fe.Stage == StageStatus:
		return "http_4xx"
	case errors.Is(err, transport.ErrProxyAuth), errors.Is(err, transport.ErrProxy):
		return "proxy"
	case errors.Is(err, transport.ErrHandshake):
		return "tls"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return string(fe.Stage)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// asciiCompatible are the encodings that read 7-bit text as ASCII, in
// which a 7-bit page needs no conversion; of the WHATWG encodings, UTF-16,
// ISO-2022-JP (escape sequences in 7 bits) and "replacement" do not.
// Unlisted names are converted.
var asciiCompatible = map[string]bool{
	"windows-1252": true, "iso-8859-2": true, "iso-8859-15": true, "windows-1251": true,
	"windows-1250": true, "koi8-r": true, "shift_jis": true, "euc-jp": true, "euc-kr": true,
	"gbk": true, "gb18030": true, "big5": true, "iso-8859-5": true, "iso-8859-7": true,
	"windows-1253": true, "windows-1254": true, "windows-1256": true, "windows-874": true,
}

// isASCII reports whether b is 7-bit.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
