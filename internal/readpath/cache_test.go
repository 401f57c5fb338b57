package readpath

import (
	"context"
	"errors"
	"strconv"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

func mustRead(t *testing.T, r *Reader, id string) Result {
	t.Helper()
	res, err := r.Read(context.Background(), id, false)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return res
}

func TestCacheOffByDefault(t *testing.T) {
	up := newFake(false)
	r := New(up, Options{})
	defer r.Close()
	for range 3 {
		if res := mustRead(t, r, "1"); res.Cached {
			t.Fatal("a cached answer without a TTL")
		}
	}
	if up.getCount() != 3 || r.Stats().Entries != 0 {
		t.Errorf("%d GETs, %+v", up.getCount(), r.Stats())
	}
}

func TestCacheTTL(t *testing.T) {
	up := newFake(false)
	clk := newClock()
	r := New(up, Options{TTL: 10 * time.Second, Now: clk.Now})
	defer r.Close()
	if res := mustRead(t, r, "1"); res.Cached {
		t.Fatal("first read cached")
	}
	clk.Advance(9 * time.Second)
	res := mustRead(t, r, "1")
	if !res.Cached || res.Stale || res.Age != 9*time.Second || res.Resp.GetRequestId() != "1@v0" {
		t.Fatalf("within TTL: %+v", res)
	}
	if up.getCount() != 1 {
		t.Fatalf("%d GETs within TTL", up.getCount())
	}
	clk.Advance(time.Second)
	if res := mustRead(t, r, "1"); res.Cached {
		t.Fatalf("at TTL: %+v, want a new GET", res)
	}
	if s := r.Stats(); up.getCount() != 2 || s.Hits != 1 || s.Misses != 2 {
		t.Errorf("%d GETs, %+v", up.getCount(), s)
	}
}

// TestEachCallerGetsItsOwnTopLevelAnswer: setting a field on one answer
// does not show in another's or in the cache.
func TestEachCallerGetsItsOwnTopLevelAnswer(t *testing.T) {
	r := New(newFake(false), Options{TTL: time.Hour, Now: newClock().Now})
	defer r.Close()
	a := mustRead(t, r, "1").Resp
	a.RequestId = "changed"
	if b := mustRead(t, r, "1").Resp; b.GetRequestId() != "1@v0" {
		t.Errorf("a caller's change reached the cache: %q", b.GetRequestId())
	}
}

// TestShareCopiesEveryField fails when ListContactsResponse gains a field
// that share does not copy.
func TestShareCopiesEveryField(t *testing.T) {
	full := &contactsv1.ListContactsResponse{
		Contacts:          []*contactsv1.Contact{{Email: "a@example.com"}},
		Warnings:          []*contactsv1.Warning{{Message: "w"}},
		RequestId:         "r",
		Etag:              `W/"e"`,
		UpstreamRequestId: "r",
		CacheAge:          durationpb.New(time.Second),
		CacheStale:        true,
	}
	fields := full.ProtoReflect().Descriptor().Fields()
	set := 0
	full.ProtoReflect().Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool { set++; return true })
	if set != fields.Len() {
		t.Fatalf("the test sets %d of %d fields: set the new one", set, fields.Len())
	}
	if got := share(full); !proto.Equal(got, full) || got == full {
		t.Errorf("share = %v, want an equal copy", got)
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	up := newFake(true)
	clk := newClock()
	r := New(up, Options{TTL: 10 * time.Second, Stale: 20 * time.Second, Now: clk.Now})
	defer r.Close()
	first := readAsync(context.Background(), r, "1", false)
	up.next(t).answer(nil)
	<-first
	r.inFlights.Wait()
	up.bump("1")

	clk.Advance(15 * time.Second)
	res := mustRead(t, r, "1") // answered at once, from the cache
	if !res.Cached || !res.Stale || res.Age != 15*time.Second || version(t, res.Resp) != 0 {
		t.Fatalf("stale read: %+v", res)
	}
	refresh := up.next(t) // the background refresh
	if again := mustRead(t, r, "1"); !again.Stale {
		t.Fatalf("second stale read: %+v", again)
	}
	if s := r.Stats(); s.Refreshes != 1 || s.StaleServes != 2 {
		t.Errorf("stats %+v, want one refresh for two stale reads", s)
	}
	refresh.answer(nil)
	r.inFlights.Wait()
	res = mustRead(t, r, "1")
	if !res.Cached || res.Stale || res.Age != 0 || version(t, res.Resp) != 1 {
		t.Fatalf("after the refresh: %+v", res)
	}

	// Past TTL + Stale the read waits for the upstream.
	clk.Advance(30 * time.Second)
	late := readAsync(context.Background(), r, "1", false)
	up.next(t).answer(nil)
	if o := <-late; o.err != nil || o.res.Cached {
		t.Fatalf("past the stale window: %+v %v", o.res, o.err)
	}
}

func TestRefreshFailureKeepsTheStaleAnswer(t *testing.T) {
	up := newFake(true)
	clk := newClock()
	r := New(up, Options{TTL: 10 * time.Second, Stale: 20 * time.Second, Now: clk.Now})
	defer r.Close()
	first := readAsync(context.Background(), r, "1", false)
	up.next(t).answer(nil)
	<-first
	r.inFlights.Wait()
	clk.Advance(15 * time.Second)
	mustRead(t, r, "1")
	up.next(t).answer(errors.New("503"))
	r.inFlights.Wait()
	// Still stale, and a new refresh may start.
	if res := mustRead(t, r, "1"); !res.Stale {
		t.Fatalf("%+v", res)
	}
	up.next(t).answer(nil)
	r.inFlights.Wait()
}

func TestServeStaleOnError(t *testing.T) {
	transport := &upstream.TransportError{Method: upstream.MethodGet, Err: syscall.ECONNREFUSED}
	timeout := &upstream.TransportError{Method: upstream.MethodGet, Err: context.DeadlineExceeded}
	for _, tc := range []struct {
		name      string
		err       error
		after     time.Duration
		wantStale bool
	}{
		{"transport", transport, 20 * time.Second, true},
		{"timeout", timeout, 20 * time.Second, true},
		{"500", &upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 500}, 20 * time.Second, true},
		{"502 undecodable", &upstream.DecodeError{Method: upstream.MethodGet, HTTPStatus: 502}, 20 * time.Second, true},
		{"404", &upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 404}, 20 * time.Second, false},
		{"401", &upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 401}, 20 * time.Second, false},
		{"429", &upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 429}, 20 * time.Second, false},
		{"other", errors.New("token exchange failed"), 20 * time.Second, false},
		{"past the window", transport, 70 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newFake(false)
			clk := newClock()
			r := New(up, Options{TTL: 10 * time.Second, StaleIfError: time.Minute, Now: clk.Now})
			defer r.Close()
			mustRead(t, r, "1")
			clk.Advance(tc.after)
			up.setListErr(tc.err)
			res, err := r.Read(context.Background(), "1", false)
			if tc.wantStale {
				if err != nil || !res.Cached || !res.Stale || res.Age != tc.after {
					t.Fatalf("got %+v, %v; want the stale answer", res, err)
				}
				if r.Stats().StaleOnError != 1 {
					t.Errorf("stats %+v", r.Stats())
				}
			} else if !errors.Is(err, tc.err) {
				t.Fatalf("got %+v, %v; want the error", res, err)
			}
			// A fresh read never gets stale data.
			if _, err := r.ReadFresh(context.Background(), "1", false); !errors.Is(err, tc.err) {
				t.Errorf("fresh read: %v, want the error", err)
			}
		})
	}
}

