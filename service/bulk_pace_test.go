package service_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"github.com/contacts-facade/contacts-facade/service"
)

// limitedUpstream is the emulator behind a limit it enforces itself, as
// the real API may: at most perMinute calls of /properties in any sliding
// minute; past it, 429 with a Retry-After. It counts the calls it took and
// the 429s it gave.
type limitedUpstream struct {
	next      http.Handler
	perMinute int

	mu       sync.Mutex
	recent   []time.Time
	calls    int // of the job
	others   int // of the interactive caller
	tooMany  int
	firstAt  time.Time
	lastDone time.Time
}

func (l *limitedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.URL.Path, "/properties/") {
		l.next.ServeHTTP(w, r) // the token exchange has a budget of its own
		return
	}
	now := time.Now()
	l.mu.Lock()
	for len(l.recent) > 0 && !l.recent[0].After(now.Add(-time.Minute)) {
		l.recent = l.recent[1:]
	}
	if len(l.recent) >= l.perMinute {
		l.tooMany++
		retry := l.recent[0].Add(time.Minute).Sub(now)
		l.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	l.recent = append(l.recent, now)
	if strings.Contains(r.URL.Path, "/properties/1000001/") {
		l.others++ // not the job's
	} else {
		if l.calls == 0 {
			l.firstAt = now
		}
		l.calls++
	}
	l.mu.Unlock()
	l.next.ServeHTTP(w, r)
	l.mu.Lock()
	l.lastDone = time.Now()
	l.mu.Unlock()
}

// handlerTransport sends requests to a handler in process: no sockets, so
// that a synctest bubble's clock can run.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// capture is a grpc.ServiceRegistrar that keeps the implementations it is
// given, to call a service's methods in process.
type capture map[string]any

func (c capture) RegisterService(d *grpc.ServiceDesc, impl any) { c[d.ServiceName] = impl }

