// Package ja4 reads TLS ClientHello messages off the wire and computes their
// JA4 fingerprints, so that tests can check what a client really sends.
//
// # Reading and parsing
//
// [ReadClientHello] reads TLS records from a connection until one complete
// ClientHello has arrived, which may span several records, and returns every
// byte it consumed. Those bytes can be replayed to a real TLS server.
// [Parse] decodes them (or a bare handshake message) into a [Hello]. Both
// return an error for malformed input and never panic.
//
// # Fingerprints
//
// [Hello.JA4] follows the FoxIO JA4 TLS client fingerprint for TLS over TCP:
//
//	t13d1516h2_8daaf6152771_d8a2da3f94cd
//
// The first part holds the protocol ("t"), the TLS version (the highest
// non-GREASE entry of supported_versions, else the legacy version), "d" when
// a server_name extension is present and "i" otherwise, the number of cipher
// suites and of extensions (GREASE left out, capped at 99; the extension
// count includes server_name and ALPN), and the first and last character of
// the first ALPN protocol ("00" without one). The second part is the first
// 12 hex digits of the SHA-256 of the sorted cipher suites; the third hashes
// the sorted extensions without server_name (0) and ALPN (16), an underscore,
// and the signature algorithms in wire order. GREASE values never count.
// [Hello.JA4R] gives the same fingerprint before hashing, and [Hello.JA4O]
// and [Hello.JA4RO] the variants that keep the wire order.
//
// # Recording a server's clients
//
// [Recorder] wraps a [net.Listener] so that each accepted connection keeps a
// copy of the ClientHello it carried while passing every byte on unchanged.
// A crypto/tls server stacked on top works as usual.
package ja4
