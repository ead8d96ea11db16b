package ticketstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// SealKeySize is the length of a seal key in bytes.
const SealKeySize = 32

// sealer seals session payloads with AES-256-GCM. Each record's additional
// data is its partition and server key, so a sealed record moved to another
// place in the file no longer opens.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != SealKeySize {
		return nil, fmt.Errorf("ticketstore: seal key must be %d bytes, not %d", SealKeySize, len(key))
	}
	block, err := aes.NewCipher(derive(key, "revisit ticketstore seal v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plain, aad []byte) []byte {
	n := s.aead.NonceSize()
	out := make([]byte, 1+n, 1+n+len(plain)+s.aead.Overhead())
	out[0] = payloadSealed
	rand.Read(out[1:]) // never fails since Go 1.24
	return s.aead.Seal(out, out[1:1+n], plain, aad)
}

func (s *sealer) open(b, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(b) < 1+n+s.aead.Overhead() || b[0] != payloadSealed {
		return nil, fmt.Errorf("%w: not a sealed payload", ErrBadRecord)
	}
	plain, err := s.aead.Open(nil, b[1:1+n], b[1+n:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: seal does not open", ErrBadRecord)
	}
	return plain, nil
}

// derive returns HMAC-SHA256(key, label): a key for one purpose.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// sealCheck is stored in a sealed store's header so that opening it with
// another key fails at once instead of losing every ticket.
func sealCheck(key, secret []byte) []byte {
	m := hmac.New(sha256.New, derive(key, "revisit ticketstore seal check v1"))
	m.Write(secret)
	return m.Sum(nil)
}
