// Package crawler is revisit's crawl engine and spider API.
//
// A [Crawler] takes URLs from a durable frontier (package frontier),
// fetches them through a transport (usually package transport's, which
// looks like a browser and resumes TLS sessions per exit), runs the
// callbacks registered with OnRequest, OnResponse, OnHTML, OnError and
// OnScraped, and queues the links the callbacks follow. Workers run in an
// errgroup; Config.Concurrency of them fetch at once, and the frontier
// keeps each host's politeness (connections, delay, robots.txt).
//
// # Callbacks
//
// Callbacks run on the worker goroutine that fetched the page; several
// run at once for different pages, so they must be safe for concurrent
// use. For one page the order is: OnRequest; the fetch; then OnResponse,
// OnHTML (selectors in registration order, elements in document order) and
// OnScraped for responses below 400, or OnError for failures and error
// statuses. A panicking callback becomes the page's error.
//
// Links are queued with [Element.Follow], [Response.Follow] or
// [Request.Follow]. They are resolved against the page (or its <base>),
// kept to Config.Scope, Config.Filter and Config.MaxDepth, and carry a
// copy of the page's Request.Data, which the frontier stores with the URL,
// so it survives restarts.
//
// # Fetch policy
//
// The crawler follows redirects itself: each target is queued as a URL of
// its own at the same depth, so every hop is deduplicated, a loop ends at
// the first repeated URL, and chains stop after Config.MaxRedirects hops.
// 429 and 503 pause the host (honouring Retry-After) and retry the URL;
// other 5xx and network errors retry it with backoff, up to the
// frontier's attempt limit. Bodies are capped after decoding
// (Config.MaxBodySize), which bounds gzip, brotli and zstd bombs and
// endless bodies; HTML is converted to UTF-8 from its declared or detected
// charset before parsing.
//
// A site that blocks the crawler often says so with a 200: Config.Blocked
// is asked about every response whose body was read, before the callbacks.
// A blocked page is recorded with [ErrBlocked] and queued again, and the
// transport's identity that fetched it is retired for Config.BlockCooldown
// when the transport can (package transport's Retire), so that its hosts
// go through the other exits of the pool meanwhile.
//
// # Output
//
// Every fetch produces a [Record] (URL, status, depth, bytes, error, exit,
// profile, TLS facts, time) for the [Sink]; [JSONLSink] writes JSON Lines.
// Callbacks can emit items of their own with [Response.Emit]. [Crawler.Stats]
// counts pages, bytes, errors by kind and handshakes per exit.
//
// # Stopping and resuming
//
// Run returns when the frontier is drained, when MaxPages fetches were
// made, or when its context ends. In the last case the fetches in flight
// are abandoned and their URLs stay leased; the frontier returns them to
// the queue when it is opened again, and running again with the same seeds
// resumes the crawl without duplicating them.
package crawler
