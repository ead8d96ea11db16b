package h2fp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrH1 means the bytes are not a well-formed HTTP/1.1 request.
var ErrH1 = errors.New("h2fp: malformed http/1.1 request")

// H1Request is an HTTP/1.1 request as a client wrote it. It is safe for
// concurrent reads.
type H1Request struct {
	// Method, Target and Version are the parts of the request line, such
	// as "GET", "/index.html" and "HTTP/1.1".
	Method, Target, Version string
	// Header lists the header fields in wire order, names in the case the
	// client wrote them and values without surrounding white space.
	Header []H1Field
	// Body holds the body, with chunked coding removed; nil without one.
	Body []byte
	// Truncated reports that the bytes ended inside the body.
	Truncated bool
}

// H1Field is one HTTP/1.1 header field.
type H1Field struct {
	Name, Value string
}

// Names returns the header names in wire order and as written.
func (r *H1Request) Names() []string {
	names := make([]string, len(r.Header))
	for i, f := range r.Header {
		names[i] = f.Name
	}
	return names
}

// Get returns the value of the first field whose name matches name in any
// case, or "".
func (r *H1Request) Get(name string) string {
	for _, f := range r.Header {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// ParseH1 parses the HTTP/1.1 request at the start of b: its head and,
// when Content-Length or chunked Transfer-Encoding announces one, its
// body. Lines may end in CRLF or a bare LF. A head cut off before its
// empty line gives an error matching io.ErrUnexpectedEOF; a cut-off body
// sets Truncated. Other errors match ErrH1.
func ParseH1(b []byte) (*H1Request, error) {
	r, _, err := parseH1(b)
	return r, err
}

// ParseH1All parses the requests a client sent one after another on a
// connection. Parsing stops without error where the bytes end inside a
// request head, and that request is left out; a request whose body is cut
// off is kept with Truncated set. On error the requests before the
// malformed one are returned with it.
func ParseH1All(b []byte) ([]*H1Request, error) {
	var reqs []*H1Request
	for len(b) > 0 {
		r, n, err := parseH1(b)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return reqs, nil
		}
		if err != nil {
			return reqs, err
		}
		reqs = append(reqs, r)
		b = b[n:]
	}
	return reqs, nil
}

// parseH1 parses one request and returns how many bytes it took.
func parseH1(b []byte) (*H1Request, int, error) {
	// Skip empty lines before the request line, as RFC 9112 section 2.2
	// asks of servers.
	line, pos, ok := nextLine(b, 0)
	for ok && len(line) == 0 && pos < len(b) {
		line, pos, ok = nextLine(b, pos)
	}
	if !ok {
		return nil, 0, fmt.Errorf("h2fp: request line: %w", io.ErrUnexpectedEOF)
	}
	r, err := parseRequestLine(line)
	if err != nil {
		return nil, 0, err
	}
	if pos, err = r.parseHeader(b, pos); err != nil {
		return nil, 0, err
	}
	n, err := r.parseBody(b[pos:])
	return r, pos + n, err
}

// nextLine returns the line starting at pos without its line ending, and
// the position after that ending; ok is false when no line ending follows.
func nextLine(b []byte, pos int) (line []byte, next int, ok bool) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return nil, len(b), false
	}
	line = b[pos : pos+i]
	return bytes.TrimSuffix(line, []byte("\r")), pos + i + 1, true
}

func parseRequestLine(line []byte) (*H1Request, error) {
	parts := strings.Split(string(line), " ")
	valid := len(parts) == 3 && parts[0] != "" && parts[1] != "" &&
		strings.HasPrefix(parts[2], "HTTP/")
	if !valid {
		return nil, fmt.Errorf("%w: request line %q", ErrH1, line)
	}
	return &H1Request{Method: parts[0], Target: parts[1], Version: parts[2]}, nil
}

// parseHeader reads header lines from pos up to the empty line and
// returns the position after it.
func (r *H1Request) parseHeader(b []byte, pos int) (int, error) {
	for {
		line, next, ok := nextLine(b, pos)
		if !ok {
			return 0, fmt.Errorf("h2fp: header: %w", io.ErrUnexpectedEOF)
		}
		if len(line) == 0 {
			return next, nil
		}
		f, err := parseField(line)
		if err != nil {
			return 0, err
		}
		r.Header = append(r.Header, f)
		pos = next
	}
}

func parseField(line []byte) (H1Field, error) {
	name, value, found := strings.Cut(string(line), ":")
	// A leading space or tab would be an obsolete line folding, which
	// RFC 9112 section 5.2 lets servers reject.
	if !found || name == "" || strings.ContainsAny(name, " \t") {
		return H1Field{}, fmt.Errorf("%w: header line %q", ErrH1, line)
	}
	return H1Field{Name: name, Value: strings.Trim(value, " \t")}, nil
}
