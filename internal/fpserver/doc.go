// Package fpserver runs a local HTTPS server for tests that fingerprints
// every connection from the raw bytes its client sends, while answering the
// requests for real.
//
// For each connection the server keeps the ClientHello (parsed by package
// ja4, with its JA4 fingerprints), whether the handshake resumed a session,
// the negotiated ALPN protocol, and a copy of the first plaintext bytes the
// client sent after the handshake. Those bytes are parsed by package h2fp:
// as HTTP/2 frames when ALPN chose h2, as HTTP/1.1 requests otherwise.
//
//	srv := fpserver.New(t, tlstest.NewCA(t), handler, nil)
//	// ... let the client under test fetch srv.URL() ...
//	v := srv.Visits()[0]
//	v.JA4         // t13d1516h2_8daaf6152771_d8a2da3f94cd
//	v.H2.Akamai() // 1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p
//
// HTTP/2 connections are served by golang.org/x/net/http2 and HTTP/1.1 ones
// by net/http, so the server's own fingerprint is Go's. Handlers see
// Request.TLS on both. The server issues session tickets, so a client with
// a session cache resumes on its next connection.
//
// The server listens on 127.0.0.1 only. Its certificate comes from a
// [tlstest.CA] and is valid for localhost and 127.0.0.1.
package fpserver
