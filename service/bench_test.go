package service_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// The benchmarks below go through the whole stack in one process: a gRPC
// client over bufconn, the server with its interceptors, the service, the
// REST client with token auth, and the emulator on loopback HTTP. Their
// allocs/op therefore include the emulator's and the gRPC client's; the
// errmap benchmarks isolate the error translation. Run with
//
//	go test ./service -run '^$' -bench . -benchmem
//
// tools/load/run.sh measures the real binary under load (docs/performance.md).

// newBenchStack assembles the stack as contactsd does. With a nil logger
// it logs at info level (contactsd's default) to nowhere: formatting a
// record is counted, the terminal is not.
func newBenchStack(b testing.TB, log *slog.Logger) contactsv1.ContactsServiceClient {
	b.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return newLoggedStack(b, nil, log).client
}

// benchTwoContacts is a valid two-contact property, like the emulator's demo
// property 1000001.
func benchTwoContacts() []*contactsv1.Contact {
	return []*contactsv1.Contact{
		{
			Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES},
			ContactPerson: &contactsv1.ContactPerson{Name: "Anna de Vries", Gender: contactsv1.Gender_GENDER_FEMALE,
				JobTitle: contactsv1.JobTitle_JOB_TITLE_GENERAL_MANAGER, LanguageCode: "nl"},
			Address: &contactsv1.Address{AddressLine: "Herengracht 597", CityName: "Amsterdam", PostalCode: "1017 CE",
				CountryCode: "NL", LanguageCode: "nl"},
			Phones: []*contactsv1.Phone{
				{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE, Extension: "123"},
				{PhoneNumber: "+31612345678", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE},
			},
			Email: "anna.devries@example.com",
		},
		{
			Profiles: []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS, contactsv1.ProfileType_PROFILE_TYPE_AVAILABILITY},
			ContactPerson: &contactsv1.ContactPerson{Name: "Jan Jansen",
				JobTitle: contactsv1.JobTitle_JOB_TITLE_RESERVATIONS_MANAGER, LanguageCode: "en-gb"},
			Phones: []*contactsv1.Phone{{PhoneNumber: "+31207654321", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}},
			Email:  "reservations@example.com",
		},
	}
}

var benchProperty = strconv.Itoa(emulator.DemoPropertyFull)

func BenchmarkListContacts(b *testing.B) {
	client := newBenchStack(b, nil)
	ctx := context.Background()
	req := &contactsv1.ListContactsRequest{PropertyId: benchProperty}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.ListContacts(ctx, req)
		if err != nil || len(resp.GetContacts()) == 0 {
			b.Fatal(resp, err)
		}
	}
}

// BenchmarkListContactsParallel is ListContacts with 64 callers sharing one
// connection, as in the throughput target.
func BenchmarkListContactsParallel(b *testing.B) {
	client := newBenchStack(b, nil)
	req := &contactsv1.ListContactsRequest{PropertyId: benchProperty}
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := client.ListContacts(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkReplaceContacts sends the same two contacts every time: PUT is
// an overlay, so no reset is needed.
func BenchmarkReplaceContacts(b *testing.B) {
	client := newBenchStack(b, nil)
	ctx := context.Background()
	req := &contactsv1.ReplaceContactsRequest{PropertyId: benchProperty, Contacts: benchTwoContacts()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.ReplaceContacts(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplaceContactsInvalid is a write the facade passes on and the
// upstream refuses with three 320 entries: the error path end to end,
// including the "upstream call failed" log record at info level.
func BenchmarkReplaceContactsInvalid(b *testing.B) {
	client := newBenchStack(b, nil)
	ctx := context.Background()
	cs := benchTwoContacts()
	cs[0].ContactPerson.LanguageCode = "xx"
	cs[0].Address.CountryCode = "XX"
	cs[0].Address.LanguageCode = "xx"
	req := &contactsv1.ReplaceContactsRequest{PropertyId: benchProperty, Contacts: cs}

	_, err := client.ReplaceContacts(ctx, req)
	st := status.Convert(err)
	var fields int
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			fields = len(br.GetFieldViolations())
		}
	}
	if st.Code() != codes.InvalidArgument || fields != 3 {
		b.Fatalf("got %v with %d field violations, want INVALID_ARGUMENT with 3", st.Code(), fields)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.ReplaceContacts(ctx, req); status.Code(err) != codes.InvalidArgument {
			b.Fatal(err)
		}
	}
}

// countingHandler counts the records at info level or above in n, and
// the "upstream call failed" records of any level in failed.
type countingHandler struct {
	n, failed *atomic.Int64
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		h.n.Add(1)
	}
	if r.Message == "upstream call failed" {
		h.failed.Add(1)
	}
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }

// TestNoInfoLogOnSuccess: at contactsd's default level a successful call
// writes no log record, so the benchmarks' success paths measure no
// logging, and neither does a call refused for the caller's mistake.
// (The first call's token exchange logs once; it is left out.)
func TestNoInfoLogOnSuccess(t *testing.T) {
	var n, failed atomic.Int64
	client := newBenchStack(t, slog.New(countingHandler{n: &n, failed: &failed}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list := &contactsv1.ListContactsRequest{PropertyId: benchProperty}
	if _, err := client.ListContacts(ctx, list); err != nil {
		t.Fatal(err)
	}
	n.Store(0)
	replace := &contactsv1.ReplaceContactsRequest{PropertyId: benchProperty, Contacts: benchTwoContacts()}
	for range 10 {
		if _, err := client.ListContacts(ctx, list); err != nil {
			t.Fatal(err)
		}
		if _, err := client.ReplaceContacts(ctx, replace); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.Load(); got != 0 {
		t.Fatalf("%d log records at info level or above for 20 successful calls, want 0", got)
	}
	// A refused call is logged once, at debug level only.
	bad := benchTwoContacts()
	bad[0].ContactPerson.LanguageCode = "xx"
	if _, err := client.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: benchProperty, Contacts: bad}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("refused call: %v", err)
	}
	if got, gotFailed := n.Load(), failed.Load(); got != 0 || gotFailed != 1 {
		t.Fatalf("refused call: %d records at info or above (want 0), %d failure records (want 1)", got, gotFailed)
	}
}