// TestBulkEditPace is the figure: with the governor at R calls a
// minute and an upstream that enforces R itself, a bulk edit of 1,000
// properties (a GET and a PUT each) takes within 1.15 times the least
// time its calls need at the bulk share of R, and draws no 429. It runs
// in a synctest bubble: the clock is the bubble's, so the ~5 minutes of
// the edit take well under a second, and the times are exact, not
// measured on a busy machine.
func TestBulkEditPace(t *testing.T) {
	const (
		properties = 1000
		perMinute  = 600
	)
	synctest.Test(t, func(t *testing.T) {
		emu := emulator.New(emulator.Options{ExtraProperties: properties, Latency: 40 * time.Millisecond, LatencyJitter: 20 * time.Millisecond})
		limited := &limitedUpstream{next: emu, perMinute: perMinute}
		hc := &http.Client{Transport: handlerTransport{limited}}
		base := "http://upstream.invalid"
		ts, err := upstreamauth.NewTokenSource(upstreamauth.TokenConfig{ExchangeURL: base + "/token-based-authentication/exchange",
			ClientID: emulator.DemoClientID, ClientSecret: emulator.DemoClientSecret, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		defer ts.Close()
		gov, err := governor.New(governor.Config{PerMinute: perMinute})
		if err != nil {
			t.Fatal(err)
		}
		up, err := upstream.New(upstream.Config{BaseURL: base, Authorizer: ts, HTTPClient: hc, Governor: gov})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := service.New(service.Config{Upstream: up, Policy: service.AllowAll(), Audit: service.NoAudit(),
			Pacer: gov, BulkCallsPerMinute: gov.PerMinute(governor.Bulk)})
		if err != nil {
			t.Fatal(err)
		}
		defer svc.Close()
		reg := capture{}
		svc.Register(reg)
		ops := reg["google.longrunning.Operations"].(longrunningpb.OperationsServer)

		targets := make([]*contactsv1.BulkTarget, properties)
		for i := range targets {
			targets[i] = &contactsv1.BulkTarget{PropertyId: extraID(i)}
		}
		ctx := context.Background()
		started, err := svc.BulkEditProfile(ctx, &contactsv1.BulkEditProfileRequest{Targets: targets, Profile: contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS,
			Edit: &contactsv1.BulkEditProfileRequest_Set{Set: &contactsv1.BulkSetProfile{Contacts: []*contactsv1.Contact{reservations()}}}})
		if err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		// Meanwhile, a caller reads a property every 10 seconds, and writes
		// one every 30: how long do they wait while the job saturates
		// bulk's share?
		interactive := make(chan time.Duration, 100)
		stop := make(chan struct{})
		var callers sync.WaitGroup
		callers.Go(func() {
			defer close(interactive)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Second):
				}
				at := time.Now()
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := svc.ListContacts(rctx, &contactsv1.ListContactsRequest{PropertyId: "1000001"})
				if err == nil && n%3 == 2 {
					c := reservations()
					c.Profiles, c.Email = nil, "invoices"+strconv.Itoa(n)+"@example.com"
					_, err = svc.SetProfileContacts(rctx, &contactsv1.SetProfileContactsRequest{PropertyId: "1000001",
						Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Contacts: []*contactsv1.Contact{c}})
				}
				cancel()
				if err != nil {
					t.Errorf("an interactive call while the job runs: %v", err)
				}
				interactive <- time.Since(at)
			}
		})
		var op *longrunningpb.Operation
		for !op.GetDone() {
			if op, err = ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: started.GetName(), Timeout: durationpb.New(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(begin)
		close(stop)
		callers.Wait()
		var slowest time.Duration
		calls := 0
		for d := range interactive {
			slowest = max(slowest, d)
			calls++
		}
		t.Logf("%d interactive rounds (a ListContacts, every third also a SetProfileContacts) while the job ran: the slowest took %v; the upstream's latency is 40 ± 20 ms a call", calls, slowest)
		md := new(contactsv1.BulkEditMetadata)
		if err := op.GetMetadata().UnmarshalTo(md); err != nil {
			t.Fatal(err)
		}
		if md.GetChanged() != properties {
			t.Fatalf("%d changed, %d failed, want %d changed; first failure %v", md.GetChanged(), md.GetFailed(), properties, firstFailure(md))
		}
		limited.mu.Lock()
		upCalls, tooMany, busy := limited.calls, limited.tooMany, limited.lastDone.Sub(limited.firstAt)
		limited.mu.Unlock()
		bulkRate := gov.PerMinute(governor.Bulk)
		least := time.Duration(float64(upCalls) / bulkRate * float64(time.Minute))
		t.Logf("%d properties, %d upstream calls at %v/min (bulk share of %d/min): %v, the least %v: %.3f×; upstream busy %v; %d × 429; estimate at start %d calls, %v",
			properties, upCalls, bulkRate, perMinute, took.Round(time.Second), least.Round(time.Second), float64(took)/float64(least),
			busy.Round(time.Second), tooMany, metadataOf(t, started).GetEstimate().GetUpstreamCalls(), metadataOf(t, started).GetEstimate().GetDuration().AsDuration())
		// Three upstream calls at most, at 60 ms at most: no interactive
		// call waited for the governor behind the job.
		if slowest > 3*60*time.Millisecond {
			t.Errorf("an interactive round took %v while the job ran: it waited behind bulk work", slowest)
		}
		if tooMany != 0 {
			t.Errorf("the upstream answered 429 %d times", tooMany)
		}
		if upCalls != 2*properties {
			t.Errorf("%d upstream calls of the job, want a GET and a PUT per property (%d)", upCalls, 2*properties)
		}
		if ratio := float64(took) / float64(least); ratio > 1.15 {
			t.Errorf("the edit took %.3f× the least time at the bulk share, want ≤ 1.15×", ratio)
		}
	})
}

func firstFailure(md *contactsv1.BulkEditMetadata) any {
	for _, st := range md.GetFailedRequests() {
		return st
	}
	return nil
}
