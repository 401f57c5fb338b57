package grpcserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/contacts-facade/contacts-facade/internal/lograte"
)

// handshakeLogInterval is how often one kind of failed TLS handshake is
// logged; the line after it counts the ones held back.
const handshakeLogInterval = time.Minute

// loggingCreds are server transport credentials that log failed
// handshakes, rate-limited per kind of failure: a scanner or a client
// with the wrong certificate must not flood the log. A line holds the
// remote address and the kind of the failure, never a certificate's
// content (an x509 error names the subjects of certificates).
type loggingCreds struct {
	credentials.TransportCredentials
	log   *slog.Logger
	limit *lograte.Limiter
}

func newLoggingCreds(inner credentials.TransportCredentials, log *slog.Logger, now func() time.Time) *loggingCreds {
	return &loggingCreds{TransportCredentials: inner, log: log, limit: lograte.New(handshakeLogInterval, now)}
}

func (c *loggingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		kind := handshakeFailure(err)
		if ok, held := c.limit.Allow(kind); ok {
			attrs := []slog.Attr{slog.String("remote", conn.RemoteAddr().String()), slog.String("kind", kind)}
			if held > 0 {
				attrs = append(attrs, slog.Int("suppressed", held))
			}
			c.log.LogAttrs(context.Background(), slog.LevelInfo, "TLS handshake failed", attrs...)
		}
	}
	return out, info, err
}

func (c *loggingCreds) Clone() credentials.TransportCredentials {
	return &loggingCreds{TransportCredentials: c.TransportCredentials.Clone(), log: c.log, limit: c.limit}
}

// handshakeFailure names the kind of a failed handshake, from a fixed
// list.
func handshakeFailure(err error) string {
	var rh tls.RecordHeaderError
	var alert tls.AlertError
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var netErr net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &rh):
		return "not_tls" // e.g. a plaintext client
	case errors.As(err, &unknownCA):
		return "client_cert_unknown_authority"
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "client_cert_expired"
		}
		return "client_cert_invalid"
	case errors.As(err, &alert):
		return "alert_from_client" // e.g. the client does not trust the server's certificate
	case strings.Contains(msg, "client didn't provide a certificate"):
		return "no_client_cert"
	case strings.Contains(msg, "unsupported versions"), strings.Contains(msg, "protocol version"):
		return "unsupported_version"
	case strings.Contains(msg, "cipher suite"):
		return "no_common_cipher_suite"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed_by_client"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	}
	return "other"
}
