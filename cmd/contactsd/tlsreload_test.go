package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"
)

// reloadPKI issues server certificates into the files the server reads,
// and client certificates of two CAs.
type reloadPKI struct {
	t                 *testing.T
	ca                *x509.Certificate
	caKey             *ecdsa.PrivateKey
	roots             *x509.CertPool
	cert, key, caFile string
	// fromA and fromB are client certificates of CA A and CA B; caA and
	// caB are the CAs' certificates.
	fromA, fromB tls.Certificate
	caA, caB     []byte
}

func newReloadPKI(t *testing.T) *reloadPKI {
	dir := t.TempDir()
	p := &reloadPKI{t: t, roots: x509.NewCertPool(),
		cert: filepath.Join(dir, "server.pem"), key: filepath.Join(dir, "server-key.pem"), caFile: filepath.Join(dir, "clients-ca.pem")}
	p.ca, p.caKey = newCA(t, "server CA")
	p.roots.AddCert(p.ca)
	client := func(name string) (tls.Certificate, []byte) {
		ca, key := newCA(t, name)
		der, ckey := issue(t, ca, key, &x509.Certificate{Subject: pkix.Name{CommonName: "client of " + name}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: ckey}, ca.Raw
	}
	p.fromA, p.caA = client("client CA A")
	p.fromB, p.caB = client("client CA B")
	return p
}

// issueServer writes a new server certificate named cn, and its key.
func (p *reloadPKI) issueServer(cn string) {
	p.t.Helper()
	der, key := issue(p.t, p.ca, p.caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	writePEM(p.t, p.cert, "CERTIFICATE", der)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	writePEM(p.t, p.key, "PRIVATE KEY", keyDER)
}

// serveTLS completes the handshake of every connection to a loopback
// listener with cfg as the gRPC server does (credentials.NewTLS, which
// clones the config of each handshake), until the test ends.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	creds := credentials.NewTLS(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if tc, _, err := creds.ServerHandshake(c); err == nil {
				c = tc
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

// handshake returns the common name of the server's certificate on a new
// connection, presenting client when it has one.
func handshake(t *testing.T, addr string, roots *x509.CertPool, client *tls.Certificate) (string, error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}}
	if client != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return client, nil }
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	// In TLS 1.3 the server's refusal of a client certificate arrives
	// after the client's handshake: read to see it.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "EOF") {
		return "", err
	}
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// TestTLSFilesReload is the issue 27 weak spot "TLS certificate and
// client CA are read once": after a reload (SIGHUP, or the files'
// content changed) a new handshake sees the new certificate and the new
// client CA; files that do not load keep the previous set and say why,
// without their content.
func TestTLSFilesReload(t *testing.T) {
	p := newReloadPKI(t)
	p.issueServer("first")
	if err := os.WriteFile(p.caFile, pemOf("CERTIFICATE", p.caA), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	files, err := newTLSFiles(config{tlsCert: p.cert, tlsKey: p.key, clientCA: p.caFile}, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, files.serverConfig())

	expect := func(step, cn string, client *tls.Certificate, refused bool) {
		t.Helper()
		got, err := handshake(t, addr, p.roots, client)
		switch {
		case refused && err == nil:
			t.Fatalf("%s: handshake accepted, want refused", step)
		case !refused && err != nil:
			t.Fatalf("%s: handshake: %v", step, err)
		case !refused && got != cn:
			t.Fatalf("%s: server certificate %q, want %q", step, got, cn)
		}
	}
	expect("start", "first", &p.fromA, false)
	expect("start, client of CA B", "", &p.fromB, true)

	// SIGHUP: a forced reload of a new certificate.
	p.issueServer("second")
	expect("files changed, not reloaded yet", "first", &p.fromA, false)
	hup, tick := make(chan os.Signal), make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { defer close(watched); files.watch(ctx, hup, tick) }()
	defer func() { cancel(); <-watched }()
	hup <- os.Interrupt
	hup <- os.Interrupt // taken once the first reload is done
	expect("after SIGHUP", "second", &p.fromA, false)

	// A change seen by the poll: the server certificate and the client CA.
	p.issueServer("third")
	if err := os.WriteFile(p.caFile, pemOf("CERTIFICATE", p.caB), 0o600); err != nil {
		t.Fatal(err)
	}
	tick <- time.Now()
	tick <- time.Now()
	expect("after the poll", "third", &p.fromB, false)
	expect("after the poll, client of the old CA", "", &p.fromA, true)
	if files.reload(false) {
		t.Error("a poll with unchanged files reloaded them")
	}

	// A bad file keeps the previous set.
	const garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUgc2VjcmV0LTQyNDI=\n-----END CERTIFICATE-----\n"
	if err := os.WriteFile(p.cert, []byte(garbage), 0o600); err != nil {
		t.Fatal(err)
	}
	if files.reload(true) {
		t.Fatal("a bad certificate file was loaded")
	}
	expect("after a bad file", "third", &p.fromB, false)
	out := logs.String()
	if !strings.Contains(out, "TLS files not reloaded") || !strings.Contains(out, "-tls-cert/-tls-key") {
		t.Errorf("the refusal is not logged with its reason:\n%s", out)
	}
	if strings.Contains(out, "bm90IGEgY2VydGlmaWNhdGUgc2VjcmV0LTQyNDI") {
		t.Errorf("the log holds the file's content:\n%s", out)
	}
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// TestTLSReloadEndsResumption: sessions resume within one set of TLS
// files, and a reload that drops a client CA also refuses the sessions
// its clients made before, instead of resuming them.
func TestTLSReloadEndsResumption(t *testing.T) {
	p := newReloadPKI(t)
	p.issueServer("server")
	if err := os.WriteFile(p.caFile, pemOf("CERTIFICATE", p.caA), 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := newTLSFiles(config{tlsCert: p.cert, tlsKey: p.key, clientCA: p.caFile}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, files.serverConfig())
	cache := tls.NewLRUClientSessionCache(4)
	connect := func() (resumed bool, err error) {
		cfg := &tls.Config{RootCAs: p.roots, ClientSessionCache: cache, NextProtos: []string{"h2"},
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &p.fromA, nil }}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
		if err != nil {
			return false, err
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		// Reading takes the session ticket, or the server's refusal.
		if _, err := c.Read(make([]byte, 1)); err != nil && !strings.Contains(err.Error(), "EOF") {
			return false, err
		}
		return c.ConnectionState().DidResume, nil
	}
	if _, err := connect(); err != nil {
		t.Fatalf("first connection: %v", err)
	}
	if resumed, err := connect(); err != nil || !resumed {
		t.Fatalf("second connection: resumed=%v err=%v, want a resumed session", resumed, err)
	}
	if err := os.WriteFile(p.caFile, pemOf("CERTIFICATE", p.caB), 0o600); err != nil {
		t.Fatal(err)
	}
	if !files.reload(true) {
		t.Fatal("reload refused")
	}
	if resumed, err := connect(); err == nil {
		t.Fatalf("a client of the dropped CA connected after the reload (resumed=%v)", resumed)
	}
}
