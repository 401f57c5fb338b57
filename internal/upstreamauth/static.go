package upstreamauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// redacted replaces every secret in String, Format and LogValue output.
const redacted = "[REDACTED]"

// StaticToken authorizes every call with one fixed bearer token (from
// CONTACTS_API_TOKEN). It exists for debugging with a token obtained by
// hand: it never renews, so the calls fail once the token expires.
type StaticToken struct {
	token string
}

// NewStaticToken returns an Authorizer that always sends token. An empty
// token makes Authorize fail rather than send an empty bearer.
func NewStaticToken(token string) *StaticToken {
	return &StaticToken{token: token}
}

// Authorize sets "Authorization: Bearer <token>" on req.
func (s *StaticToken) Authorize(_ context.Context, req *http.Request) error {
	if s.token == "" {
		return &Error{Kind: KindCredentialsRejected, Err: errors.New("no static token configured")}
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	return nil
}

// Rejected reports false: a fixed token cannot be replaced, so a retry
// would only be refused again.
func (s *StaticToken) Rejected(*http.Request) bool { return false }

// String describes the authorizer without the token.
func (s *StaticToken) String() string {
	return "upstreamauth.StaticToken{token: " + redacted + "}"
}

// Format prints String for every verb (%v, %+v, %#v, %d, ...), so that no
// fmt verb can reach the token through reflection.
func (s *StaticToken) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue makes slog print the kind of credentials, never the token.
func (s *StaticToken) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("scheme", "static_bearer"),
		slog.String("token", redacted),
	)
}

// Basic authorizes calls with a machine account's username and password
// (HTTP Basic).
//
// Deprecated: Booking.com deprecated Basic authentication on 2025-06-30 and
// sunset it on 2025-12-31; new accounts are token-only. It is kept for old
// emulators and tests; use TokenSource against the real API.
type Basic struct {
	user, pass string
}

// newBasic returns an Authorizer that sends user and pass as HTTP Basic
// credentials.
//
// Deprecated: Basic authentication is sunset; use NewTokenSource.
func newBasic(user, pass string) *Basic {
	return &Basic{user: user, pass: pass}
}

// Authorize sets the Basic Authorization header on req.
func (b *Basic) Authorize(_ context.Context, req *http.Request) error {
	if b.user == "" {
		return &Error{Kind: KindCredentialsRejected, Err: errors.New("no basic-auth username configured")}
	}
	req.SetBasicAuth(b.user, b.pass)
	return nil
}

// Rejected reports false: fixed credentials cannot be replaced.
func (b *Basic) Rejected(*http.Request) bool { return false }

// String describes the authorizer with the username (an account name, not
// a secret) and without the password.
func (b *Basic) String() string {
	return fmt.Sprintf("upstreamauth.Basic{user: %q, password: %s}", b.user, redacted)
}

// Format prints String for every verb, so that no fmt verb can reach the
// password through reflection.
func (b *Basic) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(b.String())) }

// LogValue makes slog print the username, never the password.
func (b *Basic) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("scheme", "basic"),
		slog.String("user", b.user),
		slog.String("password", redacted),
	)
}
