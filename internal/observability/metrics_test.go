package observability

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// PII-like values sent in calls and passed to the observers; none may show
// up in a scrape.
const (
	piiProperty = "7654321"
	piiEmail    = "jan.jansen@example.org"
	piiName     = "Jantje Pietersen"
	piiPhone    = "+31612345678"
	piiToken    = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2ln"
)

var _ interface {
	ObserveAttempt(upstream.Method, int, string, string, time.Duration)
} = (*metrics)(nil)

// facade is the real service over the emulator, on a bufconn gRPC server
// with the metrics interceptors.
func facade(t *testing.T, m *metrics) contactsv1.ContactsServiceClient {
	t.Helper()
	emu := httptest.NewServer(emulator.New(emulator.Options{}))
	t.Cleanup(emu.Close)
	up, err := upstream.New(upstream.Config{BaseURL: emu.URL, Authorizer: upstreamauth.NewStaticToken(emulator.DemoStaticToken)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.CloseIdleConnections)
	client, g := serveFacade(t, up, grpc.ChainUnaryInterceptor(m.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(m.StreamServerInterceptor()))
	m.InitializeGRPC(g)
	return client
}

func scrape(t *testing.T, m *metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{EnableOpenMetrics: true}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil).WithContext(t.Context()))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: HTTP %d: %s", rec.Code, rec.Body)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestScrapeHoldsNoPII(t *testing.T) {
	m := newMetrics()
	c := facade(t, m)
	ctx := t.Context()
	contact := &contactsv1.Contact{
		Profiles:      []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL},
		ContactPerson: &contactsv1.ContactPerson{Name: piiName, LanguageCode: "en-gb"},
		Phones:        []*contactsv1.Phone{{PhoneNumber: piiPhone, PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE}},
		Email:         piiEmail,
	}
	// Success, refused by the facade, NOT_FOUND upstream: the three kinds
	// of outcome, each with PII in the request.
	if _, err := c.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: fmt.Sprint(emulator.DemoPropertyEmpty), Contacts: []*contactsv1.Contact{contact}}); err != nil {
		t.Fatalf("ReplaceContacts: %v", err)
	}
	_, _ = c.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: piiProperty, Contacts: []*contactsv1.Contact{{Email: piiEmail + piiName}}})
	_, _ = c.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: piiProperty})

	// The observers, with hostile values where labels go.
	m.ObserveAttempt(upstream.MethodGet, 404, "635", "error_answer", 3*time.Millisecond)
	m.ObserveAttempt(upstream.Method(piiEmail), 599, piiPhone, piiToken, time.Millisecond)
	m.ObserveAttempt(upstream.MethodPut, 0, piiName, "transport_error", time.Millisecond)
	m.TokenExchanged("ok")
	m.TokenExchanged(piiToken)
	if err := m.WatchToken(func() upstreamauth.TokenSnapshot {
		return upstreamauth.TokenSnapshot{BudgetLeft: 29, HasToken: true, ExpiresAt: time.Unix(3600, 0)}
	}, func() time.Time { return time.Unix(600, 0) }); err != nil {
		t.Fatal(err)
	}

	text := scrape(t, m)
	for _, pii := range []string{piiProperty, piiEmail, piiName, piiPhone, piiToken, "jan.jansen", "Jantje", "example.org", emulator.DemoStaticToken} {
		if strings.Contains(text, pii) {
			t.Errorf("the scrape holds %q", pii)
		}
	}
	// The series the calls above must have made, so the test would fail
	// if the calls had not been counted (or the values not folded).
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="ReplaceContacts",grpc_service="contacts.v1.ContactsService",grpc_type="unary"} 1`,
		`grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="ReplaceContacts",grpc_service="contacts.v1.ContactsService",grpc_type="unary"} 1`,
		`grpc_server_handled_total{grpc_code="NotFound",grpc_method="ListContacts",grpc_service="contacts.v1.ContactsService",grpc_type="unary"} 1`,
		`grpc_server_handling_seconds_bucket{`,
		`contacts_facade_upstream_requests_total{http_status="404",method="GET",ota_code="635",outcome="error_answer"} 1`,
		`contacts_facade_upstream_requests_total{http_status="other",method="other",ota_code="other",outcome="other"} 1`,
		`contacts_facade_upstream_requests_total{http_status="none",method="PUT",ota_code="other",outcome="transport_error"} 1`,
		`contacts_facade_upstream_request_duration_seconds_bucket{method="GET",le="0.005"} 1`,
		`contacts_facade_token_exchanges_total{outcome="ok"} 1`,
		`contacts_facade_token_exchanges_total{outcome="other"} 1`,
		`contacts_facade_token_budget_left 29`,
		`contacts_facade_token_expiry_seconds 3000`,
		`go_goroutines `,
		`process_cpu_seconds_total `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", text)
	}
}

// Whatever the upstream answers, the series stay within the known values.
func TestLabelCardinalityIsBounded(t *testing.T) {
	m := newMetrics()
	for i := range 5000 {
		m.ObserveAttempt(upstream.MethodGet, 100+i%500, fmt.Sprint(i), "error_answer", time.Millisecond)
		m.TokenExchanged(fmt.Sprint("outcome-", i))
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		switch f.GetName() {
		case "contacts_facade_upstream_requests_total":
			// http_status: 18 known + other; ota_code: 9 known + other.
			if n := len(f.GetMetric()); n > 19*10 {
				t.Errorf("%s: %d series", f.GetName(), n)
			}
		case "contacts_facade_token_exchanges_total":
			if n := len(f.GetMetric()); n != 1 {
				t.Errorf("%s: %d series, want 1 (other)", f.GetName(), n)
			}
		}
	}
	want := `contacts_facade_upstream_requests_total{http_status="404",method="GET",ota_code="other",outcome="error_answer"} 10`
	if text := scrape(t, m); !strings.Contains(text, want) {
		t.Errorf("404 with unknown OTA codes: the scrape lacks %s", want)
	}
}

// Register serves collectors added later, and refuses a duplicate.
func TestRegister(t *testing.T) {
	m := newMetrics()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "redis_up", Help: "test"})
	g.Set(1)
	if err := m.Register(g); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(scrape(t, m), "contacts_facade_redis_up 1") {
		t.Error("a registered collector is not served")
	}
	if err := m.Register(g); err == nil {
		t.Error("registering twice: no error")
	}
}

// The token gauges read the snapshot at scrape time.
func TestTokenGauges(t *testing.T) {
	now := time.Unix(1000, 0)
	state := upstreamauth.TokenSnapshot{}
	m := newMetrics()
	if err := m.WatchToken(func() upstreamauth.TokenSnapshot { return state }, func() time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		state         upstreamauth.TokenSnapshot
		budget, until string
	}{
		{upstreamauth.TokenSnapshot{BudgetLeft: 30}, "30", "0"},
		{upstreamauth.TokenSnapshot{BudgetLeft: 12, HasToken: true, ExpiresAt: now.Add(90 * time.Second)}, "12", "90"},
		{upstreamauth.TokenSnapshot{BudgetLeft: 0, HasToken: true, ExpiresAt: now.Add(-time.Second)}, "0", "0"},
	}
	for _, tt := range tests {
		state = tt.state
		text := scrape(t, m)
		for _, want := range []string{"contacts_facade_token_budget_left " + tt.budget + "\n", "contacts_facade_token_expiry_seconds " + tt.until + "\n"} {
			if !strings.Contains(text, want) {
				t.Errorf("state %+v: scrape lacks %q", tt.state, want)
			}
		}
	}
}
