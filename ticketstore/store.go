package ticketstore

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	utls "github.com/refraction-networking/utls"
)

// Options configure a [Store]. The zero value, and a nil *Options, give the
// defaults documented on each field.
type Options struct {
	// Logger receives warnings about records that cannot be read and
	// commits that failed. Nil discards them.
	Logger *slog.Logger

	// LockTimeout is how long Open waits for another process to release
	// the file before failing with ErrLocked. Zero means 1s.
	LockTimeout time.Duration

	// DialTimeout bounds how long a Redis backend waits to connect, and
	// then for each reply. Zero means 5s.
	DialTimeout time.Duration

	// FlushInterval is how often buffered changes are committed to the
	// file: a SIGKILL loses at most the tickets received in the last
	// interval. Zero means 250ms.
	FlushInterval time.Duration

	// PruneInterval is how often expired records are removed from the
	// file. Zero means 10 minutes.
	PruneInterval time.Duration

	// MaxPending bounds the server states and cookie records buffered
	// between commits; callers wait for a commit when it is reached. Zero
	// means 4096.
	MaxPending int

	// SealKey, when set, must be SealKeySize random bytes: ticket and
	// cookie records are then sealed with AES-256-GCM under a key derived from it, and the
	// partition digests depend on it too. A store is sealed or not from its
	// creation; opening it with a missing or different key fails with
	// ErrSealKey.
	SealKey []byte

	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

func (o *Options) lockTimeout() time.Duration { return durationOr(o.LockTimeout, time.Second) }
func (o *Options) dialTimeout() time.Duration { return durationOr(o.DialTimeout, 5*time.Second) }
func (o *Options) flushInterval() time.Duration {
	return durationOr(o.FlushInterval, 250*time.Millisecond)
}
func (o *Options) pruneInterval() time.Duration { return durationOr(o.PruneInterval, 10*time.Minute) }

func (o *Options) maxPending() int {
	if o.MaxPending <= 0 {
		return 4096
	}
	return o.MaxPending
}

func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o *Options) now() func() time.Time {
	if o.Now == nil {
		return time.Now
	}
	return o.Now
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Store keeps TLS session tickets, and cookie records beside them, in
// partitions, one per (exit, profile). It is safe for concurrent use. Create one with [Open] or [New].
type Store struct {
	b    Backend
	log  *slog.Logger
	now  func() time.Time
	key  []byte // key of the partition digests
	seal *sealer

	// mu guards parts, the partitions registered by this process.
	mu    sync.Mutex
	parts map[PartitionID]*Partition
}

// Open opens the ticket store in the bbolt file at path, creating the file
// (mode 0600) and its directory (mode 0700) if needed. A file locked by
// another process, a damaged file, a file of a newer format and a wrong
// seal key each give an error that names the file and wraps ErrLocked,
// ErrCorrupt, ErrNewerFormat or ErrSealKey.
func Open(path string, opts *Options) (*Store, error) {
	b, err := OpenBolt(path, opts)
	if err != nil {
		return nil, err
	}
	s, err := New(b, opts)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("ticketstore: open %s: %w", path, err)
	}
	return s, nil
}

// OpenBolt opens the bbolt backend alone, for use with [New]; [Open] is
// the same as both together. Of opts it uses Logger, LockTimeout,
// FlushInterval, PruneInterval, MaxPending and Now.
func OpenBolt(path string, opts *Options) (Backend, error) {
	if opts == nil {
		opts = &Options{}
	}
	return openBolt(path, opts, opts.logger())
}

// New returns a store over a backend. The store owns it from then on and
// closes it in [Store.Close].
func New(b Backend, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	return newStore(b, opts, opts.logger())
}

