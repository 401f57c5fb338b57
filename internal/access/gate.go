package access

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/lograte"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
)

const (
	servicePrefix   = "/" + "contacts.v1.ContactsService" + "/"
	missingIdentity = "identity"
	missingProperty = "property"
	missingRPC      = "rpc:"
	missingProfile  = "profile:"
	// trailLogInterval: at most one ERROR line of the trail's failures
	// (with the count of those held back) per interval.
	trailLogInterval = 10 * time.Second
	logKeyTrail      = "audit-trail"
	// metaOutcome is the ErrorInfo metadata key that says what became of
	// a write the caller got no answer of (grpcserver.MetaOutcome):
	// "unknown" for one cut short by the shutdown.
	metaOutcome = "outcome"
)

// Config is what NewGate needs.
type Config struct {
	// Resolver names callers; its zero value believes the verified TLS
	// client certificate only, else the caller is anonymous.
	Resolver Resolver
	// Policy holds the policy in force. Required: AllowAll says that
	// every caller may do everything.
	Policy *Holder
	// Audit receives a record of every write. Required: NoAudit says
	// that there is no trail.
	Audit *Trail
	// Logger gets the failures of the audit trail; nil: none.
	Logger *slog.Logger
	// Now is the clock of the in-process fair shares and the records;
	// time.Now when nil.
	Now func() time.Time
	// Shares spends the callers' fair shares. Nil: in-process buckets
	// (NewLocalShares), a caller's rate per replica. Replicas that share
	// a Redis pass redisstore's, so that a caller gets its rate once for
	// the fleet.
	Shares Shares
	// FallbackReplicas: while Shares fails, each replica gives a caller
	// its rate / FallbackReplicas (burst rounded down, at least one call)
	// from its in-process buckets, so that the fleet stays within the
	// caller's rate when it has at most that many replicas: never every
	// call refused because Redis is away, never the whole rate per
	// replica. Default DefaultFallbackReplicas; unused without Shares.
	FallbackReplicas int
}

// refuseFunc builds the status of a refusal: errmap.Status.
type refuseFunc func(code codes.Code, reason contactsv1.ErrorReason, msg string, md map[string]string, details ...protoadapt.MessageV1) *status.Status

// Gate decides, per call of contacts.v1.ContactsService, who the caller is
// and whether it may make the call. It is safe for concurrent use.
type Gate struct {
	cfg     Config
	log     *slog.Logger
	methods map[string]bool // the RPCs of the service, by short name
	refuse  refuseFunc

	local       *LocalShares     // the shares without Config.Shares, or its fallback
	logLimit    *lograte.Limiter // of the ERROR lines of the trail's failures
	sharesLog   *lograte.Limiter // of the WARN lines of the shared shares' failures
	sharesDown  atomic.Bool      // the last Take of Config.Shares failed
	sharesRetry atomic.Int64     // while down, when (UnixNano) to ask it again
}

