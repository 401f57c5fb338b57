package grpcserver

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"
)

// TestHandshakeFailureKinds: each failure maps to its fixed kind, and no
// kind repeats anything of a certificate.
func TestHandshakeFailureKinds(t *testing.T) {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "secret-subject-cn"}}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "not_tls"},
		{&tls.CertificateVerificationError{UnverifiedCertificates: []*x509.Certificate{cert}, Err: x509.UnknownAuthorityError{Cert: cert}}, "client_cert_unknown_authority"},
		{x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired}, "client_cert_expired"},
		{x509.CertificateInvalidError{Cert: cert, Reason: x509.NotAuthorizedToSign}, "client_cert_invalid"},
		{fmt.Errorf("remote error: %w", tls.AlertError(42)), "alert_from_client"},
		{errors.New("tls: client didn't provide a certificate"), "no_client_cert"},
		{errors.New("tls: client offered only unsupported versions: [301]"), "unsupported_version"},
		{errors.New("tls: no cipher suite supported by both client and server"), "no_common_cipher_suite"},
		{io.EOF, "closed_by_client"},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), "timeout"},
		{errors.New("something else about secret-subject-cn"), "other"},
	} {
		got := handshakeFailure(tc.err)
		if got != tc.want {
			t.Errorf("handshakeFailure(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if strings.Contains(got, "secret") {
			t.Errorf("the kind %q repeats the certificate", got)
		}
	}
}

// failingCreds fail every handshake with err.
type failingCreds struct {
	credentials.TransportCredentials
	err error
}

func (f failingCreds) ServerHandshake(net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, f.err
}

type fakeConn struct{ net.Conn }

func (fakeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4242} }

// TestHandshakeLogRateLimited: one line per kind and minute, the next one
// counting the lines held back.
func TestHandshakeLogRateLimited(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	notTLS := newLoggingCreds(failingCreds{err: tls.RecordHeaderError{}}, log, func() time.Time { return now })
	eof := &loggingCreds{TransportCredentials: failingCreds{err: io.EOF}, log: log, limit: notTLS.limit}
	for range 3 {
		_, _, _ = notTLS.ServerHandshake(fakeConn{})
	}
	_, _, _ = eof.ServerHandshake(fakeConn{}) // another kind: its own line
	now = now.Add(time.Minute)
	_, _, _ = notTLS.ServerHandshake(fakeConn{})
	want := []string{
		`level=INFO msg="TLS handshake failed" remote=192.0.2.7:4242 kind=not_tls`,
		`level=INFO msg="TLS handshake failed" remote=192.0.2.7:4242 kind=closed_by_client`,
		`level=INFO msg="TLS handshake failed" remote=192.0.2.7:4242 kind=not_tls suppressed=2`,
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("log:\n%s\nwant %d lines", buf.String(), len(want))
	}
	for i, l := range lines {
		if _, rest, _ := strings.Cut(l, " "); rest != want[i] {
			t.Errorf("line %d: %q, want %q", i, rest, want[i])
		}
	}
}
