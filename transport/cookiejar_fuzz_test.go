package transport

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzCookieRecord feeds arbitrary bytes to the cookie record decoder: it
// must return a record or an error of its own, never panic, and a record
// it returns must encode back to the very bytes it came from.
func FuzzCookieRecord(f *testing.F) {
	full := testCookieRecord()
	f.Add(encodeCookie(&full))
	session := cookieRecord{name: "a", domain: "192.0.2.1", path: "/", hostOnly: true,
		created: time.Unix(0, 1), accessed: time.Unix(0, 2), expires: time.Unix(0, 3)}
	f.Add(encodeCookie(&session))
	f.Add([]byte{cookieRecordV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeCookie(b)
		if err != nil {
			if !errors.Is(err, errBadCookieRecord) {
				t.Fatalf("decodeCookie error %v does not wrap errBadCookieRecord", err)
			}
			return
		}
		if again := encodeCookie(&r); !bytes.Equal(again, b) {
			t.Fatalf("encodeCookie(decodeCookie(%x)) = %x", b, again)
		}
		if r2, err := decodeCookie(encodeCookie(&r)); err != nil || !sameCookieRecord(r, r2) {
			t.Fatalf("re-encoded record decodes to %+v, %v; want %+v", r2, err, r)
		}
	})
}
