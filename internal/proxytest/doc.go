// Package proxytest runs real proxies on loopback for tests: SOCKS5
// (RFC 1928, with the username/password method of RFC 1929) and HTTP
// CONNECT, the latter also over TLS.
//
// Each proxy listens on 127.0.0.1 at a random port. Its constructor takes
// the test's [testing.TB] and registers a cleanup that stops the proxy and
// waits for all of its goroutines, so a test leaks nothing.
//
// # What a proxy offers a test
//
//   - [Options.Egress] picks the local address targets are dialed from, so
//     that a target server on loopback can tell two exits apart
//     (127.0.0.2 and 127.0.0.3 work on Linux).
//   - Counters: connections accepted, tunnels opened, authentication
//     failures, tunnels active; and [Proxy.Targets], every target requested
//     in the form the client sent it ("localhost:8080" stays a name, so a
//     test can tell remote DNS from local).
//   - [Proxy.KillAll] resets every connection at once, to test a proxy that
//     dies in the middle of a transfer.
//   - Deadlines: a handshake that takes too long and a tunnel idle in both
//     directions are closed, so a broken client cannot hang a test.
//
// Tunnels copy both ways and pass a half-close on: when one side stops
// writing, the other side's write half is shut and the reverse direction
// keeps flowing until it ends too.
//
// # Limitations
//
// The HTTP proxy handles CONNECT only; plain requests in absolute form
// ("GET http://host/ HTTP/1.1") get 405 Method Not Allowed. The SOCKS5
// proxy handles CONNECT only: BIND and UDP ASSOCIATE get reply 0x07.
package proxytest
