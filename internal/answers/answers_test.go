package answers_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"

	"github.com/contacts-facade/contacts-facade/internal/answers"
)

// wire is the reason of a row as ErrorInfo carries it: the name of its
// ErrorReason value, "" for none (the row of Success).
func wire(r answers.Row) string {
	if r.Reason == contactsv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		return ""
	}
	return r.Reason.String()
}

// pinned states every row by hand: its gRPC code, reason and what the
// client does. Flags: g retried on GET, w retried on PUT/POST, r renews
// the token, s spends the retry budget, c invalidates the read cache after
// a write. The golden files of internal/errmap show whole statuses; this
// table is what a change to a row must also change, on purpose.
var pinned = []struct {
	name   string
	code   codes.Code
	reason string
	flags  string
}{
	{"API 400/150", codes.FailedPrecondition, "CHANGES_NOT_PERMITTED", ""},
	{"API 400/320", codes.InvalidArgument, "INVALID_VALUE", ""},
	{"API 400/321", codes.InvalidArgument, "REQUIRED_FIELD_MISSING", ""},
	{"API 400/394", codes.InvalidArgument, "INVALID_ITEM", ""},
	{"API 400/447", codes.Unavailable, "SIMULTANEOUS_UPDATES", "gsc"},
	{"API 400/450", codes.Internal, "UNABLE_TO_PROCESS", ""},
	{"API 400/497", codes.Unauthenticated, "AUTHORIZATION_ERROR", "r"},
	{"API 401/497", codes.Unauthenticated, "AUTHORIZATION_ERROR", "r"},
	{"API 403/497", codes.PermissionDenied, "AUTHORIZATION_ERROR", ""},
	{"API 404/635", codes.NotFound, "NOT_FOUND", ""},
	{"API 500/448", codes.Unavailable, "SYSTEM_ERROR", "gsc"},

	{"API 400", codes.InvalidArgument, "UPSTREAM_ERROR", ""},
	{"API 401", codes.Unauthenticated, "AUTHENTICATION_FAILED", "r"},
	{"API 403", codes.PermissionDenied, "PERMISSION_DENIED", ""},
	{"API 404", codes.NotFound, "NOT_FOUND", ""},
	{"API 408", codes.DeadlineExceeded, "UPSTREAM_TIMEOUT", "c"},
	{"API 409", codes.Aborted, "CONFLICT", "c"},
	{"API 429", codes.ResourceExhausted, "RATE_LIMITED", "s"},
	{"API 500", codes.Unavailable, "UPSTREAM_UNAVAILABLE", "sc"},
	{"API 502", codes.Unavailable, "UPSTREAM_UNAVAILABLE", "gsc"},
	{"API 503", codes.Unavailable, "UPSTREAM_UNAVAILABLE", "gsc"},
	{"API 504", codes.DeadlineExceeded, "UPSTREAM_TIMEOUT", "gsc"},
	{"API 4xx", codes.FailedPrecondition, "UPSTREAM_ERROR", ""},
	{"API 5xx", codes.Unavailable, "UPSTREAM_UNAVAILABLE", "sc"},
	{"API other", codes.Internal, "BAD_UPSTREAM_RESPONSE", "c"},

	{"undecodable 4xx", codes.Internal, "BAD_UPSTREAM_RESPONSE", "c"},
	{"undecodable 5xx", codes.Unavailable, "BAD_UPSTREAM_RESPONSE", "sc"},

	{"Success", codes.OK, "", "c"},
	{"Unreachable", codes.Unavailable, "UPSTREAM_UNAVAILABLE", "gws"},
	{"ConnectionLost", codes.Unavailable, "UPSTREAM_UNAVAILABLE", "gsc"},
	{"Timeout", codes.DeadlineExceeded, "UPSTREAM_TIMEOUT", "sc"},
	{"Cancelled", codes.Canceled, "CANCELLED", "c"},
	{"BodyTooLarge", codes.Internal, "UPSTREAM_RESPONSE_TOO_LARGE", "c"},
	{"HeadersTooLarge", codes.Unavailable, "UPSTREAM_RESPONSE_TOO_LARGE", "sc"},
	{"ExchangeRefused", codes.Unauthenticated, "TOKEN_EXCHANGE_FAILED", ""},
	{"ExchangeUnavailable", codes.Unavailable, "TOKEN_EXCHANGE_UNAVAILABLE", ""},
	{"ExchangeRateLimited", codes.Unavailable, "TOKEN_EXCHANGE_RATE_LIMITED", ""},
	{"TokenBudget", codes.Unavailable, "TOKEN_BUDGET_EXHAUSTED", ""},
	{"Internal", codes.Internal, "INTERNAL", "c"},

	{"local 320", codes.InvalidArgument, "INVALID_VALUE", ""},
	{"local 321", codes.InvalidArgument, "REQUIRED_FIELD_MISSING", ""},
	{"local 450", codes.InvalidArgument, "UNABLE_TO_PROCESS", ""},
}