func newStore(b Backend, opts *Options, log *slog.Logger) (*Store, error) {
	var seal *sealer
	if opts.SealKey != nil {
		var err error
		if seal, err = newSealer(opts.SealKey); err != nil {
			return nil, err
		}
	}
	h, err := b.Init(func() Header {
		h := Header{Secret: make([]byte, 32)}
		rand.Read(h.Secret)
		if seal != nil {
			h.SealCheck = sealCheck(opts.SealKey, h.Secret)
		}
		return h
	})
	if err != nil {
		return nil, err
	}
	key, err := digestKey(h, opts.SealKey)
	if err != nil {
		return nil, err
	}
	return &Store{
		b:     b,
		log:   log,
		now:   opts.now(),
		key:   key,
		seal:  seal,
		parts: make(map[PartitionID]*Partition),
	}, nil
}

// digestKey checks the seal key against the header and returns the key of
// the partition digests. With a seal key it depends on that key, so that
// whoever has the file but not the key cannot test password guesses.
func digestKey(h Header, sealKey []byte) ([]byte, error) {
	switch {
	case len(h.SealCheck) == 0 && sealKey != nil:
		return nil, fmt.Errorf("%w: the store is not sealed; open it without a seal key", ErrSealKey)
	case len(h.SealCheck) != 0 && sealKey == nil:
		return nil, fmt.Errorf("%w: the store is sealed; a seal key is needed", ErrSealKey)
	case sealKey == nil:
		return h.Secret, nil
	case !hmac.Equal(h.SealCheck, sealCheck(sealKey, h.Secret)):
		return nil, ErrSealKey
	}
	return derive(append(slices.Clip(h.Secret), sealKey...), "revisit partition key v1"), nil
}

// serverKey is the name a server key has in the backend: a keyed digest,
// so that the file does not list the sites a crawler visited.
func (s *Store) serverKey(server string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("server\x00"))
	m.Write([]byte(server))
	return string(m.Sum(nil)[:16])
}

// Partition returns the partition of tickets received through exit with
// the given profile, registering it on first use.
func (s *Store) Partition(exit Exit, profile string) (*Partition, error) {
	if profile == "" {
		return nil, fmt.Errorf("ticketstore: partition of %s: empty profile", exit.Label())
	}
	id := exit.digest(s.key, profile)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.parts[id]; ok {
		return p, nil
	}
	p := &Partition{s: s, id: id, meta: PartitionMeta{Label: exit.Label(), Profile: profile}}
	if err := p.registerLocked(); err != nil {
		return nil, err
	}
	s.parts[id] = p
	return p, nil
}

// List describes every partition in the store, ordered by label and
// profile.
func (s *Store) List() ([]PartitionStats, error) {
	out, err := s.b.Stats(s.now())
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b PartitionStats) int {
		return cmp.Or(cmp.Compare(a.Label, b.Label), cmp.Compare(a.Profile, b.Profile),
			slices.Compare(a.ID[:], b.ID[:]))
	})
	return out, nil
}

// Purge removes one partition, its tickets and its cookie records. A
// [Partition] obtained before goes on working: it registers itself again
// when it next stores a ticket or a cookie record.
func (s *Store) Purge(id PartitionID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.b.Purge(id); err != nil {
		return err
	}
	if p, ok := s.parts[id]; ok {
		p.registered.Store(false)
		delete(s.parts, id)
	}
	return nil
}

// PurgeAll removes every partition, ticket and cookie record.
func (s *Store) PurgeAll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.b.PurgeAll(); err != nil {
		return err
	}
	for id, p := range s.parts {
		p.registered.Store(false)
		delete(s.parts, id)
	}
	return nil
}

// Prune removes expired tickets, marks and cookie records now, rather
// than at the next periodic pruning, and returns the number of tickets
// removed.
func (s *Store) Prune() (int, error) { return s.b.Prune(s.now()) }

// Flush commits buffered changes to disk.
func (s *Store) Flush() error { return s.b.Flush() }

// Close flushes and closes the store.
func (s *Store) Close() error { return s.b.Close() }

