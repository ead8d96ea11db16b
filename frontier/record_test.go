package frontier

import (
	"errors"
	"reflect"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  record
	}{
		{"empty", record{}},
		{"full", record{URL: "http://a.test/x", Referer: "http://a.test/", Data: []byte{0, 1, 2},
			Depth: 7, Priority: -3, Attempts: 2, Reason: "timeout", Time: 1700000000000000000}},
		{"extremes", record{Depth: 1<<31 - 1, Priority: -1 << 31, Time: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRecord(tc.rec.encode())
			if err != nil || !reflect.DeepEqual(got, tc.rec) {
				t.Fatalf("decodeRecord(encode(%+v)) = %+v, %v", tc.rec, got, err)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	good := (&record{URL: "http://a.test/"}).encode()
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"version", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-2]},
		{"trailing", append(append([]byte{}, good...), 0)},
		{"huge length", []byte{recordVersion, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeRecord(tc.in); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeRecord(%x) error = %v, want ErrCorrupt", tc.in, err)
			}
		})
	}
}

func TestQueueKeyOrder(t *testing.T) {
	// Higher priority first, then push order, within a host; hosts apart.
	keys := [][]byte{
		queueKey(1, 100, 5), queueKey(1, 1, 2), queueKey(1, 1, 3), queueKey(1, 0, 1),
		queueKey(1, -1, 0), queueKey(1, -1<<31, 0), queueKey(2, 1<<31-1, 0),
	}
	for i := 1; i < len(keys); i++ {
		if string(keys[i-1]) >= string(keys[i]) {
			t.Errorf("key %d (%x) does not sort before key %d (%x)", i-1, keys[i-1], i, keys[i])
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add((&record{URL: "http://a.test/", Data: []byte("x"), Attempts: 1}).encode())
	f.Add((&hostRecord{ID: 3, Queued: 9, BackoffUntil: 5}).encode())
	f.Add((&robotsRecord{Kind: robotsParsed, Body: []byte("User-agent: *")}).encode())
	f.Add((&metaState{Queued: 1, NextHost: 2}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeRecord(b); err == nil {
			again, err := decodeRecord(r.encode())
			if err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("record %+v does not round-trip: %+v, %v", r, again, err)
			}
		}
		if h, err := decodeHost(b); err == nil {
			if again, err := decodeHost(h.encode()); err != nil || again != h {
				t.Fatalf("host %+v does not round-trip: %+v, %v", h, again, err)
			}
		}
		if r, err := decodeRobots(b); err == nil {
			if again, err := decodeRobots(r.encode()); err != nil || !reflect.DeepEqual(again, r) {
				t.Fatalf("robots %+v does not round-trip", r)
			}
		}
		if m, err := decodeMeta(b); err == nil {
			if again, err := decodeMeta(m.encode()); err != nil || again != m {
				t.Fatalf("meta %+v does not round-trip: %+v, %v", m, again, err)
			}
		}
	})
}
