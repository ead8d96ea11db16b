// Package realproxy runs real proxy servers from the operating system as
// child processes for integration tests: microsocks for SOCKS5 and
// tinyproxy for HTTP CONNECT. Where internal/proxytest checks the client
// against proxies written for the tests, this package checks it against
// software that other people wrote and deploy.
//
// [NewMicrosocks] and [NewTinyproxy] pick a free port on 127.0.0.1, start
// the proxy there with the credentials and egress address of [Options],
// wait until the process itself listens on that port, and register a
// cleanup that stops it. Everything the process writes is kept; the cleanup
// prints it when the test has failed, and [Proxy.Output] returns it at any
// time.
//
// # Finding the binaries
//
// Each constructor looks for [Options.Binary], else for the program on
// $PATH, else in /usr/bin. When it is not there the test is skipped, unless
// the environment variable REVISIT_INTEGRATION ([EnvIntegration]) is 1:
// then the test fails, so that a CI machine that lost a package does not
// pass by skipping. The Debian packages are microsocks and tinyproxy.
//
// # Ports
//
// A free port is found by listening on port 0 and closing the listener, so
// another process can take it before the child binds it. The child then
// exits, and the constructor tries again with another port, up to three
// times. A child counts as started only once the socket listening on the
// port is one of its own (read from /proc on Linux), so a test never talks
// to someone else's server by mistake.
//
// # Killing and restarting
//
// [Proxy.Kill] ends the process with SIGKILL, as a crash would: the kernel
// closes every connection through it. [Proxy.Restart] starts it again on
// the same port, so a client keeps the same proxy URL.
//
// # Limitations
//
//   - tinyproxy takes user names and passwords made of letters, digits,
//     '-', '.' and '_' only; the constructor fails the test on others.
//   - tinyproxy 1.11.1 (Debian 12) answers a CONNECT with wrong
//     credentials with 401 Unauthorized, not 407 Proxy Authentication
//     Required (one without credentials does get 407). Tinyproxy fixed
//     this upstream in 2024.
//   - Run as root, tinyproxy switches to the user nobody, and a process that
//     changes its user loses its parent-death signal: if the test binary is
//     killed (say on a test timeout) before its cleanups run, a tinyproxy
//     can outlive it. microsocks does not change users.
package realproxy
