package transport

import (
	"context"
	"net/url"
)

type ctxKey int

const (
	keyProxy ctxKey = iota
	keyFirstVisit
	keyTrace
)

// WithProxy returns a context that sends requests made with it through
// proxy, whatever the transport's Proxy function says. A nil proxy means a
// direct connection.
func WithProxy(ctx context.Context, proxy *url.URL) context.Context {
	return context.WithValue(ctx, keyProxy, proxyChoice{proxy})
}

// proxyChoice wraps the URL so that a nil URL (direct) is still a choice.
type proxyChoice struct{ u *url.URL }

// WithFirstVisit returns a context whose requests offer no resumption
// ticket on new connections, as on a browser's first visit. Tickets the
// servers send are still stored. It does not stop a request from reusing
// an open connection.
func WithFirstVisit(ctx context.Context) context.Context {
	return context.WithValue(ctx, keyFirstVisit, true)
}

func firstVisit(ctx context.Context) bool {
	v, _ := ctx.Value(keyFirstVisit).(bool)
	return v
}