func TestServeStaleOnErrorWithoutCoalescing(t *testing.T) {
	up := newFake(false)
	clk := newClock()
	r := New(up, Options{NoCoalescing: true, TTL: 10 * time.Second, StaleIfError: time.Minute, Now: clk.Now})
	defer r.Close()
	mustRead(t, r, "1")
	clk.Advance(20 * time.Second)
	up.setListErr(&upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 503})
	if res := mustRead(t, r, "1"); !res.Stale {
		t.Fatalf("%+v", res)
	}
}

func TestStaleOnErrorOffByDefault(t *testing.T) {
	up := newFake(false)
	clk := newClock()
	r := New(up, Options{TTL: 10 * time.Second, Now: clk.Now})
	defer r.Close()
	mustRead(t, r, "1")
	clk.Advance(11 * time.Second)
	up.setListErr(&upstream.APIError{Method: upstream.MethodGet, HTTPStatus: 503})
	if _, err := r.Read(context.Background(), "1", false); err == nil {
		t.Fatal("stale answer without StaleIfError")
	}
}

func TestLRUBoundInEntries(t *testing.T) {
	up := newFake(false)
	r := New(up, Options{TTL: time.Hour, MaxEntries: 3, Now: newClock().Now})
	defer r.Close()
	for _, id := range []string{"1", "2", "3", "1", "4"} { // 1 is used again: 2 is the oldest
		mustRead(t, r, id)
	}
	s := r.Stats()
	if s.Entries != 3 || s.Evictions != 1 {
		t.Fatalf("stats %+v, want 3 entries after 1 eviction", s)
	}
	for id, cached := range map[string]bool{"1": true, "3": true, "4": true} {
		if res := mustRead(t, r, id); res.Cached != cached {
			t.Errorf("property %s cached %v", id, res.Cached)
		}
	}
	if res := mustRead(t, r, "2"); res.Cached {
		t.Error("the least recently used answer survived")
	}
}

