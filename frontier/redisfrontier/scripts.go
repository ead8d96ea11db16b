package redisfrontier

import "github.com/redis/go-redis/v9"

// The Lua scripts below are the only code that changes a crawl's keys, so each change
// is atomic across every process sharing the crawl. Every script takes the key prefix
// as ARGV[1] and computes key names from it: the crawl lives on one server and one
// database, never on a cluster.
//
// Times are microseconds of the Redis server's clock, read with TIME and made strictly
// increasing by the "clock" key, so all processes agree on them and no two events of
// a crawl share a time stamp (the ready set relies on that to take turns).
//
// Numbers above 2^31 are written with I(): Lua 5.1 turns numbers into strings with 14
// significant digits, which would round microsecond times.
const prelude = `
local P = ARGV[1]
local FAR = 4503599627370496 -- 2^52 microseconds: a lease that never expires
local function I(n) return string.format('%.0f', n) end
local function num(v) return tonumber(v) or 0 end

local function clock()
	local t = redis.call('TIME')
	local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
	local last = num(redis.call('GET', P .. 'clock'))
	if now <= last then now = last + 1 end
	redis.call('SET', P .. 'clock', I(now))
	return now
end

local function hget(h, f) return num(redis.call('HGET', P .. 'h:' .. h, f)) end
local function stat(f, d) redis.call('HINCRBY', P .. 'stats', f, d) end

-- hostcount changes a host's queued (q) and leased (l) counts and keeps the number of
-- hosts with either in the stats.
local function hostcount(h, dq, dl)
	local k = P .. 'h:' .. h
	local v = redis.call('HMGET', k, 'q', 'l')
	local q, l = num(v[1]), num(v[2])
	local before = q > 0 or l > 0
	q, l = q + dq, l + dl
	redis.call('HSET', k, 'q', q, 'l', l)
	local after = q > 0 or l > 0
	if before ~= after then stat('hosts', after and 1 or -1) end
end

-- rescore puts a host in the ready set, scored by when it may next start a request,
-- if it has URLs queued and a free slot; otherwise it takes it out.
local function rescore(h, perhost)
	local v = redis.call('HMGET', P .. 'h:' .. h, 'q', 'f', 'n', 'b')
	if num(v[1]) > 0 and num(v[2]) < perhost then
		redis.call('ZADD', P .. 'ready', I(math.max(num(v[3]), num(v[4]))), h)
	else
		redis.call('ZREM', P .. 'ready', h)
	end
end

-- A record starts with a version byte, the priority plus 2^31 in 4 bytes and the
-- URL's length in 2 bytes, all big-endian, then the URL.
local function recprio(rec)
	local a, b, c, d = string.byte(rec, 2, 5)
	return ((a * 256 + b) * 256 + c) * 256 + d - 2147483648
end
local function recurl(rec)
	local a, b = string.byte(rec, 6, 7)
	return string.sub(rec, 8, 7 + a * 256 + b)
end

-- enqueue appends a URL to its host's list for its priority, or puts it first.
local function enqueue(h, fp, prio, first)
	local qk = P .. 'q:' .. h .. ':' .. prio
	if first then redis.call('LPUSH', qk, fp) else redis.call('RPUSH', qk, fp) end
	redis.call('ZADD', P .. 'p:' .. h, -prio, prio)
	hostcount(h, 1, 0)
	stat('queued', 1)
end

local function failrec(fp, reason, disallowed)
	local rec = redis.call('HGET', P .. 'rec', fp) or ''
	redis.call('HDEL', P .. 'rec', fp)
	redis.call('HDEL', P .. 'att', fp)
	redis.call('HSET', P .. 'failed', fp, reason .. '\n' .. rec)
	stat('failed', 1)
	if disallowed then stat('disallowed', 1) end
end

-- endlease removes a lease and frees its host slot. A lease is "U" host "\n" fp for a
-- URL, "R" host "\n" origin for a robots.txt fetch.
local function endlease(lid)
	local v = redis.call('HGET', P .. 'lease', lid)
	if not v then return nil end
	redis.call('HDEL', P .. 'lease', lid)
	redis.call('ZREM', P .. 'ldl', lid)
	local nl = string.find(v, '\n', 1, true)
	local kind, h, rest = string.sub(v, 1, 1), string.sub(v, 2, nl - 1), string.sub(v, nl + 1)
	redis.call('HINCRBY', P .. 'h:' .. h, 'f', -1)
	if kind == 'U' then
		hostcount(h, 0, -1)
		stat('leased', -1)
	else
		local lk = P .. 'rl:' .. rest
		if redis.call('GET', lk) == lid then redis.call('DEL', lk) end
	end
	return kind, h, rest
end

-- giveback queues the URL of an unsettled lease again, first of its priority, or
-- records it as failed if that lease was its last attempt.
local function giveback(h, fp, maxatt, why)
	local rec = redis.call('HGET', P .. 'rec', fp)
	if not rec then return end
	if num(redis.call('HGET', P .. 'att', fp)) >= maxatt then
		failrec(fp, 'frontier: too many attempts: ' .. why, false)
	else
		enqueue(h, fp, recprio(rec), true)
	end
end

-- reclaim takes back leases past their deadline, whoever holds them.
local function reclaim(now, perhost, maxatt)
	local ids = redis.call('ZRANGE', P .. 'ldl', '-inf', I(now), 'BYSCORE', 'LIMIT', 0, 100)
	for _, lid in ipairs(ids) do
		local kind, h, rest = endlease(lid)
		if kind == 'U' then giveback(h, rest, maxatt, 'lease expired') end
		if kind then rescore(h, perhost) end
	end
end

-- promote queues the retries that are due. A delayed member is fp followed by host.
local function promote(now, perhost)
	local ms = redis.call('ZRANGE', P .. 'delayed', '-inf', I(now), 'BYSCORE', 'LIMIT', 0, 100)
	for _, m in ipairs(ms) do
		redis.call('ZREM', P .. 'delayed', m)
		stat('delayed', -1)
		local fp, h = string.sub(m, 1, 16), string.sub(m, 17)
		local rec = redis.call('HGET', P .. 'rec', fp)
		if rec then
			enqueue(h, fp, recprio(rec), false)
			rescore(h, perhost)
		end
	end
end
`

