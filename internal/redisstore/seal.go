package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// sealer encrypts and authenticates the values the Store keeps in Redis
// with AES-256-GCM under a key derived from the client secret by HKDF
// (RFC 5869). The key name is bound into the additional data, so a sealed
// value copied to another key does not open there.
type sealer struct {
	aead cipher.AEAD
}

// errUnsealable is returned for a stored value that does not open: written
// under another secret (the secret was rotated) or tampered with. Callers
// treat it as absent.
var errUnsealable = errors.New("redisstore: stored value does not open with this secret")

func newSealer(secret, account string) (*sealer, error) {
	key, err := hkdf.Key(sha256.New, []byte(secret), []byte("contacts-facade redisstore v1"), "account="+account, 32)
	if err != nil {
		return nil, fmt.Errorf("redisstore: deriving the sealing key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal returns nonce || ciphertext of plain, bound to name.
func (s *sealer) seal(name string, plain []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+).
		panic(err)
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(name))
}

// open reverses seal.
func (s *sealer) open(name string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errUnsealable
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(name))
	if err != nil {
		return nil, errUnsealable
	}
	return plain, nil
}
