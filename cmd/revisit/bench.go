package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

func (c *cli) bench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("revisit bench handshake", flag.ContinueOnError)
	n := fs.Int("n", 20, "connections per mode")
	proxy := fs.String("proxy", "", "proxy `URL` to connect through")
	ca := fs.String("ca", "", "PEM `FILE` of roots to trust in addition to the system's")
	profile := fs.String("profile", "chrome", "fingerprint profile")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: revisit bench handshake [--n N] [--proxy URL] [--ca FILE] [--profile NAME] URL")
		fs.PrintDefaults()
	}
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 || rest[0] != "handshake" {
		return usagef(fs, "bench needs: handshake URL")
	}
	target, err := url.Parse(rest[1])
	if err != nil || target.Scheme != "https" || target.Host == "" {
		return usagef(fs, "%q is not an https URL", rest[1])
	}
	if *n < 1 {
		return usagef(fs, "--n must be at least 1")
	}
	p, err := transport.Lookup(*profile)
	if err != nil {
		return usagef(fs, "%v", err)
	}
	var proxyURL *url.URL
	if *proxy != "" {
		if proxyURL, err = parseProxy(*proxy); err != nil {
			return usagef(fs, "%v", err)
		}
	}
	roots, err := loadRoots(*ca)
	if err != nil {
		return usagef(fs, "--ca: %v", err)
	}

	b := &handshakeBench{target: target, n: *n, profile: p, proxy: proxyURL, roots: roots}
	return b.run(ctx, c.stdout)
}

// handshakeBench makes n new connections without a ticket and n offering
// one, and compares them.
type handshakeBench struct {
	target  *url.URL
	n       int
	profile *transport.Profile
	proxy   *url.URL
	roots   *x509.CertPool
	// received counts bytes read off the wire by the current connection.
	received atomic.Int64
}

type modeResult struct {
	name                            string
	conns, offered, resumed, failed int
	handshakes                      []time.Duration
	bytes                           int64
}

func (b *handshakeBench) run(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "revisit-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := ticketstore.Open(filepath.Join(dir, "tickets.db"), nil)
	if err != nil {
		return err
	}
	defer store.Close()

	exit := "direct"
	if b.proxy != nil {
		exit = b.proxy.Redacted()
	}
	fmt.Fprintf(w, "revisit bench handshake %s via %s, profile %s, %d new connections per mode\n\n",
		b.target.Redacted(), exit, b.profile.Name, b.n)
	full, err := b.mode(ctx, "full", store, true)
	if err != nil {
		return err
	}
	resumed, err := b.mode(ctx, "resumed", store, false)
	if err != nil {
		return err
	}
	report(w, full, resumed)
	return nil
}

func (b *handshakeBench) mode(ctx context.Context, name string, store *ticketstore.Store, firstVisit bool) (modeResult, error) {
	res := modeResult{name: name}
	cfg := transport.Config{Profile: b.profile, Tickets: store, FirstVisit: firstVisit,
		RootCAs: b.roots, DialContext: b.dial}
	if b.proxy != nil {
		cfg.Proxy = func(*http.Request) (*url.URL, error) { return b.proxy, nil }
	}
	tr, err := transport.New(cfg)
	if err != nil {
		return res, err
	}
	defer tr.Close()
	// One connection first, so that the resumed mode has a ticket.
	if _, err := b.fetch(ctx, tr); err != nil {
		return res, err
	}
	for range b.n {
		b.received.Store(0)
		info, err := b.fetch(ctx, tr)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.failed++
			continue
		}
		res.conns++
		res.bytes += b.received.Load()
		res.handshakes = append(res.handshakes, info.HandshakeTime)
		if info.PSKOffered {
			res.offered++
		}
		if info.Resumed {
			res.resumed++
		}
	}
	return res, nil
}

func (b *handshakeBench) fetch(ctx context.Context, tr *transport.Transport) (transport.ConnInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.target.String(), nil)
	if err != nil {
		return transport.ConnInfo{}, err
	}
	req.Close = true
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return transport.ConnInfo{}, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	tr.CloseIdleConnections()
	info, _ := transport.Info(resp)
	return info, nil
}

// dial counts the bytes each connection receives.
func (b *handshakeBench) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: &b.received}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func report(w io.Writer, modes ...modeResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tconnections\tfailed\tticket offered\tresumed\thandshake p50\tmean\tbytes received/conn\t")
	means := make([]float64, len(modes))
	bytes := make([]float64, len(modes))
	for i, m := range modes {
		p50, mean := stats(m.handshakes)
		means[i] = float64(mean)
		if m.conns > 0 {
			bytes[i] = float64(m.bytes) / float64(m.conns)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%v\t%v\t%.0f\t\n", m.name, m.conns, m.failed, m.offered,
			m.resumed, p50.Round(time.Microsecond), mean.Round(time.Microsecond), bytes[i])
	}
	tw.Flush()
	if len(modes) == 2 && means[0] > 0 && bytes[0] > 0 {
		r := modes[1]
		accepted := 0.0
		if r.offered > 0 {
			accepted = float64(r.resumed) / float64(r.offered)
		}
		fmt.Fprintf(w, "\nresumed/full: handshake time %.2f, bytes received %.2f; server accepted %.0f%% of the tickets offered\n",
			means[1]/means[0], bytes[1]/bytes[0], 100*accepted)
	}
}

func stats(ds []time.Duration) (p50, mean time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return s[len(s)/2], sum / time.Duration(len(s))
}
