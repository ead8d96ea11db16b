// Command resume demonstrates a returning visitor. It connects to a site
// twice, closes its ticket store as a crawler that exits would, opens it
// again and connects twice more. Without a URL it starts its own HTTPS
// site on 127.0.0.1 and prints what that server saw of each handshake: no
// pre_shared_key (extension 41) on the first visit, then 41 as the last
// extension and a resumed session, also after the store was reopened.
//
//	go run ./examples/resume
//	go run ./examples/resume -tickets /tmp/tickets.db https://example.com/
package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/revisit-crawl/revisit/examples/internal/localsite"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

func main() {
	ticketsPath := flag.String("tickets", "", "ticket store file (default: a new temporary file)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: resume [-tickets FILE] [URL]")
		flag.PrintDefaults()
	}
	flag.Parse()
	log.SetFlags(0)
	if err := run(*ticketsPath, flag.Arg(0)); err != nil {
		log.Fatal(err)
	}
}

func run(path, target string) error {
	if path == "" {
		dir, err := os.MkdirTemp("", "revisit-resume")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "tickets.db")
	}
	var site *localsite.Site
	var roots *x509.CertPool
	if target == "" {
		var err error
		if site, err = localsite.Start(localsite.Options{}); err != nil {
			return err
		}
		defer site.Close()
		target, roots = site.URL+"/", site.RootCAs
	}
	fmt.Printf("target %s, tickets in %s\n", target, path)

	for opening := 1; opening <= 2; opening++ { // the second stands for a restarted crawler
		store, err := ticketstore.Open(path, nil)
		if err != nil {
			return err
		}
		tr, err := transport.New(transport.Config{Tickets: store, RootCAs: roots})
		if err != nil {
			store.Close()
			return err
		}
		for visit := 1; visit <= 2; visit++ {
			info, err := fetch(tr, target)
			if err != nil {
				tr.Close()
				store.Close()
				return err
			}
			fmt.Printf("store opening %d, connection %d: ticket offered=%-5v resumed=%-5v handshake %v",
				opening, visit, info.PSKOffered, info.Resumed, info.HandshakeTime.Round(time.Microsecond))
			if site != nil {
				v := site.Visits()
				last := v[len(v)-1]
				fmt.Printf(" | server saw: 41=%-5v 41 last=%-5v resumed=%v", last.Offered41, last.Last41, last.Resumed)
			}
			fmt.Println()
			tr.CloseIdleConnections() // the next request makes a new connection
		}
		tr.Close()
		if err := store.Close(); err != nil {
			return err
		}
	}
	return nil
}

func fetch(tr *transport.Transport, target string) (transport.ConnInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return transport.ConnInfo{}, err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return transport.ConnInfo{}, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	info, _ := transport.Info(resp)
	return info, nil
}
