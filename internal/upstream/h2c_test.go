package upstream_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// TestH2C reads through a server that speaks only HTTP/2 without TLS:
// with H2C every request arrives as HTTP/2, all on one connection once it
// is up; without it
// the client cannot talk to that server at all.
func TestH2C(t *testing.T) {
	e := emulator.New(emulator.Options{})
	var h2, conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
		e.ServeHTTP(w, r)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	c, err := upstream.New(upstream.Config{BaseURL: srv.URL, Authorizer: upstreamauth.NewStaticToken(emulator.DemoStaticToken), H2C: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	// One read first: concurrent first requests may each dial.
	if _, err := c.List(t.Context(), strconv.Itoa(emulator.DemoPropertyFull), false); err != nil {
		t.Fatalf("List over h2c: %v", err)
	}
	const reads = 8
	var wg sync.WaitGroup
	for range reads {
		wg.Go(func() {
			if _, err := c.List(t.Context(), strconv.Itoa(emulator.DemoPropertyFull), false); err != nil {
				t.Errorf("List over h2c: %v", err)
			}
		})
	}
	wg.Wait()
	if h2.Load() != reads+1 || conns.Load() != 1 {
		t.Errorf("%d of %d requests over HTTP/2, on %d connections; want all, on 1", h2.Load(), reads+1, conns.Load())
	}

	plain, err := upstream.New(upstream.Config{BaseURL: srv.URL, Authorizer: upstreamauth.NewStaticToken(emulator.DemoStaticToken)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.CloseIdleConnections)
	if _, err := plain.List(t.Context(), strconv.Itoa(emulator.DemoPropertyFull), false); err == nil {
		t.Error("HTTP/1.1 to an h2c-only server succeeded: the test server is not h2c-only")
	}

	if _, err := upstream.New(upstream.Config{BaseURL: "https://supply-xml.booking.com/contacts-api", H2C: true}); err == nil {
		t.Error("H2C with an https BaseURL was accepted")
	}
}

// TestEmulatorServesH2C: emulator.Start answers HTTP/1.1 and h2c on the
// same port, so that contactsd -upstream-h2c works against it.
func TestEmulatorServesH2C(t *testing.T) {
	base, stop, err := emulator.Start(t.Context(), "127.0.0.1:0", emulator.New(emulator.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	for _, h2c := range []bool{false, true} {
		c, err := upstream.New(upstream.Config{BaseURL: base, Authorizer: upstreamauth.NewStaticToken(emulator.DemoStaticToken), H2C: h2c})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.List(t.Context(), strconv.Itoa(emulator.DemoPropertyFull), false); err != nil {
			t.Errorf("h2c %v: %v", h2c, err)
		}
		c.CloseIdleConnections()
	}
}
