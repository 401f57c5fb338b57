package readpath

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConcurrentIdenticalReadsShareOneGET(t *testing.T) {
	type read struct {
		id  string
		nlf bool
	}
	for _, tc := range []struct {
		name  string
		reads []read
		gets  int
	}{
		{"same property and fallback", []read{{"1", false}, {"1", false}, {"1", false}, {"1", false}, {"1", false}, {"1", false}, {"1", false}, {"1", false}}, 1},
		{"no_language_fallback differs", []read{{"1", false}, {"1", true}, {"1", false}, {"1", true}}, 2},
		{"properties differ", []read{{"1", false}, {"2", false}, {"1", false}, {"2", false}, {"3", false}}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				up := newFake(true)
				r := New(up, Options{})
				defer r.Close()
				var outs []<-chan outcome
				for _, rd := range tc.reads {
					outs = append(outs, readAsync(context.Background(), r, rd.id, rd.nlf))
				}
				// Every read has either started a flight or joined one.
				settled(t, func() bool { s := r.Stats(); return int(s.UpstreamGets+s.Joins) == len(tc.reads) })
				var calls []*call
				for range tc.gets {
					calls = append(calls, up.next(t))
				}
				for _, c := range calls {
					c.answer(nil)
				}
				for i, ch := range outs {
					o := <-ch
					if o.err != nil {
						t.Fatalf("read %d: %v", i, o.err)
					}
					if want := tc.reads[i].id + "@v0"; o.res.Resp.GetRequestId() != want || o.res.Cached {
						t.Errorf("read %d: %q cached %v, want %q from the upstream", i, o.res.Resp.GetRequestId(), o.res.Cached, want)
					}
				}
				if got := up.getCount(); got != tc.gets {
					t.Errorf("%d upstream GETs, want %d", got, tc.gets)
				}
				if s := r.Stats(); s.Joins != uint64(len(tc.reads)-tc.gets) {
					t.Errorf("stats %+v, want %d joins", s, len(tc.reads)-tc.gets)
				}
			})
		})
	}
}

func TestNoCoalescingSendsEveryRead(t *testing.T) {
	up := newFake(true)
	r := New(up, Options{NoCoalescing: true})
	defer r.Close()
	const n = 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var outs []<-chan outcome
	for range n {
		outs = append(outs, readAsync(ctx, r, "1", false))
	}
	var calls []*call
	for range n {
		c := up.next(t)
		if c.ctx != ctx {
			t.Error("an uncoalesced read does not run under its caller's context")
		}
		calls = append(calls, c)
	}
	for _, c := range calls {
		c.answer(nil)
	}
	for _, ch := range outs {
		if o := <-ch; o.err != nil {
			t.Fatal(o.err)
		}
	}
	if s := r.Stats(); s.Joins != 0 || s.UpstreamGets != n {
		t.Errorf("stats %+v, want %d GETs and no joins", s, n)
	}
}

func TestACallerLeavingDoesNotFailTheOthers(t *testing.T) {
	wantCanceled := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the caller that left: %v, want context.Canceled", err)
		}
		if _, ok := errors.AsType[*upstream.TransportError](err); !ok {
			t.Errorf("the caller that left: %T, want *upstream.TransportError as the client returns", err)
		}
	}
	// A caller that joined a flight returns at once.
	t.Run("a joined caller", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			up := newFake(true)
			r := New(up, Options{})
			defer r.Close()
			first := readAsync(context.Background(), r, "1", false)
			c := up.next(t)
			secondCtx, leave := context.WithCancel(context.Background())
			second := readAsync(secondCtx, r, "1", false)
			settled(t, func() bool { return r.Stats().Joins == 1 })
			leave()
			wantCanceled(t, (<-second).err) // while the GET is still in the air
			if err := c.ctx.Err(); err != nil {
				t.Fatalf("the shared GET ended with a caller that left: %v", err)
			}
			c.answer(nil)
			if o := <-first; o.err != nil || o.res.Resp.GetRequestId() != "1@v0" {
				t.Fatalf("the caller that stayed: %v %v", o.res.Resp, o.err)
			}
		})
	})
	// The caller that started the flight makes the GET on its own
	// goroutine: it flies on for the others and returns when it lands.
	t.Run("the caller making the GET", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			up := newFake(true)
			r := New(up, Options{})
			defer r.Close()
			firstCtx, leave := context.WithCancel(context.Background())
			first := readAsync(firstCtx, r, "1", false)
			c := up.next(t)
			second := readAsync(context.Background(), r, "1", false)
			settled(t, func() bool { return r.Stats().Joins == 1 })
			leave()
			settled(t, func() bool { return waiters(r, "1", false) == 1 })
			if err := c.ctx.Err(); err != nil {
				t.Fatalf("the shared GET ended with its first caller: %v", err)
			}
			c.answer(nil)
			wantCanceled(t, (<-first).err)
			if o := <-second; o.err != nil || o.res.Resp.GetRequestId() != "1@v0" {
				t.Fatalf("the caller that stayed: %v %v", o.res.Resp, o.err)
			}
		})
	})
}

