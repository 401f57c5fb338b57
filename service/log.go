package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc/codes"

	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// failLogInterval is how often one kind of failure (gRPC code, reason,
// REST method) is logged at WARN; the lines held back in between are
// counted in the next one's "suppressed".
const failLogInterval = 10 * time.Second

// fail translates an upstream failure and logs it. The log holds the
// error's kind and the facade's own identifiers, never a value from the
// request or the upstream body (see appendCause and safeID). It takes them
// from the translation, not from the status's details, which it would have
// to decode again.
func (s *Service) fail(ctx context.Context, call errmap.Call, err error) error {
	t := errmap.TranslateWithInfo(err, call)
	st := t.Status
	// A caller's mistake (a bad field, an unknown property) is the
	// caller's to see, in its status: debug only, so that a busy caller
	// cannot flood the log. Failures the operators must see: warn, once
	// per interval and kind, with the count of the ones held back.
	level := slog.LevelDebug
	switch st.Code() {
	case codes.Internal, codes.Unavailable, codes.DeadlineExceeded, codes.Unauthenticated, codes.PermissionDenied, codes.ResourceExhausted:
		level = slog.LevelWarn
	}
	if !s.log.Enabled(ctx, level) {
		return st.Err()
	}
	suppressed := 0
	if level == slog.LevelWarn {
		ok, n := s.limiter.Allow(st.Code().String() + " " + t.Reason + " " + string(call.Method))
		if !ok {
			return st.Err()
		}
		suppressed = n
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("rest_method", string(call.Method)),
		slog.String("property_id", safeID(call.PropertyID, isDigit, 10)),
		slog.String("code", st.Code().String()))
	if t.Reason != "" {
		attrs = append(attrs, slog.String("reason", t.Reason),
			slog.String("ota_code", safeID(t.Metadata[errmap.MetaOTACode], isDigit, 5)),
			slog.String("http_status", t.Metadata[errmap.MetaHTTPStatus]),
			slog.String("request_id", safeRequestID(t.Metadata[errmap.MetaRequestID])))
	}
	attrs = appendCause(attrs, err)
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	s.log.LogAttrs(ctx, level, "upstream call failed", attrs...)
	return st.Err()
}

// appendCause adds what operators need to diagnose a failure that is not
// an upstream error answer, as kinds and places, never values: for a
// transport failure its kind ("connection refused"); for an undecodable
// answer its content type, size and the kind and JSON path of the problem
// ("data.contacts[3].phones[0].phone_tech_type: want integer, got
// string"). No byte of a body is logged, masked or not: a JSON body holds
// the names, e-mails and phone numbers of contacts, and a proxy's page may
// echo tokens.
func appendCause(attrs []slog.Attr, err error) []slog.Attr {
	if te, ok := errors.AsType[*upstream.TransportError](err); ok {
		return append(attrs, slog.String("cause", te.Cause()))
	}
	de, ok := errors.AsType[*upstream.DecodeError](err)
	if !ok {
		return attrs
	}
	return append(attrs,
		slog.String("content_type", de.ContentType),
		slog.Int64("body_bytes", de.BodyBytes),
		slog.Bool("too_large", de.TooLarge),
		slog.String("cause", de.Problem()))
}

// safeID returns s when it is a short identifier of the expected shape
// (at most n bytes, every byte ok), "" when empty, and "invalid" otherwise,
// so that no other value reaches a log line in its place.
func safeID(s string, ok func(byte) bool, n int) string {
	if len(s) > n {
		return "invalid"
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return "invalid"
		}
	}
	return s
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// safeRequestID returns the upstream ruid when it looks like one: at most
// 64 characters of base64 (standard or URL-safe) with at least one letter.
// That keeps out what a hostile upstream could put there instead: a JWT
// (dots), an e-mail address (@), a phone number (no letter), a text.
func safeRequestID(s string) string {
	id := safeID(s, func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || isDigit(b) || strings.IndexByte("+/=_-", b) >= 0
	}, 64)
	if id == "" || id == "invalid" || strings.IndexFunc(id, unicode.IsLetter) >= 0 {
		return id
	}
	return "invalid"
}
