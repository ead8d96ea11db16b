package h2fp

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// parseBody reads the body announced by r's header from the start of b
// and returns how many bytes it took (RFC 9112 section 6.3).
func (r *H1Request) parseBody(b []byte) (int, error) {
	if te := r.values("Transfer-Encoding"); len(te) > 0 {
		codings := strings.Split(strings.Join(te, ","), ",")
		last := strings.TrimSpace(codings[len(codings)-1])
		if !strings.EqualFold(last, "chunked") {
			return 0, fmt.Errorf("%w: transfer-encoding %q", ErrH1, strings.Join(te, ", "))
		}
		return r.parseChunked(b)
	}
	n, err := r.contentLength()
	if err != nil || n == 0 {
		return 0, err
	}
	if n > uint64(len(b)) {
		return r.cut(bytes.Clone(b), len(b))
	}
	r.Body = bytes.Clone(b[:n])
	return int(n), nil
}

// values returns the values of every field named name, in any case.
func (r *H1Request) values(name string) []string {
	var vs []string
	for _, f := range r.Header {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// contentLength returns the Content-Length, 0 without one. Several fields
// must agree.
func (r *H1Request) contentLength() (uint64, error) {
	vs := r.values("Content-Length")
	var n uint64
	for i, v := range vs {
		m, err := strconv.ParseUint(v, 10, 63)
		if err != nil || (i > 0 && m != n) {
			return 0, fmt.Errorf("%w: content-length %q", ErrH1, strings.Join(vs, ", "))
		}
		n = m
	}
	return n, nil
}

// parseChunked reads a chunked body and its trailer section (RFC 9112
// section 7.1), keeping the data and dropping extensions and trailers.
func (r *H1Request) parseChunked(b []byte) (int, error) {
	body := []byte{}
	pos := 0
	for {
		line, next, ok := nextLine(b, pos)
		if !ok {
			return r.cut(body, len(b))
		}
		size, err := chunkSize(line)
		if err != nil {
			return 0, err
		}
		pos = next
		if size == 0 {
			break
		}
		if size > uint64(len(b)-pos) {
			return r.cut(append(body, b[pos:]...), len(b))
		}
		body = append(body, b[pos:pos+int(size)]...)
		pos += int(size)
		if line, next, ok = nextLine(b, pos); !ok {
			return r.cut(body, len(b))
		}
		if len(line) != 0 {
			return 0, fmt.Errorf("%w: chunk longer than its size", ErrH1)
		}
		pos = next
	}
	r.Body = body
	return r.skipTrailers(b, pos)
}

// skipTrailers steps over trailer fields up to the empty line.
func (r *H1Request) skipTrailers(b []byte, pos int) (int, error) {
	for {
		line, next, ok := nextLine(b, pos)
		if !ok {
			r.Truncated = true
			return len(b), nil
		}
		pos = next
		if len(line) == 0 {
			return pos, nil
		}
	}
}

// cut records a body that the bytes ended inside of.
func (r *H1Request) cut(body []byte, n int) (int, error) {
	r.Body = body
	r.Truncated = true
	return n, nil
}

// chunkSize parses a chunk-size line, extensions left out.
func chunkSize(line []byte) (uint64, error) {
	s, _, _ := strings.Cut(string(line), ";")
	size, err := strconv.ParseUint(strings.TrimRight(s, " \t"), 16, 62)
	if err != nil {
		return 0, fmt.Errorf("%w: chunk size %q", ErrH1, line)
	}
	return size, nil
}
