package ja4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Extension types that Parse decodes.
const (
	extServerName          = 0
	extSupportedGroups     = 10
	extSignatureAlgorithms = 13
	extALPN                = 16
	extPreSharedKey        = 41
	extSupportedVersions   = 43
	extPSKModes            = 45
	extKeyShare            = 51
)

// Hello is a decoded ClientHello. Lists keep the wire order and include
// GREASE values; the fingerprint methods leave GREASE out. A Hello is not
// modified by its methods and is safe for concurrent reads.
type Hello struct {
	// LegacyVersion is the legacy_version field, 0x0303 for TLS 1.3
	// clients.
	LegacyVersion uint16
	// Random is the 32-byte client random.
	Random []byte
	// SessionID is the legacy session id, empty or up to 32 bytes.
	SessionID []byte
	// CipherSuites lists the offered cipher suites.
	CipherSuites []uint16
	// CompressionMethods lists the offered compression methods.
	CompressionMethods []byte
	// Extensions lists the extension types.
	Extensions []uint16
	// SNI is the first host name of the server_name extension, or "".
	SNI string
	// ALPN lists the protocols of the ALPN extension.
	ALPN []string
	// SupportedVersions lists the supported_versions extension.
	SupportedVersions []uint16
	// SignatureAlgorithms lists the signature_algorithms extension.
	SignatureAlgorithms []uint16
	// SupportedGroups lists the supported_groups extension.
	SupportedGroups []uint16
	// KeyShareGroups lists the group of each key_share entry.
	KeyShareGroups []uint16
	// PSKModes lists the psk_key_exchange_modes extension.
	PSKModes []uint8
	// HasPSK reports a pre_shared_key extension (41): the client offers
	// to resume a session.
	HasPSK bool
}

// Parse decodes a ClientHello. raw is either TLS records as returned by
// [ReadClientHello], recognized by a first byte that is a record content
// type (20 to 24), in which case the handshake message is reassembled from
// them; or a bare handshake message starting with its type byte (1). Bytes
// after the ClientHello are ignored. Every length inside the message must
// add up, and an extension type may appear only once (as crypto/tls
// requires); otherwise the error matches [ErrMalformed].
func Parse(raw []byte) (*Hello, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrMalformed)
	}
	msg := raw
	if isRecordType(raw[0]) {
		_, m, err := readHello(bytes.NewReader(raw))
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: records end before the client hello", ErrMalformed)
		}
		if err != nil {
			return nil, err
		}
		msg = m
	}
	return parseMessage(msg)
}

// isRecordType reports whether b is a TLS record content type: change
// cipher spec, alert, handshake, application data or heartbeat.
func isRecordType(b byte) bool {
	return 20 <= b && b <= 24
}

// parseMessage decodes a handshake message, header included.
func parseMessage(msg []byte) (*Hello, error) {
	c := cursor{b: msg}
	if typ := c.u8(); typ != typeClientHello {
		return nil, fmt.Errorf("%w: handshake type %d", ErrNotClientHello, typ)
	}
	n := c.u24()
	if handshakeHeaderLen+n > MaxHelloSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, handshakeHeaderLen+n)
	}
	body := c.take(n)
	if c.short {
		return nil, fmt.Errorf("%w: message shorter than its header says", ErrMalformed)
	}
	return parseBody(body)
}

