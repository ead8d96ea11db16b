package frontier

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// robotsKind is the outcome of fetching a robots.txt.
type robotsKind byte

const (
	robotsParsed      robotsKind = iota // 2xx: follow the body
	robotsAllowAll                      // 3xx left over, 4xx: RFC 9309 "unavailable"
	robotsDisallowAll                   // unreachable too many times: "unreachable"
)

// robotsGiveUpTTL is how long a robots.txt that stayed unreachable disallows its origin
// before it is tried again.
const robotsGiveUpTTL = time.Hour

// robotsEntry is what the frontier keeps of one origin's robots.txt: only the rules for
// its own user agent.
type robotsEntry struct {
	kind    robotsKind
	rules   robotsGroup
	expires time.Time
}

func (e *robotsEntry) fresh(now time.Time) bool {
	return e != nil && now.Before(e.expires)
}

// allows returns nil if pathQuery may be fetched, or the failure reason.
func (e *robotsEntry) allows(pathQuery string) error {
	switch {
	case e.kind == robotsDisallowAll:
		return ErrRobotsUnavailable
	case e.kind == robotsAllowAll, e.rules.allowed(pathQuery):
		return nil
	}
	return ErrDisallowed
}

func newRobotsEntry(rec robotsRecord, agent string) *robotsEntry {
	e := &robotsEntry{kind: rec.Kind, expires: time.Unix(0, rec.Expires)}
	if rec.Kind == robotsParsed {
		e.rules = ParseRobots(rec.Body).rulesFor(agent)
	}
	return e
}

// robotsOutcome classifies a fetch per RFC 9309 section 2.3.1. A 429 counts as
// unreachable rather than as a 4xx: the server asked to slow down, not to be crawled
// freely. It returns ok false for an unreachable robots.txt.
func robotsOutcome(status int, err error) (kind robotsKind, ok bool) {
	switch {
	case err != nil, status == 429, status >= 500, status < 200:
		return 0, false
	case status < 300:
		return robotsParsed, true
	default:
		return robotsAllowAll, true
	}
}

// originOf returns the scheme and authority of a canonical URL. It tolerates any
// string, as records read from disk may be damaged.
func originOf(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
		return u[:i+3+j]
	}
	return u
}

// hostnameOf returns the host name of a canonical URL, without port.
func hostnameOf(u string) string {
	o := originOf(u)
	h := o[min(strings.Index(o, "://")+3, len(o)):]
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i >= 0 {
			return h[:i+1]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// robotsFetch is a robots.txt fetch that Next makes without holding the lock.
type robotsFetch struct {
	h      *hostState
	origin string
}

// robotsLocked returns the fresh robots.txt entry for origin, loading it from the file
// if needed, or nil if it must be fetched.
func (s *Bolt) robotsLocked(h *hostState, origin string, now time.Time) (*robotsEntry, error) {
	if h.robots == nil {
		h.robots = map[string]*robotsEntry{}
	}
	e := h.robots[origin]
	if e == nil {
		var rec []byte
		err := s.view(func(tx *bolt.Tx) error {
			rec = bytes.Clone(tx.Bucket(bucketRobots).Get([]byte(origin)))
			return nil
		})
		if err != nil {
			return nil, err
		}
		if rec != nil {
			r, err := decodeRobots(rec)
			if err != nil {
				s.log.Error("frontier: corrupt robots.txt record; fetching again",
					"file", s.path, "origin", origin, "err", err)
				return nil, nil
			}
			e = newRobotsEntry(r, s.cfg.agent)
			h.robots[origin] = e
			s.updateCrawlDelayLocked(h)
		}
	}
	if e.fresh(now) {
		return e, nil
	}
	return nil, nil
}

// startRobotsLocked reserves a slot of h for fetching a robots.txt.
func (s *Bolt) startRobotsLocked(h *hostState, origin string, now time.Time) *robotsFetch {
	h.robotsBusy = true
	h.inflight++
	h.nextStart = now.Add(s.cfg.hostDelay(h.crawlDelay))
	s.ready.fix(h, s.cfg.PerHost)
	return &robotsFetch{h: h, origin: origin}
}

// fetchRobotsUnlocked fetches a robots.txt with mu released and records the outcome.
func (s *Bolt) fetchRobotsUnlocked(ctx context.Context, f *robotsFetch) error {
	robotsURL := f.origin + "/robots.txt"
	s.mu.Unlock()
	status, body, err := s.callRobots(ctx, robotsURL)
	s.mu.Lock()

	h, now := f.h, time.Now()
	h.robotsBusy = false
	h.inflight--
	defer func() {
		s.settleHostLocked(h, now)
		s.broadcastLocked()
	}()
	if ctx.Err() != nil {
		return ctx.Err()
	}

	kind, ok := robotsOutcome(status, err)
	if !ok {
		h.robotsFails++
		s.log.Warn("frontier: robots.txt unreachable", "url", robotsURL, "status", status,
			"err", err, "failures", h.robotsFails)
		if h.robotsFails < s.cfg.RobotsAttempts {
			wait := s.cfg.RobotsRetryDelay << min(h.robotsFails-1, 16)
			if until := now.Add(wait); until.After(h.backoffUntil) {
				h.backoffUntil = until
			}
			return nil
		}
		kind = robotsDisallowAll
	}
	h.robotsFails = 0
	ttl := s.cfg.RobotsTTL
	if kind == robotsDisallowAll {
		ttl = robotsGiveUpTTL
	}
	rec := robotsRecord{Kind: kind, Expires: now.Add(ttl).UnixNano()}
	if kind == robotsParsed {
		rec.Body = body[:min(len(body), MaxRobotsSize)]
	}
	h.robots[f.origin] = newRobotsEntry(rec, s.cfg.agent)
	s.updateCrawlDelayLocked(h)
	s.enqueueLocked(&robotsOp{origin: f.origin, rec: rec})
	return nil
}

// callRobots runs the caller's fetch function for at most RobotsTimeout, turning a
// panic into an error.
func (s *Bolt) callRobots(ctx context.Context, u string) (status int, body []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("frontier: robots fetch of %s panicked: %v", u, r)
		}
	}()
	fctx, cancel := context.WithTimeout(ctx, s.cfg.RobotsTimeout)
	defer cancel()
	status, body, err = s.cfg.Robots(fctx, u)
	if fctx.Err() != nil && ctx.Err() == nil {
		// Whatever the fetcher made of its cut-short fetch, it is no answer.
		return 0, nil, fmt.Errorf("frontier: robots fetch of %s took more than %v: %w",
			u, s.cfg.RobotsTimeout, fctx.Err())
	}
	return status, body, err
}

func (s *Bolt) updateCrawlDelayLocked(h *hostState) {
	h.crawlDelay = 0
	for _, e := range h.robots {
		if e.rules.hasDelay {
			h.crawlDelay = max(h.crawlDelay, e.rules.crawlDelay)
		}
	}
}
