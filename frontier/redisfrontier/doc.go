// Package redisfrontier is a [frontier.Frontier] kept in Redis, so that many crawler
// processes, on one machine or many, share one crawl: each URL is handed out once
// across all of them, and the politeness limits of every host hold for all of them
// together. [Open] takes redis://host:port/DB?crawl=NAME; processes that open the same
// server, database and NAME share the crawl. It passes the frontiertest conformance
// suite and keeps the promises of package frontier, with the differences below.
//
// # How it works
//
// Every change is one Lua script, which Redis runs atomically: Push deduplicates and
// queues, Next reclaims expired leases, queues due retries and leases the first URL of
// the host that has been ready longest, and Done, Retry, Fail and Backoff settle. All
// times come from the Redis server's clock, so processes agree on them. Nothing a
// process keeps in memory is needed by the others: the leases of a process that dies
// come back when their deadline (Options.LeaseTimeout) passes, taken back by whichever
// process calls Next then, with the interrupted attempt counted. Close gives back the
// leases of its own process at once.
//
// A process's Next wakes when the same process pushes or settles; changes made by
// other processes are seen by polling, at most 25 ms late.
//
// # Keys
//
// Every key starts with "revisit:f:{NAME}:"; after that prefix:
//
//	format          layout version
//	clock           last time stamp handed out, in microseconds
//	stats           hash of the counters of frontier.Stats
//	s:SHARD         hash: deduplication fingerprints (10 bytes each) in 1024 shards
//	rec             hash: fingerprint -> record (URL, priority, depth, referer, data)
//	att             hash: fingerprint -> attempts, for URLs leased at least once
//	h:HOST          hash: queued, leased and in-flight counts, next start, backoff,
//	                Crawl-delay and robots.txt failures of a host
//	p:HOST          sorted set: the priorities HOST has URLs queued under
//	q:HOST:PRIO     list: fingerprints queued for HOST at PRIO, in push order
//	ready           sorted set: hosts with work and a free slot, by when they may start
//	lease           hash: lease ID -> host and fingerprint (or robots.txt origin)
//	ldl             sorted set: lease IDs by deadline
//	lid             last lease ID
//	delayed         sorted set: fingerprint+host of retries, by due time
//	failed          hash: fingerprint -> reason and record
//	r:ORIGIN        a robots.txt outcome, expiring after Options.RobotsTTL
//	rl:ORIGIN       lock held by the process fetching ORIGIN's robots.txt
//
// # Memory
//
// A queued URL costs its record (the URL, referer and data plus about 10 bytes) and
// about 130 bytes of keys: 100,000 queued URLs of 51 bytes took 189 bytes each. A
// done URL costs only its fingerprint in a deduplication hash: 16 bytes each for
// those 100,000. That holds while each of the 1024 shards stays within Redis's
// hash-max-listpack-entries (128 by default), about 130,000 URLs in all; larger
// crawls cost about 70 bytes per done URL unless the setting is raised. Failed URLs
// keep their record and reason. The host table is never pruned: a few hundred bytes
// per host ever seen.
//
// # Durability
//
// A call's changes are in Redis when it returns; whether they survive a crash of the
// server depends on its persistence settings (appendonly yes, appendfsync). Sync
// therefore has nothing to wait for.
//
// # Limitations
//
// With a negative Options.LeaseTimeout (leases never expire), the leases of a process
// that dies without Close are never taken back. Processes sharing a crawl should use
// the same Options: each applies its own PerHost, Delay and retry settings in the
// scripts it runs. The crawl must live on one server; Redis Cluster is not supported.
package redisfrontier
