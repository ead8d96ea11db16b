// Command resume shows what revisit's ticket store is for. It starts a
// local TLS 1.3 server, connects to it with Chrome 133's ClientHello, and
// keeps the session ticket the server issues in a ticket store on disk.
// Then it closes the store, as a crawler that exits would, opens it again
// and connects once more: the connection offers the stored ticket
// (pre_shared_key, extension 41, as its last extension) and resumes.
//
//	go run ./examples/resume
//	go run ./examples/resume -tickets /tmp/tickets.db -proxy socks5://u:pw@127.0.0.1:1080
//
// The -proxy flag only names the exit whose partition holds the tickets;
// the example always connects directly to its local server.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	utls "github.com/refraction-networking/utls"

	"github.com/revisit-crawl/revisit/ticketstore"
)

func main() {
	ticketsPath := flag.String("tickets", "", "ticket store file (default: a new temporary file)")
	proxy := flag.String("proxy", "", "exit whose partition holds the tickets (default direct)")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*ticketsPath, *proxy); err != nil {
		log.Fatal(err)
	}
}

func run(path, proxy string) error {
	if path == "" {
		dir, err := os.MkdirTemp("", "revisit-resume")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "tickets.db")
	}
	exit, err := ticketstore.ParseExit(proxy)
	if err != nil {
		return err
	}
	addr, roots, err := startServer()
	if err != nil {
		return err
	}
	fmt.Printf("local TLS server on %s; tickets in %s; exit %s\n", addr, path, exit)

	for run := 1; run <= 2; run++ { // the second opening stands for a restarted crawler
		store, err := ticketstore.Open(path, nil)
		if err != nil {
			return err
		}
		part, err := store.Partition(exit, "chrome")
		if err != nil {
			store.Close()
			return err
		}
		for visit := 1; visit <= 2; visit++ {
			if err := connect(part, addr, roots, run, visit); err != nil {
				store.Close()
				return err
			}
		}
		if err := store.Close(); err != nil {
			return err
		}
	}
	return nil
}

// connect makes one connection the way revisit's transport does: a fresh
// Chrome 133 spec with pre_shared_key appended, and a session cache bound
// to the server's host and port.
func connect(part *ticketstore.Partition, addr string, roots *x509.CertPool, run, visit int) error {
	_, port, _ := net.SplitHostPort(addr)
	cache, err := part.Cache(net.JoinHostPort("localhost", port))
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	cfg := &utls.Config{
		ServerName:         "localhost",
		RootCAs:            roots,
		ClientSessionCache: cache,
		OmitEmptyPsk:       true,
	}
	uc := utls.UClient(conn, cfg, utls.HelloCustom)
	spec, err := utls.UTLSIdToSpec(utls.HelloChrome_133)
	if err != nil {
		return err
	}
	spec.Extensions = append(spec.Extensions, &utls.UtlsPreSharedKeyExtension{})
	if err := uc.ApplyPreset(&spec); err != nil {
		return err
	}
	start := time.Now()
	if err := uc.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	took := time.Since(start)
	// TLS 1.3 tickets arrive after the handshake, as the client reads.
	if _, err := io.ReadAll(uc); err != nil {
		return err
	}
	fmt.Printf("store opening %d, connection %d: ticket offered=%-5v resumed=%-5v handshake %v, tickets received %d\n",
		run, visit, cache.Offered(), uc.ConnectionState().DidResume, took.Round(time.Microsecond), cache.Received())
	return cache.Err()
}

// startServer serves TLS 1.3 on loopback with a throwaway certificate and
// answers each connection with a line.
func startServer() (string, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS13,
	})
	if err != nil {
		return "", nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "hello from the local server\n")
			}()
		}
	}()
	return ln.Addr().String(), roots, nil
}
