package service_test

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/service"
)

// loadCalls is the number of concurrent calls of the load tests: as many
// as the server lets one connection carry (Limits.MaxConcurrentStreams).
const loadCalls = 1000

// verifyNoLeaks makes the test fail if, once every cleanup registered
// after this call has run (the stack torn down), a goroutine started during
// the test is still alive. Register it first: cleanups run last-in
// first-out, so it runs last.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// heapSampler records the highest HeapAlloc seen, sampling on a ticker
// until stopped (at most 100,000 samples).
type heapSampler struct {
	stop chan struct{}
	done chan uint64
}

func sampleHeap() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan uint64, 1)}
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for range 100_000 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-s.stop:
				s.done <- peak
				return
			case <-tick.C:
			}
		}
		s.done <- peak
	}()
	return s
}

func (s *heapSampler) peak() uint64 {
	close(s.stop)
	return <-s.done
}

func heapAfterGC() runtime.MemStats {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// TestLoadEmulator sends one wave of 1,000 concurrent ListContacts and
// ReplaceContacts calls through the whole facade to the emulator: all
// succeed, and once the stack is down no goroutine is left.
func TestLoadEmulator(t *testing.T) {
	verifyNoLeaks(t)
	s := newStack(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	listReq := &contactsv1.ListContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyFull)}
	replaceReq := &contactsv1.ReplaceContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyNoLanguage),
		Contacts: []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}}
	// One call first, so that the wave measures calls, not the token
	// exchange and the connection setup.
	if _, err := s.client.ListContacts(ctx, listReq); err != nil {
		t.Fatal(err)
	}

	base := heapAfterGC()
	sampler := sampleHeap()
	start := make(chan struct{})
	errs := make(chan error, loadCalls)
	var wg sync.WaitGroup
	for i := range loadCalls {
		wg.Go(func() {
			<-start
			var err error
			if i%2 == 0 {
				_, err = s.client.ListContacts(ctx, listReq)
			} else {
				_, err = s.client.ReplaceContacts(ctx, replaceReq)
			}
			errs <- err
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(began)
	peak := sampler.peak()
	close(errs)

	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Errorf("call failed: %v (%v)", err, status.Code(err))
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d calls failed", failed, loadCalls)
	}
	t.Logf("%d concurrent calls (half List, half Replace) in %v; peak heap %.1f MiB (%.1f MiB over the idle stack)",
		loadCalls, wall.Round(time.Millisecond), float64(peak)/(1<<20), float64(int64(peak)-int64(base.HeapAlloc))/(1<<20))
}

// TestLoadSlowUpstream holds 1,000 calls in flight at once behind an
// upstream that answers only when released, measures the memory they
// take, then releases them: all succeed and no goroutine is left.
func TestLoadSlowUpstream(t *testing.T) {
	verifyNoLeaks(t)
	var (
		arrived atomic.Int32
		allIn   = make(chan struct{})
		release = make(chan struct{})
	)
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseAll) // also when the test fails half-way

	f := newFakeUpstream(t, func(f *fakeUpstream, w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == loadCalls {
			close(allIn)
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-f.stop:
			return
		}
		answer(http.StatusOK, "application/json", okListBody)(f, w, r)
	})
	up, err := upstream.New(upstream.Config{BaseURL: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	client := contactsv1.NewContactsServiceClient(serveFacade(t, up, service.Config{}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Connect the gRPC client (a call refused locally, before the upstream).
	_, _ = client.ListContacts(ctx, &contactsv1.ListContactsRequest{})

	base := heapAfterGC()
	goroutinesBefore := runtime.NumGoroutine()
	errs := make(chan error, loadCalls)
	var wg sync.WaitGroup
	req := &contactsv1.ListContactsRequest{PropertyId: faultProperty}
	for range loadCalls {
		wg.Go(func() {
			_, err := client.ListContacts(ctx, req)
			errs <- err
		})
	}
	select {
	case <-allIn:
	case <-ctx.Done():
		t.Fatalf("only %d of %d calls reached the upstream", arrived.Load(), loadCalls)
	}
	held := heapAfterGC()
	goroutinesHeld := runtime.NumGoroutine()
	releaseAll()
	wg.Wait()
	close(errs)

	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Errorf("call failed: %v", err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d calls failed", failed, loadCalls)
	}
	if got := int(f.hits.Load()); got != loadCalls {
		t.Errorf("upstream got %d requests, want %d", got, loadCalls)
	}
	heap := int64(held.HeapAlloc) - int64(base.HeapAlloc)
	stacks := int64(held.StackInuse) - int64(base.StackInuse)
	t.Logf("%d calls in flight: heap +%.1f MiB (%.1f KiB per call), goroutine stacks +%.1f MiB (%.1f KiB per call), %d goroutines (+%.1f per call); "+
		"both ends of the loopback HTTP (client and fake upstream) are in this process",
		loadCalls, float64(heap)/(1<<20), float64(heap)/loadCalls/1024, float64(stacks)/(1<<20), float64(stacks)/loadCalls/1024,
		goroutinesHeld, float64(goroutinesHeld-goroutinesBefore)/loadCalls)
	if heap > 200<<20 {
		t.Errorf("%d calls in flight take %d MiB of heap, want under 200 MiB", loadCalls, heap>>20)
	}
}
