package redisfrontier

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/revisit-crawl/revisit/frontier"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		req  frontier.Request
	}{
		{"bare", frontier.Request{URL: "http://a.test/"}},
		{"full", frontier.Request{URL: "https://a.test/x?y", Depth: 7, Priority: -3,
			Referer: "https://a.test/", Data: []byte{0, 1, 2}}},
		{"extremes", frontier.Request{URL: "http://a.test/", Depth: math.MaxInt32,
			Priority: math.MinInt32}},
		{"max priority", frontier.Request{URL: "http://a.test/", Priority: math.MaxInt32}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRecord(encodeRecord(&tc.req))
			if err != nil || !reflect.DeepEqual(got, tc.req) {
				t.Fatalf("decodeRecord(encodeRecord(%+v)) = %+v, %v", tc.req, got, err)
			}
		})
	}
}

// TestRecordPriorityOrder checks the layout the scripts read: the priority bytes
// compare like the priorities.
func TestRecordPriorityOrder(t *testing.T) {
	prev := []byte(nil)
	for _, p := range []int32{math.MinInt32, -1, 0, 1, math.MaxInt32} {
		b := encodeRecord(&frontier.Request{URL: "http://a.test/", Priority: p})[1:5]
		if prev != nil && bytes.Compare(prev, b) >= 0 {
			t.Errorf("priority %d encodes to %x, not above the previous %x", p, b, prev)
		}
		prev = b
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(&frontier.Request{URL: "http://a.test/", Referer: "r", Data: []byte("d")}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, frontier.ErrCorrupt) {
				t.Fatalf("decodeRecord error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// Varints have several encodings, so compare what they decode to.
		again, err := decodeRecord(encodeRecord(&r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoding %+v gives %+v, %v", r, again, err)
		}
	})
}
