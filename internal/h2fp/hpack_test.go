package h2fp

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestParseRFCRequests feeds the request examples of RFC 7541 Appendix C.4
// (Huffman coded, one dynamic table) as three header blocks.
func TestParseRFCRequests(t *testing.T) {
	w := newWire(t)
	none := http2.PriorityParam{}
	w.headers(1, true, none, unhex(t, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))
	w.headers(3, true, none, unhex(t, "8286 84be 5886 a8eb 1064 9cbf"))
	w.headers(5, true, none, unhex(t,
		"8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"))
	c := mustParse(t, w.bytes())
	get, auth := Field{":method", "GET", Indexed, 2, false, false}, ":authority"
	scheme := Field{":scheme", "http", Indexed, 6, false, false}
	root := Field{":path", "/", Indexed, 4, false, false}
	want := [][]Field{
		{get, scheme, root, {auth, "www.example.com", LiteralIncremental, 1, false, true}},
		{get, scheme, root, {auth, "www.example.com", Indexed, 62, false, false},
			{"cache-control", "no-cache", LiteralIncremental, 24, false, true}},
		{get, {":scheme", "https", Indexed, 7, false, false},
			{":path", "/index.html", Indexed, 5, false, false},
			{auth, "www.example.com", Indexed, 63, false, false},
			{"custom-key", "custom-value", LiteralIncremental, 0, true, true}},
	}
	if len(c.Headers) != len(want) {
		t.Fatalf("got %d header blocks, want %d", len(c.Headers), len(want))
	}
	for i, h := range c.Headers {
		if !reflect.DeepEqual(h.Fields, want[i]) {
			t.Errorf("block %d fields = %+v,\nwant %+v", i, h.Fields, want[i])
		}
	}
}

// TestParseHandCoded checks blocks written byte by byte, one per
// connection, for the representations an x/net encoder never writes.
func TestParseHandCoded(t *testing.T) {
	tests := []struct {
		name    string
		block   []byte
		want    []Field
		updates []uint32
	}{
		{"no index, static name", unhex(t, "040c 2f73 616d 706c 652f 7061 7468"),
			[]Field{{":path", "/sample/path", LiteralNoIndex, 4, false, false}}, nil},
		{"never indexed, literal name",
			unhex(t, "1008 7061 7373 776f 7264 0673 6563 7265 74"),
			[]Field{{"password", "secret", LiteralNeverIndexed, 0, false, false}}, nil},
		{"incremental, literal name",
			unhex(t, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
			[]Field{{"custom-key", "custom-header", LiteralIncremental, 0, false, false}}, nil},
		{"no index, huffman name", literal(0x00, 0, "x-trace", "abc", true, false),
			[]Field{{"x-trace", "abc", LiteralNoIndex, 0, true, false}}, nil},
		{"never indexed, huffman value", literal(0x10, 23, "", "Bearer t0k3n", false, true),
			[]Field{{"authorization", "Bearer t0k3n", LiteralNeverIndexed, 23, false, true}}, nil},
		{"no index, long name index", literal(0x00, 58, "", "Mozilla/5.0", false, true),
			[]Field{{"user-agent", "Mozilla/5.0", LiteralNoIndex, 58, false, true}}, nil},
		{"size updates", unhex(t, "20 3fe1 1f 82"),
			[]Field{{":method", "GET", Indexed, 2, false, false}}, []uint32{0, 4096}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWire(t)
			w.headers(1, true, http2.PriorityParam{}, tc.block)
			h := mustParse(t, w.bytes()).Headers[0]
			if !reflect.DeepEqual(h.Fields, tc.want) {
				t.Errorf("Fields = %+v, want %+v", h.Fields, tc.want)
			}
			if !reflect.DeepEqual(h.SizeUpdates, tc.updates) {
				t.Errorf("SizeUpdates = %v, want %v", h.SizeUpdates, tc.updates)
			}
		})
	}
}

// TestParseNoIndexLeavesTable checks that only incremental literals enter
// the dynamic table that later blocks index into.
func TestParseNoIndexLeavesTable(t *testing.T) {
	w := newWire(t)
	first := append(literal(0x40, 0, "x-in", "1", false, false),
		literal(0x00, 0, "x-out", "2", false, false)...)
	w.headers(1, true, http2.PriorityParam{}, first)
	w.headers(3, true, http2.PriorityParam{}, unhex(t, "be"))
	c := mustParse(t, w.bytes())
	want := Field{"x-in", "1", Indexed, 62, false, false}
	if got := c.Headers[1].Fields; len(got) != 1 || got[0] != want {
		t.Errorf("second block = %+v, want [%+v]", got, want)
	}
}

