// Command localcrawl crawls a small web site that it serves itself over
// HTTPS on 127.0.0.1, so it runs anywhere, offline. It shows the spider
// API (an OnHTML callback that follows links and one that emits items),
// and what the ticket store buys: the crawl runs twice over the same
// ticket store, and the second run's new connections resume their TLS
// sessions.
//
//	go run ./examples/localcrawl
//	go run ./examples/localcrawl -pages 500 -concurrency 8
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/revisit-crawl/revisit/crawler"
	"github.com/revisit-crawl/revisit/frontier"
	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

func main() {
	pages := flag.Int("pages", 100, "pages on the local site")
	concurrency := flag.Int("concurrency", 4, "fetches in flight")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*pages, *concurrency); err != nil {
		log.Fatal(err)
	}
}

func run(pages, concurrency int) error {
	base, roots, err := serve(pages)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "localcrawl")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tickets := filepath.Join(dir, "tickets.db")
	fmt.Printf("serving %d pages at %s\n", pages, base)

	// Two crawls, each with its own frontier (so both fetch every page)
	// and the same ticket store, as two runs of a crawler on different
	// days would be.
	for i := 1; i <= 2; i++ {
		state := filepath.Join(dir, fmt.Sprintf("state-%d.db", i))
		if err := crawl(base, roots, tickets, state, concurrency); err != nil {
			return err
		}
	}
	return nil
}

func crawl(base string, roots *x509.CertPool, ticketsPath, statePath string, concurrency int) error {
	store, err := ticketstore.Open(ticketsPath, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	// MaxConnsPerHost 1 and closing idle connections between pages would
	// show more handshakes; the defaults keep connections alive, as a
	// browser does.
	tr, err := transport.New(transport.Config{Tickets: store, RootCAs: roots})
	if err != nil {
		return err
	}
	defer tr.Close()
	front, err := frontier.Open(statePath, &frontier.Options{PerHost: concurrency})
	if err != nil {
		return err
	}
	defer front.Close()

	c, err := crawler.New(crawler.Config{
		Frontier:    front,
		Transport:   tr,
		MaxDepth:    -1,
		Concurrency: concurrency,
	})
	if err != nil {
		return err
	}
	var titles atomic.Int64
	c.OnHTML("a[href]", func(e *crawler.Element) { e.Follow("href") })
	c.OnHTML("h1", func(e *crawler.Element) {
		if strings.HasPrefix(e.Text(), "Page") {
			titles.Add(1)
		}
	})
	start := time.Now()
	if err := c.Run(context.Background(), base+"/"); err != nil {
		return err
	}
	st := c.Stats()
	fmt.Printf("crawl done in %v: %d pages with a title\n  %s", time.Since(start).Round(time.Millisecond),
		titles.Load(), st.Summary())
	return nil
}

// serve starts the site: page i links to 2i+1 and 2i+2.
func serve(pages int) (string, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			i := 0
			if p := strings.TrimPrefix(r.URL.Path, "/p/"); p != r.URL.Path {
				if i, err = strconv.Atoi(p); err != nil || i >= pages {
					http.NotFound(w, r)
					return
				}
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<html><body><h1>Page %d</h1>", i)
			for _, j := range []int{2*i + 1, 2*i + 2} {
				if j < pages {
					fmt.Fprintf(w, "<a href=\"/p/%d\">next</a>", j)
				}
			}
			fmt.Fprint(w, "</body></html>")
		}),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.ServeTLS(ln, "", "")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "https://localhost:" + port, roots, nil
}
