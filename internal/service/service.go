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
	up  Upstream
	log *slog.Logger
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
	return &Service{up: up, log: logger, locks: writelock.NewLocal(), requests: idempotency.NewMemory(idempotency.MemoryConfig{}), lockWait: DefaultLockWait}
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

// fail translates an upstream failure and logs it. The log holds the
// error's kind and identifiers, never a body, e-mail, phone or credential.
// It takes them from the translation, not from the status's details,
// which it would have to decode again.
func (s *Service) fail(ctx context.Context, call errmap.Call, err error) error {
	t := errmap.TranslateWithInfo(err, call)
	st := t.Status
	// A caller's mistake (a bad field, an unknown property) is the
	// caller's to see, in its status: debug only, so that a busy caller
	// cannot flood the log. Failures the operators must see: warn.
	level := slog.LevelDebug
	switch st.Code() {
	case codes.Internal, codes.Unavailable, codes.DeadlineExceeded, codes.Unauthenticated, codes.PermissionDenied, codes.ResourceExhausted:
		level = slog.LevelWarn
	}
	if s.log.Enabled(ctx, level) {
		attrs := make([]slog.Attr, 0, 7)
		attrs = append(attrs,
			slog.String("rest_method", string(call.Method)),
			slog.String("property_id", call.PropertyID),
			slog.String("code", st.Code().String()))
		if t.Reason != "" {
			attrs = append(attrs, slog.String("reason", t.Reason),
				slog.String("ota_code", t.Metadata[errmap.MetaOTACode]),
				slog.String("http_status", t.Metadata[errmap.MetaHTTPStatus]),
				slog.String("request_id", t.Metadata[errmap.MetaRequestID]))
		}
		attrs = appendCause(attrs, err)
		s.log.LogAttrs(ctx, level, "upstream call failed", attrs...)
	}
	return st.Err()
}

// appendCause adds what operators need to diagnose a failure that is not
// an upstream error answer: the transport error, or for an undecodable
// answer its content type and, when it is not JSON (a proxy's HTML or
// text page, which holds no contact data), its first bytes with digits and
// e-mail-like words masked. A JSON body is never logged: it may hold the
// names, e-mails and phone numbers of contacts.
func appendCause(attrs []slog.Attr, err error) []slog.Attr {
	if te, ok := errors.AsType[*upstream.TransportError](err); ok {
		return append(attrs, slog.String("cause", te.Err.Error()))
	}
	de, ok := errors.AsType[*upstream.DecodeError](err)
	if !ok {
		return attrs
	}
	attrs = append(attrs, slog.String("content_type", de.ContentType), slog.Bool("too_large", de.TooLarge))
	if de.Err != nil {
		attrs = append(attrs, slog.String("cause", de.Err.Error()))
	}
	if ct := strings.ToLower(de.ContentType); strings.Contains(ct, "html") || strings.HasPrefix(ct, "text/plain") {
		attrs = append(attrs, slog.String("body_start", maskForLog(de.Snippet)))
	}
	return attrs
}

// maskForLog replaces every digit with '#' and every word holding an '@'
// with "<masked>", so that a page that echoes a phone number or an
// e-mail address does not carry it into the logs.
func maskForLog(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		if strings.ContainsRune(w, '@') {
			words[i] = "<masked>"
			continue
		}
		words[i] = strings.Map(func(r rune) rune {
			if unicode.IsDigit(r) {
				return '#'
			}
			return r
		}, w)
	}
	return strings.Join(words, " ")
}

// compile-time check.
var _ contactsv1.ContactsServiceServer = (*Service)(nil)
