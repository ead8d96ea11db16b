package transport_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/revisit-crawl/revisit/internal/tlstest"
	"github.com/revisit-crawl/revisit/transport"
)

func encode(t testing.TB, coding string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w, _ = zlib.NewWriterLevel(&buf, zlib.DefaultCompression)
	case "deflate-raw":
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	case "br":
		w = brotli.NewWriter(&buf)
	case "zstd":
		w, _ = zstd.NewWriter(&buf)
	default:
		t.Fatalf("unknown coding %s", coding)
	}
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

func TestDecodesContentCodings(t *testing.T) {
	page := bytes.Repeat([]byte("<p>revisit</p>\n"), 1000)
	ca := tlstest.NewCA(t)
	srv := tlstest.NewHTTPServer(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coding := r.URL.Query().Get("c")
		wire := strings.TrimSuffix(coding, "-raw")
		body := page
		if coding == "broken" {
			wire, body = "gzip", []byte("not gzip at all")
		} else if coding != "" {
			body = encode(t, coding, page)
		}
		if wire != "" {
			w.Header().Set("Content-Encoding", wire)
		}
		w.Write(body)
	}), nil)
	tr, _ := transport.New(transport.Config{RootCAs: ca.Pool})
	defer tr.Close()

	for _, coding := range []string{"", "gzip", "deflate", "deflate-raw", "br", "zstd"} {
		t.Run("coding="+coding, func(t *testing.T) {
			resp, err := tr.RoundTrip(mustReq(t, srv.URL+"/?c="+coding))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, page) {
				t.Fatalf("decoded %d bytes, want the %d-byte page", len(got), len(page))
			}
			if ce := resp.Header.Get("Content-Encoding"); ce != "" {
				t.Errorf("Content-Encoding %q left on a decoded response", ce)
			}
		})
	}

	t.Run("caller's own Accept-Encoding", func(t *testing.T) {
		req := withHeader(mustReq(t, srv.URL+"/?c=gzip"), "Accept-Encoding", "gzip")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Content-Encoding") != "gzip" || bytes.Equal(got, page) {
			t.Fatal("response decoded though the caller asked for the coding itself")
		}
	})

	t.Run("broken body", func(t *testing.T) {
		resp, err := tr.RoundTrip(mustReq(t, srv.URL+"/?c=broken"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err == nil || !strings.Contains(err.Error(), "decode gzip") {
			t.Fatalf("reading a broken gzip body: %v, want a decode error", err)
		}
	})
}

// TestHTTP1HeaderOrder reads the raw request the transport writes and
// checks it against Chrome's HTTP/1.1 order and case.
func TestHTTP1HeaderOrder(t *testing.T) {
	ca := tlstest.NewCA(t)
	lines := make(chan []string, 1)
	srv := tlstest.NewServer(t, ca, &tlstest.Options{
		Config: &tls.Config{NextProtos: []string{"http/1.1"}},
		Handle: func(c *tls.Conn) {
			br := bufio.NewReader(c)
			var got []string
			for {
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
				got = append(got, strings.TrimRight(line, "\r\n"))
			}
			lines <- got
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		},
	})
	tr, _ := transport.New(transport.Config{RootCAs: ca.Pool})
	defer tr.Close()
	req := mustReq(t, "https://"+srv.Addr+"/path?q=1")
	req.Header.Set("Referer", "https://example.com/")
	req.Header.Set("X-Extra", "1")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()

	var names []string
	for _, l := range <-lines {
		name, _, _ := strings.Cut(l, ":")
		names = append(names, name)
	}
	want := []string{"GET /path?q=1 HTTP/1.1", "Host", "Connection", "sec-ch-ua", "sec-ch-ua-mobile",
		"sec-ch-ua-platform", "Upgrade-Insecure-Requests", "User-Agent", "Accept", "Sec-Fetch-Site",
		"Sec-Fetch-Mode", "Sec-Fetch-User", "Sec-Fetch-Dest", "Referer", "Accept-Encoding",
		"Accept-Language", "X-Extra"}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Fatalf("request head:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}
