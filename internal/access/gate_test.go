package access_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
)

// pki is a test CA that issues server and client certificates.
type pki struct {
	t    *testing.T
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	pool *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pki{t: t, key: key, cert: cert, pool: pool}
}

var serial atomic.Int64

func (p *pki) issue(tmpl *x509.Certificate, usage x509.ExtKeyUsage) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl.SerialNumber = big.NewInt(serial.Add(1) + 1)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// fakeService is a ContactsService that asks the gate first, as the
// service does, and counts the calls the gate admits (they would reach
// the upstream).
type fakeService struct {
	contactsv1.UnimplementedContactsServiceServer
	gate  *access.Gate
	calls atomic.Int64
}

func (f *fakeService) ListContacts(ctx context.Context, req *contactsv1.ListContactsRequest) (resp *contactsv1.ListContactsResponse, err error) {
	call, err := f.gate.Admit(ctx, contactsv1.ContactsService_ListContacts_FullMethodName, req)
	if err != nil {
		return nil, err
	}
	defer func() { call.End(resp, err) }()
	f.calls.Add(1)
	return &contactsv1.ListContactsResponse{}, nil
}

func (f *fakeService) ReplaceContacts(ctx context.Context, req *contactsv1.ReplaceContactsRequest) (resp *contactsv1.ReplaceContactsResponse, err error) {
	call, err := f.gate.Admit(ctx, contactsv1.ContactsService_ReplaceContacts_FullMethodName, req)
	if err != nil {
		return nil, err
	}
	defer func() { call.End(resp, err) }()
	f.calls.Add(1)
	// What only the service knows: the state before held a GENERAL
	// contact that this Replace would delete unless it sends one.
	deletes := true
	for _, c := range req.GetContacts() {
		for _, p := range c.GetProfiles() {
			if p == contactsv1.ProfileType_PROFILE_TYPE_GENERAL {
				deletes = false
			}
		}
	}
	if deletes {
		if err := call.MayWrite(contactsv1.ProfileType_PROFILE_TYPE_GENERAL); err != nil {
			return nil, err
		}
	}
	return &contactsv1.ReplaceContactsResponse{RequestId: "ruid-1"}, nil
}

func (f *fakeService) CreateContacts(ctx context.Context, req *contactsv1.CreateContactsRequest) (resp *contactsv1.CreateContactsResponse, err error) {
	call, err := f.gate.Admit(ctx, contactsv1.ContactsService_CreateContacts_FullMethodName, req)
	if err != nil {
		return nil, err
	}
	defer func() { call.End(resp, err) }()
	f.calls.Add(1)
	return &contactsv1.CreateContactsResponse{}, nil
}

const testPolicy = `version: 1
default:
  rpcs: [ListContacts]
callers:
  - id: spiffe://corp/ns/billing/sa/invoicer
    rpcs: [read, write]
    write_profiles: [INVOICES]
  - id: dns:admin.corp
    rpcs: ["*"]
    write_profiles: ["*"]
  - id: cn:limited
    rpcs: [ListContacts]
    properties: ["1000001"]
`

type stack struct {
	svc   *fakeService
	audit *bytes.Buffer
	trail *access.Trail
	addr  string
	pki   *pki
	gate  *access.Gate
	hold  *access.Holder
	mu    *sync.Mutex
}