func TestLRUBoundInBytes(t *testing.T) {
	up := newFake(false)
	one := int64(proto.Size(answerFor("1", false, 0))) + 1 + entryOverhead
	r := New(up, Options{TTL: time.Hour, MaxBytes: 2*one + one/2, Now: newClock().Now})
	defer r.Close()
	for _, id := range []string{"1", "2", "3"} {
		mustRead(t, r, id)
	}
	s := r.Stats()
	if s.Entries != 2 || s.Bytes != 2*one || s.Evictions != 1 {
		t.Fatalf("stats %+v, want 2 entries of %d bytes", s, one)
	}
	if res := mustRead(t, r, "1"); res.Cached {
		t.Error("the oldest answer survived the byte bound")
	}
}

func TestAnswerLargerThanTheCacheIsNotStored(t *testing.T) {
	r := New(newFake(false), Options{TTL: time.Hour, MaxBytes: 10, Now: newClock().Now})
	defer r.Close()
	mustRead(t, r, "1")
	if s := r.Stats(); s.Entries != 0 || s.Bytes != 0 || len(r.props) != 0 {
		t.Errorf("stats %+v, %d properties held", s, len(r.props))
	}
}

func TestExpiredEntriesAreDropped(t *testing.T) {
	clk := newClock()
	r := New(newFake(false), Options{TTL: time.Second, Now: clk.Now})
	defer r.Close()
	mustRead(t, r, "1")
	clk.Advance(time.Second)
	mustRead(t, r, "1") // drops the old, stores the new
	if s := r.Stats(); s.Entries != 1 || s.Evictions != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestScanKeepsTheBound reads 100,000 properties once each: the cache and
// the per-property records stay within the bounds.
func TestScanKeepsTheBound(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxEntries int
		maxBytes   int64
	}{
		{"entries bind", 1000, 1 << 30},
		{"bytes bind", 1 << 20, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 100_000
			r := New(newFake(false), Options{TTL: time.Hour, Stale: time.Hour, StaleIfError: time.Hour,
				MaxEntries: tc.maxEntries, MaxBytes: tc.maxBytes, Now: newClock().Now})
			defer r.Close()
			for i := range n {
				mustRead(t, r, strconv.Itoa(i))
				r.mu.Lock()
				props := len(r.props)
				r.mu.Unlock()
				s := r.Stats()
				if s.Entries > tc.maxEntries || s.Bytes > tc.maxBytes || props > s.Entries {
					t.Fatalf("after %d reads: %d properties held, %+v", i+1, props, s)
				}
			}
			r.inFlights.Wait()
			s := r.Stats()
			if s.Evictions != uint64(n-s.Entries) {
				t.Errorf("%+v, want every answer but the cached ones evicted", s)
			}
			t.Logf("%+v", s)
		})
	}
}

// TestInvalidateAll: every cached property is read again afterwards.
func TestInvalidateAll(t *testing.T) {
	up := newFake(false)
	r := New(up, Options{TTL: time.Hour, Now: newClock().Now})
	defer r.Close()
	for _, id := range []string{"1", "2", "3"} {
		mustRead(t, r, id)
	}
	r.InvalidateAll()
	for _, id := range []string{"1", "2", "3"} {
		if res := mustRead(t, r, id); res.Cached {
			t.Fatalf("property %s answered from the cache after InvalidateAll", id)
		}
	}
	if up.getCount() != 6 || r.Stats().Entries != 3 {
		t.Fatalf("%d GETs, %+v; want 6 GETs and 3 entries", up.getCount(), r.Stats())
	}
}

// panicky panics on its first List.
type panicky struct{ fakeUp }

func (p *panicky) List(ctx context.Context, id string, nlf bool) (*contactsv1.ListContactsResponse, error) {
	p.mu.Lock()
	first := p.gets == 0
	p.gets++
	p.mu.Unlock()
	if first {
		panic("a decoding bug")
	}
	return answerFor(id, nlf, 0), nil
}

// TestPanicInASharedGet: a panic in the upstream client during a shared
// GET (on the read path's own goroutine) fails that read with
// ErrPanicked instead of ending the process, and the next read works.
func TestPanicInASharedGet(t *testing.T) {
	up := &panicky{fakeUp: *newFake(false)}
	r := New(up, Options{})
	defer r.Close()
	if _, err := r.Read(context.Background(), "1", false); !errors.Is(err, errPanicked) {
		t.Fatalf("read through a panic: %v, want ErrPanicked", err)
	}
	mustRead(t, r, "1")
}
