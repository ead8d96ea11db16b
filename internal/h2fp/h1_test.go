package h2fp

import (
	"errors"
	"io"
	"reflect"
	"testing"
)

func TestParseH1(t *testing.T) {
	chrome := "GET /a?b=1 HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive\r\n" +
		"sec-ch-ua-mobile: ?0\r\nUser-Agent: Mozilla/5.0\r\nAccept-Encoding:  gzip, br \r\n\r\n"
	tests := []struct {
		name string
		in   string
		want *H1Request
	}{
		{"title and lower case kept", chrome, &H1Request{
			Method: "GET", Target: "/a?b=1", Version: "HTTP/1.1",
			Header: []H1Field{{"Host", "a.test"}, {"Connection", "keep-alive"},
				{"sec-ch-ua-mobile", "?0"}, {"User-Agent", "Mozilla/5.0"},
				{"Accept-Encoding", "gzip, br"}},
		}},
		{"bare line feeds", "HEAD / HTTP/1.0\nhost: x\n\n", &H1Request{
			Method: "HEAD", Target: "/", Version: "HTTP/1.0",
			Header: []H1Field{{"host", "x"}},
		}},
		{"empty value and leading empty line", "\r\nGET * HTTP/1.1\r\nX-Empty:\r\n\r\n",
			&H1Request{Method: "GET", Target: "*", Version: "HTTP/1.1",
				Header: []H1Field{{"X-Empty", ""}}}},
		{"body by length", "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcdef", &H1Request{
			Method: "POST", Target: "/", Version: "HTTP/1.1",
			Header: []H1Field{{"Content-Length", "3"}}, Body: []byte("abc"),
		}},
		{"body cut off", "POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc", &H1Request{
			Method: "POST", Target: "/", Version: "HTTP/1.1",
			Header: []H1Field{{"Content-Length", "9"}}, Body: []byte("abc"), Truncated: true,
		}},
		{"chunked with trailer", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n", &H1Request{
			Method: "POST", Target: "/", Version: "HTTP/1.1",
			Header: []H1Field{{"Transfer-Encoding", "chunked"}}, Body: []byte("abcde"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseH1([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseH1: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseH1 = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseH1Errors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"no version", "GET /\r\n\r\n", ErrH1},
		{"not http", "GET / SPDY/3\r\n\r\n", ErrH1},
		{"folded line", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", ErrH1},
		{"no colon", "GET / HTTP/1.1\r\nAb\r\n\r\n", ErrH1},
		{"space before colon", "GET / HTTP/1.1\r\nA : b\r\n\r\n", ErrH1},
		{"bad length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", ErrH1},
		{"lengths differ",
			"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", ErrH1},
		{"gzip coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", ErrH1},
		{"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ErrH1},
		{"chunk overruns",
			"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", ErrH1},
		{"head cut off", "GET / HTTP/1.1\r\nHost: a", io.ErrUnexpectedEOF},
		{"empty", "", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseH1([]byte(tc.in)); !errors.Is(err, tc.want) {
				t.Errorf("ParseH1(%q) error = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseH1All(t *testing.T) {
	in := "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi" +
		"POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n" +
		"GET /4 HTTP/1.1\r\nHo"
	reqs, err := ParseH1All([]byte(in))
	if err != nil {
		t.Fatalf("ParseH1All: %v", err)
	}
	var targets []string
	for _, r := range reqs {
		targets = append(targets, r.Target)
	}
	if want := []string{"/1", "/2", "/3"}; !reflect.DeepEqual(targets, want) {
		t.Errorf("targets = %q, want %q", targets, want)
	}
	if got := reqs[0].Get("HOST"); got != "a" {
		t.Errorf("Get(HOST) = %q, want a", got)
	}
	if got := reqs[1].Names(); !reflect.DeepEqual(got, []string{"Content-Length"}) {
		t.Errorf("Names() = %q, want [Content-Length]", got)
	}

	reqs, err = ParseH1All([]byte("GET / HTTP/1.1\r\n\r\nBAD\r\n\r\n"))
	if !errors.Is(err, ErrH1) || len(reqs) != 1 {
		t.Errorf("ParseH1All with a bad second request = %d requests, %v; want 1, ErrH1",
			len(reqs), err)
	}
}
