package ticketstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// redisPrefix starts the name of every key of the Redis backend, so that a
// database can be shared with other programs and PurgeAll removes only the
// store's keys. The keys are:
//
//	revisit:t:header          header record, set once (SET NX)
//	revisit:t:p:<id>          hash: "meta" the partition record, and the
//	                          "received" and "taken" counters
//	revisit:t:s:<id>:<server> list of ticket entries, newest first; it
//	                          expires with the last of them
//	revisit:t:m:<id>:<server> the end of a mark; it expires then
//	revisit:t:c:<id>          hash: <cookie> -> cookie entry; it expires
//	                          with the latest record it was given
//
// <id> is the partition ID, <server> the server key and <cookie> the cookie
// key, all in hex: keyed digests that the Store computes, so no key or
// field name holds a host, a user, a password or a cookie's domain. Only
// the partition record holds the exit's label.
const redisPrefix = "revisit:t:"

const redisHeaderKey = redisPrefix + "header"

// A ticket entry is, in bytes: its expiry and the time it was received as
// Unix nanoseconds in 20 zero-padded decimal digits each, with a version
// byte between them ('3' for TLS 1.3, '2' for an older one), then Data.
// Equal-width decimals compare as strings the way the numbers do, which
// lets the scripts below compare times exactly without Lua's doubles.
const (
	timeDigits   = 20
	entryHeadLen = 2*timeDigits + 1
)

// lastNano is the latest time that Unix nanoseconds in an int64 hold, in
// 2262.
var lastNano = time.Unix(0, math.MaxInt64)

// timeField formats t for an entry; times before 1970, the zero Time
// among them, read as 1970, and times after lastNano as lastNano.
func timeField(t time.Time) string {
	var ns int64
	switch {
	case t.After(lastNano):
		ns = math.MaxInt64
	case t.After(time.Unix(0, 0)):
		ns = t.UnixNano()
	}
	return fmt.Sprintf("%0*d", timeDigits, ns)
}

func parseTimeField(s string) (time.Time, error) {
	// ParseInt alone would take a sign, which no field has.
	digits := len(s) == timeDigits && strings.Trim(s, "0123456789") == ""
	ns, err := strconv.ParseInt(s, 10, 64)
	if err != nil || !digits {
		return time.Time{}, fmt.Errorf("%w: bad time %q", ErrBadRecord, s)
	}
	return time.Unix(0, ns), nil
}

func encodeEntry(t Ticket) string {
	v := "2"
	if t.TLS13 {
		v = "3"
	}
	return timeField(t.Expires) + v + timeField(t.Received) + string(t.Data)
}

func decodeEntry(e string) (Ticket, error) {
	if len(e) < entryHeadLen {
		return Ticket{}, fmt.Errorf("%w: short ticket entry", ErrBadRecord)
	}
	if v := e[timeDigits]; v != '2' && v != '3' {
		return Ticket{}, fmt.Errorf("%w: ticket entry version %q", ErrBadRecord, v)
	}
	expires, err := parseTimeField(e[:timeDigits])
	if err != nil {
		return Ticket{}, err
	}
	received, err := parseTimeField(e[timeDigits+1 : entryHeadLen])
	if err != nil {
		return Ticket{}, err
	}
	return Ticket{
		Data:     []byte(e[entryHeadLen:]),
		TLS13:    e[timeDigits] == '3',
		Received: received,
		Expires:  expires,
	}, nil
}

// addScript stores a ticket entry (ARGV[1]) in the list KEYS[1] by the rule
// of Backend.Add, keeps ARGV[2] entries at most, and sets the list to
// expire with its last entry as seen from the clock ARGV[3]. It registers
// the partition KEYS[2] again with the record ARGV[4], if one is given and
// another process purged the partition, and counts the ticket in it.
var addScript = redis.NewScript(`
local entry = ARGV[1]
local head = redis.call("LINDEX", KEYS[1], 0)
if string.sub(entry, 21, 21) ~= "3" or (head and string.sub(head, 21, 21) ~= "3") then
	redis.call("DEL", KEYS[1])
end
redis.call("LPUSH", KEYS[1], entry)
redis.call("LTRIM", KEYS[1], 0, tonumber(ARGV[2]) - 1)
local last = 0
for _, e in ipairs(redis.call("LRANGE", KEYS[1], 0, -1)) do
	last = math.max(last, tonumber(string.sub(e, 1, 20)))
end
local ttl = math.ceil((last - tonumber(ARGV[3])) / 1e6) + 1
redis.call("PEXPIRE", KEYS[1], string.format("%.0f", ttl))
if ARGV[4] ~= "" then
	redis.call("HSETNX", KEYS[2], "meta", ARGV[4])
end
if redis.call("HEXISTS", KEYS[2], "meta") == 1 then
	redis.call("HINCRBY", KEYS[2], "received", 1)
end
return 1
`)

