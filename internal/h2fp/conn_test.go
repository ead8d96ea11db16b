package h2fp

import (
	"errors"
	"reflect"
	"testing"

	"golang.org/x/net/http2"
)

// fullConn writes one of every frame type Parse records, with a header
// block split over a HEADERS and two CONTINUATION frames.
func fullConn(t testing.TB) []byte {
	w := newWire(t)
	w.settings(1, 65536, 2, 0, 4, 6291456, 6, 262144)
	w.check(w.fr.WriteWindowUpdate(0, 15663105))
	w.check(w.fr.WritePriority(3, http2.PriorityParam{StreamDep: 1, Weight: 200}))
	block := w.block(":method", "POST", ":authority", "example.com", ":scheme", "https",
		":path", "/form", "content-type", "text/plain")
	w.check(w.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: 1, BlockFragment: block[:3],
		Priority: http2.PriorityParam{Exclusive: true, Weight: 255},
	}))
	w.check(w.fr.WriteContinuation(1, false, block[3:7]))
	w.check(w.fr.WriteContinuation(1, true, block[7:]))
	w.check(w.fr.WriteData(1, false, []byte("hello")))
	w.check(w.fr.WriteDataPadded(1, true, []byte("!"), make([]byte, 4)))
	w.check(w.fr.WriteWindowUpdate(1, 100))
	w.check(w.fr.WriteSettingsAck())
	w.check(w.fr.WritePing(false, [8]byte{1}))
	w.check(w.fr.WritePing(true, [8]byte{2}))
	w.check(w.fr.WriteRSTStream(1, http2.ErrCodeCancel))
	w.settings(4, 1<<20)
	w.check(w.fr.WriteGoAway(1, http2.ErrCodeNo, nil))
	return w.bytes()
}

func TestParseFrames(t *testing.T) {
	c := mustParse(t, fullConn(t))
	want := &Conn{
		Settings:            []Setting{{1, 65536}, {2, 0}, {4, 6291456}, {6, 262144}},
		MoreSettings:        [][]Setting{{{4, 1 << 20}}},
		SettingsAcks:        1,
		WindowUpdates:       []uint32{15663105},
		StreamWindowUpdates: []WindowUpdate{{1, 100}},
		Priorities:          []PriorityFrame{{3, Priority{StreamDep: 1, Weight: 200}}},
		Data:                []Data{{1, 5, false}, {1, 1, true}},
		RSTStreams:          []RSTStream{{1, http2.ErrCodeCancel}},
		Pings:               1,
		PingAcks:            1,
		GoAways:             []GoAway{{1, http2.ErrCodeNo}},
	}
	got := *c
	got.Frames, got.Headers = nil, nil
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("Parse = %+v,\nwant %+v", &got, want)
	}

	wantTypes := []http2.FrameType{http2.FrameSettings, http2.FrameWindowUpdate,
		http2.FramePriority, http2.FrameHeaders, http2.FrameContinuation,
		http2.FrameContinuation, http2.FrameData, http2.FrameData, http2.FrameWindowUpdate,
		http2.FrameSettings, http2.FramePing, http2.FramePing, http2.FrameRSTStream,
		http2.FrameSettings, http2.FrameGoAway}
	var types []http2.FrameType
	for _, f := range c.Frames {
		types = append(types, f.Type)
	}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("frame types = %v, want %v", types, wantTypes)
	}

	if len(c.Headers) != 1 {
		t.Fatalf("got %d header blocks, want 1", len(c.Headers))
	}
	h := c.Headers[0]
	wantPrio := Priority{Exclusive: true, StreamDep: 0, Weight: 255}
	if h.StreamID != 1 || h.EndStream || !h.HasPriority || h.Priority != wantPrio {
		t.Errorf("headers = stream %d end %v prio %v %+v, want 1 false true %+v",
			h.StreamID, h.EndStream, h.HasPriority, h.Priority, wantPrio)
	}
	if h.Continuations != 2 {
		t.Errorf("Continuations = %d, want 2", h.Continuations)
	}
	wantNames := []string{":method", ":authority", ":scheme", ":path", "content-type"}
	if !reflect.DeepEqual(h.Names(), wantNames) {
		t.Errorf("Names() = %q, want %q", h.Names(), wantNames)
	}
	if got := h.Get(":path"); got != "/form" {
		t.Errorf("Get(:path) = %q, want /form", got)
	}
	if got := h.PseudoOrder(); got != "m,a,s,p" {
		t.Errorf("PseudoOrder() = %q, want m,a,s,p", got)
	}
}

