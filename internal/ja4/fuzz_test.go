package ja4

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"testing"
)

// ja4Form is the shape of every JA4 fingerprint this package writes.
var ja4Form = regexp.MustCompile(`^t[0-9a-z]{2}[di][0-9]{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)

func FuzzParse(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 9))
	seeds := [][]byte{
		chrome133(rng, false).message(),
		chrome133(rng, true).message(),
		firefox135().message(),
		safari18(f, rng).message(),
		basicSpec().message(),
		helloSpec{noExts: true}.message(),
	}
	for _, s := range seeds {
		f.Add(s)
		f.Add(records(s, 64))
	}
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Parse(data)
		if err != nil {
			if h != nil {
				t.Fatalf("Parse returned a Hello with error %v", err)
			}
		} else {
			if got := h.JA4(); !ja4Form.MatchString(got) {
				t.Fatalf("JA4() = %q, not of the JA4 form", got)
			}
			if got := h.JA4O(); !ja4Form.MatchString(got) {
				t.Fatalf("JA4O() = %q, not of the JA4 form", got)
			}
			h.JA4R()
			h.JA4RO()
		}

		// ReadClientHello consumes a prefix of its input, and what it
		// returns parses exactly as the whole input does.
		raw, rerr := ReadClientHello(bytes.NewReader(data))
		if !bytes.HasPrefix(data, raw) {
			t.Fatalf("ReadClientHello returned % x, not a prefix of its input", raw)
		}
		if rerr != nil || !isRecordType(data[0]) {
			return
		}
		h2, err2 := Parse(raw)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Parse(input) error %v, Parse(records read) error %v", err, err2)
		}
		if err == nil && h.JA4RO() != h2.JA4RO() {
			t.Fatalf("Parse(input) = %s, Parse(records read) = %s", h.JA4RO(), h2.JA4RO())
		}
	})
}
