package access_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/audit"
	"github.com/contacts-facade/contacts-facade/internal/caller"
	"github.com/contacts-facade/contacts-facade/internal/policy"
)

// badCaller is a caller name that is not UTF-8, as a proxy's
// x-forwarded-client-cert header can carry it: a proto string cannot hold
// it, so an ErrorInfo naming the caller does not marshal.
const badCaller = "spiffe://corp/ns/\xff\xfe/sa/x"

// gateWithBadCaller is a gate whose every call comes from badCaller,
// through a trusted proxy's header, under the policy p.
func gateWithBadCaller(t *testing.T, p string, log *audit.Log) (grpc.UnaryServerInterceptor, context.Context) {
	t.Helper()
	pol, err := policy.Parse([]byte(p))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	gate := access.New(access.Config{
		Resolver: caller.Resolver{TrustProxyHeader: true, Proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		Policy:   policy.NewHolder(pol),
		Audit:    log,
		Now:      func() time.Time { return now },
	})
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}})
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(caller.XFCCHeader, "URI="+badCaller))
	if id := (caller.Resolver{TrustProxyHeader: true, Proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}).Resolve(ctx); id.Name != badCaller || utf8.ValidString(id.Name) {
		t.Fatalf("the test caller resolves as %q", id.Name)
	}
	return gate.Unary(), ctx
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestRefusedWhenDetailsCannotBeAttached: each status the gate builds
// (formerly `st, _ := status.New(...).WithDetails(...)`, which dropped the
// refusal and let the call through when WithDetails failed) still refuses
// the call, with its code and message, when its ErrorInfo cannot be
// marshalled; the handler never runs.
func TestRefusedWhenDetailsCannotBeAttached(t *testing.T) {
	brokenAudit := audit.New(failingWriter{})
	_ = brokenAudit.Write(audit.Record{}) // the trail is now unhealthy
	cases := []struct {
		name    string
		policy  string
		log     *audit.Log
		method  string
		req     any
		calls   int // made in a row; the last one is checked
		code    codes.Code
		reason  string // the ErrorInfo reason; "" when no detail could be attached
		details int
	}{
		// denied: the caller's name is in the metadata, so no detail.
		{"denied", "version: 1\ndefault:\n  rpcs: [ListContacts]\n", nil,
			"ReplaceContacts", &contactsv1.ReplaceContactsRequest{PropertyId: "1"}, 1,
			codes.PermissionDenied, "", 0},
		// spend: over the fair share; the caller's name is in the metadata.
		{"rate limited", "version: 1\ndefault:\n  rpcs: [read]\n  rate: {per_second: 1, burst: 1}\n", nil,
			"ListContacts", &contactsv1.ListContactsRequest{PropertyId: "1"}, 2,
			codes.ResourceExhausted, "", 0},
		// auditUnavailable: its metadata has no caller and a bounded (valid)
		// property id, so its details attach even for this caller and a
		// property id that is not UTF-8.
		{"audit unavailable", "version: 1\ndefault:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n", brokenAudit,
			"ReplaceContacts", &contactsv1.ReplaceContactsRequest{PropertyId: "1\xff"}, 1,
			codes.Unavailable, contactsv1.ErrorReason_AUDIT_UNAVAILABLE.String(), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			unary, ctx := gateWithBadCaller(t, tc.policy, tc.log)
			info := &grpc.UnaryServerInfo{FullMethod: "/contacts.v1.ContactsService/" + tc.method}
			handled := 0
			handler := func(context.Context, any) (any, error) { handled++; return &contactsv1.ListContactsResponse{}, nil }
			var err error
			for range tc.calls {
				_, err = unary(ctx, tc.req, info, handler)
			}
			if handled != tc.calls-1 {
				t.Fatalf("the handler ran %d times, want %d", handled, tc.calls-1)
			}
			st := status.Convert(err)
			if st.Code() != tc.code || st.Message() == "" {
				t.Fatalf("%v %q, want %v", st.Code(), st.Message(), tc.code)
			}
			if got := len(st.Details()); got != tc.details {
				t.Fatalf("%d details %v, want %d", got, st.Details(), tc.details)
			}
			if tc.reason != "" {
				ei, _ := st.Details()[0].(*errdetails.ErrorInfo)
				if ei.GetReason() != tc.reason || !utf8.ValidString(ei.GetMetadata()["propertyId"]) {
					t.Fatalf("ErrorInfo %v, want reason %s with a valid propertyId", ei, tc.reason)
				}
			}
		})
	}
	// By hand: the rows' codes and reasons as the README's table states them.
	if cases[0].code != codes.PermissionDenied || cases[1].code != codes.ResourceExhausted ||
		cases[2].code != codes.Unavailable || cases[2].reason != "AUDIT_UNAVAILABLE" {
		t.Fatal("rows changed")
	}
}
