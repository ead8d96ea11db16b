package proxytest_test

import (
	"crypto/tls"
	"testing"

	"github.com/revisit-crawl/revisit/internal/proxytest"
)

// Examples have no test to hand to the constructors, so these are only
// compiled; t stands for the *testing.T of the test using the proxy.

func ExampleNewSOCKS5() {
	var t testing.TB

	// Two exits with credentials, seen by targets as 127.0.0.2 and
	// 127.0.0.3.
	a := proxytest.NewSOCKS5(t, &proxytest.Options{User: "u", Password: "p", Egress: "127.0.0.2"})
	b := proxytest.NewSOCKS5(t, &proxytest.Options{User: "u", Password: "p", Egress: "127.0.0.3"})
	_ = a.URL("u", "p") // socks5://u:p@127.0.0.1:port, for the client under test
	_ = b.URL("u", "p")

	// ... run the client through a, then check what the proxy saw:
	if a.Tunnels() != 1 || a.Targets()[0] != "localhost:8443" {
		t.Errorf("proxy a: %d tunnels to %q", a.Tunnels(), a.Targets())
	}
}

func ExampleProxy_KillAll() {
	var t testing.TB
	p := proxytest.NewHTTP(t, nil)
	_ = p.URL("", "") // http://127.0.0.1:port

	// ... start a download through p, then let the proxy die under it:
	if n := p.KillAll(); n != 1 {
		t.Fatalf("KillAll() = %d, want the one download", n)
	}
}

func ExampleNewHTTP_https() {
	var t testing.TB
	var cert tls.Certificate // for example the leaf of internal/tlstest's CA
	p := proxytest.NewHTTP(t, &proxytest.Options{Certificate: &cert})
	_ = p.URL("", "") // https://127.0.0.1:port
}
