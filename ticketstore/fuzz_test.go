package ticketstore

import (
	"bytes"
	"testing"
	"time"
)

func FuzzDecodeServer(f *testing.F) {
	st := &serverState{mark: time.UnixMilli(1_800_000_000_000)}
	st.add(Ticket{Data: []byte("abc"), TLS13: true, Received: time.UnixMilli(1), Expires: time.UnixMilli(2)})
	st.add(Ticket{Data: []byte("de"), TLS13: true, Received: time.UnixMilli(3), Expires: time.UnixMilli(4)})
	f.Add(encodeServer(st))
	f.Add(encodeServer(&serverState{}))
	f.Add([]byte{recordV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeServer(b)
		if err != nil {
			return
		}
		// What decodes must encode back to a record that decodes alike.
		again, err := decodeServer(encodeServer(st))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if len(again.tickets) != len(st.tickets) || !again.mark.Equal(st.mark) {
			t.Fatalf("round trip changed the record: %+v != %+v", again, st)
		}
		for i := range st.tickets {
			if !bytes.Equal(again.tickets[i].Data, st.tickets[i].Data) {
				t.Fatalf("round trip changed ticket %d", i)
			}
		}
	})
}

func FuzzDecodePart(f *testing.F) {
	f.Add(encodePart(partRecord{meta: PartitionMeta{Label: "direct", Profile: "chrome"}, received: 3, taken: 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePart(b)
		if err != nil {
			return
		}
		if _, err := decodePart(encodePart(p)); err != nil {
			t.Fatalf("re-encoded partition does not decode: %v", err)
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add(encodeHeader(Header{Secret: bytes.Repeat([]byte{1}, 32)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := decodeHeader(b); err == nil {
			if _, err := decodeHeader(encodeHeader(h)); err != nil {
				t.Fatalf("re-encoded header does not decode: %v", err)
			}
		}
	})
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(encodePayload([]byte("ticket"), []byte("state")))
	seal, _ := newSealer(bytes.Repeat([]byte{9}, SealKeySize))
	f.Add(seal.seal(encodePayload([]byte("t"), []byte("s")), []byte("aad")))
	f.Fuzz(func(t *testing.T, b []byte) {
		if plain, err := seal.open(b, []byte("aad")); err == nil {
			b = plain
		}
		ticket, state, err := decodePayload(b)
		if err != nil {
			return
		}
		t2, s2, err := decodePayload(encodePayload(ticket, state))
		if err != nil || !bytes.Equal(t2, ticket) || !bytes.Equal(s2, state) {
			t.Fatalf("payload does not survive a round trip: %v", err)
		}
		expiry(state, time.Now())
	})
}

func FuzzDecodeRedisEntry(f *testing.F) {
	now := time.Unix(1_800_000_000, 123)
	f.Add(encodeEntry(Ticket{Data: []byte("abc"), TLS13: true, Received: now, Expires: now.Add(time.Hour)}))
	f.Add(encodeEntry(Ticket{Data: []byte("s12"), Received: now, Expires: now.Add(time.Hour)}))
	f.Add("-0000000000000000001" + "3" + "00000000000000000001")
	f.Fuzz(func(t *testing.T, e string) {
		tk, err := decodeEntry(e)
		if err != nil {
			return
		}
		// An entry that decodes is exactly what encoding its ticket makes:
		// the scripts read the same bytes as the Go side.
		if again := encodeEntry(tk); again != e {
			t.Fatalf("round trip changed the entry: %q != %q", again, e)
		}
	})
}

func FuzzDecodeCookie(f *testing.F) {
	rec := CookieRecord{Key: "example.com;/;sid", Data: []byte("abc"), Expires: time.Unix(1_800_000_000, 5)}
	f.Add(encodeCookie(rec))
	f.Add(encodeCookie(CookieRecord{Key: "k", Expires: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}))
	seal, _ := newSealer(bytes.Repeat([]byte{9}, SealKeySize))
	f.Add(seal.seal(encodeCookie(rec), []byte("aad")))
	f.Add(encodePayload([]byte("ticket"), []byte("state")))
	f.Fuzz(func(t *testing.T, b []byte) {
		if plain, err := seal.open(b, []byte("aad")); err == nil {
			b = plain
		}
		rec, err := decodeCookie(b)
		if err != nil {
			return
		}
		if rec.Key == "" || len(rec.Key)+len(rec.Data) > maxCookie {
			t.Fatalf("decoded a record that could not be saved: %+v", rec)
		}
		// What decodes must encode back to a record that decodes alike.
		again, err := decodeCookie(encodeCookie(rec))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if again.Key != rec.Key || !bytes.Equal(again.Data, rec.Data) || !again.Expires.Equal(rec.Expires) {
			t.Fatalf("round trip changed the record: %+v != %+v", again, rec)
		}
	})
}

func FuzzDecodeBoltCookie(f *testing.F) {
	f.Add(encodeBoltCookie(Cookie{Data: []byte("sealed bytes"), Expires: time.Unix(1_800_000_000, 7)}))
	f.Add(encodeBoltCookie(Cookie{Expires: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeBoltCookie(b, true)
		if err != nil {
			return
		}
		head, err := decodeBoltCookie(b, false)
		if err != nil || !head.Expires.Equal(c.Expires) {
			t.Fatalf("the expiry alone reads otherwise: %v, %v", head.Expires, err)
		}
		again, err := decodeBoltCookie(encodeBoltCookie(c), true)
		if err != nil || !bytes.Equal(again.Data, c.Data) || !again.Expires.Equal(c.Expires) {
			t.Fatalf("round trip changed the record: %+v, %v; was %+v", again, err, c)
		}
	})
}

func FuzzDecodeRedisCookie(f *testing.F) {
	f.Add(encodeCookieEntry(Cookie{Data: []byte("abc"), Expires: time.Unix(1_800_000_000, 123)}))
	f.Add(encodeCookieEntry(Cookie{Expires: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}))
	f.Add("-0000000000000000001")
	f.Fuzz(func(t *testing.T, e string) {
		c, err := decodeCookieEntry(e)
		if err != nil {
			return
		}
		// An entry that decodes is exactly what encoding its record makes:
		// the scripts read the same bytes as the Go side.
		if again := encodeCookieEntry(c); again != e {
			t.Fatalf("round trip changed the entry: %q != %q", again, e)
		}
	})
}