// pushScript queues URLs not seen before. ARGV: prefix, per-host limit, then six values
// per URL: seen shard, seen field, fingerprint, host, priority, record. It returns how
// many were added.
var pushScript = redis.NewScript(prelude + `
local perhost = tonumber(ARGV[2])
local added = 0
for i = 3, #ARGV, 6 do
	if redis.call('HSETNX', P .. 's:' .. ARGV[i], ARGV[i + 1], '') == 1 then
		local fp, h = ARGV[i + 2], ARGV[i + 3]
		redis.call('HSET', P .. 'rec', fp, ARGV[i + 5])
		enqueue(h, fp, tonumber(ARGV[i + 4]), false)
		stat('seen', 1)
		rescore(h, perhost)
		added = added + 1
	end
end
return added
`)

// leaseScript reclaims expired leases, promotes due retries and leases the first URL of
// the host that has been ready longest. ARGV: prefix, per-host limit, lease timeout
// (µs, <= 0 for none), delay (µs), max attempts, robots (0 or 1), robots lock (ms).
//
// It answers one of:
//
//	{"L", lease id, record, attempts, start, deadline or 0, robots header or "",
//	 host's next start before, host's next start set}
//	{"R", lease id, origin, host}: fetch this robots.txt, holding a slot of host
//	{"W", now, earliest time something may change or 0, drained (0 or 1)}
var leaseScript = redis.NewScript(prelude + `
local perhost, timeout, delay = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local maxatt, robots, lockms = tonumber(ARGV[5]), ARGV[6] == '1', tonumber(ARGV[7])
local now = clock()
reclaim(now, perhost, maxatt)
promote(now, perhost)

for _ = 1, 32 do
	local c = redis.call('ZRANGE', P .. 'ready', '-inf', I(now), 'BYSCORE', 'LIMIT', 0, 1)
	if #c == 0 then break end
	local h = c[1]
	local hk, pk = P .. 'h:' .. h, P .. 'p:' .. h
	local pr = redis.call('ZRANGE', pk, 0, 0)
	if #pr == 0 then
		-- The count says there is work but there is none: trust the lists.
		local q = hget(h, 'q')
		hostcount(h, -q, 0)
		stat('queued', -q)
		rescore(h, perhost)
	else
		local qk = P .. 'q:' .. h .. ':' .. pr[1]
		local fp = redis.call('LINDEX', qk, 0)
		local rec = fp and redis.call('HGET', P .. 'rec', fp)
		local rb, wait = '', false
		if fp and rec and robots then
			local origin = string.match(recurl(rec), '^[^/]*//[^/]*') or ''
			rb = redis.call('GETRANGE', P .. 'r:' .. origin, 0, 16)
			if rb == '' then
				local lid = I(redis.call('INCR', P .. 'lid'))
				local lk = P .. 'rl:' .. origin
				if redis.call('SET', lk, lid, 'NX', 'PX', lockms) then
					redis.call('HSET', P .. 'lease', lid, 'R' .. h .. '\n' .. origin)
					redis.call('ZADD', P .. 'ldl', I(now + lockms * 1000), lid)
					redis.call('HINCRBY', hk, 'f', 1)
					redis.call('HSET', hk, 'n', I(now + math.max(delay, hget(h, 'cd'))))
					rescore(h, perhost)
					return {'R', lid, origin, h}
				end
				-- Another process is fetching it: come back when its lock ends.
				local ttl = math.max(redis.call('PTTL', lk), 1)
				redis.call('ZADD', P .. 'ready', I(now + ttl * 1000), h)
				wait = true
			end
		end
		if not wait then
			if fp then
				redis.call('LPOP', qk)
			end
			if redis.call('LLEN', qk) == 0 then redis.call('ZREM', pk, pr[1]) end
			if fp then
				hostcount(h, -1, 0)
				stat('queued', -1)
			end
			if fp and not rec then
				redis.call('HSET', P .. 'failed', fp, 'corrupt record\n')
				stat('failed', 1)
				rescore(h, perhost)
			elseif fp then
				hostcount(h, 0, 1)
				stat('leased', 1)
				local att = redis.call('HINCRBY', P .. 'att', fp, 1)
				local lid = I(redis.call('INCR', P .. 'lid'))
				local deadline, score = 0, FAR
				if timeout > 0 then deadline, score = now + timeout, now + timeout end
				redis.call('HSET', P .. 'lease', lid, 'U' .. h .. '\n' .. fp)
				redis.call('ZADD', P .. 'ldl', I(score), lid)
				local prev = hget(h, 'n')
				local nxt = now + math.max(delay, hget(h, 'cd'))
				redis.call('HINCRBY', hk, 'f', 1)
				redis.call('HSET', hk, 'n', I(nxt))
				rescore(h, perhost)
				return {'L', lid, rec, att, I(now), I(deadline), rb, I(prev), I(nxt)}
			end
		end
	end
end

local at = 0
for _, k in ipairs({'ready', 'delayed', 'ldl'}) do
	local f = redis.call('ZRANGE', P .. k, 0, 0, 'WITHSCORES')
	if #f > 0 then
		local s = tonumber(f[2])
		if s < FAR and (at == 0 or s < at) then at = s end
	end
end
local drained = num(redis.call('HGET', P .. 'stats', 'queued')) <= 0 and
	redis.call('ZCARD', P .. 'ldl') == 0 and redis.call('ZCARD', P .. 'delayed') == 0
return {'W', I(now), I(at), drained and 1 or 0}
`)

