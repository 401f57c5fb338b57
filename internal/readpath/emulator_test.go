package readpath

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// TestCoalescingCountedAtTheEmulator: concurrent identical reads through
// the real REST client reach the emulator as one GET. The emulator's
// injected latency is a gate the test opens once every read is waiting.
func TestCoalescingCountedAtTheEmulator(t *testing.T) {
	gate := make(chan struct{})
	emu := emulator.New(emulator.Options{Latency: time.Millisecond, Sleep: func(ctx context.Context, _ time.Duration) error {
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet {
			gets.Add(1)
		}
		emu.ServeHTTP(w, req)
	}))
	defer srv.Close()
	client, err := upstream.New(upstream.Config{BaseURL: srv.URL, Authorizer: upstreamauth.NewStaticToken(emulator.DemoStaticToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	r := New(client, Options{})
	defer r.Close()

	const n = 32
	id := strconv.Itoa(emulator.DemoPropertyFull)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			resp, err := r.List(context.Background(), id, false)
			if err == nil && len(resp.GetContacts()) != 2 {
				t.Errorf("%d contacts", len(resp.GetContacts()))
			}
			errs <- err
		})
	}
	until(t, func() bool { s := r.Stats(); return s.UpstreamGets == 1 && s.Joins == n-1 })
	until(t, func() bool { return gets.Load() == 1 }) // the GET is at the emulator
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := gets.Load(); got != 1 {
		t.Errorf("the emulator served %d GETs for %d concurrent reads, want 1", got, n)
	}
}
