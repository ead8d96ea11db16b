// Package transport is an http.RoundTripper that looks like a browser on
// the wire and comes back to servers as a returning visitor.
//
// # Profiles
//
// A [Profile] is one browser version's fingerprint: the ClientHello (built
// with utls), the HTTP/2 connection parameters and the default request
// headers with their order. The default, chrome133, sends Chrome 133's
// ClientHello with the pre_shared_key extension (41) added last, which
// utls's presets lack: on a first visit utls leaves the empty extension
// out and the JA4 is Chrome's t13d1516h2_8daaf6152771_d8a2da3f94cd; with a
// ticket it is t13d1517h2_8daaf6152771_b6f405a00624, again Chrome's.
// [Lookup] finds a profile by name, [Profiles] lists them.
//
// # Exits and tickets
//
// Each request leaves through an exit: direct, or a proxy (http://,
// https:// or socks5://, with optional user:password) chosen by
// [Config.Proxy] or, per request, by [WithProxy]. Each exit has its own
// partition of the ticket store (see package ticketstore) and its own
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
// # HTTP
//
// HTTP/2 is used when ALPN selects it (an x/net/http2 client connection
// over the utls connection), HTTP/1.1 otherwise, with keep-alive. The
// profile's default headers are added where the request has none of its
// own; on HTTP/1.1 they are written in the browser's order and case. When
// the Accept-Encoding header is the profile's, gzip, deflate, br and zstd
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
// BUG: HTTP/2 goes through x/net/http2, whose connection preface (SETTINGS,
// window update, pseudo-header order, HEADERS priority) and header order are
// Go's, not the profile's: the HTTP/2 fingerprint does not match the
// browser yet. HTTP/1.1 and the ClientHello do.
package transport
