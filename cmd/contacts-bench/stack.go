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
	"time"

	"github.com/contacts-facade/contacts-facade/internal/httpx"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/server"
	"github.com/contacts-facade/contacts-facade/internal/service"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// stack is everything of one benchmark in this process: the emulator on a
// loopback port, the facade wired as contactsd wires it on another, and a
// client for each path.
type stack struct {
	rest  *restClient
	grpc  contactsv1.ContactsServiceClient
	close func()
}

// startStack starts the emulator and the facade. The facade's logger has
// the given level and writes nowhere, so that building records is counted
// but terminal output is not. callers sizes the direct client's pool.
func startStack(ctx context.Context, level slog.Level, callers int) (*stack, error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	ok := false
	defer func() {
		if !ok {
			closeAll()
		}
	}()

	emu := emulator.New(emulator.Options{})
	base, stopEmu, err := emulator.Start(ctx, "127.0.0.1:0", emu)
	if err != nil {
		return nil, fmt.Errorf("start the emulator: %w", err)
	}
	closers = append(closers, func() { _ = stopEmu(context.Background()) })
	exchangeURL := base + "/token-based-authentication/exchange"

	// The facade, as cmd/contactsd assembles it.
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: level}))
	ts, err := upstreamauth.NewTokenSource(upstreamauth.TokenConfig{
		ExchangeURL:  exchangeURL,
		ClientID:     emulator.DemoClientID,
		ClientSecret: emulator.DemoClientSecret,
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = ts.Close() })
	up, err := upstream.New(upstream.Config{BaseURL: base, Authorizer: ts, UserAgent: "contacts-facade/bench"})
	if err != nil {
		return nil, err
	}
	closers = append(closers, up.CloseIdleConnections)
	srv := server.New(server.Config{Service: service.New(up, log), Logger: log})
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	closers = append(closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-served
	})

	// The gRPC path: one connection shared by every caller, as a client
	// service would hold it.
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = conn.Close() })

	// The direct path: a keep-alive pool large enough for every caller,
	// and a token of the same demo account.
	hc := &http.Client{Transport: httpx.NewTransport(max(100, callers))}
	closers = append(closers, hc.CloseIdleConnections)
	token, err := exchange(ctx, hc, exchangeURL)
	if err != nil {
		return nil, err
	}
	ok = true
	return &stack{
		rest:  &restClient{http: hc, base: base, authorization: "Bearer " + token},
		grpc:  contactsv1.NewContactsServiceClient(conn),
		close: closeAll,
	}, nil
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
