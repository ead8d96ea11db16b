package ticketstore

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	utls "github.com/refraction-networking/utls"
)

// tagPrefix starts the entry the store adds to a session's Extra field. The
// tag names the partition and server the ticket was received from, and a
// ticket whose tag does not match where it is read is never offered.
const tagPrefix = "revisit-ticket\x00"

func sessionTag(id PartitionID, server string) []byte {
	return slices.Concat([]byte(tagPrefix), id[:], []byte(server))
}

func (p *Partition) encode(server string, cs *utls.ClientSessionState) (Ticket, error) {
	ticket, state, err := cs.ResumptionState()
	if err != nil {
		return Ticket{}, err
	}
	if state == nil || len(ticket) == 0 {
		return Ticket{}, fmt.Errorf("%w: session without ticket", ErrBadRecord)
	}
	// Tag a copy: the connection still owns state.
	tagged := *state
	tagged.Extra = append(withoutTag(state.Extra), sessionTag(p.id, server))
	enc, err := tagged.Bytes()
	if err != nil {
		return Ticket{}, err
	}
	received := p.s.now()
	tls13, expires := expiry(enc, received)
	data := encodePayload(ticket, enc)
	if p.s.seal != nil {
		data = p.s.seal.seal(data, sealAAD(p.id, server))
	}
	return Ticket{Data: data, TLS13: tls13, Received: received, Expires: expires}, nil
}

func (p *Partition) decode(server string, t Ticket) (*utls.ClientSessionState, error) {
	data := t.Data
	if p.s.seal != nil {
		var err error
		if data, err = p.s.seal.open(data, sealAAD(p.id, server)); err != nil {
			return nil, err
		}
	}
	ticket, enc, err := decodePayload(data)
	if err != nil {
		return nil, err
	}
	state, err := utls.ParseSessionState(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	if !slices.ContainsFunc(state.Extra, func(e []byte) bool {
		return bytes.Equal(e, sessionTag(p.id, server))
	}) {
		return nil, fmt.Errorf("%w: ticket tagged for another partition or server", ErrBadRecord)
	}
	state.Extra = withoutTag(state.Extra)
	return utls.NewResumptionState(bytes.Clone(ticket), state)
}

func withoutTag(extra [][]byte) [][]byte {
	return slices.DeleteFunc(slices.Clone(extra), func(e []byte) bool {
		return bytes.HasPrefix(e, []byte(tagPrefix))
	})
}

func sealAAD(id PartitionID, server string) []byte {
	return slices.Concat(id[:], []byte(server))
}

// Cache returns a session cache for one connection to server (host:port),
// to be set as the connection's utls.Config.ClientSessionCache.
//
// utls keys its cache by the SNI alone; the store keys tickets by host and
// port. A Cache is therefore bound to one server key when it is made, and
// ignores the key utls passes except to check that it is the server's
// host. Make a new Cache for every connection.
func (p *Partition) Cache(server string) (*Cache, error) {
	server, err := canonServer(server)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(server)
	return &Cache{p: p, server: server, host: host}, nil
}

// Cache is a utls ClientSessionCache bound to one partition and one server
// key, for one connection. It is safe for concurrent use: utls may store
// tickets from a reading goroutine while another looks at the counters.
//
// Its Get takes the ticket out of the store (a TLS 1.3 ticket is used
// once); call [Cache.Load] before the handshake to learn whether a ticket
// will be offered, for example to decide on the ClientHello.
type Cache struct {
	p      *Partition
	server string
	host   string

	// mu guards the fields below.
	mu       sync.Mutex
	loaded   bool
	held     *utls.ClientSessionState
	offered  bool
	received int
	err      error
}

// Load takes the server's ticket from the store, if it has one, and holds
// it for the handshake. It reports whether a ticket is held. Later calls
// return the first call's answer.
func (c *Cache) Load() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loadLocked()
}

func (c *Cache) loadLocked() bool {
	if !c.loaded {
		c.loaded = true
		cs, ok, err := c.p.Take(c.server)
		if err != nil {
			c.setErrLocked(err)
		}
		if ok {
			c.held = cs
		}
	}
	return c.held != nil
}

// Get is called by utls at the start of a handshake. It returns the held
// ticket, loading it first if [Cache.Load] was not called.
func (c *Cache) Get(key string) (*utls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.keyMatchesLocked(key) || !c.loadLocked() {
		return nil, false
	}
	c.offered = true
	return c.held, true
}

// Put is called by utls when a ticket arrives (stored in the partition) or
// when a resumption failed (nil: the server's tickets are removed).
func (c *Cache) Put(key string, cs *utls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.keyMatchesLocked(key) {
		return
	}
	if cs == nil {
		c.held = nil
	} else {
		c.received++
	}
	if err := c.p.Put(c.server, cs); err != nil {
		c.setErrLocked(err)
	}
}

func (c *Cache) keyMatchesLocked(key string) bool {
	if strings.EqualFold(key, c.host) {
		return true
	}
	c.setErrLocked(fmt.Errorf("ticketstore: cache for %s used with session key %q", c.server, key))
	return false
}

func (c *Cache) setErrLocked(err error) {
	if c.err == nil {
		c.err = err
	}
	c.p.s.log.Warn("ticketstore: session cache", "partition", c.p.meta.Label,
		"profile", c.p.meta.Profile, "server", c.server, "err", err)
}

// Offered reports whether utls was handed a ticket for this connection.
func (c *Cache) Offered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offered
}

// Received returns how many tickets the connection has stored.
func (c *Cache) Received() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received
}

// Err returns the first error the cache met. utls's cache interface cannot
// return errors, so the cache keeps them here and logs them.
func (c *Cache) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

var _ utls.ClientSessionCache = (*Cache)(nil)
