package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
	"github.com/contacts-facade/contacts-facade/internal/httpx"
	"github.com/contacts-facade/contacts-facade/internal/readpath"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
	"github.com/contacts-facade/contacts-facade/service"
)

// closers runs cleanups in reverse order.
type closers []func()

// freeAddr is a loopback address with a port free a moment ago, for a
// server of another process (contactsd, redis-server) to listen on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (c *closers) add(f func()) { *c = append(*c, f) }

func (c closers) close() {
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

// upstreamSide is the emulator on a loopback port, with a count of the
// contacts GETs it served, and a direct REST client of it.
type upstreamSide struct {
	emu         *emulator.Emulator
	base        string
	exchangeURL string
	gets        *atomic.Int64
	rest        *restClient
	token       string
}

// startUpstream starts an emulator with opts behind a handler that counts
// its contacts GETs. callers sizes the direct client's pool.
func startUpstream(ctx context.Context, cl *closers, opts emulator.Options, callers int) (*upstreamSide, error) {
	emu := emulator.New(opts)
	gets := new(atomic.Int64)
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/properties/") {
			gets.Add(1)
		}
		emu.ServeHTTP(w, r)
	})
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the emulator: %w", err)
	}
	hs := &http.Server{Handler: counted, ReadHeaderTimeout: 10 * time.Second}
	httpx.ServeH2C(hs) // as emulator.Start serves, for contactsd -upstream-h2c
	go func() { _ = hs.Serve(lis) }()
	cl.add(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if hs.Shutdown(sctx) != nil {
			_ = hs.Close()
		}
	})
	base := "http://" + lis.Addr().String()
	exchangeURL := base + "/token-based-authentication/exchange"

	// The direct path: a keep-alive pool large enough for every caller,
	// and a token of the same demo account.
	hc := &http.Client{Transport: httpx.NewTransport(max(100, callers))}
	cl.add(hc.CloseIdleConnections)
	token, err := exchange(ctx, hc, exchangeURL)
	if err != nil {
		return nil, err
	}
	return &upstreamSide{
		emu: emu, base: base, exchangeURL: exchangeURL, gets: gets, token: token,
		rest: &restClient{http: hc, base: base, authorization: "Bearer " + token},
	}, nil
}

// startFacade starts the facade as cmd/contactsd assembles it, calling
// up, and returns a client of it on one shared gRPC connection, as a client
// service would hold it. With rp set, the upstream client is wrapped in the
// read path decorator with those options (contactsd does not wire it yet).
// The facade's logger has the given level and writes nowhere, so that
// building records is counted but terminal output is not.
func startFacade(ctx context.Context, cl *closers, up *upstreamSide, level slog.Level, rp *readpath.Options) (contactsv1.ContactsServiceClient, *readpath.Reader, error) {
	return startFacadeWith(ctx, cl, up, level, facadeOptions{readPath: rp})
}

// facadeOptions are the parts of a facade that some tables add: the read
// path, the shared state of safe edits (Redis), interceptors (the access
// gate, metrics), server options (tracing) and the upstream HTTP client.
type facadeOptions struct {
	readPath   *readpath.Options
	service    service.Options
	unary      []grpc.UnaryServerInterceptor
	serverOpts []grpc.ServerOption
	httpClient *http.Client
}

