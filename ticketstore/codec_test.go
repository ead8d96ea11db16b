package ticketstore

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestExpiry(t *testing.T) {
	received := time.Unix(1_800_000_000, 0)
	state := func(version uint16, useBy time.Time) []byte {
		b := binary.BigEndian.AppendUint16(nil, version)
		b = append(b, make([]byte, 40)...)
		b = binary.BigEndian.AppendUint64(b, uint64(useBy.Unix()))
		return binary.BigEndian.AppendUint32(b, 0xdeadbeef)
	}
	tests := []struct {
		name      string
		state     []byte
		wantTLS13 bool
		want      time.Time
	}{
		{"tls13 one hour", state(0x0304, received.Add(time.Hour)), true, received.Add(time.Hour)},
		{"tls13 seven days", state(0x0304, received.Add(maxLifetime13)), true, received.Add(maxLifetime13)},
		{"tls13 implausible use-by", state(0x0304, received.Add(30*24*time.Hour)), true, received.Add(maxLifetime13)},
		{"tls13 too short to read", []byte{0x03, 0x04, 1}, true, received.Add(maxLifetime13)},
		{"tls12", state(0x0303, received.Add(time.Hour)), false, received.Add(maxLifetime12)},
		{"empty", nil, false, received.Add(maxLifetime12)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tls13, got := expiry(tc.state, received)
			if tls13 != tc.wantTLS13 || !got.Equal(tc.want) {
				t.Errorf("expiry = %v, %v; want %v, %v", tls13, got, tc.wantTLS13, tc.want)
			}
		})
	}
}

func TestServerStateRules(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tk := func(d string, tls13 bool, life time.Duration) Ticket {
		return Ticket{Data: []byte(d), TLS13: tls13, Received: now, Expires: now.Add(life)}
	}
	st := &serverState{}
	st.add(tk("a", true, time.Hour))
	st.add(tk("b", true, time.Hour))
	st.add(tk("c", true, time.Hour))
	if len(st.tickets) != MaxPerServer || string(st.tickets[0].Data) != "c" || string(st.tickets[1].Data) != "b" {
		t.Fatalf("after three adds: %q, want [c b]", dataOf(st))
	}
	st.add(tk("s12", false, time.Hour))
	if len(st.tickets) != 1 || string(st.tickets[0].Data) != "s12" {
		t.Fatalf("after a TLS 1.2 add: %q, want [s12]", dataOf(st))
	}
	st.add(tk("d", true, time.Hour))
	if got := dataOf(st); len(got) != 1 || got[0] != "d" {
		t.Fatalf("TLS 1.3 after TLS 1.2: %q, want [d]", got)
	}
	if last := st.lastUse(); !last.Equal(now.Add(time.Hour)) {
		t.Errorf("lastUse = %v, want %v", last, now.Add(time.Hour))
	}
}

func dataOf(st *serverState) []string {
	var out []string
	for _, t := range st.tickets {
		out = append(out, string(t.Data))
	}
	return out
}

func TestDecodeCookie(t *testing.T) {
	expires := time.Date(2027, 1, 2, 3, 4, 5, 6, time.UTC)
	good := encodeCookie(CookieRecord{Key: "k", Data: []byte("data"), Expires: expires})
	rec, err := decodeCookie(good)
	if err != nil || rec.Key != "k" || string(rec.Data) != "data" || !rec.Expires.Equal(expires) {
		t.Fatalf("decodeCookie(encodeCookie(...)) = %+v, %v; want k, data, %v", rec, err, expires)
	}

	head := func(nsec uint64, key string) []byte {
		b := binary.AppendVarint([]byte{payloadCookie}, expires.Unix())
		b = binary.AppendUvarint(b, nsec)
		return appendBytes(b, []byte(key))
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"ticket payload", encodePayload([]byte("t"), []byte("s"))},
		{"sealed form", append([]byte{payloadSealed}, good[1:]...)},
		{"nanoseconds out of range", head(uint64(time.Second), "k")},
		{"empty key", head(0, "")},
		{"key longer than the record", head(0, "k")[:len(head(0, "k"))-1]},
		{"too large", append(head(0, "k"), make([]byte, maxCookie)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if rec, err := decodeCookie(tc.in); !errors.Is(err, ErrBadRecord) {
				t.Errorf("decodeCookie = %+v, %v; want ErrBadRecord", rec, err)
			}
		})
	}
}
