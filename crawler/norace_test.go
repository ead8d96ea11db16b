//go:build !race

package crawler_test

const manyLinks = 1_000_000
