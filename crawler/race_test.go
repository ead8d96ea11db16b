//go:build race

package crawler_test

// The race detector makes HTML parsing about ten times slower; keep
// TestPageOfManyLinks well under 20 seconds under it. Without -race it
// runs the full million.
const manyLinks = 200_000
