package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc/codes"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/idempotency"
	"github.com/contacts-facade/contacts-facade/internal/lograte"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// Upstream is what the service needs of the Contacts REST API;
// *upstream.Client implements it.
type Upstream interface {
	List(ctx context.Context, propertyID string, noLanguageFallback bool) (*contactsv1.ListContactsResponse, error)
	Replace(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error)
	Create(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error)
}

// Service implements contactsv1.ContactsServiceServer.
type Service struct {
	contactsv1.UnimplementedContactsServiceServer
	up      Upstream
	log     *slog.Logger
	limiter *lograte.Limiter // of the WARN lines of fail
	// locks and requests are the shared state of safe edits (safe.go).
	locks    writelock.Locker
	requests idempotency.Store
	lockWait time.Duration
}

// New returns the service calling up. A nil logger discards.
func New(up Upstream, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{up: up, log: logger, limiter: lograte.New(failLogInterval, nil),
		locks: writelock.NewLocal(), requests: idempotency.NewMemory(idempotency.MemoryConfig{}), lockWait: DefaultLockWait}
}

// ListContacts implements contacts.v1.ContactsService.ListContacts.
func (s *Service) ListContacts(ctx context.Context, req *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
	return serve(ctx, s, upstream.MethodGet, req.GetPropertyId(), validateList(req),
		func() (*contactsv1.ListContactsResponse, error) {
			return s.read(ctx, req.GetPropertyId(), req.GetNoLanguageFallback())
		})
}

// ReplaceContacts implements contacts.v1.ContactsService.ReplaceContacts
// (safe.go: under the write lock, with etag and request_id).
func (s *Service) ReplaceContacts(ctx context.Context, req *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error) {
	return s.replace(ctx, req)
}

// CreateContacts implements contacts.v1.ContactsService.CreateContacts
// (safe.go).
func (s *Service) CreateContacts(ctx context.Context, req *contactsv1.CreateContactsRequest) (*contactsv1.CreateContactsResponse, error) {
	return s.create(ctx, req)
}

// serve is the one path of every call: refuse a request with violations
// before any upstream call, else call the upstream and translate its
// failure.
func serve[Resp any](ctx context.Context, s *Service, method upstream.Method, propertyID string, vs violations, call func() (Resp, error)) (Resp, error) {
	var zero Resp
	c := errmap.Call{Method: method, PropertyID: propertyID}
	if len(vs) > 0 {
		return zero, errmap.Invalid(vs, c).Err()
	}
	resp, err := call()
	if err != nil {
		return zero, s.fail(ctx, c, err)
	}
	return resp, nil
}

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

// compile-time check.
var _ contactsv1.ContactsServiceServer = (*Service)(nil)