func newStack(t *testing.T, now func() time.Time) *stack {
	t.Helper()
	p := newPKI(t)
	srvCert := p.issue(&x509.Certificate{DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}, x509.ExtKeyUsageServerAuth)
	pol, err := access.ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	hold := access.NewHolder(pol)
	var buf bytes.Buffer
	var mu sync.Mutex
	trail := access.NewTrail(&lockedWriter{w: &buf, mu: &mu})
	gate, err := access.NewGate(access.Config{Policy: hold, Audit: trail, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	svc := &fakeService{gate: gate}
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: p.pool,
		ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS13})
	s := grpc.NewServer(grpc.Creds(creds))
	contactsv1.RegisterContactsServiceServer(s, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return &stack{svc: svc, audit: &buf, trail: trail, addr: lis.Addr().String(), pki: p, gate: gate, hold: hold, mu: &mu}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// client dials as the holder of tmpl's certificate (nil: no certificate).
func (s *stack) client(t *testing.T, tmpl *x509.Certificate) contactsv1.ContactsServiceClient {
	t.Helper()
	cfg := &tls.Config{RootCAs: s.pki.pool, ServerName: "localhost", MinVersion: tls.VersionTLS13}
	if tmpl != nil {
		cfg.Certificates = []tls.Certificate{s.pki.issue(tmpl, x509.ExtKeyUsageClientAuth)}
	}
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return contactsv1.NewContactsServiceClient(conn)
}

func contact(ps ...contactsv1.ProfileType) *contactsv1.Contact {
	return &contactsv1.Contact{Profiles: ps, Email: "jane.doe@example.com", ContactPerson: &contactsv1.ContactPerson{Name: "Jane Doe"}}
}

func TestPolicyThroughMTLS(t *testing.T) {
	s := newStack(t, nil)
	invoicerURI, _ := url.Parse("spiffe://corp/ns/billing/sa/invoicer")
	callers := map[string]*x509.Certificate{
		"invoicer":  {URIs: []*url.URL{invoicerURI}, Subject: pkix.Name{CommonName: "ignored"}},
		"admin":     {DNSNames: []string{"admin.corp"}},
		"limited":   {Subject: pkix.Name{CommonName: "limited"}},
		"stranger":  {Subject: pkix.Name{CommonName: "stranger"}},
		"anonymous": nil,
	}
	clients := map[string]contactsv1.ContactsServiceClient{}
	for name, tmpl := range callers {
		clients[name] = s.client(t, tmpl)
	}
	inv, gen := contactsv1.ProfileType_PROFILE_TYPE_INVOICES, contactsv1.ProfileType_PROFILE_TYPE_GENERAL
	list := func(c contactsv1.ContactsServiceClient, id string) error {
		_, err := c.ListContacts(context.Background(), &contactsv1.ListContactsRequest{PropertyId: id})
		return err
	}
	replace := func(c contactsv1.ContactsServiceClient, cs ...*contactsv1.Contact) error {
		_, err := c.ReplaceContacts(context.Background(), &contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: cs})
		return err
	}
	create := func(c contactsv1.ContactsServiceClient) error {
		_, err := c.CreateContacts(context.Background(), &contactsv1.CreateContactsRequest{PropertyId: "1000001", Contacts: []*contactsv1.Contact{contact(gen)}})
		return err
	}
	tests := []struct {
		caller  string
		call    string
		do      func(contactsv1.ContactsServiceClient) error
		missing string // "" when allowed
	}{
		{"invoicer", "List", func(c contactsv1.ContactsServiceClient) error { return list(c, "1") }, ""},
		{"invoicer", "Replace INVOICES keeping GENERAL?", func(c contactsv1.ContactsServiceClient) error { return replace(c, contact(inv)) }, "profile:GENERAL"},
		{"invoicer", "Replace sending GENERAL", func(c contactsv1.ContactsServiceClient) error { return replace(c, contact(gen, inv)) }, "profile:GENERAL"},
		{"invoicer", "Create", create, "profile:GENERAL"},
		{"admin", "Replace", func(c contactsv1.ContactsServiceClient) error { return replace(c, contact(inv)) }, ""},
		{"admin", "Create", create, ""},
		{"limited", "List own property", func(c contactsv1.ContactsServiceClient) error { return list(c, "1000001") }, ""},
		{"limited", "List other property", func(c contactsv1.ContactsServiceClient) error { return list(c, "1000002") }, "property"},
		{"limited", "Replace", func(c contactsv1.ContactsServiceClient) error { return replace(c, contact(gen)) }, "rpc:ReplaceContacts"},
		{"stranger", "List (default)", func(c contactsv1.ContactsServiceClient) error { return list(c, "1") }, ""},
		{"stranger", "Replace (default)", func(c contactsv1.ContactsServiceClient) error { return replace(c, contact(gen)) }, "rpc:ReplaceContacts"},
		{"anonymous", "List (default)", func(c contactsv1.ContactsServiceClient) error { return list(c, "1") }, ""},
		{"anonymous", "Create (default)", create, "rpc:CreateContacts"},
	}
	for _, tt := range tests {
		before := s.svc.calls.Load()
		err := tt.do(clients[tt.caller])
		reached := s.svc.calls.Load() - before
		if tt.missing == "" {
			if err != nil {
				t.Errorf("%s %s: %v", tt.caller, tt.call, err)
			}
			continue
		}
		st := status.Convert(err)
		if st.Code() != codes.PermissionDenied {
			t.Errorf("%s %s: code %v, want PermissionDenied", tt.caller, tt.call, st.Code())
			continue
		}
		info := errorInfo(st)
		if info.GetReason() != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() || info.GetMetadata()["missing"] != tt.missing || info.GetMetadata()["caller"] == "" {
			t.Errorf("%s %s: ErrorInfo %v, want missing %q", tt.caller, tt.call, info, tt.missing)
		}
		// The six keys every ErrorInfo of the facade carries.
		for _, k := range []string{"otaCode", "otaCodes", "httpStatus", "requestId", "propertyId", "source"} {
			if _, ok := info.GetMetadata()[k]; !ok {
				t.Errorf("%s %s: ErrorInfo lacks %s: %v", tt.caller, tt.call, k, info.GetMetadata())
			}
		}
		if info.GetMetadata()["source"] != "facade" {
			t.Errorf("%s %s: source %q", tt.caller, tt.call, info.GetMetadata()["source"])
		}
		// Refusals the request alone shows happen in Admit, before the
		// service does anything; a deletion only the service can see is
		// refused by MayWrite, before its upstream write.
		if tt.missing != "profile:GENERAL" || tt.call == "Replace sending GENERAL" || tt.call == "Create" {
			if reached != 0 {
				t.Errorf("%s %s: refused after reaching the service", tt.caller, tt.call)
			}
		}
	}
	// The identity the gate saw for the URI SAN holder is the URI.
	err := replace(clients["invoicer"], contact(gen))
	if got := errorInfo(status.Convert(err)).GetMetadata()["caller"]; got != "spiffe://corp/ns/billing/sa/invoicer" {
		t.Errorf("caller = %q", got)
	}
}

func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			return i
		}
	}
	return nil
}

func TestEveryWriteLeavesOneAuditRecordWithoutPII(t *testing.T) {
	s := newStack(t, nil)
	admin := s.client(t, &x509.Certificate{DNSNames: []string{"admin.corp"}})
	anon := s.client(t, nil)
	ctx := context.Background()
	gen := contactsv1.ProfileType_PROFILE_TYPE_GENERAL
	_, _ = admin.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: "1000001", Contacts: []*contactsv1.Contact{contact(gen, contactsv1.ProfileType_PROFILE_TYPE_INVOICES)}})
	_, _ = anon.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: "1000002", Contacts: []*contactsv1.Contact{contact(gen)}})
	_, _ = admin.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: "1000001"}) // a read: no record
	if err := s.trail.Flush(); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	out := s.audit.String()
	s.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d audit records, want 2:\n%s", len(lines), out)
	}
	for _, pii := range []string{"jane", "Jane", "example.com", "Doe"} {
		if strings.Contains(out, pii) {
			t.Fatalf("audit trail holds %q:\n%s", pii, out)
		}
	}
	var ok, refused access.Record
	_ = json.Unmarshal([]byte(lines[0]), &ok)
	_ = json.Unmarshal([]byte(lines[1]), &refused)
	if ok.Caller != "dns:admin.corp" || ok.RPC != "ReplaceContacts" || ok.PropertyID != "1000001" || !ok.Allowed ||
		ok.Code != "OK" || ok.UpstreamRUID != "ruid-1" || strings.Join(ok.Profiles, ",") != "GENERAL,INVOICES" || ok.Time.IsZero() {
		t.Errorf("allowed record = %+v", ok)
	}
	if refused.Caller != "anonymous" || refused.Allowed || refused.Code != "PermissionDenied" || refused.Reason != contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() {
		t.Errorf("refused record = %+v", refused)
	}
}

