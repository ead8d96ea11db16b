package nginxtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Request is one line of the access log: what nginx saw of one request.
type Request struct {
	// Time is when nginx logged the request, to the millisecond.
	Time time.Time
	// RemoteAddr is the client's address as host:port, the form of the
	// client connection's LocalAddr().String().
	RemoteAddr string
	// Conn is nginx's serial number of the connection; it starts again
	// after a restart.
	Conn uint64
	// ConnRequests counts the requests made on the connection so far,
	// this one included.
	ConnRequests int
	// TLSVersion is nginx's name of the protocol, such as "TLSv1.3".
	TLSVersion string
	// Resumed reports a resumed TLS session ($ssl_session_reused "r").
	Resumed bool
	// Proto is the HTTP version, "HTTP/2.0" or "HTTP/1.1".
	Proto string
	// Method and URI are as the client sent them; URI holds the query.
	Method string
	URI    string
	// Status is the response status.
	Status int
	// BytesSent counts the response's bytes, headers included;
	// BodyBytesSent counts the body only.
	BytesSent     int64
	BodyBytesSent int64
	// RequestLength counts the request's bytes: request line (or
	// pseudo-headers), headers and body.
	RequestLength int64
	// Duration is nginx's request time, to the millisecond.
	Duration time.Duration
	// Line is the request line, "GET /a HTTP/2.0".
	Line string
}

const logFields = 16

// Requests returns the requests logged so far, oldest first, the ones
// from before a restart included. A line that does not parse fails the
// test (with Errorf) and is left out.
func (s *Server) Requests() []Request {
	b, err := os.ReadFile(filepath.Join(s.dir, "access.log"))
	if err != nil && !os.IsNotExist(err) {
		s.t.Errorf("nginxtest: %v", err)
	}
	// A line is complete once its newline is there; drop a line nginx is
	// writing this instant.
	text := string(b)
	text = text[:strings.LastIndexByte(text, '\n')+1]

	var reqs []Request
	for line := range strings.Lines(text) {
		r, err := parseLine(strings.TrimSuffix(line, "\n"))
		if err != nil {
			s.t.Errorf("%v", err)
			continue
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// WaitRequests waits until at least n requests are logged and returns
// them. nginx logs a request after sending its response, so a client may
// get there first. When ctx is done it returns what there is, and ctx's
// error.
func (s *Server) WaitRequests(ctx context.Context, n int) ([]Request, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		reqs := s.Requests()
		if len(reqs) >= n {
			return reqs, nil
		}
		select {
		case <-ctx.Done():
			return reqs, fmt.Errorf("nginxtest: %d requests logged, want %d: %w",
				len(reqs), n, ctx.Err())
		case <-tick.C:
		}
	}
}

// parseLine parses one access log line.
func parseLine(line string) (Request, error) {
	f := strings.Split(line, "\t")
	if len(f) != logFields {
		return Request{}, fmt.Errorf("nginxtest: access log line has %d fields, want %d: %q",
			len(f), logFields, line)
	}
	for i := range f {
		f[i] = unescape(f[i])
	}
	p := fieldParser{line: line}
	r := Request{
		Time:          time.UnixMilli(p.millis(f[0])),
		RemoteAddr:    net.JoinHostPort(f[1], f[2]),
		Conn:          uint64(p.int(f[3])),
		ConnRequests:  int(p.int(f[4])),
		TLSVersion:    f[5],
		Resumed:       f[6] == "r",
		Proto:         f[7],
		Method:        f[8],
		URI:           f[9],
		Status:        int(p.int(f[10])),
		BytesSent:     p.int(f[11]),
		BodyBytesSent: p.int(f[12]),
		RequestLength: p.int(f[13]),
		Duration:      time.Duration(p.millis(f[14])) * time.Millisecond,
		Line:          f[15],
	}
	return r, p.err
}

// fieldParser parses numbers, keeping the first error.
type fieldParser struct {
	line string
	err  error
}

func (p *fieldParser) fail(what, s string) {
	if p.err == nil {
		p.err = fmt.Errorf("nginxtest: access log: bad %s %q in %q", what, s, p.line)
	}
}

// int parses a non-negative integer; an empty field is 0.
func (p *fieldParser) int(s string) int64 {
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		p.fail("number", s)
	}
	return n
}

// millis parses nginx's seconds with three decimals, as in $msec and
// $request_time, into milliseconds.
func (p *fieldParser) millis(s string) int64 {
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 3 {
		p.fail("time", s)
		return 0
	}
	return p.int(sec)*1000 + p.int(frac)
}

// unescape undoes nginx's default log escaping: "-" for an empty value
// and \xHH for a quote, a backslash or a byte outside printable ASCII.
func unescape(s string) string {
	if s == "-" {
		return ""
	}
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
