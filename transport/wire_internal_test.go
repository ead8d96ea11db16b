package transport

import (
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/revisit-crawl/revisit/internal/fpserver"
	"github.com/revisit-crawl/revisit/internal/h2fp"
	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/ticketstore"
)

// wireCookie has one crumb shorter than 20 bytes and one longer, which
// Firefox encodes differently.
const wireCookie = "a=1; session=0123456789abcdefghijkl"

// references are the real browsers' values (PROFILES.md, TLS-NOTES.md),
// written out here so that a profile cannot drift from them along with its
// own fields.
var references = map[string]struct {
	ja4, akamai string
	prio        h2fp.Priority
	firstStream uint32
}{
	"chrome133": {"t13d1516h2_8daaf6152771_d8a2da3f94cd",
		"1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p", h2fp.Priority{Exclusive: true, Weight: 255}, 1},
	"firefox135": {"t13d1717h2_5b57614c22b0_3cbfd9057e0d",
		"1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s", h2fp.Priority{Weight: 41}, 3},
	"safari18": {"t13d2014h2_a09f3c656075_e42f34c56612",
		"2:0;3:100;4:2097152;9:1|10420225|0|m,s,a,p", h2fp.Priority{Weight: 255}, 1},
}

// TestProfileWire fingerprints what each profile really sends, from the
// bytes a local server receives: JA4 on a first visit and on a revisit,
// the Akamai HTTP/2 fingerprint, HEADERS priority and first stream ID,
// header order on HTTP/2 and HTTP/1.1, and the HPACK representations the
// browser is known to use.
func TestProfileWire(t *testing.T) {
	ca := tlstest.NewCA(t)
	for _, p := range Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			srv := fpserver.New(t, ca, nil, nil)
			st, err := ticketstore.Open(filepath.Join(t.TempDir(), "t.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tr, err := New(Config{Profile: p, Tickets: st, RootCAs: ca.Pool})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()

			wireGet(t, tr, srv.URL()+"/", nil)
			tr.CloseIdleConnections()
			extra := http.Header{"Referer": {srv.URL() + "/from"}, "Cookie": {wireCookie}}
			wireGet(t, tr, srv.URL()+"/a", extra)
			wireGet(t, tr, srv.URL()+"/b", extra)

			visits := srv.Visits()
			if len(visits) != 2 {
				t.Fatalf("%d connections, want 2", len(visits))
			}
			checkVisit(t, p, visits[0], p.JA4, false)
			checkVisit(t, p, visits[1], p.JA4Revisit, true)
			h := visits[1].H2.Headers
			if len(h) != 2 {
				t.Fatalf("second connection carried %d HEADERS, want 2", len(h))
			}
			want := wantH2Names(p, true)
			for i := range h {
				if got := h[i].Names(); !slices.Equal(got, want) {
					t.Errorf("request %d header order\n got %v\nwant %v", i+1, got, want)
				}
			}
			if id := h[1].StreamID; id != h[0].StreamID+2 {
				t.Errorf("second stream ID = %d, want %d", id, h[0].StreamID+2)
			}
			checkHPACK(t, p, h[0], h[1])
		})
	}
}

