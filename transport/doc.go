// Package transport is an http.RoundTripper that looks like a browser on
// the wire and comes back to servers as a returning visitor.
//
// # Profiles
//
// A [Profile] is one browser version's fingerprint, layer by layer: the
// ClientHello (built with utls), the HTTP/2 connection preface, HEADERS
// priority, pseudo-header order and HPACK habits, and the default request
// headers with their order on HTTP/1.1 and HTTP/2. Three exist:
//
//   - chrome133 (alias chrome, the default): utls's Chrome 133 ClientHello
//     with pre_shared_key (41) added last, which utls's presets lack. JA4
//     t13d1516h2_8daaf6152771_d8a2da3f94cd on a first visit,
//     t13d1517h2_8daaf6152771_b6f405a00624 with a ticket; HTTP/2
//     1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p.
//   - firefox135 (alias firefox): a custom spec, JA4
//     t13d1717h2_5b57614c22b0_3cbfd9057e0d; HTTP/2
//     1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s.
//   - safari18 (alias safari): a custom spec, JA4
//     t13d2014h2_a09f3c656075_e42f34c56612; HTTP/2
//     2:0;3:100;4:2097152;9:1|10420225|0|m,s,a,p.
//
// On a first visit utls leaves the empty pre_shared_key extension out;
// with a ticket it is the last extension. [Lookup] finds a profile by name
// or alias, [Profiles] lists them.
//
// # Exits and tickets
//
// Each request leaves through an exit: direct, or a proxy (http://,
// https:// or socks5://, with optional user:password) chosen by
// [Config.Proxy] or [Config.Proxies] or, per request, by [WithProxy]. Each
// exit has its own partition of the ticket store (see package ticketstore) and its own
// connection pools, keyed by origin: a connection dialled through one exit
// never carries a request meant for another, and a ticket received through
// one exit is only ever offered through it. Proxy passwords appear in no
// error, log line or label.
//
// For every new TLS connection the transport builds a fresh utls Config
// and spec, always sets ServerName, and binds the partition's session cache
// to the connection's host and port. It takes the ticket before the
// handshake, so a TLS 1.3 ticket is offered once; tickets the server sends
// are stored as they arrive. utls cannot resume when the server answers the
// ticket with a HelloRetryRequest (a server that wants a key share Chrome
// did not send): the transport then dials once more without a ticket and
// marks the server so that the partition offers it none for
// [Config.NoTicketFor].
//
// In first-visit mode ([Config.FirstVisit], or [WithFirstVisit] per
// request) new connections offer no ticket; tickets received are still
// stored.
//
// # Identities and cookies
//
// An identity is what a server sees of one visitor: an exit, the address
// it was observed to leave from when that is known, and the profile.
// Every connection belongs to one identity, and only that identity's
// tickets and cookies travel on it. With [Config.ExitProbe] the transport
// asks the probe, through the proxy, where its traffic leaves from before
// each new connection, so a gateway that changes its exit under one
// credential gets one identity per address: a ticket issued to one address
// is never offered from another, and an address's tickets come back into
// use when the gateway returns to it. Proxies that [Config.Rotating]
// declares get no tickets at all.
//
// With [Config.Cookies] each identity keeps an RFC 6265 cookie jar (public
// suffix list, host-only and domain cookies, Secure and the cookie
// prefixes, Chrome's limits), stored in the identity's ticket store
// partition so that cookies survive restarts beside the tickets; without a
// store, or for rotating proxies, in memory.
//
// When servers refuse the tickets offered through an identity
// [Config.RefusalLimit] times in a row, it offers none for
// [Config.RefusalPause]. [Config.Proxies] is a pool of exits: each host
// goes through one, always the same, unless [Transport.Retire] took its
// identity out of use, as a crawler does when a site blocks it.
// [Transport.Identities] counts, per identity, requests, errors, blocks,
// connections and tickets offered, accepted and refused.
//
// # HTTP
//
// HTTP/2 is used when ALPN selects it, HTTP/1.1 otherwise, with
// keep-alive. The HTTP/2 client connection is the package's own, built on
// x/net's Framer and HPACK decoder: it sends the profile's SETTINGS in
// order, its connection WINDOW_UPDATE, HEADERS with its priority fields,
// pseudo-header order, first stream ID and HPACK representations, and it
// handles flow control both ways, the server's stream limit, request
// bodies and trailers, GOAWAY (requests the server did not process are
// sent again on a new connection), RST_STREAM, PING and cancellation.
// The profile's default headers are added where the request has none of
// its own, and every header is written in the browser's order (headers
// the profile does not know follow, sorted) and, on HTTP/1.1, its case;
// cookies go as separate crumbs on HTTP/2. When the Accept-Encoding
// header is the profile's, gzip, deflate, br and zstd
// bodies are decoded transparently. Every response carries the facts of
// its connection ([Info]): exit label, profile, TLS version, ALPN, whether
// the connection was new, whether a ticket was offered and accepted, and
// the handshake time. resp.TLS is filled for both protocols. Hooks in the
// style of net/http/httptrace report dials, proxy tunnels, handshakes and
// tickets ([WithTrace]).
//
// # Limits
//
// At most [Config.MaxConnsPerHost] connections (6 by default, Chrome's
// figure) are open or being dialled per origin and exit; while the first
// connection to an origin is being made, or an HTTP/2 one, other requests
// wait for it instead of dialling their own. Idle connections close after
// [Config.IdleConnTimeout].
//
// BUG: utls keeps the private key of only the first classical key share.
// The firefox135 profile offers X25519 and P-256 shares; a TLS 1.3 server
// that takes neither X25519MLKEM768 nor X25519 picks P-256, and the
// handshake fails where Firefox's would not. The transport then dials
// again with the P-256 share alone (besides the hybrid one) and keeps
// doing so for that server: one failed handshake per server and
// transport, and a key share list that differs from Firefox's there.
//
// BUG: Firefox derives its X25519 share from the same key as the X25519
// half of its hybrid share; utls makes two keys. No fingerprint hash sees
// it, a server comparing the shares could.
package transport
