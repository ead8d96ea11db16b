package ticketstore

import (
	"encoding/hex"
	"time"
)

// MaxPerServer is how many tickets a partition keeps for one server key.
// Chrome keeps two sessions per cache entry and so does the store: servers
// that issue two tickets per connection (OpenSSL, BoringSSL) then give two
// later connections one fresh ticket each.
const MaxPerServer = 2

// PartitionID names a partition: a keyed digest of the exit's full identity
// and the profile. It reveals neither, and without the store's secret it
// cannot be recomputed from a guess.
type PartitionID [16]byte

// String returns the ID in hexadecimal.
func (id PartitionID) String() string { return hex.EncodeToString(id[:]) }

// ParsePartitionID parses the hexadecimal form returned by
// [PartitionID.String].
func ParsePartitionID(s string) (PartitionID, error) {
	var id PartitionID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, ErrBadPartitionID
	}
	copy(id[:], b)
	return id, nil
}

// Ticket is one stored resumption ticket as a [Backend] holds it.
type Ticket struct {
	// Data is the encoded session, opaque to backends. It may be sealed.
	Data []byte
	// TLS13 reports a TLS 1.3 ticket. Those are single use: taking one
	// removes it. A TLS 1.2 session stays until it expires or is replaced.
	TLS13 bool
	// Received is when the ticket arrived.
	Received time.Time
	// Expires is the end of the ticket's life: from then on it is never
	// returned.
	Expires time.Time
}

func (t Ticket) live(now time.Time) bool { return now.Before(t.Expires) }

// Cookie is one cookie record as a [Backend] holds it.
type Cookie struct {
	// Data is the encoded record, opaque to backends. It may be sealed.
	Data []byte
	// Expires is the end of the record's life: from then on it is never
	// returned, and pruning removes it. A backend may keep it rounded up
	// to its precision, and times past the year 2262 as that year.
	Expires time.Time
}

func (c Cookie) live(now time.Time) bool { return now.Before(c.Expires) }

// Header is what a backend keeps about the store as a whole. It is created
// once, on first use, and never changes.
type Header struct {
	// Secret is the random key of the partition digests.
	Secret []byte
	// SealCheck is empty for a store whose records are not sealed, and
	// otherwise a digest that tells whether a seal key is the right one.
	SealCheck []byte
}

// PartitionMeta is the non-secret description of a partition, kept so that
// partitions can be listed.
type PartitionMeta struct {
	// Label names the exit without its password: "direct", or
	// scheme://user@host:port.
	Label string
	// Profile is the fingerprint profile's name.
	Profile string
	// Created is when the partition was first used.
	Created time.Time
}

// PartitionStats describes one partition for listing.
type PartitionStats struct {
	ID PartitionID
	PartitionMeta

	// Servers is the number of server keys that hold a live ticket.
	Servers int
	// Tickets is the number of live tickets.
	Tickets int
	// Expired is the number of expired tickets not yet pruned. They are
	// never returned.
	Expired int
	// Marked is the number of servers under an "offer no ticket" mark.
	Marked int
	// Cookies is the number of live cookie records.
	Cookies int
	// FirstExpiry and LastExpiry bound the expiry times of the live
	// tickets; both are zero when there are none.
	FirstExpiry, LastExpiry time.Time
	// Received counts the tickets ever stored in the partition, and Taken
	// those handed to a handshake.
	Received, Taken uint64
}

// Backend is the storage under a [Store]. Implementations must be safe for
// concurrent use and must make [Backend.Take] atomic: two concurrent takes
// never both return the same TLS 1.3 ticket, even from two processes sharing
// the storage. The storetest package holds the tests every backend passes.
//
// The calls made during a TLS handshake or a request (Take, Add, Clear,
// Marked and the cookie calls) must not wait for a disk sync: a backend
// buffers writes and commits them in the background, within a second, and
// Flush commits what is buffered.
type Backend interface {
	// Init returns the store's header, storing fresh() first if the
	// storage has none yet. Concurrent first calls agree on one header.
	Init(fresh func() Header) (Header, error)

	// Register records a partition's description if it has none yet.
	Register(id PartitionID, meta PartitionMeta) error

	// Add stores a ticket for server in partition id. A TLS 1.3 ticket
	// goes in front of those already kept, and only the newest
	// MaxPerServer stay; a TLS 1.2 ticket replaces all of them.
	Add(id PartitionID, server string, t Ticket) error

	// Take returns the newest ticket for server that is live at now. A TLS
	// 1.3 ticket is removed as it is returned; a TLS 1.2 one stays.
	// Expired tickets are never returned.
	Take(id PartitionID, server string, now time.Time) (Ticket, bool, error)

	// Clear removes every ticket kept for server, leaving its mark.
	Clear(id PartitionID, server string) error

	// Mark asks that no ticket be offered to server until the given time.
	// A zero time removes the mark.
	Mark(id PartitionID, server string, until time.Time) error

	// Marked reports whether server is under a mark at now.
	Marked(id PartitionID, server string, now time.Time) (bool, error)

	// PutCookie stores a cookie record under key in partition id,
	// replacing the record kept under that key. The backend does not keep
	// c.Data itself, so the caller may reuse it.
	PutCookie(id PartitionID, key string, c Cookie) error

	// DeleteCookie removes the record kept under key in partition id. An
	// absent record is no error.
	DeleteCookie(id PartitionID, key string) error

	// Cookies returns the records of partition id that are live at now,
	// by key. The caller may change the records returned.
	Cookies(id PartitionID, now time.Time) (map[string]Cookie, error)

	// Stats describes every registered partition as of now.
	Stats(now time.Time) ([]PartitionStats, error)

	// Purge removes a partition: its tickets, marks, cookie records and
	// description.
	Purge(id PartitionID) error

	// PurgeAll removes every partition. The header stays.
	PurgeAll() error

	// Prune removes what has expired by now (tickets, marks and cookie
	// records), and returns how many tickets it removed.
	Prune(now time.Time) (int, error)

	// Flush commits buffered writes durably.
	Flush() error

	// Close flushes and releases the storage.
	Close() error
}
