//go:build race

package frontier_test

// The race detector slows the frontier about tenfold; keep TestHundredThousand near 20
// seconds under it. Without -race it runs the full 100,000.
const scaleURLs = 20_000
