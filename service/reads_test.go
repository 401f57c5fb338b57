package service_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/readpath"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"github.com/contacts-facade/contacts-facade/service"
)

// countingTransport counts the GETs that leave for the upstream.
type countingTransport struct {
	next http.RoundTripper
	gets atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && r.URL.Path != "/token-based-authentication/exchange" {
		c.gets.Add(1)
	}
	return c.next.RoundTrip(r)
}

// newCachedStack is the facade with a read path holding a cache with a
// TTL of an hour on a clock the test moves.
func newCachedStack(t *testing.T, now func() time.Time) (contactsv1.ContactsServiceClient, *emulator.Emulator, *countingTransport) {
	t.Helper()
	emu := emulator.New(emulator.Options{})
	base, stop, err := emulator.Start(context.Background(), "127.0.0.1:0", emu)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	ts, err := upstreamauth.NewTokenSource(upstreamauth.TokenConfig{
		ExchangeURL: base + "/token-based-authentication/exchange",
		ClientID:    emulator.DemoClientID, ClientSecret: emulator.DemoClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Close() })
	ct := &countingTransport{next: http.DefaultTransport}
	up, err := upstream.New(upstream.Config{BaseURL: base, Authorizer: ts, HTTPClient: &http.Client{Transport: ct}})
	if err != nil {
		t.Fatal(err)
	}
	rp := readpath.New(up, readpath.Options{TTL: time.Hour, Now: now})
	t.Cleanup(rp.Close)
	conn := serveService(t, newService(t, service.Config{Upstream: up, Reads: readpath.Share(context.Background(), rp, nil, nil)}), grpcserver.Config{})
	return contactsv1.NewContactsServiceClient(conn), emu, ct
}

func TestReadCacheThroughTheService(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&at)
	now := func() time.Time { return *clock.Load() }
	advance := func(d time.Duration) { t := now().Add(d); clock.Store(&t) }
	client, emu, ct := newCachedStack(t, now)
	ctx := ctxLong(t)
	req := &contactsv1.ListContactsRequest{PropertyId: fullID}

	first, err := client.ListContacts(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.GetCacheAge() != nil || first.GetCacheStale() {
		t.Fatalf("a fresh read says it came from the cache: %v", first.GetCacheAge())
	}
	advance(90 * time.Second)
	second, err := client.ListContacts(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.GetCacheAge().AsDuration(); got != 90*time.Second || ct.gets.Load() != 1 {
		t.Fatalf("cached read: age %v, %d GETs; want 1m30s and 1", got, ct.gets.Load())
	}
	if second.GetEtag() != first.GetEtag() {
		t.Fatal("a cached answer has another etag")
	}

	// A writer outside the facade changes the property: the cache does
	// not know, but an etag'd write reads fresh under the lock and is
	// refused; nothing is written.
	if err := emu.OutsideWrite(emulator.DemoPropertyFull, []byte(`{"contacts":[{"contact_profiles":[{"type":"general"}],
		"contact_person":{"name":"Outside Writer","language_code":"en-gb"},"email":"outside@example.com",
		"address":{"address_line":"Damrak 1","city_name":"Amsterdam","country_code":"NL","postal_code":"1012LG","language_code":"en-gb"},
		"phones":[{"phone_number":"+31201234567","phone_tech_type":1}]}]}`)); err != nil {
		t.Fatal(err)
	}
	puts := emu.Puts(emulator.DemoPropertyFull)
	_, err = client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{
		PropertyId: fullID, Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES,
		Contacts: []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_INVOICES)}, Etag: second.GetEtag(),
	})
	if status.Code(err) != codes.Aborted || emu.Puts(emulator.DemoPropertyFull) != puts {
		t.Fatalf("etag'd write over a cached etag: %v, %d PUTs (want ABORTED, none)", err, emu.Puts(emulator.DemoPropertyFull)-puts)
	}
	// A write through the facade drops the cache: the next read is fresh
	// and shows it.
	w, err := client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{
		PropertyId: fullID, Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES,
		Contacts: []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_INVOICES)},
	})
	if err != nil {
		t.Fatal(err)
	}
	after, err := client.ListContacts(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if after.GetCacheAge() != nil || after.GetEtag() != w.GetEtag() {
		t.Fatalf("read after a write: cache age %v, etag %s (write gave %s)", after.GetCacheAge(), after.GetEtag(), w.GetEtag())
	}
}

// slowFirstGet is an upstream whose first GET reads the state when it is
// sent and answers only when released: a read in flight while another
// replica writes.
type slowFirstGet struct {
	mu       sync.Mutex
	state    []*contactsv1.Contact
	gets     int
	sent     chan struct{}
	release  chan struct{}
	lastPut  []*contactsv1.Contact
	firstGet sync.Once
}

func (u *slowFirstGet) List(context.Context, string, bool) (*contactsv1.ListContactsResponse, error) {
	u.mu.Lock()
	u.gets++
	snapshot := slices.Clone(u.state)
	first := u.gets == 1
	u.mu.Unlock()
	if first {
		close(u.sent)
		<-u.release
	}
	return &contactsv1.ListContactsResponse{Contacts: snapshot}, nil
}

func (u *slowFirstGet) Replace(_ context.Context, _ string, cs []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.state, u.lastPut = cs, cs
	return &contactsv1.ReplaceContactsResponse{}, nil
}

func (u *slowFirstGet) Create(context.Context, string, []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	return nil, errors.New("not used")
}

// TestWriteNeverJoinsAnOlderRead: a read is in flight when another
// replica writes the property (the upstream changes behind this one); a
// write through this replica must not merge on what that read returns.
func TestWriteNeverJoinsAnOlderRead(t *testing.T) {
	gen, inv, res := contactsv1.ProfileType_PROFILE_TYPE_GENERAL, contactsv1.ProfileType_PROFILE_TYPE_INVOICES, contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS
	up := &slowFirstGet{state: []*contactsv1.Contact{validContact(gen)}, sent: make(chan struct{}), release: make(chan struct{})}
	rp := readpath.New(up, readpath.Options{})
	t.Cleanup(rp.Close)
	client := contactsv1.NewContactsServiceClient(serveService(t, newService(t, service.Config{Upstream: up, Reads: readpath.Share(context.Background(), rp, nil, nil)}), grpcserver.Config{}))
	ctx := ctxLong(t)

	read := make(chan error, 1)
	go func() {
		_, err := client.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: fullID})
		read <- err
	}()
	<-up.sent
	// Another replica adds a RESERVATIONS contact while that GET is out.
	other := validContact(res)
	other.Email = "reservations@example.com"
	up.mu.Lock()
	up.state = append(slices.Clone(up.state), other)
	up.mu.Unlock()

	write := make(chan error, 1)
	go func() {
		_, err := client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: fullID, Profile: inv,
			Contacts: []*contactsv1.Contact{validContact(inv)}})
		write <- err
	}()
	// The write must not wait for the old GET: it makes its own. (The
	// timer only turns a hang, which is what joining it would be, into a
	// failure; a passing run never waits for it.)
	select {
	case err := <-write:
		close(up.release)
		if err != nil {
			t.Fatalf("write: %v", err)
		}
	case <-time.After(10 * time.Second):
		close(up.release)
		t.Fatal("the write waited for a read that started before its lock")
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	kept := false
	for _, c := range up.lastPut {
		kept = kept || c.GetEmail() == "reservations@example.com"
	}
	if !kept {
		t.Fatal("the write merged on a read older than the other replica's write, and deleted its contact")
	}
}