// takeScript returns the newest entry of the list KEYS[1] that is live at
// ARGV[1], removing it if it is a TLS 1.3 ticket, and drops the expired
// ones. It counts a take in the partition KEYS[2] if it is registered. As
// a script it runs alone, so two clients never take the same entry.
var takeScript = redis.NewScript(`
local now = ARGV[1]
local found = false
for _, e in ipairs(redis.call("LRANGE", KEYS[1], 0, -1)) do
	if string.sub(e, 1, 20) <= now then
		redis.call("LREM", KEYS[1], 1, e)
	elseif not found then
		found = e
	end
end
if not found then
	return false
end
if string.sub(found, 21, 21) == "3" then
	redis.call("LREM", KEYS[1], 1, found)
end
if redis.call("HEXISTS", KEYS[2], "meta") == 1 then
	redis.call("HINCRBY", KEYS[2], "taken", 1)
end
return found
`)

// pruneScript deletes KEYS[1] if all it holds has expired at ARGV[1]: a
// ticket list whose entries all have, or a mark that has ended. It returns
// the number of tickets deleted.
var pruneScript = redis.NewScript(`
local now = ARGV[1]
local kind = redis.call("TYPE", KEYS[1]).ok
if kind == "list" then
	local entries = redis.call("LRANGE", KEYS[1], 0, -1)
	for _, e in ipairs(entries) do
		if string.sub(e, 1, 20) > now then
			return 0
		end
	end
	redis.call("DEL", KEYS[1])
	return #entries
elseif kind == "string" then
	if redis.call("GET", KEYS[1]) <= now then
		redis.call("DEL", KEYS[1])
	end
end
return 0
`)

// redisBackend keeps tickets in Redis. Every call is one round trip, or one
// script run atomically by the server, and is durable as far as the server
// is: there is nothing to buffer or flush. Expired tickets and marks vanish
// by themselves, through key expiry; expired cookie records are deleted by
// the reads that meet them and by Prune (see redis_cookie.go).
type redisBackend struct {
	c    *redis.Client
	name string // the URL without its password, for messages
	now  func() time.Time
	log  *slog.Logger

	closed atomic.Bool

	// mu guards parts, the records of the partitions registered through
	// this backend. Add hands a partition's record to the server with each
	// ticket, so that a partition another process purged is registered
	// again, as the Store does after a purge of its own.
	mu    sync.Mutex
	parts map[PartitionID][]byte
}

// OpenRedis opens a backend that keeps the tickets in a Redis database,
// for use with [New]: redis://[[user]:password@]host:port/DB, or rediss://
// for TLS. Several processes may share it; each ticket is still taken
// once. It fails, naming the server but never the password, when the
// server does not answer PING within [Options.DialTimeout]. Of opts it uses
// Logger, DialTimeout and Now; key expiry replaces pruning, but for
// expired cookie records in a partition whose other records are live.
//
// The database holds the store's secret and its tickets as a file would:
// protect it with a password, and consider [Options.SealKey].
func OpenRedis(rawURL string, opts *Options) (Backend, error) {
	if opts == nil {
		opts = &Options{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error quotes the URL, password included.
		return nil, errors.New("ticketstore: open redis: malformed URL")
	}
	name := u.Redacted()
	ropts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ticketstore: open %s: %w", name, err)
	}
	timeout := opts.dialTimeout()
	ropts.DialTimeout = timeout
	ropts.ReadTimeout = timeout
	ropts.WriteTimeout = timeout
	ropts.ContextTimeoutEnabled = true
	// A handshake waits for each call: with the server gone it should fail
	// after one more try, not after the client's default three. A retried
	// take can at worst lose a ticket, never hand it out twice.
	ropts.MaxRetries = 1
	ropts.DisableIdentity = true
	ropts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	b := &redisBackend{
		c:     redis.NewClient(ropts),
		name:  name,
		now:   opts.now(),
		log:   opts.logger(),
		parts: make(map[PartitionID][]byte),
	}

	if err := b.ping(ropts.Network, ropts.Addr, timeout); err != nil {
		b.c.Close()
		return nil, fmt.Errorf("ticketstore: open %s: %w", name, err)
	}
	return b, nil
}

