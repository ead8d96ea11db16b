package transport

import "errors"

// Errors of the transport. Errors about a proxy, a dial or a handshake wrap
// these and name the exit (without its password) and the server; match
// them with [errors.Is].
var (
	// ErrUnknownProfile means no profile has the name asked for.
	ErrUnknownProfile = errors.New("transport: unknown profile")
	// ErrProxyAuth means a proxy refused the credentials.
	ErrProxyAuth = errors.New("transport: proxy refused credentials")
	// ErrProxy means a proxy failed to open a tunnel.
	ErrProxy = errors.New("transport: proxy failed")
	// ErrHandshake means the TLS handshake with the server failed.
	ErrHandshake = errors.New("transport: tls handshake failed")
	// ErrClosed means the transport was closed.
	ErrClosed = errors.New("transport: closed")
	// ErrUnsupportedScheme means a request or proxy URL has a scheme the
	// transport does not speak.
	ErrUnsupportedScheme = errors.New("transport: unsupported scheme")
)
