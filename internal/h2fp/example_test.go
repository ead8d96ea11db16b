package h2fp_test

import (
	"bytes"
	"fmt"

	"github.com/revisit-crawl/revisit/internal/h2fp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func ExampleParse() {
	// Write what a client sends first: preface, SETTINGS, WINDOW_UPDATE and
	// a request.
	var buf, block bytes.Buffer
	buf.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&buf, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 4194304})
	fr.WriteWindowUpdate(0, 1073741824)
	enc := hpack.NewEncoder(&block)
	pairs := [][2]string{{":authority", "a.test"}, {":method", "GET"}, {":path", "/"},
		{":scheme", "https"}, {"accept-encoding", "gzip"}}
	for _, p := range pairs {
		enc.WriteField(hpack.HeaderField{Name: p[0], Value: p[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(),
		EndStream: true, EndHeaders: true})

	c, err := h2fp.Parse(buf.Bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Akamai())
	for _, f := range c.Headers[0].Fields {
		fmt.Printf("%s: %s (%v, index %d)\n", f.Name, f.Value, f.Rep, f.Index)
	}
	// Output:
	// 2:0;4:4194304|1073741824|0|a,m,p,s
	// :authority: a.test (LiteralIncremental, index 1)
	// :method: GET (Indexed, index 2)
	// :path: / (Indexed, index 4)
	// :scheme: https (Indexed, index 7)
	// accept-encoding: gzip (LiteralIncremental, index 16)
}

func ExampleParseH1() {
	r, err := h2fp.ParseH1([]byte("GET / HTTP/1.1\r\nHost: a.test\r\n" +
		"User-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Method, r.Target, r.Version)
	fmt.Println(r.Names())
	// Output:
	// GET / HTTP/1.1
	// [Host User-Agent Accept-Encoding]
}
