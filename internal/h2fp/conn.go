package h2fp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

var (
	// ErrPreface means the bytes do not start with the HTTP/2 client
	// preface.
	ErrPreface = errors.New("h2fp: no http/2 client preface")

	// ErrHPACK means a header block could not be decoded.
	ErrHPACK = errors.New("h2fp: malformed header block")
)

// maxTableSize caps the dynamic table size updates Parse accepts. A real
// server allows what it announced in SETTINGS_HEADER_TABLE_SIZE (4096 by
// default), which Parse does not know; it records the updates instead and
// leaves judging them to the caller.
const maxTableSize = 1 << 20

// Conn is what a client sent on one HTTP/2 connection. Lists keep the wire
// order. A Conn is not modified after Parse returns and is safe for
// concurrent reads.
type Conn struct {
	// Frames lists the header of every complete frame after the preface.
	Frames []Frame
	// Settings holds the first SETTINGS frame that is not an ACK.
	Settings []Setting
	// MoreSettings holds any later SETTINGS frames that are not ACKs.
	MoreSettings [][]Setting
	// SettingsAcks counts SETTINGS frames with the ACK flag.
	SettingsAcks int
	// WindowUpdates holds the increments of connection-level
	// WINDOW_UPDATE frames (stream 0).
	WindowUpdates []uint32
	// StreamWindowUpdates holds the WINDOW_UPDATE frames of streams.
	StreamWindowUpdates []WindowUpdate
	// Priorities holds the PRIORITY frames.
	Priorities []PriorityFrame
	// Headers holds one entry per complete header block: a HEADERS frame
	// and its CONTINUATION frames.
	Headers []Headers
	// Data holds the DATA frames.
	Data []Data
	// RSTStreams holds the RST_STREAM frames.
	RSTStreams []RSTStream
	// Pings and PingAcks count PING frames without and with the ACK flag.
	Pings, PingAcks int
	// GoAways holds the GOAWAY frames.
	GoAways []GoAway
	// Truncated reports that the bytes ended inside the preface, a frame
	// or a header block. An unfinished header block is left out of
	// Headers.
	Truncated bool
}

// Frame is the header of one frame.
type Frame struct {
	Type     http2.FrameType
	Flags    http2.Flags
	StreamID uint32
	// Length is the payload length.
	Length uint32
}

// Setting is one entry of a SETTINGS frame.
type Setting struct {
	ID  uint16
	Val uint32
}

// WindowUpdate is a WINDOW_UPDATE frame of a stream.
type WindowUpdate struct {
	StreamID  uint32
	Increment uint32
}

// Priority holds the priority fields of a PRIORITY frame or of a HEADERS
// frame with the PRIORITY flag.
type Priority struct {
	Exclusive bool
	StreamDep uint32
	// Weight is the byte on the wire; the weight it stands for is
	// Weight+1.
	Weight uint8
}

// PriorityFrame is a PRIORITY frame.
type PriorityFrame struct {
	StreamID uint32
	Priority
}

// Headers is one header block: a HEADERS frame and the CONTINUATION frames
// that completed it.
type Headers struct {
	StreamID  uint32
	EndStream bool
	// HasPriority reports the PRIORITY flag; Priority is zero without it.
	HasPriority bool
	Priority    Priority
	// Continuations counts the CONTINUATION frames.
	Continuations int
	// SizeUpdates lists the dynamic table size updates in the block.
	SizeUpdates []uint32
	// Fields are the header fields in wire order.
	Fields []Field
}

// Names returns the field names in wire order, pseudo-headers included.
func (h *Headers) Names() []string {
	names := make([]string, len(h.Fields))
	for i, f := range h.Fields {
		names[i] = f.Name
	}
	return names
}

