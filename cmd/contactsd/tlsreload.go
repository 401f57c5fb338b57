package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// tlsPollInterval is how often the TLS files are read to see whether they
// changed (a few KiB each; a mounted secret is swapped, not appended to).
const tlsPollInterval = 10 * time.Second

// tlsPEM is the content of the TLS files.
type tlsPEM struct{ cert, key, ca []byte }

// readTLSFiles reads -tls-cert, -tls-key and -client-ca, each capped.
func readTLSFiles(cfg config) (tlsPEM, error) {
	var p tlsPEM
	var err error
	if p.cert, err = readFileCapped(cfg.tlsCert, maxPEMFileBytes); err != nil {
		return p, fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	if p.key, err = readFileCapped(cfg.tlsKey, maxPEMFileBytes); err != nil {
		return p, fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	if cfg.clientCA != "" {
		if p.ca, err = readFileCapped(cfg.clientCA, maxPEMFileBytes); err != nil {
			return p, fmt.Errorf("-client-ca: %w", err)
		}
	}
	return p, nil
}

// sum identifies the files' content.
func (p tlsPEM) sum() [32]byte {
	h := sha256.New()
	for _, b := range [][]byte{p.cert, p.key, p.ca} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	return [32]byte(h.Sum(nil))
}

// config parses p. Its errors name the flag and the file, never the
// content.
func (p tlsPEM) config(cfg config) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(p.cert, p.key)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	// Session tickets under keys of this set (crypto/tls uses the keys
	// GetConfigForClient's config sets, else the outer config's, which
	// never change): a reload ends the resumption of sessions made under
	// the previous files. (Go also checks a resumed client chain against
	// the current client CAs.)
	var ticketKey [32]byte
	if _, err := rand.Read(ticketKey[:]); err != nil {
		return nil, err
	}
	tc.SetSessionTicketKeys([][32]byte{ticketKey})
	if cfg.clientCA != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(p.ca) {
			return nil, fmt.Errorf("-client-ca: no PEM certificate in %s", cfg.clientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// tlsFiles serves the certificate, key and client CA of the TLS files as
// last read: at start, on SIGHUP, and when their content changes (read
// every tlsPollInterval), so that short-lived certificates work without a
// restart. Each new handshake takes the current set; a set that does not
// load (a half-written file, a key that does not match) keeps the
// previous one, and the log says why, without any of the files' content.
type tlsFiles struct {
	cfg config
	log *slog.Logger
	cur atomic.Pointer[tls.Config]

	mu  sync.Mutex
	sum [32]byte // of the content last loaded or refused
}

// newTLSFiles loads the files: an error is a configuration error.
func newTLSFiles(cfg config, log *slog.Logger) (*tlsFiles, error) {
	p, err := readTLSFiles(cfg)
	if err != nil {
		return nil, err
	}
	tc, err := p.config(cfg)
	if err != nil {
		return nil, err
	}
	f := &tlsFiles{cfg: cfg, log: log, sum: p.sum()}
	f.cur.Store(tc)
	return f, nil
}

// serverConfig is the server's TLS config: every handshake gets the
// current set.
func (f *tlsFiles) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return f.cur.Load(), nil
		},
	}
}

// reload reads the files and, when force or when their content changed,
// loads them. It reports whether a new set is in use.
func (f *tlsFiles) reload(force bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := readTLSFiles(f.cfg)
	if err != nil {
		f.log.Warn("TLS files not reloaded; still serving the previous certificate", "error", err)
		return false
	}
	sum := p.sum()
	if !force && sum == f.sum {
		return false
	}
	f.sum = sum
	tc, err := p.config(f.cfg)
	if err != nil {
		f.log.Warn("TLS files not reloaded; still serving the previous certificate", "error", err)
		return false
	}
	f.cur.Store(tc)
	attrs := []any{"tls_cert", f.cfg.tlsCert}
	if leaf := tc.Certificates[0].Leaf; leaf != nil {
		attrs = append(attrs, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	f.log.Info("TLS files reloaded", attrs...)
	return true
}

// watch reloads on every value of hup (forced) and of tick (when the
// content changed) until ctx ends.
func (f *tlsFiles) watch(ctx context.Context, hup <-chan os.Signal, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			f.reload(true)
		case <-tick:
			f.reload(false)
		}
	}
}