// ping checks that the server answers. The client retries a failed dial
// until the deadline and then reports only that the deadline passed, so a
// dial of its own comes first, to tell a refused connection from a server
// that does not answer.
func (b *redisBackend) ping(network, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	conn.Close()
	err = b.c.Ping(ctx).Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v", timeout)
	}
	return err
}

// fail wraps an error of operation op with the server's name.
func (b *redisBackend) fail(op string, err error) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return fmt.Errorf("ticketstore: %s on %s: %w", op, b.name, err)
}

func (b *redisBackend) check() error {
	if b.closed.Load() {
		return ErrClosed
	}
	return nil
}

func partKey(id PartitionID) string { return redisPrefix + "p:" + id.String() }

func serverSuffix(id PartitionID, server string) string {
	return id.String() + ":" + hex.EncodeToString([]byte(server))
}

func ticketsKey(id PartitionID, server string) string {
	return redisPrefix + "s:" + serverSuffix(id, server)
}

func markKey(id PartitionID, server string) string {
	return redisPrefix + "m:" + serverSuffix(id, server)
}

func (b *redisBackend) Init(fresh func() Header) (Header, error) {
	if err := b.check(); err != nil {
		return Header{}, err
	}
	ctx := context.Background()
	v, err := b.c.Get(ctx, redisHeaderKey).Bytes()
	if errors.Is(err, redis.Nil) {
		// Of concurrent first calls, one sets the header; all read it back.
		err = b.c.SetNX(ctx, redisHeaderKey, encodeHeader(fresh()), 0).Err()
		if err == nil {
			v, err = b.c.Get(ctx, redisHeaderKey).Bytes()
		}
	}
	if err != nil {
		return Header{}, b.fail("read header", err)
	}
	h, err := decodeHeader(v)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %s: %w", ErrCorrupt, b.name, err)
	}
	return h, nil
}

