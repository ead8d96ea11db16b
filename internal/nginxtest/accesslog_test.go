package nginxtest

import (
	"strings"
	"testing"
	"time"
)

// tabs joins access log fields the way nginx writes them.
func tabs(fields ...string) string { return strings.Join(fields, "\t") }

func TestParseLine(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    Request
		wantErr bool
	}{
		{
			name: "h2 resumed",
			line: tabs("1733250000.123", "127.0.0.1", "45672", "7", "2", "TLSv1.3", "r",
				"HTTP/2.0", "GET", "/a.txt?x=1", "200", "125", "17", "37", "0.004",
				"GET /a.txt?x=1 HTTP/2.0"),
			want: Request{
				Time: time.UnixMilli(1733250000123), RemoteAddr: "127.0.0.1:45672",
				Conn: 7, ConnRequests: 2, TLSVersion: "TLSv1.3", Resumed: true,
				Proto: "HTTP/2.0", Method: "GET", URI: "/a.txt?x=1", Status: 200,
				BytesSent: 125, BodyBytesSent: 17, RequestLength: 37,
				Duration: 4 * time.Millisecond, Line: "GET /a.txt?x=1 HTTP/2.0",
			},
		},
		{
			name: "bad request, empty fields and escapes",
			line: tabs("1733250000.000", "::1", "5", "1", "1", "TLSv1.2", ".", "-", "-", "-",
				"400", "0", "0", "9", "0.000", `\x16\x03\x22z\x5C\xZZ`),
			want: Request{
				Time: time.UnixMilli(1733250000000), RemoteAddr: "[::1]:5",
				Conn: 1, ConnRequests: 1, TLSVersion: "TLSv1.2", Status: 400,
				RequestLength: 9, Line: "\x16\x03\"z\\\\xZZ",
			},
		},
		{name: "too few fields", line: tabs("1", "2", "3"), wantErr: true},
		{name: "empty", line: "", wantErr: true},
		{
			name: "bad status",
			line: tabs("1.000", "127.0.0.1", "1", "1", "1", "TLSv1.3", ".", "HTTP/1.1", "GET",
				"/", "ok", "0", "0", "0", "0.000", "GET / HTTP/1.1"),
			wantErr: true,
		},
		{
			name: "bad time",
			line: tabs("1", "127.0.0.1", "1", "1", "1", "TLSv1.3", ".", "HTTP/1.1", "GET",
				"/", "200", "0", "0", "0", "0.000", "GET / HTTP/1.1"),
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLine(tc.line)
			if tc.wantErr {
				if err == nil {
					t.Errorf("parseLine(%q) = %+v, want an error", tc.line, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseLine(%q) =\n%+v, %v\nwant\n%+v", tc.line, got, err, tc.want)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"-", ""},
		{"--", "--"},
		{"plain", "plain"},
		{`\x22quoted\x22`, `"quoted"`},
		{`\x5C`, `\`},
		{`end\x2`, `end\x2`},
		{`\xG0`, `\xG0`},
		{`\xff`, "\xff"},
	}
	for _, tc := range tests {
		if got := unescape(tc.in); got != tc.want {
			t.Errorf("unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParseLine checks that no line makes the parser panic, and that a
// line it accepts has every field it claims.
func FuzzParseLine(f *testing.F) {
	f.Add(tabs("1733250000.123", "127.0.0.1", "45672", "7", "2", "TLSv1.3", "r", "HTTP/2.0",
		"GET", "/", "200", "125", "17", "37", "0.004", "GET / HTTP/2.0"))
	f.Add("1.000" + strings.Repeat("\t-", logFields-3) + "\t0.000\t\\x")
	f.Add(strings.Repeat("\t", logFields-1))
	f.Fuzz(func(t *testing.T, line string) {
		r, err := parseLine(line)
		if err != nil {
			return
		}
		if r.Status < 0 || r.BytesSent < 0 || r.RequestLength < 0 || r.Duration < 0 {
			t.Errorf("parseLine(%q) = %+v: negative counts", line, r)
		}
	})
}
