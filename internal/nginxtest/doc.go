// Package nginxtest runs a real nginx on loopback as a TLS 1.3, HTTP/2
// server for integration tests, so that the client code is checked against
// a server that is not Go's.
//
// [Start] writes a configuration into the test's temporary directory, runs
// nginx as a child process, waits until it completes TLS handshakes and
// registers a cleanup that stops it. Everything nginx writes (pid file,
// logs, request body buffers) stays inside that directory, and nginx runs
// as a single process under the test's own user, so the same setup works
// as root and as anyone else.
//
// # Finding nginx
//
// Start looks for [Options.Binary], else for nginx on $PATH, else for
// /usr/sbin/nginx. When none is there the test is skipped, unless the
// environment variable REVISIT_INTEGRATION is 1: then the test fails, so a
// CI machine that lost its nginx does not pass by skipping. On Debian and
// Ubuntu the package is called nginx; it has the HTTP/2 and WebDAV modules
// that the configuration uses.
//
// # What the server offers
//
//   - Static files from [Server.Root].
//   - PUT /upload/NAME stores the request body as Root/upload/NAME (with
//     any directories NAME names, and no size limit); GET /upload/NAME
//     returns it, and DELETE removes it.
//   - GET /status/NNN answers with status NNN and nginx's own error page,
//     for NNN in 200, 204, 400, 403, 404, 410, 429, 500, 502 and 503.
//   - TLS 1.3 only by default ([Options.TLS12] adds 1.2), ALPN h2 and
//     http/1.1 ([Options.H1Only] drops h2), no early data.
//   - Resumption by session ticket only: the session cache is off, and the
//     ticket key comes from a file that stays the same over
//     [Server.Restart], so a ticket issued before a restart resumes after
//     it. Two servers given the same [Options.TicketKeyFile] accept each
//     other's tickets.
//   - [Options.MaxConcurrentStreams] and [Options.KeepaliveRequests] set
//     nginx's stream limit and the number of requests after which it closes
//     a connection; on HTTP/2 that close is a GOAWAY.
//
// # The access log
//
// nginx writes one line per request, unbuffered, and [Server.Requests]
// parses them into [Request] values. The fields are separated by tabs, in
// this order:
//
//	$msec $remote_addr $remote_port $connection $connection_requests
//	$ssl_protocol $ssl_session_reused $server_protocol $request_method
//	$request_uri $status $bytes_sent $body_bytes_sent $request_length
//	$request_time $request
//
// nginx escapes quotes, backslashes and bytes outside printable ASCII as
// \xHH (so no field holds a tab) and logs an empty value as "-"; the parser
// undoes both. nginx logs a request after it has sent the response, so a
// client can see the response before the line is written:
// [Server.WaitRequests] waits for it.
//
// # Limitations
//
// nginx's connection serial numbers ($connection) start again after a
// restart, and the readiness probe uses one of them. nginx runs with
// master_process off, which its documentation reserves for development: a
// crash ends the server instead of restarting a worker, which the cleanup
// then reports.
package nginxtest
