package main

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// TestRunSharedAndGated: contactsd with a Redis, the read cache, a caller
// policy and an audit trail, as the flags say: reads come from the cache,
// the fleet's state lands in Redis sealed, the policy refuses what it does
// not grant before the upstream, and every write leaves one record.
func TestRunSharedAndGated(t *testing.T) {
	mr := miniredis.RunT(t)
	dir := t.TempDir()
	policyFile, auditFile := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "audit.log")
	if err := os.WriteFile(policyFile, []byte("version: 1\ndefault:\n  rpcs: [read, SetProfileContacts]\n  write_profiles: [INVOICES]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, []string{"-listen", "127.0.0.1:0", "-upstream", "emulator", "-read-cache-ttl", "1m",
		"-policy", policyFile, "-audit-log", auditFile}, map[string]string{envRedisURL: "redis://" + mr.Addr()})
	client := contactsv1.NewContactsServiceClient(dialDaemon(t, d.addr, insecure.NewCredentials()))
	ctx := callCtx(t)
	id := "1000001"

	if _, err := client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: id}); err != nil {
		t.Fatal(err)
	}
	second, err := client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: id})
	if err != nil || second.GetCacheAge() == nil {
		t.Fatalf("second read: %v, cache age %v (want one)", err, second.GetCacheAge())
	}
	inv := contactsv1.ProfileType_PROFILE_TYPE_INVOICES
	one := &contactsv1.Contact{Profiles: []contactsv1.ProfileType{inv}, Email: "billing@example.com",
		ContactPerson: &contactsv1.ContactPerson{Name: "Jo Billing", LanguageCode: "en-gb"},
		Address:       &contactsv1.Address{AddressLine: "Damrak 1", CityName: "Amsterdam", CountryCode: "NL", PostalCode: "1012LG", LanguageCode: "en-gb"},
		Phones:        []*contactsv1.Phone{{PhoneNumber: "+31201234567", PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_LANDLINE}}}
	if _, err := client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: id, Profile: inv, Contacts: []*contactsv1.Contact{one}}); err != nil {
		t.Fatalf("granted write: %v", err)
	}
	_, err = client.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: id, Contacts: []*contactsv1.Contact{one}})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("Replace outside the grant: %v, want PermissionDenied", err)
	}
	after, err := client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: id})
	if err != nil || after.GetCacheAge() != nil {
		t.Fatalf("read after a write: %v, cache age %v (want a fresh read)", err, after.GetCacheAge())
	}

	// The fleet's state is in Redis, and none of it in clear.
	keys := mr.Keys()
	var sawToken, sawFence bool
	for _, k := range keys {
		v, _ := mr.Get(k)
		sawToken = sawToken || strings.HasSuffix(k, ":token:current")
		sawFence = sawFence || strings.Contains(k, ":lock:write:"+id+":fence")
		if strings.Contains(v, "eyJ") || strings.Contains(v, "billing@") || strings.Contains(k, emulator.DemoClientID) {
			t.Errorf("Redis key %s holds a token, an e-mail or the client id in clear", k)
		}
	}
	if !sawToken || !sawFence {
		t.Errorf("Redis keys %v: want the shared token and the property's write-lock fence", keys)
	}
	if err := d.stop(t); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []access.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r access.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || recs[0].RPC != "SetProfileContacts" || recs[0].Code != "OK" || recs[0].EtagAfter == "" ||
		recs[1].RPC != "ReplaceContacts" || recs[1].Code != "PermissionDenied" {
		t.Fatalf("audit records %+v", recs)
	}
}

