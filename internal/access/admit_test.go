package access_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
)

// mesh believes the proxy header from 10.0.0.0/8.
var mesh = access.Resolver{TrustProxyHeader: true, Proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}

// proxied is the context of a call a mesh proxy at 10.0.0.1 forwards for
// the client whose certificate has URI name.
func proxied(name string) context.Context {
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5}})
	return metadata.NewIncomingContext(ctx, metadata.Pairs(access.XFCCHeader, "URI="+name))
}

// trail is an audit trail in memory.
type trail struct {
	mu  sync.Mutex
	buf bytes.Buffer
	tr  *access.Trail // flushed before the records are read
}

func (t *trail) Write(p []byte) (int, error) { t.mu.Lock(); defer t.mu.Unlock(); return t.buf.Write(p) }

func (t *trail) records(tb testing.TB) []access.Record {
	tb.Helper()
	if t.tr != nil {
		if err := t.tr.Flush(); err != nil {
			tb.Fatal(err)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []access.Record
	for _, line := range strings.Split(strings.TrimSpace(t.buf.String()), "\n") {
		if line == "" {
			continue
		}
		if !utf8.ValidString(line) {
			tb.Errorf("audit line not valid UTF-8: %q", line)
		}
		var r access.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			tb.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// gatePolicy: invoicer writes INVOICES; ops may do everything; a stranger
// may list.
const gatePolicy = `version: 1
default:
  rpcs: [ListContacts]
callers:
  - id: spiffe://corp/invoicer
    rpcs: [read, write]
    write_profiles: [INVOICES]
    properties: ["1000001"]
  - id: spiffe://corp/ops/*
    rpcs: ["*"]
    write_profiles: ["*"]
`

var at = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func newGate(t *testing.T, doc string) (*access.Gate, *trail) {
	t.Helper()
	p, err := access.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var tr trail
	tr.tr = access.NewTrail(&tr)
	g, err := access.NewGate(access.Config{Resolver: mesh, Policy: access.NewHolder(p), Audit: tr.tr,
		Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	return g, &tr
}

func TestNewGateNeedsPolicyAndAudit(t *testing.T) {
	tests := []struct {
		name   string
		cfg    access.Config
		errHas []string // "" items: no error
	}{
		{"neither", access.Config{}, []string{"Config.Policy", "Config.Audit"}},
		{"no audit", access.Config{Policy: access.AllowAll()}, []string{"Config.Audit"}},
		{"no policy", access.Config{Audit: access.NoAudit()}, []string{"Config.Policy"}},
		{"both explicit", access.Config{Policy: access.AllowAll(), Audit: access.NoAudit()}, nil},
	}
	for _, tt := range tests {
		g, err := access.NewGate(tt.cfg)
		if len(tt.errHas) == 0 {
			if err != nil || g == nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || g != nil {
			t.Errorf("%s: gate %v, err %v; want an error", tt.name, g, err)
			continue
		}
		for _, want := range tt.errHas {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v does not name %s", tt.name, err, want)
			}
		}
	}
	// Pinned by hand: a gate without a trail is no gate.
	if _, err := access.NewGate(access.Config{Policy: access.AllowAll()}); err == nil {
		t.Fatal("a gate without Audit was built")
	}
}

// everyRequest is one request of each RPC of the service, the writes
// naming every profile.
func everyRequest() map[string]proto.Message {
	var all []contactsv1.ProfileType
	for v := range contactsv1.ProfileType_name {
		all = append(all, contactsv1.ProfileType(v))
	}
	c := []*contactsv1.Contact{{Profiles: all}}
	inv := contactsv1.ProfileType_PROFILE_TYPE_INVOICES
	return map[string]proto.Message{
		contactsv1.ContactsService_ListContacts_FullMethodName:          &contactsv1.ListContactsRequest{PropertyId: "1"},
		contactsv1.ContactsService_ReplaceContacts_FullMethodName:       &contactsv1.ReplaceContactsRequest{PropertyId: "1", Contacts: c},
		contactsv1.ContactsService_CreateContacts_FullMethodName:        &contactsv1.CreateContactsRequest{PropertyId: "1", Contacts: c},
		contactsv1.ContactsService_GetProfileContacts_FullMethodName:    &contactsv1.GetProfileContactsRequest{PropertyId: "1", Profile: inv},
		contactsv1.ContactsService_SetProfileContacts_FullMethodName:    &contactsv1.SetProfileContactsRequest{PropertyId: "1", Profile: inv},
		contactsv1.ContactsService_UpdateProfileContact_FullMethodName:  &contactsv1.UpdateProfileContactRequest{PropertyId: "1", Profile: inv},
		contactsv1.ContactsService_ClearProfileContacts_FullMethodName:  &contactsv1.ClearProfileContactsRequest{PropertyId: "1", Profile: inv},
		contactsv1.ContactsService_BulkEditProfile_FullMethodName:       &contactsv1.BulkEditProfileRequest{Profile: inv},
		contactsv1.ContactsService_ApplyContactsTemplate_FullMethodName: &contactsv1.ApplyContactsTemplateRequest{Contacts: c},
		contactsv1.ContactsService_RevertBulkEdit_FullMethodName:        &contactsv1.RevertBulkEditRequest{Name: "operations/1"},
	}
}

func TestAllowAllAndNoAudit(t *testing.T) {
	g, err := access.NewGate(access.Config{Policy: access.AllowAll(), Audit: access.NoAudit()})
	if err != nil {
		t.Fatal(err)
	}
	reqs := everyRequest()
	if len(reqs) != len(contactsv1.ContactsService_ServiceDesc.Methods) {
		t.Fatalf("%d requests for %d RPCs", len(reqs), len(contactsv1.ContactsService_ServiceDesc.Methods))
	}
	for method, req := range reqs {
		for range 100 { // no fair share: never limited
			call, err := g.Admit(context.Background(), method, req)
			if err != nil || call == nil {
				t.Fatalf("AllowAll refuses %s: %v", method, err)
			}
			if call.Caller() != (access.Identity{Name: access.Anonymous, Source: access.SourceNone}) {
				t.Errorf("%s: caller %+v, want anonymous", method, call.Caller())
			}
			if err := call.MayWrite(contactsv1.ProfileType_PROFILE_TYPE_CONTRACT, contactsv1.ProfileType_PROFILE_TYPE_GENERAL); err != nil {
				t.Errorf("%s: AllowAll refuses a profile: %v", method, err)
			}
			call.SetEtags("a", "b")
			call.End(nil, nil) // NoAudit: nothing to write, nothing to fail
		}
	}
	// Even AllowAll knows only the service's RPCs.
	for _, method := range []string{"/contacts.v1.ContactsService/DeleteEverything", "/grpc.health.v1.Health/Check", "ListContacts", ""} {
		call, err := g.Admit(context.Background(), method, &contactsv1.ListContactsRequest{})
		if call != nil || status.Code(err) != codes.PermissionDenied || errorInfo(status.Convert(err)).GetReason() != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() {
			t.Errorf("Admit(%q) = %v, %v; want PERMISSION_DENIED CALLER_NOT_ALLOWED", method, call, err)
		}
	}
}

func TestAdmitReadsAndWrites(t *testing.T) {
	g, tr := newGate(t, gatePolicy)
	inv, gen := contactsv1.ProfileType_PROFILE_TYPE_INVOICES, contactsv1.ProfileType_PROFILE_TYPE_GENERAL
	tests := []struct {
		name    string
		caller  string
		method  string
		req     proto.Message
		missing string // "" when admitted
	}{
		{"invoicer lists its property", "spiffe://corp/invoicer", contactsv1.ContactsService_ListContacts_FullMethodName,
			&contactsv1.ListContactsRequest{PropertyId: "1000001"}, ""},
		{"invoicer lists another property", "spiffe://corp/invoicer", contactsv1.ContactsService_ListContacts_FullMethodName,
			&contactsv1.ListContactsRequest{PropertyId: "1000002"}, "property"},
		{"invoicer sets INVOICES", "spiffe://corp/invoicer", contactsv1.ContactsService_SetProfileContacts_FullMethodName,
			&contactsv1.SetProfileContactsRequest{PropertyId: "1000001", Profile: inv}, ""},
		{"invoicer sets GENERAL", "spiffe://corp/invoicer", contactsv1.ContactsService_SetProfileContacts_FullMethodName,
			&contactsv1.SetProfileContactsRequest{PropertyId: "1000001", Profile: gen}, "profile:GENERAL"},
		{"invoicer replaces sending GENERAL", "spiffe://corp/invoicer", contactsv1.ContactsService_ReplaceContacts_FullMethodName,
			&contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: []*contactsv1.Contact{{Profiles: []contactsv1.ProfileType{inv, gen}}}}, "profile:GENERAL"},
		{"ops creates anything", "spiffe://corp/ops/oncall", contactsv1.ContactsService_CreateContacts_FullMethodName,
			&contactsv1.CreateContactsRequest{PropertyId: "7", Contacts: []*contactsv1.Contact{{Profiles: []contactsv1.ProfileType{gen}}}}, ""},
		{"stranger lists", "spiffe://corp/stranger", contactsv1.ContactsService_ListContacts_FullMethodName,
			&contactsv1.ListContactsRequest{PropertyId: "7"}, ""},
		{"stranger reads a profile", "spiffe://corp/stranger", contactsv1.ContactsService_GetProfileContacts_FullMethodName,
			&contactsv1.GetProfileContactsRequest{PropertyId: "7", Profile: inv}, "rpc:GetProfileContacts"},
		{"stranger clears", "spiffe://corp/stranger", contactsv1.ContactsService_ClearProfileContacts_FullMethodName,
			&contactsv1.ClearProfileContactsRequest{PropertyId: "7", Profile: inv}, "rpc:ClearProfileContacts"},
	}
	writes := 0
	for _, tt := range tests {
		call, err := g.Admit(proxied(tt.caller), tt.method, tt.req)
		if !strings.Contains(tt.method, "/List") && !strings.Contains(tt.method, "/Get") {
			writes++
		}
		if tt.missing == "" {
			if err != nil || call == nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if call.Caller() != (access.Identity{Name: tt.caller, Source: access.SourceProxyHeader}) {
				t.Errorf("%s: caller %+v", tt.name, call.Caller())
			}
			call.End(nil, nil)
			continue
		}
		if call != nil {
			t.Errorf("%s: refused, yet a call was returned", tt.name)
		}
		st := status.Convert(err)
		info := errorInfo(st)
		if st.Code() != codes.PermissionDenied || info.GetReason() != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() ||
			info.GetMetadata()["missing"] != tt.missing || info.GetMetadata()["caller"] != tt.caller {
			t.Errorf("%s: %v %v, want PERMISSION_DENIED missing %q", tt.name, st.Code(), info, tt.missing)
		}
	}
	// One record per write, admitted or refused; none for the reads.
	if recs := tr.records(t); len(recs) != writes {
		t.Fatalf("%d records for %d writes: %+v", len(recs), writes, recs)
	}
	// Pinned by hand: the refused Set of GENERAL is on the trail, refused.
	r := tr.records(t)[1]
	if r.RPC != "SetProfileContacts" || r.Allowed || r.Code != "PermissionDenied" || r.Reason != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() ||
		r.Caller != "spiffe://corp/invoicer" || r.CallerSource != "proxy_header" || !r.Time.Equal(at) {
		t.Errorf("record of the refused Set: %+v", r)
	}
}

func TestMayWrite(t *testing.T) {
	g, tr := newGate(t, gatePolicy)
	inv := contactsv1.ProfileType_PROFILE_TYPE_INVOICES
	call, err := g.Admit(proxied("spiffe://corp/invoicer"), contactsv1.ContactsService_ReplaceContacts_FullMethodName,
		&contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: []*contactsv1.Contact{{Profiles: []contactsv1.ProfileType{inv}}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		profiles []contactsv1.ProfileType
		refused  string // the profile named, "" when allowed
	}{
		{"nothing", nil, ""},
		{"its own", []contactsv1.ProfileType{inv}, ""},
		{"unspecified is validation's", []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_UNSPECIFIED, inv}, ""},
		{"another", []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS}, "RESERVATIONS"},
		{"the first refused is named", []contactsv1.ProfileType{inv, contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_PARITY}, "GENERAL"},
	}
	for _, tt := range tests {
		err := call.MayWrite(tt.profiles...)
		if tt.refused == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		st := status.Convert(err)
		info := errorInfo(st)
		if st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), tt.refused) ||
			info.GetMetadata()["missing"] != "profile:"+tt.refused || info.GetMetadata()["rpc"] != "ReplaceContacts" ||
			info.GetMetadata()["propertyId"] != "1000001" {
			t.Errorf("%s: %v %v, want PERMISSION_DENIED naming %s", tt.name, st, info, tt.refused)
		}
	}
	// The service answers with MayWrite's refusal: the record says it
	// was refused, and holds only the profiles allowed.
	call.End(nil, call.MayWrite(contactsv1.ProfileType_PROFILE_TYPE_GENERAL))
	recs := tr.records(t)
	if len(recs) != 1 || recs[0].Allowed || recs[0].Reason != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() || strings.Join(recs[0].Profiles, ",") != "INVOICES" {
		t.Fatalf("records %+v", recs)
	}
}

// Etags of the facade's shape (W/" + 24 base64url characters + ") and a
// request id (a UUID): the record holds them as they are.
const (
	etagAfter  = `W/"aaaaaaaaaaaaaaaaaaaaaaaa"`
	etagBefore = `W/"bbbbbbbbbbbbbbbbbbbbbbbb"`
	etagResp   = `W/"rrrrrrrrrrrrrrrrrrrrrrrr"`
	etagB      = `W/"BBBBBBBBBBBBBBBBBBBBBBBB"`
	etagA      = `W/"AAAAAAAAAAAAAAAAAAAAAAAA"`
	etagReq    = `W/"qqqqqqqqqqqqqqqqqqqqqq-_"`
	reqID      = "0b6f1c2e-8f1d-4c1a-9e0b-3f2a1d4c5b6e"
)

func TestEndWritesTheRecord(t *testing.T) {
	inv := contactsv1.ProfileType_PROFILE_TYPE_INVOICES
	upstream := errmap.Status(codes.FailedPrecondition, contactsv1.ErrorReason_CHANGES_NOT_PERMITTED, "upstream says no",
		map[string]string{"source": "upstream", "requestId": "ruid-up"})
	validation := errmap.Status(codes.InvalidArgument, contactsv1.ErrorReason_INVALID_VALUE, "bad e-mail",
		map[string]string{"source": "facade", "requestId": ""})
	if len(upstream.Details()) != 1 || len(validation.Details()) != 1 {
		t.Fatal("the test's statuses lack their ErrorInfo")
	}
	tests := []struct {
		name  string
		resp  proto.Message
		err   error
		etags [2]string
		want  access.Record
	}{
		{"allowed", &contactsv1.SetProfileContactsResponse{Etag: etagAfter, UpstreamRequestId: "ruid-ok"}, nil, [2]string{etagBefore, ""},
			access.Record{Code: "OK", Allowed: true, EtagBefore: etagBefore, EtagAfter: etagAfter, UpstreamRUID: "ruid-ok"}},
		{"service's etags win", &contactsv1.SetProfileContactsResponse{Etag: etagResp}, nil, [2]string{etagB, etagA},
			access.Record{Code: "OK", Allowed: true, EtagBefore: etagB, EtagAfter: etagA}},
		{"upstream error", nil, upstream.Err(), [2]string{},
			access.Record{Code: "FailedPrecondition", Reason: "CHANGES_NOT_PERMITTED", UpstreamRUID: "ruid-up", Allowed: true, EtagBefore: etagReq}},
		{"refused by validation", nil, validation.Err(), [2]string{},
			access.Record{Code: "InvalidArgument", Reason: "INVALID_VALUE", Allowed: false, EtagBefore: etagReq}},
	}
	for _, tt := range tests {
		g, tr := newGate(t, gatePolicy)
		call, err := g.Admit(proxied("spiffe://corp/invoicer"), contactsv1.ContactsService_SetProfileContacts_FullMethodName,
			&contactsv1.SetProfileContactsRequest{PropertyId: "1000001", Profile: inv, Etag: etagReq, RequestId: reqID})
		if err != nil {
			t.Fatal(err)
		}
		call.SetEtags(tt.etags[0], tt.etags[1])
		call.End(tt.resp, tt.err)
		call.End(tt.resp, tt.err) // exactly once: a second End writes nothing
		recs := tr.records(t)
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", tt.name, len(recs))
		}
		want := tt.want
		want.Time, want.Caller, want.CallerSource, want.RPC, want.PropertyID, want.RequestID, want.Profiles =
			at, "spiffe://corp/invoicer", "proxy_header", "SetProfileContacts", "1000001", reqID, []string{"INVOICES"}
		if got := recs[0]; !got.Time.Equal(want.Time) || got.Caller != want.Caller || got.CallerSource != want.CallerSource ||
			got.RPC != want.RPC || got.PropertyID != want.PropertyID || got.RequestID != want.RequestID ||
			strings.Join(got.Profiles, ",") != "INVOICES" || got.UpstreamRUID != want.UpstreamRUID ||
			got.EtagBefore != want.EtagBefore || got.EtagAfter != want.EtagAfter || got.Code != want.Code ||
			got.Reason != want.Reason || got.Allowed != want.Allowed {
			t.Errorf("%s: record\n %+v, want\n %+v", tt.name, got, want)
		}
	}
	// Pinned by hand: a read leaves no record, whatever its outcome.
	g, tr := newGate(t, gatePolicy)
	call, err := g.Admit(proxied("spiffe://corp/invoicer"), contactsv1.ContactsService_ListContacts_FullMethodName, &contactsv1.ListContactsRequest{PropertyId: "1000001"})
	if err != nil {
		t.Fatal(err)
	}
	call.SetEtags("x", "y")
	call.End(nil, upstream.Err())
	if recs := tr.records(t); len(recs) != 0 {
		t.Fatalf("a read left records %+v", recs)
	}
}

// TestInvalidUTF8CallerIsRefused: a trusted proxy names a caller with
// bytes that are not UTF-8. Under a policy that would let that name do
// everything, it is still refused, reads and writes, with a refusal whose
// details can be attached, and its write is on the trail in valid UTF-8.
func TestInvalidUTF8CallerIsRefused(t *testing.T) {
	g, tr := newGate(t, gatePolicy)
	name := "spiffe://corp/ops/\xff\xfe"
	for method, req := range everyRequest() {
		call, err := g.Admit(proxied(name), method, req)
		st := status.Convert(err)
		info := errorInfo(st)
		if call != nil || st.Code() != codes.PermissionDenied || info.GetReason() != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() ||
			info.GetMetadata()["missing"] != "identity" || info.GetMetadata()["caller"] != "spiffe://corp/ops/\uFFFD" {
			t.Errorf("%s: call %v, %v %v; want refused, missing identity", method, call, st.Code(), info)
		}
	}
	recs := tr.records(t)
	if len(recs) != 8 { // the five writes and the three bulk RPCs
		t.Fatalf("%d records, want 8", len(recs))
	}
	for _, r := range recs {
		if r.Allowed || r.Caller != "spiffe://corp/ops/\uFFFD" || r.Reason != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() {
			t.Errorf("record %+v", r)
		}
	}
	// The same name in valid UTF-8 is admitted: the pattern covers it.
	if _, err := g.Admit(proxied("spiffe://corp/ops/é"), contactsv1.ContactsService_ClearProfileContacts_FullMethodName,
		&contactsv1.ClearProfileContactsRequest{PropertyId: "1", Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL}); err != nil {
		t.Fatalf("valid name refused: %v", err)
	}
}

// TestRefusalWithoutDetailsIsStillARefusal: a method name that is not
// UTF-8 cannot go into the refusal's metadata, so its details cannot be
// attached; the call is still refused, with the code and no details.
func TestRefusalWithoutDetailsIsStillARefusal(t *testing.T) {
	g, tr := newGate(t, gatePolicy)
	call, err := g.Admit(proxied("spiffe://corp/ops/a"), "/contacts.v1.ContactsService/\xff", &contactsv1.ReplaceContactsRequest{PropertyId: "1"})
	st := status.Convert(err)
	if call != nil || err == nil || st.Code() != codes.PermissionDenied || len(st.Details()) != 0 {
		t.Fatalf("call %v, %v with %d details; want PERMISSION_DENIED without details", call, st.Code(), len(st.Details()))
	}
	if recs := tr.records(t); len(recs) != 1 || recs[0].Allowed || recs[0].Reason != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() {
		t.Fatalf("records %+v", recs)
	}
}