// skipScript records a leased URL as failed without it having been fetched, and gives
// its host back the delay its lease took if nothing else changed it since. ARGV:
// prefix, per-host limit, lease id, reason, disallowed (0 or 1), next start before,
// next start set. It returns 1, or 0 if the lease is gone.
var skipScript = redis.NewScript(prelude + `
local kind, h, fp = endlease(ARGV[3])
if kind ~= 'U' then return 0 end
failrec(fp, ARGV[4], ARGV[5] == '1')
if redis.call('HGET', P .. 'h:' .. h, 'n') == ARGV[7] then
	redis.call('HSET', P .. 'h:' .. h, 'n', ARGV[6])
end
rescore(h, tonumber(ARGV[2]))
return 1
`)

// settleScript ends a URL lease. ARGV: prefix, per-host limit, lease id, "D" (done),
// "F" (failed) or "R" (retry), reason, retry wait (µs). It returns 1, or 0 if the
// lease is gone.
var settleScript = redis.NewScript(prelude + `
local now = clock()
local kind, h, fp = endlease(ARGV[3])
if kind ~= 'U' then return 0 end
local op = ARGV[4]
if op == 'D' then
	redis.call('HDEL', P .. 'rec', fp)
	redis.call('HDEL', P .. 'att', fp)
	stat('done', 1)
	if hget(h, 'bl') > 0 then redis.call('HSET', P .. 'h:' .. h, 'bl', 0, 'b', 0) end
elseif op == 'F' then
	failrec(fp, ARGV[5], false)
else
	redis.call('ZADD', P .. 'delayed', I(now + tonumber(ARGV[6])), fp .. h)
	stat('delayed', 1)
end
rescore(h, tonumber(ARGV[2]))
return 1
`)

