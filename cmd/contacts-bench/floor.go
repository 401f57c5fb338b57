package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/httpx"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// floorServer is the bare pass-through the facade is measured against: a
// gRPC unary handler that makes one HTTP request to the same emulator with
// a fixed bearer token, decodes the JSON answer into a map, and replies
// with an empty message or a bare status. It validates, converts and
// translates nothing, and has no interceptors, no logging, no retries. A
// write sends a body encoded once at start (the floor encodes nothing
// per call), chosen by the one field the bench's two write cases differ in.
//
// A write does what any safe write must, as the facade's does: under the
// property's lock, a GET (the state the etag and previous_contacts come
// from) and then the PUT, each answer decoded into a map. Without the lock
// and the GET, the floor would measure the facade's write contract (one
// write of a property at a time, two round trips) as its cost.
type floorServer struct {
	contactsv1.UnimplementedContactsServiceServer
	http          *http.Client
	base          string
	authorization string
	validBody     []byte
	invalidBody   []byte

	mu    sync.Mutex
	locks map[string]*sync.Mutex // of each property written
}

// startFloor serves the floor on a loopback port and returns a client of
// it on one shared connection.
func startFloor(ctx context.Context, cl *closers, up *upstreamSide, callers int) (contactsv1.ContactsServiceClient, error) {
	hc := &http.Client{Transport: httpx.NewTransport(max(100, callers))}
	cl.add(hc.CloseIdleConnections)
	f, err := newFloorServer(hc, up.base, up.token)
	if err != nil {
		return nil, err
	}
	gs := grpc.NewServer()
	contactsv1.RegisterContactsServiceServer(gs, f)
	conn, err := serve(ctx, cl, gs.Serve, func(context.Context) { gs.Stop() })
	if err != nil {
		return nil, err
	}
	return contactsv1.NewContactsServiceClient(conn), nil
}

// newFloorServer is the floor calling the emulator at base through hc
// with token, its two write bodies encoded.
func newFloorServer(hc *http.Client, base, token string) (*floorServer, error) {
	validBody, err := restBody(twoContacts())
	if err != nil {
		return nil, err
	}
	invalidBody, err := restBody(invalidContacts())
	if err != nil {
		return nil, err
	}
	return &floorServer{http: hc, base: base, authorization: "Bearer " + token, validBody: validBody, invalidBody: invalidBody,
		locks: make(map[string]*sync.Mutex)}, nil
}

func (f *floorServer) ListContacts(ctx context.Context, req *contactsv1.ListContactsRequest) (*contactsv1.ListContactsResponse, error) {
	u := f.base + "/properties/" + req.GetPropertyId() + "/contacts"
	if req.GetNoLanguageFallback() {
		u += "?no_language_fallback=1"
	}
	if err := f.do(ctx, http.MethodGet, u, nil); err != nil {
		return nil, err
	}
	return &contactsv1.ListContactsResponse{}, nil
}

func (f *floorServer) ReplaceContacts(ctx context.Context, req *contactsv1.ReplaceContactsRequest) (*contactsv1.ReplaceContactsResponse, error) {
	body := f.validBody
	if cs := req.GetContacts(); len(cs) > 0 && cs[0].GetAddress().GetCountryCode() == invalidCountry {
		body = f.invalidBody
	}
	lock := f.lock(req.GetPropertyId())
	lock.Lock()
	defer lock.Unlock()
	u := f.base + "/properties/" + req.GetPropertyId() + "/contacts"
	if err := f.do(ctx, http.MethodGet, u, nil); err != nil {
		return nil, err
	}
	if err := f.do(ctx, http.MethodPut, u, body); err != nil {
		return nil, err
	}
	return &contactsv1.ReplaceContactsResponse{}, nil
}

// restBody is the body of a PUT of cs, as a REST caller encodes it.
func restBody(cs []*contactsv1.Contact) ([]byte, error) {
	return json.Marshal(upstream.ContactsBody{Contacts: upstream.ContactsToWire(cs)})
}

// lock is the write lock of a property.
func (f *floorServer) lock(propertyID string) *sync.Mutex {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.locks[propertyID]
	if !ok {
		l = new(sync.Mutex)
		f.locks[propertyID] = l
	}
	return l
}

// do makes the request and decodes the answer into a map; a status other
// than 200 becomes a bare INVALID_ARGUMENT (4xx) or UNAVAILABLE.
func (f *floorServer) do(ctx context.Context, method, url string, body []byte) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return status.Error(codes.Internal, "request")
	}
	req.Header.Set("Authorization", f.authorization)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.http.Do(req)
	if err != nil {
		return status.Error(codes.Unavailable, "upstream")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return status.Error(codes.Unavailable, "upstream")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return status.Error(codes.Unavailable, "undecodable")
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode < 500:
		return status.Error(codes.InvalidArgument, "refused")
	default:
		return status.Error(codes.Unavailable, "upstream")
	}
}