func TestFairShareIsolatesAFloodingCaller(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newStack(t, clock)
	p, err := access.ParsePolicy([]byte(`version: 1
default:
  rpcs: [read]
  rate: {per_second: 1, burst: 5}
callers:
  - id: cn:flood
    rpcs: [read]
    rate: {per_second: 1, burst: 5}
`))
	if err != nil {
		t.Fatal(err)
	}
	s.hold.Store(p)
	flood := s.client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "flood"}})
	quiet := s.client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "quiet"}})
	ctx := context.Background()
	req := &contactsv1.ListContactsRequest{PropertyId: "1"}
	limited := 0
	var retry time.Duration
	for range 50 {
		_, err := flood.ListContacts(ctx, req)
		if status.Code(err) == codes.ResourceExhausted {
			limited++
			for _, d := range status.Convert(err).Details() {
				if r, ok := d.(*errdetails.RetryInfo); ok {
					retry = r.GetRetryDelay().AsDuration()
				}
			}
		}
	}
	if limited != 45 || retry <= 0 || retry > time.Second {
		t.Fatalf("flooding caller: %d of 50 limited (want 45), retry %v", limited, retry)
	}
	// The quiet caller has its own bucket.
	for i := range 5 {
		if _, err := quiet.ListContacts(ctx, req); err != nil {
			t.Fatalf("quiet call %d: %v", i, err)
		}
	}
	// Time refills the flooding caller's bucket.
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if _, err := flood.ListContacts(ctx, req); err != nil {
		t.Fatalf("after refill: %v", err)
	}
}

func TestReloadUnderLoadLosesNoCall(t *testing.T) {
	s := newStack(t, nil)
	// A caller the two policies treat differently: v1's default lets it
	// list, v2 has no default and refuses it.
	stranger := s.client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "stranger"}})
	p1, _ := access.ParsePolicy([]byte(testPolicy))
	p2, _ := access.ParsePolicy([]byte("version: 1\ncallers:\n  - id: dns:admin.corp\n    rpcs: [\"*\"]\n"))
	var callers sync.WaitGroup
	var allowed, refused, other atomic.Int64
	stop, reloaded := make(chan struct{}), make(chan int)
	go func() { // swaps the policy until the callers are done
		n := 0
		for {
			select {
			case <-stop:
				reloaded <- n
				return
			default:
			}
			if n%2 == 0 {
				s.hold.Store(p2)
			} else {
				s.hold.Store(p1)
			}
			n++
			runtime.Gosched()
		}
	}()
	for range 8 {
		callers.Go(func() {
			for range 200 {
				_, err := stranger.ListContacts(context.Background(), &contactsv1.ListContactsRequest{PropertyId: "1"})
				switch status.Code(err) {
				case codes.OK:
					allowed.Add(1)
				case codes.PermissionDenied:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	callers.Wait()
	close(stop)
	if n := <-reloaded; n < 2 {
		t.Fatalf("only %d reloads happened during the calls", n)
	}
	// Every call got the answer of one policy or the other, none was
	// lost or broken, and both policies were in force at some point.
	if other.Load() != 0 || allowed.Load()+refused.Load() != 1600 || allowed.Load() != s.svc.calls.Load() {
		t.Fatalf("%d allowed, %d refused, %d other; %d reached the service", allowed.Load(), refused.Load(), other.Load(), s.svc.calls.Load())
	}
	if allowed.Load() == 0 || refused.Load() == 0 {
		t.Fatalf("%d allowed, %d refused: the swaps did not take effect", allowed.Load(), refused.Load())
	}
}