// Partition is the tickets and cookie records of one (exit, profile) pair.
// It is safe for concurrent use. Use [Partition.Cache] to hand its tickets
// to a TLS connection.
type Partition struct {
	s    *Store
	id   PartitionID
	meta PartitionMeta

	// registered is false once a purge removed the partition's
	// description; the next Put or SaveCookie writes it again.
	registered atomic.Bool
}

func (p *Partition) registerLocked() error {
	meta := p.meta
	meta.Created = p.s.now()
	if err := p.s.b.Register(p.id, meta); err != nil {
		return fmt.Errorf("ticketstore: register partition %s (%s): %w", p.meta.Label, p.meta.Profile, err)
	}
	p.registered.Store(true)
	return nil
}

func (p *Partition) ensureRegistered() error {
	if p.registered.Load() {
		return nil
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if p.registered.Load() {
		return nil
	}
	if err := p.registerLocked(); err != nil {
		return err
	}
	p.s.parts[p.id] = p
	return nil
}

// ID returns the partition's keyed digest.
func (p *Partition) ID() PartitionID { return p.id }

// Label returns the exit's label, which holds no password.
func (p *Partition) Label() string { return p.meta.Label }

// Profile returns the profile's name.
func (p *Partition) Profile() string { return p.meta.Profile }

// Take removes and returns the newest live ticket for server (host:port)
// as utls session state. A TLS 1.2 session is returned but kept. A record
// that cannot be read, or that belongs to another place, reads as absent.
func (p *Partition) Take(server string) (*utls.ClientSessionState, bool, error) {
	server, err := canonServer(server)
	if err != nil {
		return nil, false, err
	}
	t, ok, err := p.s.b.Take(p.id, p.s.serverKey(server), p.s.now())
	if err != nil || !ok {
		return nil, false, err
	}
	cs, err := p.decode(server, t)
	if err != nil {
		p.s.log.Warn("ticketstore: dropping unreadable ticket", "partition", p.meta.Label,
			"profile", p.meta.Profile, "server", server, "err", err)
		return nil, false, nil
	}
	return cs, true, nil
}

// Put stores a session received from server (host:port). A nil session
// removes the server's tickets.
func (p *Partition) Put(server string, cs *utls.ClientSessionState) error {
	server, err := canonServer(server)
	if err != nil {
		return err
	}
	if cs == nil {
		return p.s.b.Clear(p.id, p.s.serverKey(server))
	}
	if err := p.ensureRegistered(); err != nil {
		return err
	}
	t, err := p.encode(server, cs)
	if err != nil {
		return fmt.Errorf("ticketstore: put %s: %w", server, err)
	}
	return p.s.b.Add(p.id, p.s.serverKey(server), t)
}

// Clear removes every ticket kept for server.
func (p *Partition) Clear(server string) error {
	server, err := canonServer(server)
	if err != nil {
		return err
	}
	return p.s.b.Clear(p.id, p.s.serverKey(server))
}

// MarkNoTicket asks that no ticket be offered to server for d. A transport
// marks servers where resumption fails, such as those that answer a
// ticket with a HelloRetryRequest. A d of zero or less removes the mark.
func (p *Partition) MarkNoTicket(server string, d time.Duration) error {
	server, err := canonServer(server)
	if err != nil {
		return err
	}
	var until time.Time
	if d > 0 {
		until = p.s.now().Add(d)
	}
	return p.s.b.Mark(p.id, p.s.serverKey(server), until)
}

// NoTicket reports whether server is under a mark set by
// [Partition.MarkNoTicket].
func (p *Partition) NoTicket(server string) (bool, error) {
	server, err := canonServer(server)
	if err != nil {
		return false, err
	}
	return p.s.b.Marked(p.id, p.s.serverKey(server), p.s.now())
}

// canonServer checks a server key and lowercases it: host names are not
// case sensitive.
func canonServer(server string) (string, error) {
	host, port, err := net.SplitHostPort(server)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("%w: %q", ErrBadServer, server)
	}
	return strings.ToLower(server), nil
}
