package ticketstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A partition's cookie records are one hash, so that reading them is one
// command however many partitions the database holds. Its fields are the
// cookie keys in hex; a field's value, a cookie entry, is the record's
// expiry in the 20 digits of a ticket entry's, then Data. Hash fields
// cannot expire one by one, so expiry is checked where records are read:
// a script returns the live records and deletes the expired ones it meets,
// and Prune deletes the others. The hash itself is set to expire with the
// latest record it was given, so that a partition no process uses any more
// goes away by itself.

func cookiesKey(id PartitionID) string { return redisPrefix + "c:" + id.String() }

func encodeCookieEntry(c Cookie) string { return timeField(c.Expires) + string(c.Data) }

func decodeCookieEntry(e string) (Cookie, error) {
	if len(e) < timeDigits {
		return Cookie{}, fmt.Errorf("%w: short cookie entry", ErrBadRecord)
	}
	expires, err := parseTimeField(e[:timeDigits])
	if err != nil {
		return Cookie{}, err
	}
	return Cookie{Data: []byte(e[timeDigits:]), Expires: expires}, nil
}

// putCookieScript sets the field ARGV[1] of the hash KEYS[1] to the entry
// ARGV[2], and makes the hash live at least until the entry's expiry, as
// seen from the clock ARGV[3]. Like addScript, it registers the partition
// KEYS[2] again with the record ARGV[4], if one is given and another
// process purged the partition.
var putCookieScript = redis.NewScript(`
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
local ttl = math.ceil((tonumber(string.sub(ARGV[2], 1, 20)) - tonumber(ARGV[3])) / 1e6) + 1
ttl = math.max(ttl, 1)
local current = redis.call("PTTL", KEYS[1])
if current < 0 or current < ttl then
	redis.call("PEXPIRE", KEYS[1], string.format("%.0f", ttl))
end
if ARGV[4] ~= "" then
	redis.call("HSETNX", KEYS[2], "meta", ARGV[4])
end
return 1
`)

// cookiesScript deletes the entries of the hash KEYS[1] that have expired
// at ARGV[1]. If ARGV[2] is "1" it returns the others, as field and value
// pairs; else it returns 0.
var cookiesScript = redis.NewScript(`
local now = ARGV[1]
local fields = redis.call("HGETALL", KEYS[1])
local live = {}
for i = 1, #fields, 2 do
	if string.sub(fields[i + 1], 1, 20) <= now then
		redis.call("HDEL", KEYS[1], fields[i])
	elseif ARGV[2] == "1" then
		live[#live + 1] = fields[i]
		live[#live + 1] = fields[i + 1]
	end
end
if ARGV[2] == "1" then
	return live
end
return 0
`)

func (b *redisBackend) PutCookie(id PartitionID, key string, c Cookie) error {
	if err := b.check(); err != nil {
		return err
	}
	keys := []string{cookiesKey(id), partKey(id)}
	err := putCookieScript.Run(context.Background(), b.c, keys, hex.EncodeToString([]byte(key)),
		encodeCookieEntry(c), timeField(b.now()), b.record(id)).Err()
	if err != nil {
		return b.fail("put cookie", err)
	}
	return nil
}

func (b *redisBackend) DeleteCookie(id PartitionID, key string) error {
	if err := b.check(); err != nil {
		return err
	}
	err := b.c.HDel(context.Background(), cookiesKey(id), hex.EncodeToString([]byte(key))).Err()
	if err != nil {
		return b.fail("delete cookie", err)
	}
	return nil
}

func (b *redisBackend) Cookies(id PartitionID, now time.Time) (map[string]Cookie, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	pairs, err := cookiesScript.Run(context.Background(), b.c, []string{cookiesKey(id)},
		timeField(now), "1").StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, b.fail("read cookies", err)
	}
	out := make(map[string]Cookie, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		key, err := hex.DecodeString(pairs[i])
		c, cerr := decodeCookieEntry(pairs[i+1])
		if err = errors.Join(err, cerr); err != nil {
			b.log.Warn("ticketstore: dropping unreadable record", "store", b.name, "err", err)
			continue
		}
		if c.live(now) {
			out[string(key)] = c
		}
	}
	return out, nil
}

// liveCookies counts the entries of a cookie hash that are live at now.
func liveCookies(fields map[string]string, now time.Time) int {
	n := 0
	for _, e := range fields {
		if c, err := decodeCookieEntry(e); err == nil && c.live(now) {
			n++
		}
	}
	return n
}
