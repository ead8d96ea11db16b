//go:build !race

package frontier_test

const scaleURLs = 100_000