func flags(r answers.Row) string {
	var b strings.Builder
	for _, f := range []struct {
		set bool
		c   byte
	}{{r.RetryGet, 'g'}, {r.RetryWrite, 'w'}, {r.RenewToken, 'r'}, {r.SpendsBudget, 's'}, {r.InvalidatesCache, 'c'}} {
		if f.set {
			b.WriteByte(f.c)
		}
	}
	return b.String()
}

// TestEveryRowPinned: All and the hand-written table list the same rows,
// in the same order, with the same code, reason and flags.
func TestEveryRowPinned(t *testing.T) {
	all := answers.All()
	if len(all) != len(pinned) {
		t.Errorf("the table has %d rows, %d are pinned", len(all), len(pinned))
	}
	for i := range min(len(all), len(pinned)) {
		e, p := all[i], pinned[i]
		if e.Name != p.name || e.Row.Code != p.code || wire(e.Row) != p.reason || flags(e.Row) != p.flags {
			t.Errorf("row %d: %s %v %s %q; pinned %s %v %s %q", i, e.Name, e.Row.Code, wire(e.Row), flags(e.Row), p.name, p.code, p.reason, p.flags)
		}
		if e.Name != "Success" && (e.Row.Message == "" || e.Row.Help == "") {
			t.Errorf("%s has no message or help", e.Name)
		}
		if e.Row.RetryWrite && !e.Row.RetryGet {
			t.Errorf("%s retries writes but not reads", e.Name)
		}
	}
}

// TestTheTwoCodeVariants pins the rows whose code depends on the call.
func TestTheTwoCodeVariants(t *testing.T) {
	if r := answers.API(400, "150"); r.CodeOnCreate != codes.AlreadyExists || r.CodeWithFields != codes.OK {
		t.Errorf("400/150: on create %v, with fields %v", r.CodeOnCreate, r.CodeWithFields)
	}
	if r := answers.API(400, "450"); r.CodeWithFields != codes.InvalidArgument || r.CodeOnCreate != codes.OK {
		t.Errorf("400/450: on create %v, with fields %v", r.CodeOnCreate, r.CodeWithFields)
	}
	if r := answers.Local("450"); r.Code != codes.InvalidArgument || r.CodeWithFields != codes.OK {
		t.Errorf("local 450: %v, with fields %v", r.Code, r.CodeWithFields)
	}
	for _, e := range answers.All() {
		if e.Name == "API 400/150" || e.Name == "API 400/450" {
			continue
		}
		if e.Row.CodeOnCreate != codes.OK || e.Row.CodeWithFields != codes.OK {
			t.Errorf("%s has a code variant", e.Name)
		}
	}
}

// TestEveryCode walks every gRPC code (as connect-go does) and states
// which reasons give it, so that no code is produced by accident: never
// UNKNOWN, and OK only for the Success row.
func TestEveryCode(t *testing.T) {
	want := map[codes.Code][]string{
		codes.OK:                 {""},
		codes.Canceled:           {"CANCELLED"},
		codes.Unknown:            nil,
		codes.InvalidArgument:    {"INVALID_ITEM", "INVALID_VALUE", "REQUIRED_FIELD_MISSING", "UNABLE_TO_PROCESS", "UPSTREAM_ERROR"},
		codes.DeadlineExceeded:   {"UPSTREAM_TIMEOUT"},
		codes.NotFound:           {"NOT_FOUND"},
		codes.AlreadyExists:      {"CHANGES_NOT_PERMITTED"},
		codes.PermissionDenied:   {"AUTHORIZATION_ERROR", "PERMISSION_DENIED"},
		codes.ResourceExhausted:  {"RATE_LIMITED"},
		codes.FailedPrecondition: {"CHANGES_NOT_PERMITTED", "UPSTREAM_ERROR"},
		codes.Aborted:            {"CONFLICT"},
		codes.OutOfRange:         nil,
		codes.Unimplemented:      nil,
		codes.Internal:           {"BAD_UPSTREAM_RESPONSE", "INTERNAL", "UNABLE_TO_PROCESS", "UPSTREAM_RESPONSE_TOO_LARGE"},
		codes.Unavailable: {"BAD_UPSTREAM_RESPONSE", "SIMULTANEOUS_UPDATES", "SYSTEM_ERROR", "TOKEN_BUDGET_EXHAUSTED",
			"TOKEN_EXCHANGE_RATE_LIMITED", "TOKEN_EXCHANGE_UNAVAILABLE", "UPSTREAM_RESPONSE_TOO_LARGE", "UPSTREAM_UNAVAILABLE"},
		codes.DataLoss:        nil,
		codes.Unauthenticated: {"AUTHENTICATION_FAILED", "AUTHORIZATION_ERROR", "TOKEN_EXCHANGE_FAILED"},
	}
	got := map[codes.Code][]string{}
	add := func(c codes.Code, reason string) {
		if c != codes.OK || reason == "" {
			if !slices.Contains(got[c], reason) {
				got[c] = append(got[c], reason)
			}
		}
	}
	for _, e := range answers.All() {
		add(e.Row.Code, wire(e.Row))
		if e.Row.CodeOnCreate != codes.OK {
			add(e.Row.CodeOnCreate, wire(e.Row))
		}
		if e.Row.CodeWithFields != codes.OK {
			add(e.Row.CodeWithFields, wire(e.Row))
		}
	}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		w, ok := want[c]
		if !ok {
			t.Errorf("code %v is not stated", c)
		}
		g := got[c]
		slices.Sort(g)
		if !slices.Equal(g, w) {
			t.Errorf("%v comes from %q, want %q", c, g, w)
		}
	}
	if len(want) != int(codes.Unauthenticated)+1 {
		t.Errorf("%d codes stated, gRPC has %d", len(want), codes.Unauthenticated+1)
	}
}

