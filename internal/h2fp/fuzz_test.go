package h2fp

import (
	"testing"

	"golang.org/x/net/http2"
)

// FuzzParse checks that Parse never panics and that what it returns holds
// together.
func FuzzParse(f *testing.F) {
	for _, p := range profiles {
		f.Add(p.preface(f))
	}
	f.Add(fullConn(f))
	f.Add(join(f, http2.ClientPreface, "00000d 01 24 00000001 80000000 ff 8286 8441 8cf1 e3c2"))
	f.Add(join(f, http2.ClientPreface, "000005 01 04 00000001 20 3fe1 1f 82"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if c == nil {
			t.Fatalf("Parse returned a nil Conn (error %v)", err)
		}
		_ = c.Akamai()
		for _, h := range c.Headers {
			for _, fl := range h.Fields {
				if fl.Rep < Indexed || fl.Rep > LiteralNeverIndexed {
					t.Fatalf("field %q has representation %v", fl.Name, fl.Rep)
				}
			}
		}
		if len(c.Headers) > len(c.Frames) {
			t.Fatalf("%d header blocks from %d frames", len(c.Headers), len(c.Frames))
		}
	})
}

// FuzzH1Requests checks that ParseH1All never panics.
func FuzzH1Requests(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab"))
	f.Fuzz(func(t *testing.T, b []byte) {
		reqs, _ := ParseH1All(b)
		for _, r := range reqs {
			if r.Method == "" || r.Target == "" {
				t.Fatalf("request without method or target: %+v", r)
			}
		}
	})
}