// releaseScript ends leases whose holder gives them up, such as a closing process:
// their URLs are queued again, first of their priority, with the attempt counted.
// ARGV: prefix, per-host limit, max attempts, lease ids.
var releaseScript = redis.NewScript(prelude + `
local perhost, maxatt = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, #ARGV do
	local kind, h, rest = endlease(ARGV[i])
	if kind == 'U' then giveback(h, rest, maxatt, 'interrupted by close') end
	if kind then rescore(h, perhost) end
end
return 0
`)

// backoffScript pauses a host. ARGV: prefix, per-host limit, host, Retry-After (µs),
// backoff base (µs), max backoff (µs).
var backoffScript = redis.NewScript(prelude + `
local h, ra, base, cap = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now = clock()
local level = redis.call('HINCRBY', P .. 'h:' .. h, 'bl', 1)
local d = base
for _ = 2, level do
	if d >= cap then break end
	d = d * 2
end
d = math.min(math.max(d, ra), cap)
redis.call('HSET', P .. 'h:' .. h, 'b', I(math.max(hget(h, 'b'), now + d)))
rescore(h, tonumber(ARGV[2]))
return 0
`)

// robotsScript records the outcome of a robots.txt fetch and frees the slot it held.
// ARGV: prefix, per-host limit, lease id, host, origin, outcome ("P" parsed body, "A"
// allow all, "U" unreachable), body, TTL (ms), crawl delay (µs), retry delay (µs),
// attempts. The cached value is the 16-digit time it was stored, the kind ("P", "A" or
// "D" for disallow all) and the body. It returns 1 if it stored an outcome.
var robotsScript = redis.NewScript(prelude + `
local perhost, lid, h, origin = tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local out, body, ttl = ARGV[6], ARGV[7], tonumber(ARGV[8])
local now = clock()
endlease(lid)
local hk = P .. 'h:' .. h
if out == 'U' then
	local fails = redis.call('HINCRBY', hk, 'rf', 1)
	if fails < tonumber(ARGV[11]) then
		local wait = tonumber(ARGV[10]) * 2 ^ math.min(fails - 1, 16)
		redis.call('HSET', hk, 'b', I(math.max(hget(h, 'b'), now + wait)))
		rescore(h, perhost)
		return 0
	end
	out, body, ttl = 'D', '', 3600000
end
redis.call('HSET', hk, 'rf', 0, 'cd', out == 'P' and ARGV[9] or '0')
redis.call('SET', P .. 'r:' .. origin, string.format('%016.0f', now) .. out .. body, 'PX', ttl)
rescore(h, perhost)
return 1
`)
