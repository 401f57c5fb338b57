// Package access is the gate in front of contacts.v1.ContactsService: it
// names the caller, checks the call against the policy in force (RPC,
// property, the profiles a write changes), spends the caller's fair share,
// and writes the audit record of every write, allowed or refused. It runs
// before the service, so nothing the service holds (a cached or coalesced
// read) answers a caller the policy refuses.
package access

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/audit"
	"github.com/contacts-facade/contacts-facade/internal/caller"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/policy"
)

// The statuses this package gives have the reasons CALLER_NOT_ALLOWED,
// CALLER_RATE_LIMITED and AUDIT_UNAVAILABLE (proto/contacts/v1/errors.proto),
// built by errmap.Status.
const (
	servicePrefix = "/" + "contacts.v1.ContactsService" + "/"
	maxLimiters   = 10000
)

// Config is what New needs.
type Config struct {
	Resolver caller.Resolver
	// Policy holds the policy in force; nil allows everything.
	Policy *policy.Holder
	// Audit, when set, receives a record of every write.
	Audit *audit.Log
	// Logger gets the failures of the audit trail.
	Logger *slog.Logger
	// Now is the clock of the fair shares; time.Now when nil.
	Now func() time.Time
}

// Gate is the interceptor. It is safe for concurrent use.
type Gate struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	limiters map[string]*limiter
}

type limiter struct {
	rate policy.Rate
	l    *rate.Limiter
}

// New returns the gate.
func New(cfg Config) *Gate {
	if cfg.Policy == nil {
		cfg.Policy = policy.NewHolder(policy.AllowAll())
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gate{cfg: cfg, log: log, limiters: make(map[string]*limiter)}
}

// request is what the gate reads of any ContactsService request.
type (
	propertyRequest interface{ GetPropertyId() string }
	profileRequest  interface {
		GetProfile() contactsv1.ProfileType
	}
	contactsRequest interface {
		GetContacts() []*contactsv1.Contact
	}
	requestIDRequest interface{ GetRequestId() string }
	etagRequest      interface{ GetEtag() string }
	etagResponse     interface{ GetEtag() string }
	ruidResponse     interface{ GetRequestId() string }
)

// Unary is the gate as a unary server interceptor. Methods of other
// services (health, reflection) pass untouched.
func (g *Gate) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		method, ok := strings.CutPrefix(info.FullMethod, servicePrefix)
		if !ok {
			return handler(ctx, req)
		}
		id := g.cfg.Resolver.Resolve(ctx)
		ctx = caller.NewContext(ctx, id)
		grant := g.cfg.Policy.Load().Match(id.Name)
		ctx = newGrantContext(ctx, grant)
		write := !policy.IsRead(method)

		var rec *audit.Record
		var entry *audit.Entry
		if write && g.cfg.Audit != nil {
			rec = g.record(id, method, req)
			entry = &audit.Entry{}
			ctx = audit.NewContext(ctx, entry)
		}
		if err := g.admit(ctx, id, grant, method, req, write); err != nil {
			g.audit(rec, entry, nil, err, false)
			return nil, err
		}
		resp, err := handler(ctx, req)
		g.audit(rec, entry, resp, err, true)
		return resp, err
	}
}

// admit checks the call against the grant and spends the caller's share.
func (g *Gate) admit(ctx context.Context, id caller.Identity, grant *policy.Grant, method string, req any, write bool) error {
	if !grant.AllowsRPC(method) {
		return denied(id, method, "rpc:"+method, propertyOf(req))
	}
	if r, ok := req.(propertyRequest); ok && !grant.AllowsProperty(r.GetPropertyId()) {
		return denied(id, method, "property", r.GetPropertyId())
	}
	if write {
		if err := CheckProfiles(ctx, requestProfiles(req)...); err != nil {
			return err
		}
		if g.cfg.Audit != nil {
			if err := g.cfg.Audit.Healthy(); err != nil {
				return auditUnavailable(propertyOf(req))
			}
		}
	}
	return g.spend(id, grant, method, propertyOf(req))
}

// spend takes one call from the caller's bucket.
func (g *Gate) spend(id caller.Identity, grant *policy.Grant, method, propertyID string) error {
	r := grant.Rate
	if r.PerSecond <= 0 {
		return nil
	}
	l := g.limiter(id.Name, r)
	now := g.cfg.Now()
	res := l.ReserveN(now, 1)
	if delay := res.DelayFrom(now); res.OK() && delay == 0 {
		return nil
	} else {
		res.CancelAt(now)
		md := errmap.FacadeMetadata(errmap.Call{PropertyID: propertyID}, "")
		md[errmap.MetaCaller], md[errmap.MetaRPC] = id.Name, method
		return errmap.Status(codes.ResourceExhausted, contactsv1.ErrorReason_CALLER_RATE_LIMITED,
			"caller "+id.Name+" is over its share of the upstream; retry later", md,
			&errdetails.RetryInfo{RetryDelay: durationpb.New(max(delay, time.Millisecond))}).Err()
	}
}

func (g *Gate) limiter(name string, r policy.Rate) *rate.Limiter {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l, ok := g.limiters[name]; ok {
		if l.rate != r { // the policy was reloaded with another share
			l.l.SetLimit(r.Limit())
			l.l.SetBurst(r.Burst)
			l.rate = r
		}
		return l.l
	}
	if len(g.limiters) >= maxLimiters {
		// More identities than any deployment has: start over rather
		// than grow without bound (each bucket starts full again).
		clear(g.limiters)
	}
	l := &limiter{rate: r, l: rate.NewLimiter(r.Limit(), r.Burst)}
	g.limiters[name] = l
	return l.l
}

