package realproxy_test

import (
	"testing"

	"github.com/revisit-crawl/revisit/internal/realproxy"
)

// Examples have no test to hand to the constructors, so this is only
// compiled; t stands for the *testing.T of the test using the proxies.

func ExampleNewMicrosocks() {
	var t testing.TB

	// Two exits with credentials, one of each program, seen by targets as
	// 127.0.0.2 and 127.0.0.3.
	a := realproxy.NewMicrosocks(t, &realproxy.Options{User: "u", Password: "p", Egress: "127.0.0.2"})
	b := realproxy.NewTinyproxy(t, &realproxy.Options{User: "u", Password: "p", Egress: "127.0.0.3"})
	_ = a.URL("u", "p") // socks5://u:p@127.0.0.1:port, for the client under test
	_ = b.URL("u", "p") // http://u:p@127.0.0.1:port

	// ... start a download through a, then crash the proxy under it and
	// bring it back on the same address:
	a.Kill()
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
}