// TestParseMatchesHPACK encodes blocks with x/net's encoder and checks the
// parse against x/net's decoder and against the encoder's habits: a field
// already in a table is indexed, Sensitive ones are never indexed, fields
// larger than the table are not indexed, and strings are Huffman coded
// when that is shorter.
func TestParseMatchesHPACK(t *testing.T) {
	big := strings.Repeat("z", 5000)
	blocks := [][]hpack.HeaderField{
		{{Name: ":method", Value: "GET"}, {Name: ":authority", Value: "example.com"},
			{Name: "user-agent", Value: "revisit/1"}, {Name: "x-custom", Value: "%%%"},
			{Name: "cookie", Value: "a=b", Sensitive: true}, {Name: "x-big", Value: big}},
		{{Name: ":method", Value: "GET"}, {Name: ":authority", Value: "example.com"},
			{Name: "user-agent", Value: "revisit/1"}, {Name: "x-custom", Value: "%%%"},
			{Name: "cookie", Value: "a=b", Sensitive: true}, {Name: "x-big", Value: big}},
	}
	w := newWire(t)
	var raw [][]byte
	for i, fs := range blocks {
		raw = append(raw, w.fields(fs...))
		w.headers(uint32(2*i+1), true, http2.PriorityParam{}, raw[i])
	}
	c := mustParse(t, w.bytes())
	dec := hpack.NewDecoder(4096, nil)
	for i, h := range c.Headers {
		want, err := dec.DecodeFull(raw[i])
		if err != nil {
			t.Fatal(err)
		}
		for j, f := range h.Fields {
			checkField(t, i, f, want[j])
		}
	}
	for j, f := range c.Headers[1].Fields[:4] {
		if f.Rep != Indexed {
			t.Errorf("block 1 field %d = %v, want Indexed", j, f.Rep)
		}
	}
	if f := c.Headers[1].Fields[5]; f.Rep != LiteralNoIndex {
		t.Errorf("field larger than the table = %v, want LiteralNoIndex", f.Rep)
	}
}

func checkField(t *testing.T, block int, f Field, want hpack.HeaderField) {
	t.Helper()
	if f.Name != want.Name || f.Value != want.Value {
		t.Errorf("block %d field = %q: %.20q, want %q: %.20q", block, f.Name, f.Value,
			want.Name, want.Value)
	}
	if (f.Rep == LiteralNeverIndexed) != want.Sensitive {
		t.Errorf("block %d %s: Rep = %v, Sensitive %v", block, f.Name, f.Rep, want.Sensitive)
	}
	if f.Rep == Indexed {
		return
	}
	shorter := func(s string) bool { return hpack.HuffmanEncodeLength(s) < uint64(len(s)) }
	wantName := f.Index == 0 && shorter(f.Name)
	if f.NameHuffman != wantName || f.ValueHuffman != shorter(f.Value) {
		t.Errorf("block %d %s: Huffman name %v value %v, want %v %v", block, f.Name,
			f.NameHuffman, f.ValueHuffman, wantName, shorter(f.Value))
	}
}

func TestParseEncoderSizeUpdate(t *testing.T) {
	w := newWire(t)
	w.headers(1, true, http2.PriorityParam{}, w.block(":method", "GET", "x-a", "1"))
	w.enc.SetMaxDynamicTableSize(0)
	w.headers(3, true, http2.PriorityParam{}, w.block(":method", "GET", "x-a", "1"))
	c := mustParse(t, w.bytes())
	if got := c.Headers[1].SizeUpdates; !reflect.DeepEqual(got, []uint32{0}) {
		t.Errorf("SizeUpdates = %v, want [0]", got)
	}
	if got := c.Headers[1].Fields[1]; got.Value != "1" || got.Rep == Indexed {
		t.Errorf("field after emptying the table = %+v, want a literal x-a: 1", got)
	}
}

func TestRepresentationString(t *testing.T) {
	for r, want := range map[Representation]string{
		Indexed: "Indexed", LiteralIncremental: "LiteralIncremental",
		LiteralNoIndex: "LiteralNoIndex", LiteralNeverIndexed: "LiteralNeverIndexed",
		0: "Representation(0)",
	} {
		if got := r.String(); got != want {
			t.Errorf("Representation(%d).String() = %q, want %q", uint8(r), got, want)
		}
	}
}
