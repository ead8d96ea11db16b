// Command items is a spider that extracts structured items: the quotes of
// a paginated catalogue, each with its author and tags, written as JSON
// Lines to standard output. Without a URL it serves its own catalogue on
// 127.0.0.1; given one, it expects the same markup (div.quote with
// span.text, small.author and a.tag, and li.next a for the next page).
//
//	go run ./examples/items > quotes.jsonl
package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/revisit-crawl/revisit/crawler"
	"github.com/revisit-crawl/revisit/examples/internal/localsite"
	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/transport"
)

// Quote is one extracted item.
type Quote struct {
	Text   string   `json:"text"`
	Author string   `json:"author"`
	Tags   []string `json:"tags"`
	Page   string   `json:"page"`
}

func main() {
	flag.Usage = func() { fmt.Fprintln(flag.CommandLine.Output(), "usage: items [URL]") }
	flag.Parse()
	log.SetFlags(0)
	if err := run(flag.Arg(0)); err != nil {
		log.Fatal(err)
	}
}

func run(start string) error {
	var roots *x509.CertPool
	if start == "" {
		site, err := localsite.Start(localsite.Options{Quotes: 5})
		if err != nil {
			return err
		}
		defer site.Close()
		start, roots = site.URL+"/quotes/1", site.RootCAs
	}
	dir, err := os.MkdirTemp("", "items")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	front, err := frontier.Open(filepath.Join(dir, "state.db"), &frontier.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer front.Close()
	tr, err := transport.New(transport.Config{RootCAs: roots})
	if err != nil {
		return err
	}
	defer tr.Close()

	c, err := crawler.New(crawler.Config{
		Frontier:  front,
		Transport: tr,
		MaxDepth:  -1,
		// Items go to standard output; page records are not wanted here.
		Sink: itemsOnly{crawler.NewJSONLSink(os.Stdout)},
	})
	if err != nil {
		return err
	}
	c.OnHTML("div.quote", func(e *crawler.Element) {
		q := Quote{
			Text:   e.Selection.Find("span.text").Text(),
			Author: e.Selection.Find("small.author").Text(),
			Page:   e.Response.Request.URL.String(),
		}
		for _, tag := range e.Selection.Find("a.tag").EachIter() {
			q.Tags = append(q.Tags, tag.Text())
		}
		if err := e.Response.Emit(q); err != nil {
			log.Print(err)
		}
	})
	c.OnHTML("li.next a[href]", func(e *crawler.Element) { e.Follow("href") })
	c.OnError(func(r *crawler.Response, err error) { log.Print(err) })
	if err := c.Run(context.Background(), start); err != nil {
		return err
	}
	log.Print(c.Stats())
	return nil
}

// itemsOnly passes items to a sink and drops page records.
type itemsOnly struct{ crawler.Sink }

func (itemsOnly) WriteRecord(*crawler.Record) error { return nil }
