package redisfrontier

import (
	"context"
	"fmt"
	"math"

	"github.com/revisit-crawl/revisit/frontier"
)

// pushBatch is how many URLs one script call queues, so that one Push of many URLs
// does not hold the server for long.
const pushBatch = 256

// Push canonicalizes the requests and queues those whose URL no process of the crawl
// accepted before. When it returns, the accepted ones are in Redis. Requests with a
// malformed URL or an oversized field are returned in PushResult.Rejected.
func (f *Frontier) Push(ctx context.Context, reqs ...frontier.Request) (
	frontier.PushResult, error) {
	var res frontier.PushResult
	if err := f.enter(); err != nil {
		return res, err
	}
	defer f.leave()

	args := []any{f.prefix, f.cfg.PerHost}
	valid := 0
	flush := func() error {
		if valid == 0 {
			return nil
		}
		added, err := pushScript.Run(ctx, f.rdb, nil, args...).Int()
		if err != nil {
			return f.redisErr("push", err)
		}
		res.Added += added
		res.Duplicates += valid - added
		args, valid = args[:2], 0
		return nil
	}
	for _, r := range reqs {
		c, host, err := f.validate(r)
		if err != nil {
			res.Rejected = append(res.Rejected, urlError(r.URL, err))
			continue
		}
		r.URL = c
		r.Depth = min(max(r.Depth, 0), math.MaxInt32)
		fp := frontier.Fingerprint(c)
		shard, field := seenKey(fp)
		args = append(args, shard, field, string(fp[:]), host, r.Priority, encodeRecord(&r))
		if valid++; valid == pushBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if res.Added > 0 {
		f.broadcast()
	}
	return res, nil
}

// validate returns the canonical URL of r and its host, or why r cannot be queued.
func (f *Frontier) validate(r frontier.Request) (canonical, host string, err error) {
	c, err := frontier.Canonicalize(r.URL)
	limit := min(f.cfg.MaxURLLength, maxURL)
	switch {
	case err != nil:
		return "", "", err
	case len(c) > limit:
		return "", "", fmt.Errorf("%w: url longer than %d bytes", frontier.ErrTooLarge, limit)
	case len(r.Referer) > f.cfg.MaxURLLength:
		return "", "", fmt.Errorf("%w: referer longer than %d bytes", frontier.ErrTooLarge,
			f.cfg.MaxURLLength)
	case len(r.Data) > f.cfg.MaxDataSize:
		return "", "", fmt.Errorf("%w: data larger than %d bytes", frontier.ErrTooLarge,
			f.cfg.MaxDataSize)
	}
	_, host = frontier.SplitURL(c)
	return c, host, nil
}

// urlError reports a rejected request, with the URL truncated as package frontier does.
func urlError(raw string, err error) *frontier.URLError {
	const max = 256
	if len(raw) > max {
		raw = raw[:max] + "..."
	}
	return &frontier.URLError{URL: raw, Err: err}
}