// stackRecorder records the call stack of every List.
type stackRecorder struct {
	*fakeUp
	stacks chan string
}

func (s stackRecorder) List(ctx context.Context, id string, nlf bool) (*contactsv1.ListContactsResponse, error) {
	s.stacks <- string(debug.Stack())
	return s.fakeUp.List(ctx, id, nlf)
}

// TestTheFirstCallerMakesTheGET: a flight costs no goroutine of its own
// (nor its stack, for every distinct read in flight): its GET runs on the
// goroutine of the caller that started it. A background refresh is the
// exception: nobody waits for it.
func TestTheFirstCallerMakesTheGET(t *testing.T) {
	up := stackRecorder{newFake(false), make(chan string, 2)}
	r := New(up, Options{})
	defer r.Close()
	if _, err := r.Read(t.Context(), "1", false); err != nil {
		t.Fatal(err)
	}
	if st := <-up.stacks; !strings.Contains(st, "TestTheFirstCallerMakesTheGET") {
		t.Errorf("the GET ran on a goroutine of its own:\n%s", st)
	}
}

func TestTheFlightHasItsOwnDeadline(t *testing.T) {
	up := newFake(true)
	r := New(up, Options{FlightTimeout: 2 * time.Hour})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	callerDeadline, _ := ctx.Deadline()
	out := readAsync(ctx, r, "1", false)
	c := up.next(t)
	d, ok := c.ctx.Deadline()
	if !ok || !d.After(callerDeadline) {
		t.Errorf("flight deadline %v (set %v), want its own, later than the caller's %v", d, ok, callerDeadline)
	}
	c.answer(nil)
	<-out
}

func TestTheLastCallerLeavingCancelsTheFlight(t *testing.T) {
	up := newFake(true)
	r := New(up, Options{})
	defer r.Close()
	ctx, leave := context.WithCancel(context.Background())
	out := readAsync(ctx, r, "1", false)
	c := up.next(t)
	leave()
	<-c.ctx.Done() // the abandoned GET is cancelled
	// A new read does not join the cancelled flight.
	again := readAsync(context.Background(), r, "1", false)
	c2 := up.next(t)
	c.answer(c.ctx.Err())
	if o := <-out; !errors.Is(o.err, context.Canceled) {
		t.Errorf("the caller that left: %v, want context.Canceled", o.err)
	}
	c2.answer(nil)
	if o := <-again; o.err != nil {
		t.Fatalf("read after an abandoned flight: %v", o.err)
	}
}

// TestReadsAfterAWriteSeeIt: a flight in the air when a write lands may
// answer its callers with pre-write data (they read concurrently with the
// write), but a read that starts after the write does not join it, and
// its answer never reaches the cache, whichever flight lands first.
func TestReadsAfterAWriteSeeIt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       Options
		oldFirst   bool
		invalidate func(r *Reader) error
	}{
		{"replace, old flight lands first", Options{}, true, replace},
		{"replace, old flight lands last", Options{}, false, replace},
		{"create, cached", Options{TTL: time.Hour}, true, create},
		{"replace, cached, old flight lands last", Options{TTL: time.Hour}, false, replace},
		{"invalidate by another writer, cached", Options{TTL: time.Hour}, false, func(r *Reader) error {
			r.up.(*fakeUp).bump("1")
			r.Invalidate("1")
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newFake(true)
			tc.opts.Now = newClock().Now
			r := New(up, tc.opts)
			defer r.Close()
			before := readAsync(context.Background(), r, "1", false)
			old := up.next(t)
			if err := tc.invalidate(r); err != nil {
				t.Fatal(err)
			}
			after := readAsync(context.Background(), r, "1", false)
			fresh := up.next(t) // not joined to the old flight
			if fresh.seen != 1 {
				t.Fatalf("the read after the write reached the upstream at version %d", fresh.seen)
			}
			if tc.oldFirst {
				old.answer(nil)
				fresh.answer(nil)
			} else {
				fresh.answer(nil)
				old.answer(nil)
			}
			if o := <-before; o.err != nil || version(t, o.res.Resp) != 0 {
				t.Fatalf("read before the write: %v %v", o.res.Resp, o.err)
			}
			if o := <-after; o.err != nil || version(t, o.res.Resp) != 1 {
				t.Fatalf("read after the write: %v %v", o.res.Resp, o.err)
			}
			r.inFlights.Wait()
			// Later reads, from the cache or not, see the write too.
			later := readAsync(context.Background(), r, "1", false)
			if tc.opts.TTL == 0 {
				up.next(t).answer(nil)
			}
			if o := <-later; o.err != nil || version(t, o.res.Resp) != 1 || o.res.Cached != (tc.opts.TTL > 0) {
				t.Fatalf("later read: %v cached %v, %v", o.res.Resp, o.res.Cached, o.err)
			}
		})
	}
}