// TestLookups pins how an answer finds its row: the (status, OTA) row,
// else the status row with UNKNOWN_OTA_ERROR when a code was given, else
// the class; undecodable answers by status, except 400.
func TestLookups(t *testing.T) {
	cases := []struct {
		name   string
		row    answers.Row
		code   codes.Code
		reason string
		flags  string
	}{
		{"400 with an unknown code keeps 400's meaning", answers.API(400, "999"), codes.InvalidArgument, "UNKNOWN_OTA_ERROR", ""},
		{"401 with an unknown code still renews", answers.API(401, "999"), codes.Unauthenticated, "UNKNOWN_OTA_ERROR", "r"},
		{"503 with 448 is a 503", answers.API(503, "448"), codes.Unavailable, "UNKNOWN_OTA_ERROR", "gsc"},
		{"500 with 447 is a 500", answers.API(500, "447"), codes.Unavailable, "UNKNOWN_OTA_ERROR", "sc"},
		{"418 is another 4xx", answers.API(418, ""), codes.FailedPrecondition, "UPSTREAM_ERROR", ""},
		{"501 is another 5xx", answers.API(501, ""), codes.Unavailable, "UPSTREAM_UNAVAILABLE", "sc"},
		{"200 with errors makes no sense", answers.API(200, "450"), codes.Internal, "BAD_UPSTREAM_RESPONSE", "c"},
		{"302 with errors makes no sense", answers.API(302, ""), codes.Internal, "BAD_UPSTREAM_RESPONSE", "c"},
		{"HTML 401 renews", answers.Undecodable(401), codes.Unauthenticated, "AUTHENTICATION_FAILED", "r"},
		{"HTML 503 is retried", answers.Undecodable(503), codes.Unavailable, "UPSTREAM_UNAVAILABLE", "gsc"},
		{"HTML 400 is the facade's problem", answers.Undecodable(400), codes.Internal, "BAD_UPSTREAM_RESPONSE", "c"},
		{"HTML 200", answers.Undecodable(200), codes.Internal, "BAD_UPSTREAM_RESPONSE", "c"},
		{"HTML 501", answers.Undecodable(501), codes.Unavailable, "BAD_UPSTREAM_RESPONSE", "sc"},
		{"local unknown code is 320", answers.Local("999"), codes.InvalidArgument, "INVALID_VALUE", ""},
		{"unknown failure is Internal", answers.Of(answers.Failure(99)), codes.Internal, "INTERNAL", "c"},
	}
	for _, tc := range cases {
		if tc.row.Code != tc.code || wire(tc.row) != tc.reason || flags(tc.row) != tc.flags {
			t.Errorf("%s: %v %s %q, want %v %s %q", tc.name, tc.row.Code, wire(tc.row), flags(tc.row), tc.code, tc.reason, tc.flags)
		}
	}
	// Every status of HTTP gets a row that is not OK or UNKNOWN.
	for s := 100; s < 600; s++ {
		for _, r := range []answers.Row{answers.API(s, ""), answers.API(s, "999"), answers.Undecodable(s)} {
			if r.Code == codes.OK || r.Code == codes.Unknown || wire(r) == "" {
				t.Fatalf("HTTP %d: %v %q", s, r.Code, wire(r))
			}
		}
	}
	if answers.Failure(99).String() != "Failure(99)" || answers.Unreachable.String() != "Unreachable" {
		t.Error("Failure.String")
	}
	if got := answers.APIKeys(); len(got) != 22 || got[0] != "400" || !slices.Contains(got, "400/497") {
		t.Errorf("APIKeys = %q", got)
	}
}