func TestParseHeadersWithoutPriority(t *testing.T) {
	w := newWire(t)
	w.headers(5, true, http2.PriorityParam{}, w.block(":method", "GET"))
	c := mustParse(t, w.bytes())
	h := c.Headers[0]
	if h.StreamID != 5 || !h.EndStream || h.HasPriority || h.Priority != (Priority{}) {
		t.Errorf("headers = %+v, want stream 5, END_STREAM, no priority", h)
	}
}

// TestParseTruncated cuts a connection at every length: parsing never
// fails, and Truncated is false exactly at frame boundaries.
func TestParseTruncated(t *testing.T) {
	b := fullConn(t)
	full := mustParse(t, b)
	bounds := map[int]int{0: 0, len(http2.ClientPreface): 0}
	end := len(http2.ClientPreface)
	for i, f := range full.Frames {
		end += 9 + int(f.Length)
		bounds[end] = i + 1
	}
	for n := 0; n <= len(b); n++ {
		c, err := Parse(b[:n])
		if err != nil {
			t.Fatalf("Parse(%d bytes): %v", n, err)
		}
		frames, boundary := bounds[n]
		// The header block stays open from its HEADERS frame (frame 4)
		// until its last CONTINUATION (frame 6).
		open := frames == 4 || frames == 5
		if c.Truncated != (!boundary || open) {
			t.Errorf("Parse(%d bytes).Truncated = %v, want %v", n, c.Truncated, !boundary || open)
		}
		if boundary && len(c.Frames) != frames {
			t.Errorf("Parse(%d bytes) read %d frames, want %d", n, len(c.Frames), frames)
		}
		if open && len(c.Headers) != 0 {
			t.Errorf("Parse(%d bytes) kept an unfinished header block", n)
		}
	}
}

func TestParseErrors(t *testing.T) {
	preface := http2.ClientPreface
	settings := "000000 04 00 00000000"
	tests := []struct {
		name   string
		b      []byte
		want   error
		frames int
	}{
		{"http1", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrPreface, 0},
		{"short garbage", []byte("PRX"), ErrPreface, 0},
		{"continuation alone", join(t, preface, settings, "000001 09 04 00000001 82"), nil, 1},
		{"data inside block", join(t, preface, "000001 01 00 00000001 82",
			"000001 00 00 00000001 00"), nil, 1},
		{"index 0", join(t, preface, settings, "000001 01 04 00000001 80"), ErrHPACK, 2},
		{"index past table", join(t, preface, "000001 01 04 00000001 be"), ErrHPACK, 1},
		{"cut integer", join(t, preface, "000001 01 04 00000001 ff"), ErrHPACK, 1},
		{"string past block", join(t, preface, "000003 01 04 00000001 04 05 61"), ErrHPACK, 1},
		{"settings on stream", join(t, preface, "000000 04 00 00000001"), nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.b)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Parse error = %v, want %v", err, tc.want)
			}
			if c == nil || len(c.Frames) != tc.frames {
				t.Errorf("Parse kept %+v, want %d frames", c, tc.frames)
			}
		})
	}
}

// join concatenates the preface-like text first with frames written in hex.
func join(t testing.TB, first string, frames ...string) []byte {
	b := []byte(first)
	for _, f := range frames {
		b = append(b, unhex(t, f)...)
	}
	return b
}
