package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/bulk"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/idempotency"
	"github.com/contacts-facade/contacts-facade/internal/lograte"
	"github.com/contacts-facade/contacts-facade/internal/readpath"
	"github.com/contacts-facade/contacts-facade/internal/writelock"
)

// Upstream is what the service needs of the Contacts REST API: the GET,
// PUT and POST of /properties/{id}/contacts. NewUpstream returns one.
type Upstream interface {
	List(ctx context.Context, propertyID string, noLanguageFallback bool) (*contactsv1.ListContactsResponse, error)
	Replace(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error)
	Create(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error)
}

// ReadResult is an answer of a ReadPath, with where it came from.
type ReadResult = readpath.Result

// ReadPath is what stands between the reads of the service and the
// upstream: request coalescing and the opt-in cache (NewReadPath).
type ReadPath interface {
	// Read answers a ListContacts or GetProfileContacts, from the cache
	// or a GET shared with identical reads in flight.
	Read(ctx context.Context, propertyID string, noLanguageFallback bool) (ReadResult, error)
	// ReadFresh is the read of a read-modify-write: never from the cache,
	// never a GET that started before it.
	ReadFresh(ctx context.Context, propertyID string, noLanguageFallback bool) (ReadResult, error)
	// Invalidate drops what is known of a property after a write to it.
	Invalidate(ctx context.Context, propertyID string)
}

// Locker serialises the writes of one property (in process by default;
// shared by the replicas of an account through Redis).
type Locker = writelock.Locker

// RequestStore remembers the outcomes of writes by AIP-155 request_id (in
// process by default; shared through Redis).
type RequestStore = idempotency.Store

// Policy says what each caller may do; it can be replaced while the
// service runs (a reload). AllowAll and LoadPolicy make one.
type Policy = access.Holder

// AuditTrail receives one record per write call, allowed or refused.
// NewAuditTrail and NoAudit make one.
type AuditTrail = access.Trail

// Callers names the caller of each call: from its verified client
// certificate, or a header set by a trusted proxy. The zero value names
// callers by their TLS client certificate, else "anonymous".
type Callers = access.Resolver

// CallerShares spends the callers' fair shares (the policy's rate of each
// grant): in process by default, a caller's rate per replica; shared by
// the replicas of an account through Redis (redisstore.Shares), its rate
// once for the fleet.
type CallerShares = access.Shares

// AllowAll is the policy under which every caller may make every call: an
// explicit choice, for one-tenant deployments, tests and examples.
func AllowAll() *Policy { return access.AllowAll() }

// NoAudit is the explicit choice of no audit trail.
func NoAudit() *AuditTrail { return access.NoAudit() }