// startFacadeWith is startFacade with the parts of o.
func startFacadeWith(ctx context.Context, cl *closers, up *upstreamSide, level slog.Level, o facadeOptions) (contactsv1.ContactsServiceClient, *readpath.Reader, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: level}))
	ts, err := upstreamauth.NewTokenSource(upstreamauth.TokenConfig{
		ExchangeURL:  up.exchangeURL,
		ClientID:     emulator.DemoClientID,
		ClientSecret: emulator.DemoClientSecret,
		Logger:       log,
	})
	if err != nil {
		return nil, nil, err
	}
	cl.add(func() { _ = ts.Close() })
	client, err := upstream.New(upstream.Config{BaseURL: up.base, Authorizer: ts, UserAgent: "contacts-facade/bench", HTTPClient: o.httpClient})
	if err != nil {
		return nil, nil, err
	}
	cl.add(client.CloseIdleConnections)
	var (
		svcUp  service.Upstream = client
		reader *readpath.Reader
	)
	if o.readPath != nil {
		reader = readpath.New(client, *o.readPath)
		cl.add(reader.Close)
		svcUp = reader
	}
	srv := grpcserver.New(grpcserver.Config{Service: service.NewWithOptions(svcUp, log, o.service), Logger: log,
		UnaryInterceptors: o.unary, Options: o.serverOpts})
	conn, err := serve(ctx, cl, srv.Serve, srv.Shutdown)
	if err != nil {
		return nil, nil, err
	}
	return contactsv1.NewContactsServiceClient(conn), reader, nil
}

// serve listens on a loopback port, serves there until the closers run,
// and returns a client connection to it.
func serve(ctx context.Context, cl *closers, serveOn func(net.Listener) error, shutdown func(context.Context)) (*grpc.ClientConn, error) {
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = serveOn(lis)
	}()
	cl.add(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdown(sctx)
		<-served
	})
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	cl.add(func() { _ = conn.Close() })
	return conn, nil
}

// stack is everything of the floor table in this process: the emulator,
// the facade, the floor, and a client of each.
type stack struct {
	rest  *restClient
	floor contactsv1.ContactsServiceClient
	grpc  contactsv1.ContactsServiceClient
	close func()
}

// startStack starts the emulator, the facade and the floor. With coalesce
// the facade reads through the read path decorator (coalescing, no cache).
func startStack(ctx context.Context, level slog.Level, callers int, coalesce bool) (*stack, error) {
	var cl closers
	ok := false
	defer func() {
		if !ok {
			cl.close()
		}
	}()
	up, err := startUpstream(ctx, &cl, emulator.Options{}, callers)
	if err != nil {
		return nil, err
	}
	var rp *readpath.Options
	if coalesce {
		rp = &readpath.Options{}
	}
	facade, _, err := startFacade(ctx, &cl, up, level, rp)
	if err != nil {
		return nil, err
	}
	floor, err := startFloor(ctx, &cl, up, callers)
	if err != nil {
		return nil, err
	}
	ok = true
	return &stack{rest: up.rest, floor: floor, grpc: facade, close: cl.close}, nil
}

// exchange obtains a JWT for the demo account from the emulator.
func exchange(ctx context.Context, hc *http.Client, url string) (string, error) {
	body, _ := json.Marshal(map[string]string{"client_id": emulator.DemoClientID, "client_secret": emulator.DemoClientSecret})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		JWT string `json:"jwt"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.JWT == "" {
		return "", fmt.Errorf("token exchange: HTTP %d: %v", resp.StatusCode, err)
	}
	return out.JWT, nil
}

// restClient is what a caller writes without the facade: net/http, the
// bearer token, JSON in and out.
type restClient struct {
	http          *http.Client
	base          string
	authorization string
}

func (c *restClient) contactsURL(propertyID string) string {
	return c.base + "/properties/" + propertyID + "/contacts"
}

// call sends one request and decodes the answer's envelope; an HTTP status
// other than want is an error.
func (c *restClient) call(ctx context.Context, method, url string, body []byte, want int) (*upstream.Envelope, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", c.authorization)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Version", "1.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var env upstream.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d: %w", method, url, resp.StatusCode, err)
	}
	if resp.StatusCode != want {
		codes := make([]string, 0, len(env.Errors))
		for _, e := range env.Errors {
			codes = append(codes, string(e.Code))
		}
		return nil, fmt.Errorf("%s %s: HTTP %d (OTA %s), want %d", method, url, resp.StatusCode, strings.Join(codes, ","), want)
	}
	return &env, nil
}
