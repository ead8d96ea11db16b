package ja4_test

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/revisit-crawl/revisit/internal/ja4"
)

func ExampleHello_JA4() {
	// The lists of the JA4 specification's example.
	h := &ja4.Hello{
		CipherSuites: []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
			0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		Extensions: []uint16{0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d,
			0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015},
		ALPN:                []string{"h2", "http/1.1"},
		SupportedVersions:   []uint16{0x0304, 0x0303},
		SignatureAlgorithms: []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
	}
	fmt.Println(h.JA4())
	// Output: t13d1516h2_8daaf6152771_e5627efa2ab1
}

func ExampleRecorder() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	rec := ja4.NewRecorder(ln)
	defer rec.Close()

	// Any server reading from rec's connections sees the client's bytes
	// unchanged. This one hangs up after its first read, which is when
	// the ClientHello gets recorded.
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := rec.Accept()
		if err != nil {
			return
		}
		c.Read(make([]byte, 1))
		c.Close()
	}()

	// The handshake fails, since the server hangs up; the hello was sent.
	c, err := tls.Dial("tcp", rec.Addr().String(), &tls.Config{
		ServerName: "example.com",
		NextProtos: []string{"h2"},
	})
	if err == nil {
		c.Close()
	}
	<-done

	for _, r := range rec.Hellos() {
		fmt.Println(r.Err, r.Hello.SNI, r.Hello.ALPN, r.Hello.JA4()[:4])
	}
	// Output: <nil> example.com [h2] t13d
}
