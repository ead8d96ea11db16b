package frontier

import (
	"errors"
	"fmt"
)

// Errors returned by frontiers. Match them with [errors.Is]; most are wrapped with the
// operation and the URL or file they concern.
var (
	// ErrDrained is returned by Next when nothing is queued, leased or waiting for a
	// retry: the crawl is complete.
	ErrDrained = errors.New("frontier: drained")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("frontier: closed")

	// ErrUnknownLease is returned by Done, Retry and Fail for a lease the frontier no
	// longer holds: it was already settled, or it expired and was handed out again.
	ErrUnknownLease = errors.New("frontier: unknown or expired lease")

	// ErrInvalidURL wraps every reason a URL is rejected by Canonicalize and Push.
	ErrInvalidURL = errors.New("frontier: invalid url")

	// ErrTooLarge is returned by Push for a request whose URL, referer or data exceeds
	// the frontier's limits.
	ErrTooLarge = errors.New("frontier: request too large")

	// ErrDisallowed is the failure reason recorded for a URL that robots.txt forbids.
	ErrDisallowed = errors.New("frontier: disallowed by robots.txt")

	// ErrRobotsUnavailable is the failure reason recorded for a URL whose robots.txt could
	// not be fetched after several attempts; RFC 9309 then requires assuming a full
	// disallow.
	ErrRobotsUnavailable = errors.New("frontier: robots.txt unreachable")

	// ErrMaxAttempts is the failure reason recorded when Retry is called on a lease that
	// has used all its attempts.
	ErrMaxAttempts = errors.New("frontier: too many attempts")

	// ErrLocked is returned by Open when another process holds the state file.
	ErrLocked = errors.New("frontier: state file locked by another process")

	// ErrCorrupt is returned when a state file or one of its records cannot be decoded.
	ErrCorrupt = errors.New("frontier: corrupt state")

	// ErrNewerFormat is returned by Open for a state file written by a newer version of
	// this package.
	ErrNewerFormat = errors.New("frontier: state file has a newer format")
)

// URLError records a URL that Push or Canonicalize rejected and why.
type URLError struct {
	URL string // the URL as given, truncated to 256 bytes
	Err error  // the reason; errors.Is(Err, ErrInvalidURL) or ErrTooLarge
}

// Error implements error.
func (e *URLError) Error() string {
	return fmt.Sprintf("%v: %q", e.Err, e.URL)
}

// Unwrap returns the reason.
func (e *URLError) Unwrap() error { return e.Err }

func urlError(raw string, err error) *URLError {
	const max = 256
	if len(raw) > max {
		raw = raw[:max] + "..."
	}
	return &URLError{URL: raw, Err: err}
}

func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidURL, reason)
}