// parseBody decodes the ClientHello fields that follow the handshake
// header.
func parseBody(body []byte) (*Hello, error) {
	c := cursor{b: body}
	h := &Hello{LegacyVersion: c.u16()}
	h.Random = bytes.Clone(c.take(32))
	sid := c.vec8()
	if len(sid.b) > 32 {
		return nil, fmt.Errorf("%w: session id of %d bytes", ErrMalformed, len(sid.b))
	}
	h.SessionID = bytes.Clone(sid.b)
	h.CipherSuites = c.list16()
	h.CompressionMethods = bytes.Clone(c.vec8().b)
	if c.short {
		return nil, fmt.Errorf("%w: truncated before the extensions", ErrMalformed)
	}

	// A hello without extensions simply ends here.
	if c.empty() {
		return h, nil
	}
	exts := c.vec16()
	if c.short || !c.empty() {
		return nil, fmt.Errorf("%w: extensions block length", ErrMalformed)
	}
	seen := make(map[uint16]bool)
	for !exts.empty() {
		typ := exts.u16()
		data := exts.vec16()
		if exts.short {
			return nil, fmt.Errorf("%w: extension %d truncated", ErrMalformed, typ)
		}
		if seen[typ] {
			return nil, fmt.Errorf("%w: duplicate extension %d", ErrMalformed, typ)
		}
		seen[typ] = true
		h.Extensions = append(h.Extensions, typ)
		if err := h.parseExtension(typ, data); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// parseExtension decodes the body of one extension into h. Extensions it
// does not know are only listed.
func (h *Hello) parseExtension(typ uint16, data cursor) error {
	switch typ {
	case extServerName:
		h.SNI = parseServerName(&data)
	case extALPN:
		list := data.vec16()
		for !list.empty() && !list.short {
			h.ALPN = append(h.ALPN, string(list.vec8().b))
		}
		data.short = data.short || list.short
	case extSupportedVersions:
		h.SupportedVersions = data.list8()
	case extSignatureAlgorithms:
		h.SignatureAlgorithms = data.list16()
	case extSupportedGroups:
		h.SupportedGroups = data.list16()
	case extKeyShare:
		h.KeyShareGroups = parseKeyShare(&data)
	case extPSKModes:
		h.PSKModes = bytes.Clone(data.vec8().b)
	case extPreSharedKey:
		h.HasPSK = true
		checkPreSharedKey(&data)
	default:
		return nil
	}
	if data.short || !data.empty() {
		return fmt.Errorf("%w: extension %d body", ErrMalformed, typ)
	}
	return nil
}

// parseServerName returns the first host_name entry of a server_name body.
func parseServerName(data *cursor) string {
	var sni string
	found := false
	list := data.vec16()
	for !list.empty() && !list.short {
		nameType := list.u8()
		name := list.vec16()
		if nameType == 0 && !found {
			sni, found = string(name.b), true
		}
	}
	data.short = data.short || list.short
	return sni
}

// parseKeyShare returns the group of every key_share entry.
func parseKeyShare(data *cursor) []uint16 {
	var groups []uint16
	list := data.vec16()
	for !list.empty() && !list.short {
		group := list.u16()
		list.vec16()
		groups = append(groups, group)
	}
	data.short = data.short || list.short
	return groups
}

// checkPreSharedKey walks the identities and binders of a pre_shared_key
// body, marking data short where they do not add up.
func checkPreSharedKey(data *cursor) {
	ids := data.vec16()
	for !ids.empty() && !ids.short {
		ids.vec16()
		ids.take(4) // obfuscated_ticket_age
	}
	binders := data.vec16()
	for !binders.empty() && !binders.short {
		binders.vec8()
	}
	data.short = data.short || ids.short || binders.short
}

// cursor reads big-endian fields from a byte slice. A read past the end
// sets short, returns zero values, and makes every later read fail too, so
// that callers can check once after a group of reads.
type cursor struct {
	b     []byte
	short bool
}

// take returns the next n bytes.
func (c *cursor) take(n int) []byte {
	if c.short || n > len(c.b) {
		c.short, c.b = true, nil
		return nil
	}
	out := c.b[:n:n]
	c.b = c.b[n:]
	return out
}

func (c *cursor) u8() uint8 {
	b := c.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (c *cursor) u16() uint16 {
	b := c.take(2)
	if b == nil {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

func (c *cursor) u24() int {
	b := c.take(3)
	if b == nil {
		return 0
	}
	return int(b[0])<<16 | int(b[1])<<8 | int(b[2])
}

// vec8 returns a cursor over a vector with a one-byte length prefix.
func (c *cursor) vec8() cursor {
	n := int(c.u8())
	return cursor{b: c.take(n), short: c.short}
}

// vec16 returns a cursor over a vector with a two-byte length prefix.
func (c *cursor) vec16() cursor {
	n := int(c.u16())
	return cursor{b: c.take(n), short: c.short}
}

// list8 reads a list of uint16 values with a one-byte length prefix.
func (c *cursor) list8() []uint16 {
	v := c.vec8()
	out := v.u16s()
	c.short = c.short || v.short
	return out
}

// list16 reads a list of uint16 values with a two-byte length prefix.
func (c *cursor) list16() []uint16 {
	v := c.vec16()
	out := v.u16s()
	c.short = c.short || v.short
	return out
}

// u16s consumes the rest of c as a list of uint16 values. An odd length
// sets short.
func (c *cursor) u16s() []uint16 {
	if len(c.b)%2 != 0 {
		c.short = true
	}
	if c.short {
		return nil
	}
	out := make([]uint16, 0, len(c.b)/2)
	for !c.empty() {
		out = append(out, c.u16())
	}
	return out
}

// empty reports whether all of c has been read.
func (c *cursor) empty() bool {
	return len(c.b) == 0
}