// requestProfiles are the profiles a write request names: the one of a
// per-profile RPC, or every profile of the contacts a Replace or Create
// sends.
func requestProfiles(req any) []contactsv1.ProfileType {
	if r, ok := req.(profileRequest); ok {
		return []contactsv1.ProfileType{r.GetProfile()}
	}
	var out []contactsv1.ProfileType
	if r, ok := req.(contactsRequest); ok {
		for _, c := range r.GetContacts() {
			for _, p := range c.GetProfiles() {
				out = append(out, p)
			}
		}
	}
	return out
}

type grantKey struct{}

func newGrantContext(ctx context.Context, g *policy.Grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// CheckProfiles refuses, with PERMISSION_DENIED, a write that would change
// a profile the caller may not write. The service calls it for what only
// it knows: the profiles a Replace deletes. A context that did not pass
// the gate allows everything. Unspecified profiles are left to
// validation.
func CheckProfiles(ctx context.Context, profiles ...contactsv1.ProfileType) error {
	g, ok := ctx.Value(grantKey{}).(*policy.Grant)
	if !ok {
		return nil
	}
	id := caller.FromContext(ctx)
	for _, p := range profiles {
		if p == contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED {
			continue
		}
		if !g.MayWrite(p) {
			return denied(id, "", "profile:"+profileName(p), "")
		}
		audit.FromContext(ctx).AddProfiles(profileName(p))
	}
	return nil
}

func profileName(p contactsv1.ProfileType) string {
	return strings.TrimPrefix(p.String(), "PROFILE_TYPE_")
}

func denied(id caller.Identity, method, missing, propertyID string) error {
	msg := "caller " + id.Name + " may not " + describe(method, missing)
	md := errmap.FacadeMetadata(errmap.Call{PropertyID: propertyID}, "")
	md[errmap.MetaCaller], md[errmap.MetaMissing] = id.Name, missing
	if method != "" {
		md[errmap.MetaRPC] = method
	}
	return errmap.Status(codes.PermissionDenied, contactsv1.ErrorReason_CALLER_NOT_ALLOWED, msg, md).Err()
}

func describe(method, missing string) string {
	switch {
	case strings.HasPrefix(missing, "rpc:"):
		return "call " + method
	case strings.HasPrefix(missing, "profile:"):
		return "change profile " + strings.TrimPrefix(missing, "profile:")
	default:
		return "use this property"
	}
}

func auditUnavailable(propertyID string) error {
	return errmap.Status(codes.Unavailable, contactsv1.ErrorReason_AUDIT_UNAVAILABLE,
		"the audit trail cannot be written; writes are refused until it can",
		errmap.FacadeMetadata(errmap.Call{PropertyID: propertyID}, "")).Err()
}

// record starts the audit record of a write from its request.
func (g *Gate) record(id caller.Identity, method string, req any) *audit.Record {
	rec := &audit.Record{Caller: id.Name, CallerSource: string(id.Source), RPC: method}
	if r, ok := req.(propertyRequest); ok {
		rec.PropertyID = boundValue(r.GetPropertyId())
	}
	if r, ok := req.(requestIDRequest); ok {
		rec.RequestID = boundValue(r.GetRequestId())
	}
	if r, ok := req.(etagRequest); ok {
		rec.EtagBefore = boundValue(r.GetEtag())
	}
	for _, p := range requestProfiles(req) {
		if p != contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED {
			name := profileName(p)
			if !slices.Contains(rec.Profiles, name) {
				rec.Profiles = append(rec.Profiles, name)
			}
		}
	}
	return rec
}

// audit completes and writes a write's record. A failure is logged loudly;
// the gate refuses writes until the trail can be written again.
func (g *Gate) audit(rec *audit.Record, entry *audit.Entry, resp any, err error, allowed bool) {
	if rec == nil {
		return
	}
	rec.Time = g.cfg.Now().UTC()
	st := status.Convert(err)
	rec.Code = st.Code().String()
	rec.Allowed = allowed
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			rec.Reason = info.GetReason()
			md := info.GetMetadata()
			rec.UpstreamRUID = boundValue(md[errmap.MetaRequestID])
			// Refused by the facade itself before any write: by the
			// policy (a profile only the fresh state shows) or by
			// validation. An upstream refusal was a call allowed.
			if rec.Reason == contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() || (st.Code() == codes.InvalidArgument && md[errmap.MetaSource] == errmap.SourceFacade) {
				rec.Allowed = false
			}
			break
		}
	}
	if r, ok := resp.(ruidResponse); ok && resp != nil {
		rec.UpstreamRUID = boundValue(r.GetRequestId())
	}
	if r, ok := resp.(etagResponse); ok && resp != nil {
		rec.EtagAfter = boundValue(r.GetEtag())
	}
	entry.Fill(rec)
	if werr := g.cfg.Audit.Write(*rec); werr != nil {
		g.log.Error("audit record not written: writes are refused until the audit trail can be written",
			slog.String("rpc", rec.RPC), slog.String("code", rec.Code), slog.String("error", werr.Error()))
	}
}

// propertyOf is the property id of a request, "" when it has none.
func propertyOf(req any) string {
	if r, ok := req.(propertyRequest); ok {
		return r.GetPropertyId()
	}
	return ""
}

// boundValue keeps an id from a request short in the audit record.
func boundValue(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}