func replace(r *Reader) error {
	_, err := r.Replace(context.Background(), "1", nil)
	return err
}

func create(r *Reader) error {
	_, err := r.Create(context.Background(), "1", nil)
	return err
}

// TestReadFreshJoinsOnlyTheCurrentGeneration: a fresh read may share a
// flight of the current generation but never one from before a write.
func TestReadFreshJoinsOnlyTheCurrentGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newFake(true)
		r := New(up, Options{TTL: time.Hour, Now: newClock().Now})
		defer r.Close()
		first := readAsync(context.Background(), r, "1", false)
		c := up.next(t)
		freshCh := make(chan outcome, 1)
		go func() {
			res, err := r.ReadFresh(context.Background(), "1", false)
			freshCh <- outcome{res, err}
		}()
		settled(t, func() bool { return r.Stats().Joins == 1 })
		c.answer(nil)
		<-first
		if o := <-freshCh; o.err != nil || o.res.Cached {
			t.Fatalf("fresh read: %v cached %v", o.err, o.res.Cached)
		}
		if up.getCount() != 1 {
			t.Errorf("%d GETs, want the fresh read to join the flight", up.getCount())
		}
		r.inFlights.Wait()

		// The answer is cached now, but a fresh read still asks the upstream.
		go func() {
			res, err := r.ReadFresh(context.Background(), "1", false)
			freshCh <- outcome{res, err}
		}()
		up.next(t).answer(nil)
		if o := <-freshCh; o.err != nil || o.res.Cached {
			t.Fatalf("fresh read over a cached answer: %v cached %v", o.err, o.res.Cached)
		}
	})
}

func TestWritesInvalidateWhateverTheirOutcome(t *testing.T) {
	up := newFake(false)
	r := New(up, Options{TTL: time.Hour, Now: newClock().Now})
	defer r.Close()
	ctx := context.Background()
	if _, err := r.Read(ctx, "1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(ctx, "1", true); err != nil {
		t.Fatal(err)
	}
	up.writeErr = errors.New("timeout: maybe applied")
	if _, err := r.Replace(ctx, "1", nil); err == nil {
		t.Fatal("the failing write succeeded")
	}
	if s := r.Stats(); s.Entries != 0 || s.Invalidations != 1 {
		t.Errorf("after a failed write: %+v, want both answers dropped", s)
	}
	r.Invalidate("unknown") // nothing held: a no-op
	if s := r.Stats(); s.Invalidations != 1 {
		t.Errorf("invalidating an unknown property counted: %+v", s)
	}
}

func TestCloseEndsFlights(t *testing.T) {
	up := newFake(true)
	r := New(up, Options{})
	out := readAsync(context.Background(), r, "1", false)
	c := up.next(t)
	closed := make(chan struct{})
	go func() {
		r.Close()
		close(closed)
	}()
	<-c.ctx.Done()
	c.answer(c.ctx.Err())
	<-closed
	if o := <-out; o.err == nil {
		t.Error("a read cut short by Close succeeded")
	}
}

func TestPassThroughWhenAllIsOff(t *testing.T) {
	up := newFake(false)
	r := New(up, Options{NoCoalescing: true})
	for range 3 {
		if _, err := r.List(context.Background(), "1", false); err != nil {
			t.Fatal(err)
		}
	}
	if up.getCount() != 3 || len(r.props) != 0 {
		t.Errorf("%d GETs, %d properties held", up.getCount(), len(r.props))
	}
}

func TestTheFlightKeepsTheCallersValues(t *testing.T) {
	type key struct{}
	up := newFake(true)
	r := New(up, Options{})
	defer r.Close()
	ctx := context.WithValue(context.Background(), key{}, "trace")
	out := readAsync(ctx, r, "1", false)
	c := up.next(t)
	if v := c.ctx.Value(key{}); v != "trace" {
		t.Errorf("flight value %v, want the caller's", v)
	}
	if c.ctx.Err() != nil || context.Cause(c.ctx) != nil {
		t.Errorf("flight ended before its GET: %v, %v", c.ctx.Err(), context.Cause(c.ctx))
	}
	c.answer(nil)
	<-out
}
