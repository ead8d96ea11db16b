package crawler

import (
	"errors"
	"fmt"
)

// Errors of the crawler. A fetch that fails gives a [*FetchError] that
// wraps one of these or the transport's error.
var (
	// ErrBodyTooLarge means the decoded body passed Config.MaxBodySize.
	ErrBodyTooLarge = errors.New("crawler: body too large")
	// ErrTooManyRedirects means a URL redirected more than
	// Config.MaxRedirects times.
	ErrTooManyRedirects = errors.New("crawler: too many redirects")
	// ErrBadRedirect means a redirect's Location is missing, malformed or
	// not http(s).
	ErrBadRedirect = errors.New("crawler: bad redirect")
	// ErrHTTPStatus means the server answered with an error status.
	ErrHTTPStatus = errors.New("crawler: error status")
	// ErrAborted means an OnRequest callback aborted the request.
	ErrAborted = errors.New("crawler: aborted by callback")
	// ErrBlocked means Config.Blocked judged the response a block: the
	// site refuses the visitor that fetched it.
	ErrBlocked = errors.New("crawler: blocked by the site")
	// ErrRunning means Run was called on a crawler that is running.
	ErrRunning = errors.New("crawler: already running")
)

// ConfigError reports a configuration value that cannot work.
type ConfigError struct {
	Field  string
	Reason string
}

// Error describes the field and what is wrong with it.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("crawler: config %s: %s", e.Field, e.Reason)
}

// Stage names where in a fetch an error happened.
type Stage string

// The stages of a fetch.
const (
	StageRequest  Stage = "request"  // building the request, callbacks
	StageFetch    Stage = "fetch"    // dial, proxy, TLS, HTTP exchange
	StageStatus   Stage = "status"   // an error status code
	StageBody     Stage = "body"     // reading or decoding the body
	StageRedirect Stage = "redirect" // following a redirect
	StageParse    Stage = "parse"    // HTML parsing
	StageCallback Stage = "callback" // a callback panicked
	StageBlocked  Stage = "blocked"  // Config.Blocked judged the response a block
)

// FetchError is the error of one URL: where it happened and why.
type FetchError struct {
	URL    string
	Stage  Stage
	Status int // the HTTP status, when there was a response
	Err    error
}

// Error describes the stage, the URL and the cause.
func (e *FetchError) Error() string {
	return fmt.Sprintf("crawler: %s %s: %v", e.Stage, e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }
