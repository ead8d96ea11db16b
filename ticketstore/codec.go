package ticketstore

import (
	"encoding/binary"
	"fmt"
	"time"
)

// A session payload is what Ticket.Data holds:
//
//	plain:  0x01, uvarint len(ticket), ticket, state
//	sealed: 0x02, nonce, AEAD(plain form)
//
// where ticket is the server's opaque ticket (the PSK identity) and state is
// utls's SessionState encoding.
const (
	payloadPlain  = 0x01
	payloadSealed = 0x02

	// maxPayload bounds a decoded payload. A session state holds the
	// server's certificate chain, which rarely passes 20 KiB.
	maxPayload = 1 << 20
)

// tls13Version is the wire value of TLS 1.3.
const tls13Version = 0x0304

// Ticket lifetimes: a TLS 1.3 ticket lives as long as the server said, at
// most a week (RFC 8446, section 4.6.1); a TLS 1.2 session a day after it
// was received, as Chrome allows.
const (
	maxLifetime13 = 7 * 24 * time.Hour
	maxLifetime12 = 24 * time.Hour
)

func encodePayload(ticket, state []byte) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(ticket)+len(state))
	b = append(b, payloadPlain)
	b = binary.AppendUvarint(b, uint64(len(ticket)))
	b = append(b, ticket...)
	return append(b, state...)
}

// decodePayload splits a plain payload into ticket and state. The results
// alias b.
func decodePayload(b []byte) (ticket, state []byte, err error) {
	if len(b) == 0 || b[0] != payloadPlain {
		return nil, nil, fmt.Errorf("%w: unknown payload form", ErrBadRecord)
	}
	if len(b) > maxPayload {
		return nil, nil, fmt.Errorf("%w: payload of %d bytes", ErrBadRecord, len(b))
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || n > uint64(len(b)-1-w) {
		return nil, nil, fmt.Errorf("%w: bad ticket length", ErrBadRecord)
	}
	b = b[1+w:]
	ticket, state = b[:n], b[n:]
	if len(ticket) == 0 || len(state) == 0 {
		return nil, nil, fmt.Errorf("%w: empty ticket or state", ErrBadRecord)
	}
	return ticket, state, nil
}

// sessionFacts reads what the store needs from utls's SessionState encoding:
// the protocol version (its first two bytes) and, for a TLS 1.3 client
// session, the use-by time the client computed from the server's
// ticket_lifetime (the last 12 bytes hold use_by and age_add). The layout
// is utls's and may change, so the result is only trusted within bounds:
// ok is false when the use-by time cannot be read or is out of range.
func sessionFacts(state []byte, received time.Time) (tls13 bool, useBy time.Time, ok bool) {
	if len(state) < 2 {
		return false, time.Time{}, false
	}
	tls13 = binary.BigEndian.Uint16(state) == tls13Version
	if !tls13 || len(state) < 2+12 {
		return tls13, time.Time{}, false
	}
	sec := binary.BigEndian.Uint64(state[len(state)-12:])
	if sec > uint64(received.Add(maxLifetime13).Unix())+60 {
		return true, time.Time{}, false
	}
	return true, time.Unix(int64(sec), 0), true
}

// expiry returns when a ticket received at received stops being offered.
func expiry(state []byte, received time.Time) (tls13 bool, expires time.Time) {
	tls13, useBy, ok := sessionFacts(state, received)
	if !tls13 {
		return false, received.Add(maxLifetime12)
	}
	expires = received.Add(maxLifetime13)
	if ok && useBy.Before(expires) {
		expires = useBy
	}
	return true, expires
}
