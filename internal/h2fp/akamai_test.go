package h2fp

import (
	"slices"
	"testing"

	"golang.org/x/net/http2"
)

// profile is what a browser sends first on an HTTP/2 connection.
type profile struct {
	settings []uint32
	window   uint32
	stream   uint32
	prio     http2.PriorityParam
	pseudo   []string // names and values, in the browser's order
}

// profiles follow PROFILES.md section 3: Chrome 133, Firefox 135 and
// Safari 18.4.
var profiles = map[string]profile{
	"chrome": {
		settings: []uint32{1, 65536, 2, 0, 4, 6291456, 6, 262144},
		window:   15663105, stream: 1,
		prio: http2.PriorityParam{Exclusive: true, Weight: 255},
		pseudo: []string{":method", "GET", ":authority", "a.test", ":scheme", "https",
			":path", "/"},
	},
	"firefox": {
		settings: []uint32{1, 65536, 2, 0, 4, 131072, 5, 16384},
		window:   12517377, stream: 3,
		prio: http2.PriorityParam{Weight: 41},
		pseudo: []string{":method", "GET", ":path", "/", ":authority", "a.test",
			":scheme", "https"},
	},
	"safari": {
		settings: []uint32{2, 0, 3, 100, 4, 2097152, 9, 1},
		window:   10420225, stream: 1,
		prio: http2.PriorityParam{Weight: 255},
		pseudo: []string{":method", "GET", ":scheme", "https", ":authority", "a.test",
			":path", "/"},
	},
}

// preface writes a profile's SETTINGS, WINDOW_UPDATE and first request.
func (p profile) preface(t testing.TB) []byte {
	w := newWire(t)
	w.settings(p.settings...)
	w.check(w.fr.WriteWindowUpdate(0, p.window))
	block := w.block(slices.Concat(p.pseudo, []string{"user-agent", "test", "accept", "*/*"})...)
	w.headers(p.stream, true, p.prio, block)
	return w.bytes()
}

func TestAkamaiReference(t *testing.T) {
	want := map[string]string{
		"chrome":  "1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p",
		"firefox": "1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s",
		"safari":  "2:0;3:100;4:2097152;9:1|10420225|0|m,s,a,p",
	}
	for name, p := range profiles {
		t.Run(name, func(t *testing.T) {
			c := mustParse(t, p.preface(t))
			if got := c.Akamai(); got != want[name] {
				t.Errorf("Akamai() = %q, want %q", got, want[name])
			}
			h := c.Headers[0]
			if h.StreamID != p.stream || h.Priority.Weight != p.prio.Weight {
				t.Errorf("first HEADERS: stream %d weight %d, want %d %d",
					h.StreamID, h.Priority.Weight, p.stream, p.prio.Weight)
			}
		})
	}
}

func TestAkamaiForms(t *testing.T) {
	// Firefox up to 128 opened its connections with PRIORITY frames that
	// the Akamai paper prints with weights one above the wire byte.
	old := newWire(t)
	old.settings(1, 65536, 4, 131072, 5, 16384)
	for _, p := range []struct {
		stream, dep uint32
		weight      uint8
	}{{3, 0, 200}, {5, 0, 100}, {7, 0, 0}, {9, 7, 0}, {11, 3, 0}} {
		prio := http2.PriorityParam{StreamDep: p.dep, Weight: p.weight}
		old.check(old.fr.WritePriority(p.stream, prio))
	}
	old.headers(13, true, http2.PriorityParam{}, old.block(":method", "GET", ":path", "/"))

	bare := newWire(t)
	bare.settings()
	excl := newWire(t)
	prio := http2.PriorityParam{Exclusive: true, StreamDep: 1, Weight: 255}
	excl.check(excl.fr.WritePriority(3, prio))

	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"priority frames", old.bytes(),
			"1:65536;4:131072;5:16384|00|3:0:0:201,5:0:0:101,7:0:0:1,9:0:7:1,11:0:3:1|m,p"},
		{"empty settings, no window update, no headers", bare.bytes(), "|00|0|"},
		{"exclusive priority", excl.bytes(), "|00|3:1:1:256|"},
		{"preface only", []byte(http2.ClientPreface), "|00|0|"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustParse(t, tc.b).Akamai(); got != tc.want {
				t.Errorf("Akamai() = %q, want %q", got, tc.want)
			}
		})
	}
}