// Get returns the value of the first field named name, or "".
func (h *Headers) Get(name string) string {
	for _, f := range h.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// PseudoOrder returns the initials of the pseudo-header names in wire
// order, joined by ',': "m,a,s,p" for :method, :authority, :scheme, :path.
func (h *Headers) PseudoOrder() string {
	var initials []string
	for _, f := range h.Fields {
		if len(f.Name) > 1 && f.Name[0] == ':' {
			initials = append(initials, f.Name[1:2])
		}
	}
	return strings.Join(initials, ",")
}

// Data is a DATA frame.
type Data struct {
	StreamID uint32
	// Len counts the data bytes, padding left out.
	Len       int
	EndStream bool
}

// RSTStream is a RST_STREAM frame.
type RSTStream struct {
	StreamID uint32
	Code     http2.ErrCode
}

// GoAway is a GOAWAY frame.
type GoAway struct {
	LastStreamID uint32
	Code         http2.ErrCode
}

// Parse reads the bytes a client sent on an HTTP/2 connection: the client
// preface, then frames until the bytes end. Bytes that end inside a frame
// or a header block set Truncated and are not an error. On error the
// returned Conn holds what was read before the failure: ErrPreface, an
// error matching ErrHPACK, or the framing error of golang.org/x/net/http2.
func Parse(b []byte) (*Conn, error) {
	c := &Conn{}
	preface := http2.ClientPreface
	if len(b) < len(preface) {
		if string(b) != preface[:len(b)] {
			return c, ErrPreface
		}
		c.Truncated = len(b) > 0
		return c, nil
	}
	if string(b[:len(preface)]) != preface {
		return c, ErrPreface
	}
	p := newParser(c, b[len(preface):])
	return c, p.run()
}

// parser holds the state of one Parse.
type parser struct {
	c   *Conn
	r   *bytes.Reader
	fr  *http2.Framer
	dec *hpack.Decoder
	// sawSettings is set by the first SETTINGS frame that is not an ACK.
	sawSettings bool
	// open is the header block waiting for CONTINUATION frames, and
	// block its fragments so far.
	open  *Headers
	block []byte
}

func newParser(c *Conn, b []byte) *parser {
	r := bytes.NewReader(b)
	dec := hpack.NewDecoder(4096, nil)
	dec.SetAllowedMaxDynamicTableSize(maxTableSize)
	return &parser{c: c, r: r, fr: http2.NewFramer(io.Discard, r), dec: dec}
}

// run reads frames until the bytes end or one fails.
func (p *parser) run() error {
	for {
		fh, err := p.fr.ReadFrameHeader()
		if err == io.EOF {
			p.c.Truncated = p.open != nil
			return nil
		}
		// A frame whose payload is cut off is read no further, which also
		// spares allocating the length its header claims.
		short := err == nil && int64(fh.Length) > int64(p.r.Len())
		if short || errors.Is(err, io.ErrUnexpectedEOF) {
			p.c.Truncated = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("h2fp: frame %d: %w", len(p.c.Frames), err)
		}
		f, err := p.fr.ReadFrameForHeader(fh)
		if err != nil {
			return fmt.Errorf("h2fp: frame %d (%v): %w", len(p.c.Frames), fh.Type, err)
		}
		p.c.Frames = append(p.c.Frames, Frame{fh.Type, fh.Flags, fh.StreamID, fh.Length})
		if err := p.record(f); err != nil {
			return err
		}
	}
}

// record files one frame with the Conn.
func (p *parser) record(f http2.Frame) error {
	c := p.c
	switch f := f.(type) {
	case *http2.SettingsFrame:
		p.recordSettings(f)
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			c.WindowUpdates = append(c.WindowUpdates, f.Increment)
		} else {
			c.StreamWindowUpdates = append(c.StreamWindowUpdates,
				WindowUpdate{f.StreamID, f.Increment})
		}
	case *http2.PriorityFrame:
		c.Priorities = append(c.Priorities, PriorityFrame{f.StreamID, priority(f.PriorityParam)})
	case *http2.HeadersFrame:
		return p.startHeaders(f)
	case *http2.ContinuationFrame:
		p.open.Continuations++
		return p.addFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.DataFrame:
		c.Data = append(c.Data, Data{f.StreamID, len(f.Data()), f.StreamEnded()})
	case *http2.RSTStreamFrame:
		c.RSTStreams = append(c.RSTStreams, RSTStream{f.StreamID, f.ErrCode})
	case *http2.PingFrame:
		if f.IsAck() {
			c.PingAcks++
		} else {
			c.Pings++
		}
	case *http2.GoAwayFrame:
		c.GoAways = append(c.GoAways, GoAway{f.LastStreamID, f.ErrCode})
	}
	return nil
}

func (p *parser) recordSettings(f *http2.SettingsFrame) {
	if f.IsAck() {
		p.c.SettingsAcks++
		return
	}
	var s []Setting
	f.ForeachSetting(func(st http2.Setting) error {
		s = append(s, Setting{uint16(st.ID), st.Val})
		return nil
	})
	if p.sawSettings {
		p.c.MoreSettings = append(p.c.MoreSettings, s)
		return
	}
	p.sawSettings = true
	p.c.Settings = s
}

func priority(pp http2.PriorityParam) Priority {
	return Priority{Exclusive: pp.Exclusive, StreamDep: pp.StreamDep, Weight: pp.Weight}
}

func (p *parser) startHeaders(f *http2.HeadersFrame) error {
	p.open = &Headers{
		StreamID:    f.StreamID,
		EndStream:   f.StreamEnded(),
		HasPriority: f.HasPriority(),
		Priority:    priority(f.Priority),
	}
	p.block = p.block[:0]
	return p.addFragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

// addFragment appends a fragment of the open header block and decodes the
// block once it is complete. The Framer has already checked that
// CONTINUATION frames follow their HEADERS frame.
func (p *parser) addFragment(frag []byte, end bool) error {
	// The Framer reuses its buffer for the next frame: copy.
	p.block = append(p.block, frag...)
	if !end {
		return nil
	}
	h := p.open
	p.open = nil
	var err error
	h.Fields, h.SizeUpdates, err = decodeBlock(p.dec, p.block)
	if err != nil {
		return fmt.Errorf("%w: stream %d: %w", ErrHPACK, h.StreamID, err)
	}
	p.c.Headers = append(p.c.Headers, *h)
	return nil
}