// NewGate returns the gate of cfg; an error when it lacks the policy or
// the trail.
func NewGate(cfg Config) (*Gate, error) {
	var errs []error
	if cfg.Policy == nil {
		errs = append(errs, errors.New("access: Config.Policy is required (AllowAll lets every caller do everything)"))
	}
	if cfg.Audit == nil {
		errs = append(errs, errors.New("access: Config.Audit is required (NoAudit keeps no trail)"))
	}
	if cfg.FallbackReplicas < 0 {
		errs = append(errs, errors.New("access: Config.FallbackReplicas must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.FallbackReplicas == 0 {
		cfg.FallbackReplicas = DefaultFallbackReplicas
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gate{cfg: cfg, log: log, methods: make(map[string]bool), refuse: errmap.Status, local: NewLocalShares(0),
		logLimit: lograte.New(trailLogInterval, cfg.Now), sharesLog: lograte.New(sharesLogInterval, cfg.Now)}
	for _, m := range methods() {
		g.methods[m] = true
	}
	return g, nil
}

// What the gate reads of any ContactsService request or response.
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
	dryRunRequest    interface{ GetValidateOnly() bool }
	etagResponse     interface{ GetEtag() string }
	ruidResponse     interface{ GetRequestId() string }
	upstreamResponse interface{ GetUpstreamRequestId() string }
)

// Call is one call the gate admitted: who makes it, what its grant is and,
// for a write, its audit record. Its methods are safe for concurrent use.
type Call struct {
	gate     *Gate
	id       Identity
	grant    *Grant
	method   string
	property string

	mu    sync.Mutex
	rec   *Record // the write's audit record; nil for a read or without a trail
	ended bool
}

// Admit names the caller of the call fullMethod (e.g.
// contactsv1.ContactsService_ListContacts_FullMethodName), checks the RPC,
// the property and the profiles the request names against the caller's
// grant, checks the trail's health for writes, and spends the caller's
// fair share. It returns the admitted call, or a status error
// (PERMISSION_DENIED CALLER_NOT_ALLOWED, RESOURCE_EXHAUSTED
// CALLER_RATE_LIMITED, UNAVAILABLE AUDIT_UNAVAILABLE). A refusal costs
// the caller's share too. A refused write is audited here: summed up with
// the caller's other refusals of the same RPC and reason (see Trail). It never returns (nil, nil): a method that is not one of
// the service's, or a caller whose identity is not valid UTF-8 (it could
// be neither recorded nor answered faithfully), is refused.
func (g *Gate) Admit(ctx context.Context, fullMethod string, req proto.Message) (*Call, error) {
	c, known := g.newCall(g.cfg.Resolver.Resolve(ctx), fullMethod, req)
	if err := g.admit(ctx, c, req, known); err != nil {
		c.end(nil, err, false)
		return nil, err
	}
	return c, nil
}

// Item admits one item of the bulk operation named operation, started by
// caller: the single call fullMethod with req, checked as Admit checks it
// against the caller's grant in the policy now in force (it may have
// changed since the operation started), and against the trail's health.
// It spends none of the caller's fair share: items are paced by the
// upstream governor's bulk class, and the call that started the
// operation spent its share. Its audit record names the operation.
func (g *Gate) Item(caller Identity, fullMethod, operation string, req proto.Message) (*Call, error) {
	c, known := g.newCall(caller, fullMethod, req)
	if c.rec != nil {
		c.rec.Operation = boundValue(operation)
	}
	if err := g.check(c, req, known); err != nil {
		c.end(nil, err, false)
		return nil, err
	}
	return c, nil
}

// newCall is the call of caller to fullMethod with req, under the grant
// of the policy now in force, with the start of its audit record when it
// writes; known reports whether fullMethod is one of the service's.
func (g *Gate) newCall(caller Identity, fullMethod string, req proto.Message) (c *Call, known bool) {
	method, ok := strings.CutPrefix(fullMethod, servicePrefix)
	known = ok && g.methods[method]
	if !ok {
		method = fullMethod
	}
	c = &Call{gate: g, id: caller, grant: g.cfg.Policy.Load().Match(caller.Name), method: method, property: propertyOf(req)}
	if !IsRead(method) && !g.cfg.Audit.none() {
		c.rec = g.record(caller, method, req)
	}
	return c, known
}

// Caller names the caller of ctx's call.
func (g *Gate) Caller(ctx context.Context) Identity { return g.cfg.Resolver.Resolve(ctx) }

// Allows reports whether the policy now in force lets caller call the
// ContactsService RPC method (its short name, e.g. "BulkEditProfile").
func (g *Gate) Allows(caller Identity, method string) bool {
	return utf8.ValidString(caller.Name) && g.methods[method] && g.cfg.Policy.Load().Match(caller.Name).AllowsRPC(method)
}

// MayCall refuses, with PERMISSION_DENIED CALLER_NOT_ALLOWED, a caller the
// policy now in force does not let call method (Allows), and spends the
// caller's fair share, refused or not. The google.longrunning.Operations
// service uses it: a caller sees its own operations while it may still
// call the RPC that started them.
func (g *Gate) MayCall(ctx context.Context, caller Identity, method string) error {
	c := &Call{gate: g, id: caller, grant: g.cfg.Policy.Load().Match(caller.Name), method: method}
	if !g.Allows(caller, method) {
		g.spendRefused(ctx, c)
		if !utf8.ValidString(caller.Name) {
			return g.denied(c, missingIdentity)
		}
		return g.denied(c, missingRPC+method)
	}
	return g.spend(ctx, c)
}

// admit checks the call and spends the caller's share, refused or not.
func (g *Gate) admit(ctx context.Context, c *Call, req proto.Message, known bool) error {
	if err := g.check(c, req, known); err != nil {
		// A refusal costs the caller's share too: a caller hammering what
		// it may not do is slowed down like one hammering what it may.
		g.spendRefused(ctx, c)
		return err
	}
	return g.spend(ctx, c)
}

// check checks the call against the grant and, for a write, the trail.
func (g *Gate) check(c *Call, req proto.Message, known bool) error {
	switch {
	case !utf8.ValidString(c.id.Name):
		return g.denied(c, missingIdentity)
	case !known || !c.grant.AllowsRPC(c.method):
		return g.denied(c, missingRPC+c.method)
	case !c.grant.AllowsProperty(c.property):
		if _, ok := req.(propertyRequest); ok {
			return g.denied(c, missingProperty)
		}
	}
	if !IsRead(c.method) {
		if err := c.MayWrite(requestProfiles(req)...); err != nil {
			return err
		}
		if err := g.cfg.Audit.healthy(); err != nil {
			return g.auditUnavailable(c, err)
		}
	}
	return nil
}

// spendRefused takes one call from the share of a caller refused, if it
// has one; an empty share changes nothing of the refusal.
func (g *Gate) spendRefused(ctx context.Context, c *Call) {
	if c.grant == nil || c.grant.Rate.PerSecond <= 0 {
		return
	}
	g.take(ctx, c.id.Name, c.grant.Rate)
}

// spend takes one call from the caller's share.
func (g *Gate) spend(ctx context.Context, c *Call) error {
	r := c.grant.Rate
	if r.PerSecond <= 0 {
		return nil
	}
	ok, delay := g.take(ctx, c.id.Name, r)
	if ok {
		return nil
	}
	md := errmap.FacadeMetadata(errmap.Call{PropertyID: c.property}, "")
	name := printable(c.id.Name)
	md[errmap.MetaCaller], md[errmap.MetaRPC] = name, c.method
	return g.refuse(codes.ResourceExhausted, contactsv1.ErrorReason_CALLER_RATE_LIMITED,
		"caller "+name+" is over its share of the upstream; retry later", md,
		&errdetails.RetryInfo{RetryDelay: durationpb.New(max(delay, time.Millisecond))}).Err()
}

// Readable is what of cs (the contacts a write answers with, in its
// contacts or previous_contacts) the caller may see. A caller whose grant
// allows any read RPC may read every contact of a property it may use:
// cs is returned as it is. A caller with a write-only grant sees only the
// contacts that serve a profile it may write, each a copy whose profiles
// are trimmed to those it may write, and nil when there is none: it
// learns nothing through a write that it could not have set itself, and
// still sees what became of the profiles it changed. (Omitting the fields
// altogether was the other choice; it would leave a write-only caller
// blind to the outcome of its own write.)
func (c *Call) Readable(cs []*contactsv1.Contact) []*contactsv1.Contact {
	if c.grant.readsAny() {
		return cs
	}
	var out []*contactsv1.Contact
	for _, ct := range cs {
		var profiles []contactsv1.ProfileType
		for _, p := range ct.GetProfiles() {
			if p != contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED && c.grant.MayWrite(p) && !slices.Contains(profiles, p) {
				profiles = append(profiles, p)
			}
		}
		if len(profiles) == 0 {
			continue
		}
		cp := proto.Clone(ct).(*contactsv1.Contact)
		cp.Profiles = profiles
		out = append(out, cp)
	}
	return out
}

// Caller is who makes the call.
func (c *Call) Caller() Identity { return c.id }

// MayWrite refuses, with PERMISSION_DENIED CALLER_NOT_ALLOWED naming the
// first profile refused, a write that changes a profile the caller may not
// write. The service asks it about what only it knows: the profiles a
// Replace deletes, under the write lock. UNSPECIFIED profiles are left to
// validation. The profiles allowed are noted for the audit record.
func (c *Call) MayWrite(profiles ...contactsv1.ProfileType) error {
	for _, p := range profiles {
		if p == contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED {
			continue
		}
		if !c.grant.MayWrite(p) {
			return c.gate.denied(c, missingProfile+profileName(p))
		}
		c.noteProfile(profileName(p))
	}
	return nil
}

func (c *Call) noteProfile(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec != nil && !slices.Contains(c.rec.Profiles, name) {
		c.rec.Profiles = append(c.rec.Profiles, name)
	}
}

// SetEtags notes the state's etags before and after the write for the
// audit record; an empty one keeps what the record has (the request's
// etag).
func (c *Call) SetEtags(before, after string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec == nil {
		return
	}
	if before != "" {
		c.rec.EtagBefore = recordedID(before, wellFormedEtag)
	}
	if after != "" {
		c.rec.EtagAfter = recordedID(after, wellFormedEtag)
	}
}

// End writes the audit record of a write with the outcome the caller got:
// resp, or err. It does nothing for a read. Call it exactly once, when
// the handler returns (defer); later calls do nothing.
func (c *Call) End(resp proto.Message, err error) { c.end(resp, err, true) }

// profileName is a profile's name in records and refusals, e.g.
// "INVOICES".
func profileName(p contactsv1.ProfileType) string {
	return strings.TrimPrefix(p.String(), "PROFILE_TYPE_")
}

// requestProfiles are the profiles a write request names: the one of a
// per-profile RPC, or every profile of the contacts a Replace or Create
// sends.
func requestProfiles(req proto.Message) []contactsv1.ProfileType {
	if r, ok := req.(profileRequest); ok {
		return []contactsv1.ProfileType{r.GetProfile()}
	}
	var out []contactsv1.ProfileType
	if r, ok := req.(contactsRequest); ok {
		for _, c := range r.GetContacts() {
			out = append(out, c.GetProfiles()...)
		}
	}
	return out
}

// MayUseProperty refuses, with the PERMISSION_DENIED CALLER_NOT_ALLOWED
// that Admit gives a single-property call, a property id the caller's
// grant does not cover. The service asks it about each property of a call
// over many properties (FindProperties), whose request names none that
// Admit could check.
func (c *Call) MayUseProperty(id string) error {
	if c.grant.AllowsProperty(id) {
		return nil
	}
	return c.gate.deniedProperty(c, missingProperty, id)
}

// denied is the PERMISSION_DENIED of a call the grant does not cover.
func (g *Gate) denied(c *Call, missing string) error {
	return g.deniedProperty(c, missing, c.property)
}

// deniedProperty is denied naming property in its metadata.
func (g *Gate) deniedProperty(c *Call, missing, property string) error {
	name := printable(c.id.Name)
	md := errmap.FacadeMetadata(errmap.Call{PropertyID: property}, "")
	md[errmap.MetaCaller], md[errmap.MetaMissing], md[errmap.MetaRPC] = name, missing, c.method
	return g.refuse(codes.PermissionDenied, contactsv1.ErrorReason_CALLER_NOT_ALLOWED, "caller "+name+" may not "+describe(c.method, missing), md).Err()
}

func describe(method, missing string) string {
	switch {
	case missing == missingIdentity:
		return "call with an identity that is not valid UTF-8"
	case strings.HasPrefix(missing, missingRPC):
		return "call " + method
	case strings.HasPrefix(missing, missingProfile):
		return "change profile " + strings.TrimPrefix(missing, missingProfile)
	default:
		return "use this property"
	}
}

// auditUnavailable refuses a write while the trail cannot be written, and
// says so in the log, at most once per trailLogInterval.
func (g *Gate) auditUnavailable(c *Call, cause error) error {
	if ok, held := g.logLimit.Allow(logKeyTrail); ok {
		g.log.Error("write refused: the audit trail cannot be written",
			slog.String("rpc", c.method), slog.String("error", cause.Error()), slog.Int("suppressed", held))
	}
	md := errmap.FacadeMetadata(errmap.Call{PropertyID: c.property}, "")
	md[errmap.MetaRPC] = c.method
	return g.refuse(codes.Unavailable, contactsv1.ErrorReason_AUDIT_UNAVAILABLE,
		"the audit trail cannot be written; writes are refused until it can", md).Err()
}

// printable is an identity as refusals and records show it: invalid UTF-8
// replaced, so that their details can be attached.
func printable(name string) string {
	if utf8.ValidString(name) {
		return name
	}
	return strings.ToValidUTF8(name, "\uFFFD")
}

// record starts the audit record of a write from its request.
func (g *Gate) record(id Identity, method string, req proto.Message) *Record {
	rec := &Record{Caller: printable(id.Name), CallerSource: string(id.Source), RPC: printable(method)}
	if r, ok := req.(propertyRequest); ok {
		rec.PropertyID = recordedID(r.GetPropertyId(), wellFormedPropertyID)
	}
	if r, ok := req.(requestIDRequest); ok {
		rec.RequestID = recordedID(r.GetRequestId(), safeedit.IsRequestID)
	}
	if r, ok := req.(etagRequest); ok {
		rec.EtagBefore = recordedID(r.GetEtag(), wellFormedEtag)
	}
	if r, ok := req.(dryRunRequest); ok {
		rec.DryRun = r.GetValidateOnly()
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

// end completes and writes a write's record, once. A failure is logged
// loudly; the gate refuses writes until the trail can be written again.
func (c *Call) end(resp proto.Message, err error, allowed bool) {
	c.mu.Lock()
	if c.ended || c.rec == nil {
		c.ended = true
		c.mu.Unlock()
		return
	}
	c.ended = true
	rec := *c.rec
	rec.Profiles = slices.Clone(rec.Profiles)
	c.mu.Unlock()

	g := c.gate
	rec.Time = g.cfg.Now().UTC()
	st := status.Convert(err)
	rec.Code = st.Code().String()
	rec.Allowed = allowed
	if !allowed {
		// Refused by the gate: its reason, though its details may be
		// missing.
		rec.Reason = reasonOf(st.Code()).String()
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			rec.Reason = info.GetReason()
			md := info.GetMetadata()
			rec.UpstreamRUID = boundValue(md[errmap.MetaRequestID])
			rec.Outcome = outcomeOf(md[metaOutcome])
			// Refused by the facade itself before any write: by the
			// policy (a profile only the fresh state shows) or by
			// validation. An upstream refusal was a call allowed.
			if rec.Reason == contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() || (st.Code() == codes.InvalidArgument && md[errmap.MetaSource] == errmap.SourceFacade) {
				rec.Allowed = false
			}
			break
		}
	}
	if r, ok := resp.(upstreamResponse); ok && r.GetUpstreamRequestId() != "" {
		rec.UpstreamRUID = boundValue(r.GetUpstreamRequestId())
	} else if r, ok := resp.(ruidResponse); ok && r.GetRequestId() != "" {
		rec.UpstreamRUID = boundValue(r.GetRequestId())
	}
	if r, ok := resp.(etagResponse); ok && rec.EtagAfter == "" {
		rec.EtagAfter = recordedID(r.GetEtag(), wellFormedEtag)
	}
	if !allowed {
		// Refused by the gate: summed up, not waited for.
		g.cfg.Audit.refused(rec)
		return
	}
	if werr := g.cfg.Audit.write(rec); werr != nil {
		if ok, held := g.logLimit.Allow(logKeyTrail); ok {
			g.log.Error("audit record not written: writes are refused until the audit trail can be written",
				slog.String("rpc", rec.RPC), slog.String("code", rec.Code), slog.String("error", werr.Error()),
				slog.Int("suppressed", held))
		}
	}
}

// reasonOf is the reason of a refusal of the gate by its code.
func reasonOf(code codes.Code) contactsv1.ErrorReason {
	switch code {
	case codes.ResourceExhausted:
		return contactsv1.ErrorReason_CALLER_RATE_LIMITED
	case codes.Unavailable:
		return contactsv1.ErrorReason_AUDIT_UNAVAILABLE
	default:
		return contactsv1.ErrorReason_CALLER_NOT_ALLOWED
	}
}

// propertyOf is the property id of a request, "" when it has none.
func propertyOf(req proto.Message) string {
	if r, ok := req.(propertyRequest); ok {
		return r.GetPropertyId()
	}
	return ""
}

// boundValue keeps an id from a request short in the audit record.
func boundValue(s string) string {
	if len(s) > 128 {
		s = s[:128]
	}
	return printable(s)
}

// invalidID is what a record holds of an id sent that is not well-formed:
// what a caller puts in an id field (an e-mail, a name, a phone number by
// mistake) never reaches the trail.
const invalidID = "invalid"

// recordedID is an id from a request or answer as the record holds it:
// "" when there is none, the id when it is well-formed, else invalidID.
func recordedID(s string, wellFormed func(string) bool) string {
	switch {
	case s == "":
		return ""
	case wellFormed(s):
		return s
	default:
		return invalidID
	}
}

// wellFormedPropertyID reports whether s is a property id: 1 to 10
// digits.
func wellFormedPropertyID(s string) bool {
	if len(s) == 0 || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// wellFormedEtag reports whether s has the shape of the facade's etags
// (safeedit.Etag): W/" then 24 characters of unpadded base64url then ".
func wellFormedEtag(s string) bool {
	const prefix, n = `W/"`, 24
	if len(s) != len(prefix)+n+1 || s[:len(prefix)] != prefix || s[len(s)-1] != '"' {
		return false
	}
	for i := len(prefix); i < len(s)-1; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// outcomeOf is an ErrorInfo's outcome as the record holds it: a short
// lower-case word ("unknown"), else nothing.
func outcomeOf(v string) string {
	if v == "" || len(v) > 32 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 'a' || c > 'z') && c != '_' {
			return ""
		}
	}
	return v
}