func wireGet(t *testing.T, tr *Transport, url string, h http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func checkVisit(t *testing.T, p *Profile, v fpserver.Visit, ja4 string, revisit bool) {
	t.Helper()
	if v.JA4 != ja4 || v.Offered41 != revisit || v.DidResume != revisit {
		t.Errorf("revisit=%v: JA4 %s, offered 41 %v, resumed %v; want %s, %v, %v",
			revisit, v.JA4, v.Offered41, v.DidResume, ja4, revisit, revisit)
	}
	if v.H2 == nil {
		t.Fatalf("revisit=%v: connection is not HTTP/2 (ALPN %q, parse error %v)", revisit, v.ALPN, v.ParseErr)
	}
	ref, ok := references[p.Name]
	if !ok {
		t.Fatalf("no reference values for %s", p.Name)
	}
	if !revisit && v.JA4 != ref.ja4 {
		t.Errorf("JA4 = %s, want the browser's %s", v.JA4, ref.ja4)
	}
	if got := v.H2.Akamai(); got != ref.akamai || got != p.H2.Akamai() {
		t.Errorf("revisit=%v: Akamai = %s, want %s", revisit, got, ref.akamai)
	}
	first := v.H2.Headers[0]
	if !first.HasPriority || first.Priority != ref.prio {
		t.Errorf("HEADERS priority = %v %+v, want %+v", first.HasPriority, first.Priority, ref.prio)
	}
	if first.StreamID != ref.firstStream {
		t.Errorf("first stream ID = %d, want %d", first.StreamID, ref.firstStream)
	}
	// The revisit's requests carry a referer and a cookie.
	if got, want := first.Names(), wantH2Names(p, revisit); !slices.Equal(got, want) {
		t.Errorf("header order\n got %v\nwant %v", got, want)
	}
	if len(v.H2.Priorities) > 0 {
		t.Errorf("%d PRIORITY frames sent, want none", len(v.H2.Priorities))
	}
}

// wantH2Names is the field order the profile must send for a navigation
// request, with the referer and cookie of wireGet when extra is set.
func wantH2Names(p *Profile, extra bool) []string {
	var names []string
	for _, r := range p.H2.PseudoOrder {
		names = append(names, map[rune]string{'m': ":method", 'a': ":authority", 's': ":scheme", 'p': ":path"}[r])
	}
	for _, f := range p.headers {
		switch {
		case f.value != "":
			names = append(names, f.name)
		case extra && f.name == "referer":
			names = append(names, f.name)
		case extra && f.name == "cookie":
			names = append(names, "cookie", "cookie")
		}
	}
	return names
}

// checkHPACK checks the representations of the profile's browser: a
// first request on a connection and the next one, which should reuse the
// dynamic table.
func checkHPACK(t *testing.T, p *Profile, first, next h2fp.Headers) {
	t.Helper()
	rep := func(h h2fp.Headers, name, value string) h2fp.Representation {
		for _, f := range h.Fields {
			if f.Name == name && (value == "" || f.Value == value) {
				return f.Rep
			}
		}
		t.Fatalf("no %s field", name)
		return 0
	}
	type want struct {
		h     h2fp.Headers
		name  string
		value string
		rep   h2fp.Representation
	}
	var cases []want
	switch p.Name {
	case "chrome133":
		cases = []want{
			{first, ":authority", "", h2fp.LiteralIncremental},
			{first, ":path", "", h2fp.LiteralNoIndex},
			{first, "user-agent", "", h2fp.LiteralIncremental},
			{first, "cookie", "a=1", h2fp.LiteralIncremental},
			{next, ":authority", "", h2fp.Indexed},
			{next, "user-agent", "", h2fp.Indexed},
			{next, "cookie", "a=1", h2fp.Indexed},
		}
	case "firefox135":
		cases = []want{
			{first, ":path", "", h2fp.LiteralNoIndex},
			{first, "cookie", "a=1", h2fp.LiteralNoIndex},
			{first, "cookie", "session=0123456789abcdefghijkl", h2fp.LiteralIncremental},
			{next, "cookie", "a=1", h2fp.LiteralNoIndex},
			{next, "cookie", "session=0123456789abcdefghijkl", h2fp.Indexed},
			{next, "user-agent", "", h2fp.Indexed},
		}
		for _, f := range first.Fields {
			literal := f.Rep != h2fp.Indexed
			if literal && (!f.ValueHuffman || (f.Index == 0 && !f.NameHuffman)) {
				t.Errorf("firefox135: %s sent without Huffman coding", f.Name)
			}
		}
	default:
		cases = []want{
			{first, "user-agent", "", h2fp.LiteralIncremental},
			{next, "user-agent", "", h2fp.Indexed},
		}
	}
	for _, c := range cases {
		which := "first"
		if c.h.StreamID == next.StreamID {
			which = "next"
		}
		if got := rep(c.h, c.name, c.value); got != c.rep {
			t.Errorf("%s request: %s %s sent as %v, want %v", which, c.name, c.value, got, c.rep)
		}
	}
}

// TestProfileWireH1 checks the HTTP/1.1 header order and case of each
// profile, Connection included.
func TestProfileWireH1(t *testing.T) {
	ca := tlstest.NewCA(t)
	for _, p := range Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			srv := fpserver.New(t, ca, nil, &fpserver.Options{NextProtos: []string{"http/1.1"}})
			tr, err := New(Config{Profile: p, RootCAs: ca.Pool})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			wireGet(t, tr, srv.URL()+"/", http.Header{"Cookie": {wireCookie}, "X-Extra": {"1"}})
			visits := srv.Visits()
			if len(visits) != 1 || len(visits[0].H1) != 1 {
				t.Fatalf("got %d visits, want one HTTP/1.1 request", len(visits))
			}
			want := []string{"Host"}
			for _, f := range p.h1Headers {
				if f.value != "" || f.name == "Connection" || f.name == "Cookie" {
					want = append(want, f.name)
				}
			}
			want = append(want, "X-Extra")
			if got := visits[0].H1[0].Names(); !slices.Equal(got, want) {
				t.Errorf("header order\n got %v\nwant %v", got, want)
			}
			if got := visits[0].H1[0].Get("cookie"); got != wireCookie {
				t.Errorf("Cookie = %q, want %q", got, wireCookie)
			}
			for _, f := range visits[0].H1[0].Header {
				if strings.EqualFold(f.Name, "te") || f.Name == "priority" {
					t.Errorf("HTTP/1.1 request carries %s", f.Name)
				}
			}
		})
	}
}
