// Package chain makes the certificates of a realistic HTTPS server for
// benchmarks: a root, an intermediate and a leaf for localhost and
// 127.0.0.1, so that a full handshake carries a leaf plus an intermediate,
// as public sites do, and a resumed one saves them.
package chain

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Chain is a server certificate chain and the root that trusts it.
type Chain struct {
	// Cert is the leaf with the intermediate, and the leaf's key.
	Cert tls.Certificate
	// Roots holds the root; RootPEM is it in PEM.
	Roots   *x509.CertPool
	RootPEM []byte
}

// New makes a chain. The root and intermediate are RSA-2048 and the leaf
// ECDSA P-256, a common shape for public sites.
func New() (*Chain, error) {
	now := time.Now()
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	root := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "revisit bench root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	midKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	mid := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "revisit bench intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, MaxPathLenZero: true,
	}
	midDER, err := x509.CreateCertificate(rand.Reader, mid, root, &midKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	midCert, _ := x509.ParseCertificate(midDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, midCert, &leafKey.PublicKey, midKey)
	if err != nil {
		return nil, err
	}
	c := &Chain{
		Cert:    tls.Certificate{Certificate: [][]byte{leafDER, midDER}, PrivateKey: leafKey},
		Roots:   x509.NewCertPool(),
		RootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}),
	}
	c.Roots.AppendCertsFromPEM(c.RootPEM)
	return c, nil
}

// WriteFiles writes root.pem, and chain.pem and key.pem (the leaf with the
// intermediate, and the leaf's key, as nginx wants them) into dir, and
// returns their paths.
func (c *Chain) WriteFiles(dir string) (root, cert, key string, err error) {
	root = filepath.Join(dir, "root.pem")
	cert = filepath.Join(dir, "chain.pem")
	key = filepath.Join(dir, "key.pem")
	var certPEM []byte
	for _, der := range c.Cert.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.Cert.PrivateKey)
	if err != nil {
		return "", "", "", err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	for _, f := range []struct {
		path string
		data []byte
	}{{root, c.RootPEM}, {cert, certPEM}, {key, keyPEM}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return "", "", "", fmt.Errorf("chain: %w", err)
		}
	}
	return root, cert, key, nil
}