func (b *redisBackend) Register(id PartitionID, meta PartitionMeta) error {
	if err := b.check(); err != nil {
		return err
	}
	rec := encodePart(partRecord{meta: meta})
	if err := b.c.HSetNX(context.Background(), partKey(id), "meta", rec).Err(); err != nil {
		return b.fail("register partition", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.parts[id]; !ok {
		b.parts[id] = rec
	}
	return nil
}

// record returns the partition record registered through this backend,
// or nil.
func (b *redisBackend) record(id PartitionID) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.parts[id]
}

// forget drops the records of the partitions that match, after a purge:
// the Store registers a purged partition again before it stores a ticket.
func (b *redisBackend) forget(match func(PartitionID) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.parts {
		if match(id) {
			delete(b.parts, id)
		}
	}
}

func (b *redisBackend) Add(id PartitionID, server string, t Ticket) error {
	if err := b.check(); err != nil {
		return err
	}
	keys := []string{ticketsKey(id, server), partKey(id)}
	err := addScript.Run(context.Background(), b.c, keys,
		encodeEntry(t), MaxPerServer, timeField(b.now()), b.record(id)).Err()
	if err != nil {
		return b.fail("add ticket", err)
	}
	return nil
}

func (b *redisBackend) Take(id PartitionID, server string, now time.Time) (Ticket, bool, error) {
	if err := b.check(); err != nil {
		return Ticket{}, false, err
	}
	keys := []string{ticketsKey(id, server), partKey(id)}
	e, err := takeScript.Run(context.Background(), b.c, keys, timeField(now)).Text()
	switch {
	case errors.Is(err, redis.Nil):
		return Ticket{}, false, nil
	case err != nil:
		return Ticket{}, false, b.fail("take ticket", err)
	}
	t, err := decodeEntry(e)
	if err != nil {
		b.log.Warn("ticketstore: dropping unreadable record", "store", b.name, "err", err)
		return Ticket{}, false, nil
	}
	return t, true, nil
}

func (b *redisBackend) Clear(id PartitionID, server string) error {
	if err := b.check(); err != nil {
		return err
	}
	if err := b.c.Del(context.Background(), ticketsKey(id, server)).Err(); err != nil {
		return b.fail("clear tickets", err)
	}
	return nil
}

func (b *redisBackend) Mark(id PartitionID, server string, until time.Time) error {
	if err := b.check(); err != nil {
		return err
	}
	ctx, key := context.Background(), markKey(id, server)
	ttl := until.Sub(b.now())
	var err error
	if until.IsZero() || ttl <= 0 {
		err = b.c.Del(ctx, key).Err()
	} else {
		// Rounded up, so that the key outlives the mark.
		err = b.c.Set(ctx, key, timeField(until), ttl.Truncate(time.Millisecond)+time.Millisecond).Err()
	}
	if err != nil {
		return b.fail("mark server", err)
	}
	return nil
}

func (b *redisBackend) Marked(id PartitionID, server string, now time.Time) (bool, error) {
	if err := b.check(); err != nil {
		return false, err
	}
	v, err := b.c.Get(context.Background(), markKey(id, server)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, b.fail("read mark", err)
	}
	until, err := parseTimeField(v)
	if err != nil {
		b.log.Warn("ticketstore: dropping unreadable record", "store", b.name, "err", err)
		return false, nil
	}
	return now.Before(until), nil
}

// scanBatch is the COUNT hint of the SCAN loops and the size of the
// pipelines that follow them.
const scanBatch = 512

// scan calls fn with the keys matching pattern, a batch at a time. A key
// may be seen twice, as SCAN allows; fn must not mind.
func (b *redisBackend) scan(ctx context.Context, pattern string, fn func(keys []string) error) error {
	var cursor uint64
	for {
		keys, next, err := b.c.Scan(ctx, cursor, pattern, scanBatch).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

func (b *redisBackend) Stats(now time.Time) ([]PartitionStats, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	ctx := context.Background()
	var (
		parts = map[string]*PartitionStats{}
		// registered holds the partitions with a readable record; tickets
		// and marks count only under one of those.
		registered = map[string]bool{}
		// seen drops the duplicates SCAN may return.
		seen = map[string]bool{}
	)
	stats := func(id string) *PartitionStats {
		ps := parts[id]
		if ps == nil {
			ps = &PartitionStats{}
			parts[id] = ps
		}
		return ps
	}
	err := b.scan(ctx, redisPrefix+"*", func(keys []string) error {
		keys = slices.DeleteFunc(keys, func(k string) bool { return seen[k] })
		if len(keys) == 0 {
			return nil
		}
		for _, k := range keys {
			seen[k] = true
		}
		cmds, err := b.readKeys(ctx, keys)
		if err != nil {
			return err
		}
		for i, k := range keys {
			kind, rest := splitKey(k)
			id, _, _ := strings.Cut(rest, ":")
			switch kind {
			case "p":
				registered[id] = b.readPart(stats(id), id, cmds[i].(*redis.MapStringStringCmd))
			case "s":
				stats(id).count(b.serverState(cmds[i].(*redis.StringSliceCmd).Val()), now)
			case "m":
				until, err := parseTimeField(cmds[i].(*redis.StringCmd).Val())
				if err == nil && now.Before(until) {
					stats(id).Marked++
				}
			case "c":
				stats(id).Cookies += liveCookies(cmds[i].(*redis.MapStringStringCmd).Val(), now)
			}
		}
		return nil
	})
	if err != nil {
		return nil, b.fail("list partitions", err)
	}
	out := make([]PartitionStats, 0, len(registered))
	for id, ps := range parts {
		if registered[id] {
			out = append(out, *ps)
		}
	}
	return out, nil
}

// readKeys reads the keys in one pipeline, each by its kind; the header's
// place holds a PING. A key that expired since SCAN listed it reads as
// empty.
func (b *redisBackend) readKeys(ctx context.Context, keys []string) ([]redis.Cmder, error) {
	cmds, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			switch kind, _ := splitKey(k); kind {
			case "p", "c":
				p.HGetAll(ctx, k)
			case "s":
				p.LRange(ctx, k, 0, -1)
			case "m":
				p.Get(ctx, k)
			default:
				p.Ping(ctx)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	return cmds, nil
}

// splitKey splits a key of the store into its kind ("p", "s", "m", "c" or
// "header") and the rest.
func splitKey(key string) (kind, rest string) {
	kind, rest, _ = strings.Cut(strings.TrimPrefix(key, redisPrefix), ":")
	return kind, rest
}

// readPart fills ps from a partition's hash, and reports whether it is
// readable.
func (b *redisBackend) readPart(ps *PartitionStats, idHex string, cmd *redis.MapStringStringCmd) bool {
	id, err := ParsePartitionID(idHex)
	fields := cmd.Val()
	if err != nil || fields["meta"] == "" {
		return false
	}
	p, err := decodePart([]byte(fields["meta"]))
	if err != nil {
		b.log.Warn("ticketstore: unreadable partition record", "store", b.name, "err", err)
		return false
	}
	ps.ID, ps.PartitionMeta = id, p.meta
	ps.Received, _ = strconv.ParseUint(fields["received"], 10, 64)
	ps.Taken, _ = strconv.ParseUint(fields["taken"], 10, 64)
	return true
}

// serverState decodes a ticket list, leaving out unreadable entries.
func (b *redisBackend) serverState(entries []string) *serverState {
	st := &serverState{}
	for _, e := range entries {
		if t, err := decodeEntry(e); err == nil {
			st.tickets = append(st.tickets, t)
		}
	}
	return st
}

func (b *redisBackend) Purge(id PartitionID) error {
	if err := b.check(); err != nil {
		return err
	}
	ctx := context.Background()
	b.forget(func(p PartitionID) bool { return p == id })
	// The description goes first: a purge cut short leaves tickets that
	// no listing shows, and that expire, rather than a listed partition
	// that is half gone.
	err := b.c.Del(ctx, partKey(id)).Err()
	if err == nil {
		err = b.c.Del(ctx, cookiesKey(id)).Err()
	}
	for _, kind := range []string{"s:", "m:"} {
		if err != nil {
			break
		}
		err = b.deleteMatching(ctx, redisPrefix+kind+id.String()+":*")
	}
	if err != nil {
		return b.fail("purge partition", err)
	}
	return nil
}

func (b *redisBackend) PurgeAll() error {
	if err := b.check(); err != nil {
		return err
	}
	ctx := context.Background()
	b.forget(func(PartitionID) bool { return true })
	for _, kind := range []string{"p:", "s:", "m:", "c:"} {
		if err := b.deleteMatching(ctx, redisPrefix+kind+"*"); err != nil {
			return b.fail("purge", err)
		}
	}
	return nil
}

func (b *redisBackend) deleteMatching(ctx context.Context, pattern string) error {
	return b.scan(ctx, pattern, func(keys []string) error {
		return b.c.Del(ctx, keys...).Err()
	})
}

func (b *redisBackend) Prune(now time.Time) (int, error) {
	if err := b.check(); err != nil {
		return 0, err
	}
	ctx := context.Background()
	arg := timeField(now)
	removed := 0
	for _, kind := range []struct {
		prefix string
		script *redis.Script
	}{{"s:", pruneScript}, {"m:", pruneScript}, {"c:", cookiesScript}} {
		// The pipelines below run the script by its digest.
		if err := kind.script.Load(ctx, b.c).Err(); err != nil {
			return removed, b.fail("prune", err)
		}
		err := b.scan(ctx, redisPrefix+kind.prefix+"*", func(keys []string) error {
			cmds, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					kind.script.EvalSha(ctx, p, []string{k}, arg)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, c := range cmds {
				n, _ := c.(*redis.Cmd).Int()
				removed += n
			}
			return nil
		})
		if err != nil {
			return removed, b.fail("prune", err)
		}
	}
	return removed, nil
}

// Flush does nothing: every write is made before its call returns.
func (b *redisBackend) Flush() error { return b.check() }

func (b *redisBackend) Close() error {
	if b.closed.Swap(true) {
		return ErrClosed
	}
	if err := b.c.Close(); err != nil {
		return fmt.Errorf("ticketstore: close %s: %w", b.name, err)
	}
	return nil
}