// TestRunSharesCallersAcrossReplicas: two replicas on one Redis give a
// caller of burst 3 (and no refill to speak of) three reads in all, not
// three each, and keep its share under a key that does not name it.
func TestRunSharesCallersAcrossReplicas(t *testing.T) {
	mr := miniredis.RunT(t)
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("version: 1\ndefault:\n  rpcs: [read]\n  rate: {per_second: 0.001, burst: 3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var clients []contactsv1.ContactsServiceClient
	for range 2 {
		d := startDaemon(t, []string{"-listen", "127.0.0.1:0", "-upstream", "emulator", "-policy", policyFile},
			map[string]string{envRedisURL: "redis://" + mr.Addr()})
		clients = append(clients, contactsv1.NewContactsServiceClient(dialDaemon(t, d.addr, insecure.NewCredentials())))
	}
	ctx := callCtx(t)
	var got []codes.Code
	for i := range 6 {
		_, err := clients[i%2].ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: "1000001"})
		got = append(got, status.Code(err))
	}
	ok, over := codes.OK, codes.ResourceExhausted
	if want := []codes.Code{ok, ok, ok, over, over, over}; !slices.Equal(got, want) {
		t.Errorf("reads on replicas 1, 2, 1, ...: %v, want %v", got, want)
	}
	shares := 0
	for _, k := range mr.Keys() {
		if strings.Contains(k, ":share:") {
			shares++
			if strings.Contains(k, access.Anonymous) {
				t.Errorf("key %s names the caller", k)
			}
		}
	}
	if shares != 1 {
		t.Errorf("%d share keys in %v, want 1 (the anonymous caller's)", shares, mr.Keys())
	}
}

// TestCallersReload: a policy that checks replaces the one in force; one
// that does not leaves it, and says why.
func TestCallersReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(file, []byte("default:\n  rpcs: [read]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	c, err := newCallers(callersConfig{policyFile: file}, "127.0.0.1:0", &logs, log)
	if err != nil {
		t.Fatal(err)
	}
	if c.policy.Load().Match("anyone").AllowsRPC("ReplaceContacts") {
		t.Fatal("v1 allows a write")
	}
	_ = os.WriteFile(file, []byte("default:\n  rpcs: [\"*\"]\n  write_profiles: [\"*\"]\n"), 0o600)
	c.reload(log)
	if !c.policy.Load().Match("anyone").AllowsRPC("ReplaceContacts") {
		t.Fatal("v2 not in force after reload")
	}
	_ = os.WriteFile(file, []byte("default:\n  rpcs: [Nonsense]\n"), 0o600)
	c.reload(log)
	if !c.policy.Load().Match("anyone").AllowsRPC("ReplaceContacts") || !strings.Contains(logs.String(), "line 2") {
		t.Fatalf("a bad policy replaced the good one, or the log does not say where:\n%s", logs.String())
	}
	if _, err := newCallers(callersConfig{policyFile: file}, "127.0.0.1:0", &logs, log); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a bad policy at start: %v", err)
	}
	if _, err := newCallers(callersConfig{trustXFCC: true}, "127.0.0.1:0", &logs, log); err == nil {
		t.Fatal("trusting the proxy header from anywhere was accepted")
	}
	var open logBuffer
	openLog := slog.New(slog.NewTextHandler(&open, nil))
	if _, err := newCallers(callersConfig{}, "0.0.0.0:50051", &open, openLog); err != nil || !strings.Contains(open.String(), "no -policy") {
		t.Fatalf("no warning for an open server without a policy: %v\n%s", err, open.String())
	}
}

// TestAdminScrapeAfterCalls: after calls with personal data, the scrape
// has the gRPC, upstream, token and read-path metrics, and none of the
// values.
func TestAdminScrapeAfterCalls(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := l.Addr().String()
	_ = l.Close()
	d := startDaemon(t, []string{"-listen", "127.0.0.1:0", "-upstream", "emulator", "-admin-listen", admin}, nil)
	client := contactsv1.NewContactsServiceClient(dialDaemon(t, d.addr, insecure.NewCredentials()))
	ctx := callCtx(t)
	c := personalContact()
	c.Profiles = []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_INVOICES}
	if _, err := client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: "1000001",
		Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Contacts: []*contactsv1.Contact{c}}); err != nil {
		t.Fatal(err)
	}
	_, _ = client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: "1000004"}) // NOT_FOUND, OTA 635
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	scrape := string(body)
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="SetProfileContacts"`,
		`grpc_server_handled_total{grpc_code="NotFound",grpc_method="ListContacts"`,
		`contacts_facade_upstream_requests_total{http_status="404",method="GET",ota_code="635",outcome="error_answer"}`,
		`contacts_facade_token_exchanges_total{outcome="ok"} 1`,
		"contacts_facade_token_budget_left",
		"contacts_facade_reads_upstream_gets_total",
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	for _, pii := range []string{c.GetEmail(), c.GetContactPerson().GetName(), c.GetPhones()[0].GetPhoneNumber(), "1000001", "1000004"} {
		if strings.Contains(scrape, pii) {
			t.Errorf("scrape holds %q", pii)
		}
	}
}
