package redisfrontier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/revisit-crawl/revisit/frontier"
)

// robotsHeaderLen is the length of the header of a cached robots.txt: the 16-digit
// time it was stored and its kind.
const robotsHeaderLen = 17

// maxRobotsEntries bounds the parsed robots.txt files a process keeps; past it the
// cache starts over.
const maxRobotsEntries = 4096

// robotsEntry is a parsed robots.txt, valid while Redis holds the same header.
type robotsEntry struct {
	header string
	rules  *frontier.Robots // nil unless the kind is 'P'
}

// allows returns nil if the crawler may fetch pathQuery under the robots.txt of origin
// whose cached header Redis gave, or the reason it may not. err is non-nil only if
// Redis could not be read.
func (f *Frontier) allows(ctx context.Context, origin, header, pathQuery string) (
	reason, err error) {
	e, err := f.robotsEntry(ctx, origin, header)
	switch {
	case errors.Is(err, redis.Nil):
		// The cache expired a moment ago; the URL was leased under it.
		return nil, nil
	case err != nil:
		return nil, f.redisErr("read robots.txt of "+origin, err)
	}
	switch e.header[robotsHeaderLen-1] {
	case 'D':
		return frontier.ErrRobotsUnavailable, nil
	case 'P':
		if !e.rules.Allowed(f.cfg.UserAgent, pathQuery) {
			return frontier.ErrDisallowed, nil
		}
	}
	return nil, nil
}

// robotsEntry returns the parsed robots.txt of origin, reading and parsing it when the
// one this process holds is not the one in Redis.
func (f *Frontier) robotsEntry(ctx context.Context, origin, header string) (*robotsEntry, error) {
	f.mu.Lock()
	e := f.robots[origin]
	f.mu.Unlock()
	if e != nil && e.header == header {
		return e, nil
	}
	v, err := f.rdb.Get(ctx, f.prefix+"r:"+origin).Result()
	if err != nil {
		return nil, err
	}
	if len(v) < robotsHeaderLen {
		return nil, redis.Nil // not an outcome this package stored
	}
	e = &robotsEntry{header: v[:robotsHeaderLen]}
	if v[robotsHeaderLen-1] == 'P' {
		e.rules = frontier.ParseRobots([]byte(v[robotsHeaderLen:]))
	}
	f.mu.Lock()
	if len(f.robots) >= maxRobotsEntries {
		clear(f.robots)
	}
	f.robots[origin] = e
	f.mu.Unlock()
	return e, nil
}

// robotsJob is a robots.txt to fetch, holding lease id on a slot of host.
type robotsJob struct {
	id           uint64
	origin, host string
}

// fetchRobots fetches a robots.txt and records the outcome for every process.
func (f *Frontier) fetchRobots(ctx context.Context, job *robotsJob) error {
	id, origin, host := job.id, job.origin, job.host
	robotsURL := origin + "/robots.txt"
	status, body, err := f.callRobots(ctx, robotsURL)
	if ctx.Err() != nil {
		// Give the slot back; another call fetches it later.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if f.enter() == nil {
			f.release(cctx, []uint64{id})
			f.leave()
		}
		return ctx.Err()
	}
	out, cd := "U", time.Duration(0)
	switch {
	case err != nil, status == 429, status >= 500, status < 200:
		f.log.Warn("redisfrontier: robots.txt unreachable", "url", robotsURL,
			"status", status, "err", err)
		body = nil
	case status < 300:
		out = "P"
		body = body[:min(len(body), frontier.MaxRobotsSize)]
		if d, ok := frontier.ParseRobots(body).CrawlDelay(f.cfg.UserAgent); ok {
			cd = min(d, f.cfg.MaxCrawlDelay)
		}
	default:
		out, body = "A", nil
	}
	if err := f.enter(); err != nil {
		return err
	}
	defer f.leave()
	err = robotsScript.Run(ctx, f.rdb, nil, f.prefix, f.cfg.PerHost, id, host, origin, out,
		body, f.cfg.RobotsTTL.Milliseconds(), micros(cd), micros(f.cfg.RobotsRetryDelay),
		f.cfg.RobotsAttempts).Err()
	if err != nil {
		return f.redisErr("record robots.txt", err)
	}
	f.broadcast()
	return nil
}

// callRobots runs the caller's fetch function for at most RobotsTimeout, turning a
// panic into an error.
func (f *Frontier) callRobots(ctx context.Context, u string) (status int, body []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("redisfrontier: robots fetch of %s panicked: %v", u, r)
		}
	}()
	fctx, cancel := context.WithTimeout(ctx, f.cfg.RobotsTimeout)
	defer cancel()
	status, body, err = f.cfg.Robots(fctx, u)
	if fctx.Err() != nil && ctx.Err() == nil {
		return 0, nil, fmt.Errorf("redisfrontier: robots fetch of %s took more than %v: %w",
			u, f.cfg.RobotsTimeout, fctx.Err())
	}
	return status, body, err
}
