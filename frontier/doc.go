// Package frontier is the crawl's durable URL queue: it canonicalizes and deduplicates
// URLs, hands them out under per-host politeness rules and robots.txt, tracks leases,
// retries and failures, and survives crashes without losing or redoing work.
//
// [Frontier] is the interface; [Open] returns [Bolt], the implementation stored in one
// bbolt file. Package frontiertest holds the conformance suite every implementation
// passes. The package knows nothing about HTTP: robots.txt files are fetched through
// a [RobotsFunc] the caller supplies, so they travel through the crawler's own
// transport and exit.
//
// # Life of a URL
//
// [Frontier.Push] canonicalizes each URL ([Canonicalize]) and queues it unless its
// [Fingerprint] was ever accepted before. [Frontier.Next] blocks until some URL may be
// fetched and returns a [Lease]. The caller settles each lease exactly once:
// [Frontier.Done] after a fetch, [Frontier.Retry] after a transient error (the URL comes
// back after an exponential backoff until Options.MaxAttempts is used up) or
// [Frontier.Fail] for good. Next returns [ErrDrained] when nothing is queued, leased or
// waiting for a retry, and ctx.Err() when its context ends.
//
// # Durability
//
// These promises hold across a crash of the process, SIGKILL included, and, unless
// Options.NoSync is set, across an operating system crash or power loss:
//
//   - Once Push returns, its accepted URLs are on disk.
//   - Once Done returns nil, the URL is never handed out again.
//   - Once Retry, Fail or Backoff returns nil, its effect is on disk.
//   - Leases are written without making Next wait. A URL leased when the process died
//     is queued again by the next Open, with the interrupted attempt counted: it is
//     fetched again, and only such URLs are. A URL whose every attempt was interrupted
//     is recorded as failed rather than crashing the crawler forever.
//   - Sync returns once everything before it is on disk; Close does the same.
//
// Concurrent calls share transactions: a commit carries every change that arrived while
// the previous one was being written, so one fsync serves many URLs.
//
// # Politeness
//
// The unit of politeness is the host name: URLs of every scheme and port on one name
// share its limits, since they usually reach the same server. At
// most Options.PerHost leases of one host are outstanding at once; request starts to
// one host are at least Options.Delay apart, or the host's robots.txt Crawl-delay if
// larger (capped at Options.MaxCrawlDelay); [Frontier.Backoff] pauses a host after a
// 429 or 503, honouring Retry-After. Among hosts ready at the same time Next takes
// turns, so one host with millions of URLs does not starve the others. Within a host,
// URLs come by descending Request.Priority, then in push order. All waits select on a
// timer and the caller's context.
//
// # robots.txt
//
// With Options.Robots set, the first URL of each origin (scheme, host and port) makes
// Next fetch its /robots.txt, which is then kept for Options.RobotsTTL (24 hours) in
// memory and in the state file, so a restart does not fetch it again. Following RFC
// 9309: a 2xx body is parsed ([ParseRobots]: groups, case-insensitive user-agent
// product tokens, the longest matching rule wins and allow wins ties, "*" and "$"
// patterns, the first 500 KiB); a 4xx means everything is allowed; a 5xx, a 429 or no
// response (none within Options.RobotsTimeout counts as none) makes the host wait
// Options.RobotsRetryDelay, doubling, and after Options.RobotsAttempts failures the
// origin is treated as disallowing everything for an hour. URLs robots.txt forbids are
// recorded as failed with [ErrDisallowed] or [ErrRobotsUnavailable] and reported to
// Options.OnSkip; they are not silently dropped.
//
// # Scale
//
// Memory does not grow with the number of URLs: deduplication keys, queued URLs and
// failures live in the file. The frontier keeps in memory the hosts that have work
// queued or in flight (a few hundred bytes each), the outstanding leases and the
// robots.txt rules of those hosts. Open reads the counters, the host table and the
// leases left by a crashed process; it never reads the queue itself.
//
// # Bad input
//
// Malformed URLs are rejected by Push with a [URLError] naming the URL and the reason.
// A record that cannot be decoded is logged and recorded as failed; the crawl goes on.
// A file that is not a frontier, is damaged beyond that, or was written by a newer
// version is refused by Open with an error naming the file, and left as it was. Damage
// in pages Open does not read shows later, as ErrCorrupt from the call that met it.
// Nothing in this package panics on bad input or logs anywhere but Options.Logger.
package frontier
