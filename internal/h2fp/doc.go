// Package h2fp fingerprints an HTTP client from the plaintext bytes it
// sends, so that tests can check what a client really puts on the wire.
//
// # HTTP/2
//
// [Parse] reads what a client sends on an HTTP/2 connection after TLS: the
// client preface, then frames. It keeps the order of everything it records:
// the SETTINGS, connection and stream WINDOW_UPDATEs, PRIORITY frames, each
// header block with its priority fields, and DATA, RST_STREAM, PING and
// GOAWAY frames. Header blocks are decoded with a dynamic table that follows
// the client's, and every field notes how HPACK coded it: indexed, a literal
// with incremental indexing, without indexing or never indexed, with the
// name index it referenced and whether its strings were Huffman coded.
//
// [Conn.Akamai] turns a parsed connection into the Akamai HTTP/2
// fingerprint ("S|WU|P|PS"):
//
//	1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p
//
// Settings appear as id:value in wire order, joined by ';'. The second part
// is the increment of the first connection-level WINDOW_UPDATE, or "00"
// without one. The third lists PRIORITY frames as
// stream:exclusive:dependency:weight joined by ',', or "0" without any; the
// weight is printed as the priority weight (1 to 256), one more than the
// byte on the wire, as the Akamai paper prints Firefox's frames. The last
// part gives the pseudo-header order of the first header block as the
// initials of the names, joined by ','.
//
// # HTTP/1.1
//
// [ParseH1] and [ParseH1All] read HTTP/1.1 request heads, keeping the header
// names in wire order and in the case the client wrote them.
//
// # Robustness
//
// Input is taken as untrusted: the parsers return errors for malformed
// bytes and never panic. Input that stops in the middle of a frame or a
// request is not an error; parsing stops there and the result says so.
package h2fp
