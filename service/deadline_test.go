package service_test

import (
	"context"
	"testing"
	"time"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/service"
)

// deadlineSeen is an Upstream whose List reports the deadline of the
// context it is called with.
type deadlineSeen struct {
	failsWith
	seen chan time.Time
}

func (d deadlineSeen) List(ctx context.Context, _ string, _ bool) (*contactsv1.ListContactsResponse, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	d.seen <- dl
	return &contactsv1.ListContactsResponse{}, nil
}

// TestDefaultDeadline: a call without a deadline gets the service's
// default one (UnaryInterceptors); a caller's own deadline is kept.
func TestDefaultDeadline(t *testing.T) {
	for _, tc := range []struct {
		name           string
		defaultTimeout time.Duration
		callTimeout    time.Duration // 0: the call has no deadline
		want           time.Duration
	}{
		{"no deadline gets the configured default", 7 * time.Minute, 0, 7 * time.Minute},
		{"no deadline, no configuration: DefaultTimeout", 0, 0, service.DefaultTimeout},
		{"a longer deadline of the caller is kept", 7 * time.Minute, time.Hour, time.Hour},
		{"a shorter deadline of the caller is kept", 7 * time.Minute, time.Minute, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := deadlineSeen{seen: make(chan time.Time, 1)}
			svc := newService(t, service.Config{Upstream: up, DefaultTimeout: tc.defaultTimeout})
			client := contactsv1.NewContactsServiceClient(serveService(t, svc, grpcserver.Config{}))
			ctx := context.Background()
			if tc.callTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.callTimeout)
				defer cancel()
			}
			before := time.Now()
			if _, err := client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: fullID}); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			d := <-up.seen
			if d.IsZero() {
				t.Fatal("the upstream call has no deadline")
			}
			// The grpc-timeout header rounds; a few seconds of slack.
			if lo, hi := before.Add(tc.want-5*time.Second), after.Add(tc.want+time.Second); d.Before(lo) || d.After(hi) {
				t.Fatalf("upstream deadline in %v, want about %v", d.Sub(before), tc.want)
			}
		})
	}
}

// TestNewRefusesAnIncompleteConfig: no upstream, no policy or no audit
// trail is an error of New, never a service that allows everything.
func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	full := service.Config{Upstream: failsWith{}, Policy: service.AllowAll(), Audit: service.NoAudit()}
	for _, tc := range []struct {
		name string
		edit func(*service.Config)
		want error
	}{
		{"no upstream", func(c *service.Config) { c.Upstream = nil }, service.ErrNoUpstream},
		{"no policy", func(c *service.Config) { c.Policy = nil }, service.ErrNoPolicy},
		{"no audit trail", func(c *service.Config) { c.Audit = nil }, service.ErrNoAudit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := full
			tc.edit(&cfg)
			svc, err := service.New(cfg)
			if err != tc.want || svc != nil {
				t.Fatalf("New: %v, %v; want nil, %v", svc, err, tc.want)
			}
		})
	}
	if _, err := service.New(full); err != nil {
		t.Fatalf("New with every required field: %v", err)
	}
}

// TestNewUpstreamNeedsCredentials: a client without any credentials is
// an error, not a client whose every call the upstream refuses.
func TestNewUpstreamNeedsCredentials(t *testing.T) {
	for _, cfg := range []service.UpstreamConfig{
		{BaseURL: "https://example.com/contacts-api"},
		{BaseURL: "https://example.com/contacts-api", ClientID: "id-only"},
	} {
		if c, err := service.NewUpstream(cfg); err == nil {
			_ = c.Close()
			t.Errorf("NewUpstream(%+v) succeeded", cfg)
		}
	}
	c, err := service.NewUpstream(service.UpstreamConfig{BaseURL: "https://example.com/contacts-api", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