// Config is everything the service depends on. Upstream, Policy and
// Audit are required; the rest has in-process defaults, right for one
// replica.
type Config struct {
	// Upstream is the Contacts API. Required.
	Upstream Upstream
	// Reads is the read path in front of Upstream (NewReadPath). Default:
	// every read is a GET of its own.
	Reads ReadPath
	// Policy is the access policy in force. Required: AllowAll is the
	// explicit way to let every caller do everything.
	Policy *Policy
	// Audit is the audit trail of writes. Required: NoAudit is the
	// explicit way to keep none.
	Audit *AuditTrail
	// Callers names the callers the policy is asked about.
	Callers Callers
	// Locks serialises the writes of one property. Replicas that serve
	// the same properties must share it. Default: in process.
	Locks Locker
	// Requests remembers the outcomes of writes by request_id for 24 h.
	// Replicas must share it. Default: in process, bounded.
	Requests RequestStore
	// Shares spends the callers' fair shares. Replicas should share it,
	// so that a caller gets its rate once, not once per replica. Default:
	// in process. While a shared one fails, each replica gives a caller
	// a third of its rate (access.DefaultFallbackReplicas).
	Shares CallerShares
	// LockWait bounds a write's wait for its property's write lock
	// (default DefaultLockWait): past it the call gets UNAVAILABLE
	// WRITE_LOCK_TIMEOUT with RetryInfo.
	LockWait time.Duration
	// WriteTimeout caps the upstream part of a write (the fresh read and
	// the PUT, with their retries), whatever the caller's deadline, so
	// that one stalled write does not hold the property's other writers
	// for as long as its caller will wait (default DefaultWriteTimeout).
	WriteTimeout time.Duration
	// DefaultTimeout is the deadline of calls that come without one
	// (default DefaultTimeout), so that no upstream call waits forever.
	DefaultTimeout time.Duration
	// Logger gets the service's log lines: kinds and identifiers, never a
	// contact's data. Default: discard.
	Logger *slog.Logger
	// Now is the clock of the callers' fair shares and of the bulk
	// operations' times. Default time.Now.
	Now func() time.Time
	// Operations keeps the bulk operations and queues them. Default: in
	// process, kept OperationRetention after they end, lost with the
	// process. Replicas must share one (redisstore.Operations) for an
	// operation to survive its replica and for any replica to answer for
	// it.
	Operations OperationStore
	// OperationRetention is how long the default Operations keeps an
	// operation after it ended (default 7 days).
	OperationRetention time.Duration
	// Pacer, when set, admits the upstream calls of each item of a bulk
	// operation before the item takes the property's write lock
	// (contactsd passes its upstream governor, which the Upstream also
	// calls): the item then waits for the upstream limit without holding
	// the lock or spending its WriteTimeout. Without one, an item's calls
	// wait in the Upstream like a write's, within WriteTimeout.
	Pacer Pacer
	// BulkMetrics, when set, is told of each bulk item and operation that
	// ends (contactsd passes its Prometheus metrics).
	BulkMetrics BulkMetrics
	// BulkCallsPerMinute is the upstream rate bulk work gets (the
	// governor's bulk share of its limit), for the estimates of bulk
	// operations. Default 120: 60% of 200 a minute.
	BulkCallsPerMinute float64
}

// Pacer admits upstream calls ahead (the upstream governor's Reserve):
// Reserve waits until n calls of class are admitted and returns ctx
// carrying them, for the Upstream's calls under it.
type Pacer interface {
	Reserve(ctx context.Context, class governor.Class, n int) (context.Context, error)
}

// BulkMetrics is told what bulk operations do. Its methods must be cheap
// and safe for concurrent use. rpc is the short name of the RPC that
// started the operation ("BulkEditProfile"); outcome is "changed",
// "unchanged" or "failed"; result is "done", "cancelled" or "failed"
// (every item failed).
type BulkMetrics interface {
	BulkItem(rpc, outcome string)
	BulkOperationEnded(rpc, result string)
}

// Defaults of Config.
const (
	// DefaultLockWait is several writes' worth of upstream round trips.
	DefaultLockWait = 10 * time.Second
	// DefaultTimeout is the deadline of a call that has none.
	DefaultTimeout = 30 * time.Second
	// DefaultWriteTimeout is a few upstream round trips with retries.
	DefaultWriteTimeout = 20 * time.Second
	// DefaultBulkCallsPerMinute is the governor's default bulk share: 60%
	// of 200 calls a minute.
	DefaultBulkCallsPerMinute = 120
)

// Errors of New.
var (
	ErrNoUpstream = errors.New("service: Config.Upstream is required")
	ErrNoPolicy   = errors.New("service: Config.Policy is required (AllowAll is the explicit choice to allow every caller)")
	ErrNoAudit    = errors.New("service: Config.Audit is required (NoAudit is the explicit choice of no trail)")
)

// Service implements contacts.v1.ContactsService. Mount it on any
// grpc.ServiceRegistrar with Register, and chain UnaryInterceptors.
type Service struct {
	contactsv1.UnimplementedContactsServiceServer

	up       Upstream
	reads    ReadPath
	gate     *access.Gate
	locks    Locker
	requests RequestStore
	lockWait time.Duration
	writeCap time.Duration
	timeout  time.Duration
	log      *slog.Logger
	limiter  *lograte.Limiter // of the WARN lines of fail
	now      func() time.Time

	// Bulk operations.
	ops        OperationStore
	pacer      Pacer
	metrics    BulkMetrics
	bulkRate   float64
	runnerOnce sync.Once
	closeOnce  sync.Once
	stopRunner func()
}

