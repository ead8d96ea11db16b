package main

import (
	"strings"
	"testing"
)

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkH2/small/revisit-2   	   66297	     36063 ns/op	    9953 B/op	      90 allocs/op
BenchmarkH2/small/revisit-2   	   68445	     36645 ns/op	    9955 B/op	      90 allocs/op
BenchmarkH2/small/revisit-2   	   62635	     35563 ns/op	    9958 B/op	      91 allocs/op
BenchmarkCrawl-2   	       3	1127065527 ns/op	      1775 pages/s
PASS
`
	tab, err := parseBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	want := "| H2/small/revisit | 36063 (35563–36645) | 9955 (9953–9958) | 90 (90–91) |  |"
	if got := strings.Split(tab.Markdown(), "\n")[2]; got != want {
		t.Errorf("row = %q, want %q", got, want)
	}
	if got := tab.Values["Crawl pages/s"]; got != "1775" {
		t.Errorf("Crawl pages/s = %q, want 1775", got)
	}
	if _, err := parseBench(strings.NewReader("PASS\n")); err == nil {
		t.Error("output without benchmarks: no error")
	}
}
