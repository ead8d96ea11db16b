package frontier_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/revisit-crawl/revisit/frontier"
)

func Example() {
	dir, _ := os.MkdirTemp("", "frontier-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// A robots.txt source standing in for the crawler's HTTP client.
	robots := func(ctx context.Context, url string) (int, []byte, error) {
		return 200, []byte("User-agent: *\nDisallow: /private/\n"), nil
	}
	f, err := frontier.Open(filepath.Join(dir, "state.db"), &frontier.Options{Robots: robots})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()

	res, _ := f.Push(ctx,
		frontier.Request{URL: "HTTP://Example.COM:80/a/../index.html#top"},
		frontier.Request{URL: "http://example.com/index.html"},
		frontier.Request{URL: "http://example.com/private/x"},
		frontier.Request{URL: "mailto:someone@example.com"})
	fmt.Println("added", res.Added, "duplicates", res.Duplicates, "rejected", len(res.Rejected))

	for {
		l, err := f.Next(ctx)
		if errors.Is(err, frontier.ErrDrained) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("fetch", l.URL)
		f.Done(ctx, l)
	}
	st, _ := f.Stats(ctx)
	fmt.Println("done", st.Done, "disallowed", st.Disallowed)
	// Output:
	// added 2 duplicates 1 rejected 1
	// fetch http://example.com/index.html
	// done 1 disallowed 1
}

func ExampleCanonicalize() {
	for _, u := range []string{
		"HTTPS://Bücher.Example:443/a/./b/../%7Euser?q=1#frag",
		"http://user:secret@example.com/",
	} {
		c, err := frontier.Canonicalize(u)
		fmt.Println(c, err)
	}
	// Output:
	// https://xn--bcher-kva.example/a/~user?q=1 <nil>
	//  frontier: invalid url: user info in url
}

func ExampleParseRobots() {
	r := frontier.ParseRobots([]byte("User-agent: revisit\nDisallow: /tmp\nAllow: /tmp/ok\n"))
	fmt.Println(r.Allowed("revisit/1.0", "/tmp/x"), r.Allowed("revisit/1.0", "/tmp/ok"))
	// Output: false true
}
