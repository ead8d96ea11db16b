// Package ticketstore keeps TLS session tickets on disk, partitioned by the
// exit a connection leaves through and the browser profile it speaks, so
// that a restarted crawler resumes its TLS sessions like a browser that was
// never closed, and never offers a ticket through another exit than the
// one that received it. Cookie records live beside the tickets, in the same
// partitions.
//
// # Partitions
//
// A partition is an (exit, profile) pair. An [Exit] is a direct connection
// or one proxy endpoint with one credential: two proxy URLs that differ only
// in the password are two exits. The store is handed the exit's full
// identity, password included, and names the partition by an HMAC of it
// under a random secret kept in the file (and, with a seal key, under that
// key too). Neither the password nor any form of it from which it could be
// read back is written; a label, scheme://user@host:port, is kept so that
// partitions can be listed. Server keys (host and port) are stored as keyed
// digests as well, so the file does not list the sites visited.
//
// # Tickets, like Chrome
//
// Within a partition tickets are kept per server key, host and port. The
// rules are Chrome's:
//
//   - at most [MaxPerServer] (2) tickets per server key, newest first;
//   - a TLS 1.3 ticket is taken out of the store when it is handed to a
//     handshake, so it is used once (RFC 8446, appendix C.4); a TLS 1.2
//     session is reused until it expires or is replaced;
//   - a ticket expires at the end of the lifetime the server gave it, and
//     at the latest 7 days (TLS 1.3) or 24 hours (TLS 1.2) after it was
//     received; an expired ticket is never returned;
//   - utls's Put(key, nil), after a failed resumption, removes the server's
//     tickets.
//
// Each stored session also carries a tag naming its partition and server
// key; a ticket read back from anywhere else is refused, whatever the
// backend returned.
//
// # Cookies
//
// A partition also keeps cookie records ([CookieRecord]), so that a site
// sees the cookies it set through an exit, with a profile, from that exit
// and profile only, after restarts too. The store does not know HTTP: a
// record is a Key, which the caller chooses (a cookie jar uses the
// cookie's domain, path and name), opaque Data, and an expiry. The rules
// of cookies (RFC 6265) are the jar's.
//
//   - [Partition.SaveCookie] inserts a record or replaces the one with the
//     same Key, and registers the partition as storing a ticket does; a
//     record whose expiry has passed removes the one with its Key;
//   - [Partition.DeleteCookie] removes a record;
//   - [Partition.Cookies] returns every live record, in no order; an
//     expired record is never returned, and pruning removes it.
//
// The backend names a record by a keyed digest of its partition and Key;
// the Key itself is kept only inside the record, with the Data and the
// expiry, and the whole is sealed when the store is, bound to the
// partition and the digest. A record that does not decode, or that turns
// up under another partition or key, is logged and left out, never
// returned and never an error. Writes follow the tickets' rules below:
// buffered and committed in the background by the bbolt backend, made at
// once by the Redis one. [Store.Purge] and [Store.PurgeAll] remove the
// cookie records with the tickets, and [PartitionStats] counts them.
//
// # Using it with utls
//
// utls keys its session cache by the SNI alone, without the port, and
// through a proxy with an empty ServerName by the proxy's address. A
// [Cache] is therefore made per connection and bound to one server key:
//
//	cache, err := part.Cache("example.com:443")
//	cfg := &utls.Config{ServerName: "example.com", ClientSessionCache: cache, OmitEmptyPsk: true}
//	offer := cache.Load() // takes the ticket now; build the ClientHello with or without PSK
//
// # Durability
//
// The handshake path never waits for the disk: Put, Take, marks and cookie
// records change an in-memory overlay that a background goroutine commits
// to the bbolt file in one transaction every [Options.FlushInterval]
// (250ms by default), or sooner when the overlay fills. A process killed
// with SIGKILL loses at most the tickets and cookie changes of the last
// interval and may offer, once more, a ticket taken in that interval.
// [Store.Close] and [Store.Flush] commit everything. Registering a
// partition is committed at once. Expired records are pruned every
// [Options.PruneInterval] through expiry indexes, so pruning and opening
// never scan the whole file.
//
// # Files
//
// [Open] creates the file with mode 0600 and its directory with mode 0700,
// and tightens an existing file to 0600. Only one process can have the file
// open: another waits [Options.LockTimeout] and then fails with
// [ErrLocked]. A damaged file fails with [ErrCorrupt], and a file written
// by a newer format with [ErrNewerFormat]; each error names the file, and
// the file is left as it was. Opening an existing store does not write to
// it. Damage in pages that opening does not read shows later, as errors
// of the calls that read them.
//
// Files written before cookie records existed (format 1) open as they
// are. Such a file becomes format 2 when its first cookie record is
// committed; from then on an older revisit refuses it with
// [ErrNewerFormat] rather than purge its tickets and leave its cookies.
//
// # Sealing
//
// With [Options.SealKey] set (32 random bytes the user keeps elsewhere,
// for example in a secret manager), each ticket record is sealed with
// AES-256-GCM under a key derived from it, bound to its partition and
// server key, and each cookie record likewise, bound to its partition and
// cookie key; the partition digests depend on the key as well. Whoever has
// the file but not the key can read neither the tickets, nor the cookies,
// nor the servers, and cannot test guesses of a proxy password against the
// digests. Without a seal key the resumption secrets are protected by the
// file's mode only. A store is sealed or not from its creation.
//
// # Backends
//
// A [Store] runs over a [Backend]; [OpenBolt] is the bbolt one. Every
// backend passes the conformance suite in package storetest.
//
// [OpenRedis] keeps the tickets in a Redis database instead, which many
// processes, on many machines, can share: they agree on one secret, so
// they name partitions alike, and a TLS 1.3 ticket is taken by a script
// that Redis runs atomically, so no two processes offer the same one. Every
// call is one round trip and is as durable as the server makes it;
// nothing is buffered. The keys all start with "revisit:t:" and are named
// by the partition and server digests in hex, never by a host, a user or a
// password. A key expires when the last ticket or mark in it does,
// counted from the store's clock ([Options.Now]), so expired tickets vanish
// without pruning; a ticket past its end is never returned even while its
// key is still there. A partition's cookie records are one hash, which
// expires with the latest record it was given; a record past its end is
// never returned, and is deleted by the read that meets it or by
// [Store.Prune]. A partition that one process purges while another uses
// it is registered again by the next ticket or cookie record the other
// stores in it.
package ticketstore