// New checks cfg and returns the service. It refuses a Config without an
// upstream, an access policy or an audit trail: a service that allowed
// every caller because nobody said otherwise would fail open.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Upstream == nil:
		return nil, ErrNoUpstream
	case cfg.Policy == nil:
		return nil, ErrNoPolicy
	case cfg.Audit == nil:
		return nil, ErrNoAudit
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gate, err := access.NewGate(access.Config{Resolver: cfg.Callers, Policy: cfg.Policy, Audit: cfg.Audit, Logger: log, Now: cfg.Now, Shares: cfg.Shares})
	if err != nil {
		return nil, err
	}
	s := &Service{
		up:       cfg.Upstream,
		reads:    cfg.Reads,
		gate:     gate,
		locks:    cfg.Locks,
		requests: cfg.Requests,
		lockWait: cmp.Or(cfg.LockWait, DefaultLockWait),
		writeCap: cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout),
		timeout:  cmp.Or(cfg.DefaultTimeout, DefaultTimeout),
		log:      log,
		limiter:  lograte.New(failLogInterval, nil),
		now:      cfg.Now,
		ops:      cfg.Operations,
		pacer:    cfg.Pacer,
		metrics:  cfg.BulkMetrics,
		bulkRate: cmp.Or(cfg.BulkCallsPerMinute, DefaultBulkCallsPerMinute),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.reads == nil {
		s.reads = directReads{cfg.Upstream}
	}
	if s.locks == nil {
		s.locks = writelock.NewLocal()
	}
	if s.metrics == nil {
		s.metrics = noBulkMetrics{}
	}
	if s.ops == nil {
		s.ops = bulk.NewMemory(cfg.OperationRetention, s.now)
	} else {
		// A shared store: this replica runs its share of the fleet's
		// operations, and takes over those of a replica that died.
		s.startRunner()
	}
	if s.requests == nil {
		s.requests = idempotency.NewMemory(idempotency.MemoryConfig{})
	}
	// A claim on a request_id must outlive the write that holds it, or a
	// retry elsewhere would run the write a second time.
	if p, ok := s.requests.(interface{ PendingTTL() time.Duration }); ok && p.PendingTTL() <= s.lockWait+s.writeCap {
		return nil, fmt.Errorf("service: the request store's pending TTL (%v) must be longer than LockWait + WriteTimeout (%v)", p.PendingTTL(), s.lockWait+s.writeCap)
	}
	return s, nil
}

// Register registers the service on r (a *grpc.Server, or any other
// registrar).
// It registers contacts.v1.ContactsService and the
// google.longrunning.Operations service of its bulk operations.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	contactsv1.RegisterContactsServiceServer(r, s)
	s.registerOperations(r)
}

// UnaryInterceptors are the interceptors the service needs in front of
// it, for the caller to chain (grpc.ChainUnaryInterceptor): the default
// deadline. Access control is not among them: every handler admits its
// caller itself, so a server that forgets an interceptor cannot skip it.
func (s *Service) UnaryInterceptors() []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{s.defaultDeadline}
}

// defaultDeadline gives a call of the service without a deadline the
// default one. Other services' calls pass untouched.
func (s *Service) defaultDeadline(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if _, ok := info.Server.(*Service); !ok {
		return handler(ctx, req)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	return handler(ctx, req)
}

// noBulkMetrics tells nobody.
type noBulkMetrics struct{}

func (noBulkMetrics) BulkItem(string, string)           {}
func (noBulkMetrics) BulkOperationEnded(string, string) {}

// directReads is the read path of a service without one: a GET per read.
type directReads struct{ up Upstream }

func (d directReads) Read(ctx context.Context, id string, nlf bool) (ReadResult, error) {
	resp, err := d.up.List(ctx, id, nlf)
	return ReadResult{Resp: resp}, err
}

func (d directReads) ReadFresh(ctx context.Context, id string, nlf bool) (ReadResult, error) {
	return d.Read(ctx, id, nlf)
}

func (directReads) Invalidate(context.Context, string) {}

// compile-time check.
var _ contactsv1.ContactsServiceServer = (*Service)(nil)
