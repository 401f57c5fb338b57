package fleet_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
	"github.com/contacts-facade/contacts-facade/internal/safeedit"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"github.com/contacts-facade/contacts-facade/service"
)

// replicas is the size of every fleet here, as the issue asks.
const replicas = 5

// Budgets of every replica: the account's 30 an hour in Redis, and 3 an
// hour of its own while Redis is away.
const (
	sharedLimit = 30
	localLimit  = 3
)

// clock is the one clock of a test: the real time plus an offset the test
// advances, so that back-offs, refusal windows and token lifetimes (of the
// replicas and the emulator alike) pass at will. A real Redis keeps its
// own time. A frozen clock (start set) does not move on its own; onAdvance
// then hands each new time to a miniredis, so that its TIME agrees.
type clock struct {
	start     time.Time
	onAdvance func(time.Time)
	offset    atomic.Int64
}

func (c *clock) Now() time.Time {
	base := c.start
	if base.IsZero() {
		base = time.Now()
	}
	return base.Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock on by d. It is called by the test's own
// goroutine only, between bursts of calls.
func (c *clock) Advance(d time.Duration) {
	c.offset.Add(int64(d))
	if c.onAdvance != nil {
		c.onAdvance(c.Now())
	}
}

// emu is one emulator on loopback HTTP, on clk.
type emu struct {
	*emulator.Emulator
	base string
}

func startEmulator(t testing.TB, clk *clock) *emu {
	t.Helper()
	e := emulator.New(emulator.Options{Now: clk.Now, ExtraProperties: 2})
	base, stop, err := emulator.Start(context.Background(), "127.0.0.1:0", e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	return &emu{Emulator: e, base: base}
}

// exchanges is how many exchanges reached the emulator for the demo
// account, whatever their outcome.
func (e *emu) exchanges() int { return e.Exchanges(emulator.DemoClientID) }

// replica is one contactsd process of the fleet: its own Redis
// connection, token source, upstream client, service and gRPC server.
type replica struct {
	id     int
	store  *redisstore.Store
	budget *redisstore.FallbackBudget
	ts     *upstreamauth.TokenSource
	client contactsv1.ContactsServiceClient

	mu       sync.Mutex
	outcomes map[string]int // OnExchange outcomes
	// onSent, when set before the first call, is called for each
	// exchange sent.
	onSent func()
}

// sent is how many exchanges this replica sent (every outcome but a
// budget refusal, which sends nothing).
func (r *replica) sent() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for o, c := range r.outcomes {
		if o != upstreamauth.OutcomeBudgetExhausted {
			n += c
		}
	}
	return n
}

func (r *replica) outcome(o string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcomes[o]
}

// fleetConfig describes a fleet.
type fleetConfig struct {
	redisURL string
	secret   string // the client secret; the emulator's when empty
	emu      *emu
	clk      *clock
	log      *slog.Logger
	// inProcess keeps the write locks and request records in the
	// replica's memory (the service's defaults), as without Redis.
	inProcess bool
}

func newFleet(t testing.TB, cfg fleetConfig) []*replica {
	t.Helper()
	fleet := make([]*replica, replicas)
	for i := range fleet {
		fleet[i] = newReplica(t, i, cfg)
	}
	return fleet
}

func newReplica(t testing.TB, id int, cfg fleetConfig) *replica {
	t.Helper()
	if cfg.secret == "" {
		cfg.secret = emulator.DemoClientSecret
	}
	store, err := redisstore.Open(redisstore.Config{URL: cfg.redisURL, Account: emulator.DemoClientID, Secret: cfg.secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	r := &replica{id: id, store: store, outcomes: map[string]int{}}
	log := cfg.log
	if log != nil {
		log = log.With(slog.Int("replica", id))
	}
	r.budget = redisstore.NewFallbackBudget(store.Budget(sharedLimit, time.Hour),
		upstreamauth.NewLocalBudget(localLimit, cfg.clk.Now), log, cfg.clk.Now)
	r.ts, err = upstreamauth.NewTokenSource(upstreamauth.TokenConfig{
		ExchangeURL:  cfg.emu.base + "/token-based-authentication/exchange",
		ClientID:     emulator.DemoClientID,
		ClientSecret: cfg.secret,
		Budget:       r.budget,
		Shared:       store.TokenShare(cfg.clk.Now),
		Now:          cfg.clk.Now,
		Logger:       log,
		OnExchange: func(o string) {
			r.mu.Lock()
			r.outcomes[o]++
			sent := r.onSent
			r.mu.Unlock()
			if sent != nil && o != upstreamauth.OutcomeBudgetExhausted {
				sent()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.ts.Close() })
	up, err := upstream.New(upstream.Config{BaseURL: cfg.emu.base, Authorizer: r.ts})
	if err != nil {
		t.Fatal(err)
	}
	scfg := service.Config{Upstream: up, Policy: service.AllowAll(), Audit: service.NoAudit(), Logger: log}
	if !cfg.inProcess {
		scfg.Locks, scfg.Requests = store.WriteLocks(0), store.Requests(0, 0)
	}
	svc, err := service.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	r.client = serve(t, up, svc, log)
	return r
}

// serve runs svc behind the real gRPC server on an in-memory listener and
// returns a client of it.
func serve(t testing.TB, up *upstream.Client, svc *service.Service, log *slog.Logger) contactsv1.ContactsServiceClient {
	t.Helper()
	t.Cleanup(up.CloseIdleConnections)
	srv := grpcserver.New(grpcserver.Config{Service: svc, ServiceInterceptors: svc.UnaryInterceptors(), Logger: log})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return contactsv1.NewContactsServiceClient(conn)
}

// testLog is the fleet's logger: discarded unless FLEET_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("FLEET_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func totalSent(fleet []*replica) int {
	n := 0
	for _, r := range fleet {
		n += r.sent()
	}
	return n
}

func perReplica(fleet []*replica, f func(*replica) int) []int {
	out := make([]int, len(fleet))
	for i, r := range fleet {
		out[i] = f(r)
	}
	return out
}

var (
	fullID    = strconv.Itoa(emulator.DemoPropertyFull)
	allWrites = []contactsv1.ProfileType{
		contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
		contactsv1.ProfileType_PROFILE_TYPE_INVOICES, contactsv1.ProfileType_PROFILE_TYPE_AVAILABILITY,
		contactsv1.ProfileType_PROFILE_TYPE_SITE_CONTENT, contactsv1.ProfileType_PROFILE_TYPE_PARITY,
		contactsv1.ProfileType_PROFILE_TYPE_REQUESTS, contactsv1.ProfileType_PROFILE_TYPE_CENTRAL_RESERVATIONS,
	}
)

const general = contactsv1.ProfileType_PROFILE_TYPE_GENERAL

// named is a valid contact of its own: name and e-mail from name.
func named(name string) *contactsv1.Contact {
	return &contactsv1.Contact{
		ContactPerson: &contactsv1.ContactPerson{Name: name, LanguageCode: "en-gb", JobTitle: contactsv1.JobTitle_JOB_TITLE_OWNER},
		Phones:        []*contactsv1.Phone{{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE, Extension: "12"}},
		Email:         name + "@example.com",
	}
}

// call is one write of the workload: profile p to the contacts of call i.
type call struct {
	p    contactsv1.ProfileType
	i    int
	want []*contactsv1.Contact
}

// workload is 8 profiles × 20 calls, as in the service's
// TestConcurrentSetProfileContacts: each call sets its profile to a
// contact of its own; every other non-GENERAL call adds a contact shared
// by all, so that one contact ends up with several profiles.
func workload() []call {
	shared := named("shared")
	var calls []call
	for _, p := range allWrites {
		for i := range 20 {
			want := []*contactsv1.Contact{named(fmt.Sprintf("p%d-call%d", p, i))}
			if p != general && i%2 == 0 {
				want = append(want, shared)
			}
			calls = append(calls, call{p: p, i: i, want: want})
		}
	}
	return calls
}

// contentSet is the set of contents (contacts without profiles) serving p.
func contentSet(cs []*contactsv1.Contact, p contactsv1.ProfileType) map[string]bool {
	out := map[string]bool{}
	for _, c := range safeedit.Serving(cs, p) {
		c = proto.CloneOf(c)
		c.Profiles = nil
		out[safeedit.Etag([]*contactsv1.Contact{c})] = true
	}
	return out
}

func withProfile(cs []*contactsv1.Contact, p contactsv1.ProfileType) []*contactsv1.Contact {
	out := make([]*contactsv1.Contact, len(cs))
	for i, c := range cs {
		out[i] = proto.CloneOf(c)
		out[i].Profiles = []contactsv1.ProfileType{p}
	}
	return out
}
