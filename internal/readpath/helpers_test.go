package readpath

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// clock is a manual clock: tests advance it instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeUp is an upstream that keeps a version per property, bumped by every
// write. Its answers name the property and the version they saw when the
// call arrived (RequestId "1000001@v0"), as a GET reads the state of the
// moment it is served. When blocking, every List is handed to the test on
// calls and waits for the test to answer it.
type fakeUp struct {
	blocking bool
	calls    chan *call

	mu       sync.Mutex
	versions map[string]int
	gets     int
	writes   int
	writeErr error
	listErr  error // returned by non-blocking Lists when set
}

// call is one List waiting for the test's answer.
type call struct {
	ctx   context.Context
	id    string
	nlf   bool
	seen  int // the version when the call arrived
	reply chan error
}

// answer lets the call return; nil answers with the data it saw.
func (c *call) answer(err error) { c.reply <- err }

func newFake(blocking bool) *fakeUp {
	return &fakeUp{blocking: blocking, calls: make(chan *call), versions: map[string]int{}}
}

func (f *fakeUp) List(ctx context.Context, id string, nlf bool) (*contactsv1.ListContactsResponse, error) {
	f.mu.Lock()
	f.gets++
	seen := f.versions[id]
	listErr := f.listErr
	f.mu.Unlock()
	if f.blocking {
		c := &call{ctx: ctx, id: id, nlf: nlf, seen: seen, reply: make(chan error)}
		f.calls <- c
		if err := <-c.reply; err != nil {
			return nil, err
		}
	} else if listErr != nil {
		return nil, listErr
	}
	return answerFor(id, nlf, seen), nil
}

func answerFor(id string, nlf bool, version int) *contactsv1.ListContactsResponse {
	return &contactsv1.ListContactsResponse{
		Contacts: []*contactsv1.Contact{{
			ContactPerson: &contactsv1.ContactPerson{Name: "Anna de Vries", LanguageCode: map[bool]string{false: "en-gb", true: ""}[nlf]},
			Email:         "anna@example.com",
		}},
		RequestId: fmt.Sprintf("%s@v%d", id, version),
	}
}

func (f *fakeUp) write() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	return f.writeErr
}

func (f *fakeUp) bump(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versions[id]++
}

func (f *fakeUp) Replace(_ context.Context, id string, _ []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	if err := f.write(); err != nil {
		return nil, err
	}
	f.bump(id)
	return &contactsv1.ReplaceContactsResponse{}, nil
}

func (f *fakeUp) Create(_ context.Context, id string, _ []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	if err := f.write(); err != nil {
		return nil, err
	}
	f.bump(id)
	return &contactsv1.CreateContactsResponse{}, nil
}

func (f *fakeUp) getCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

func (f *fakeUp) setListErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listErr = err
}

// next receives the next call that reached the fake. The timeout only
// turns a hang (a call that never comes) into a failure.
func (f *fakeUp) next(t *testing.T) *call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no upstream call arrived")
		return nil
	}
}

// version reads the version out of an answer's RequestId.
func version(t *testing.T, resp *contactsv1.ListContactsResponse) int {
	t.Helper()
	_, v, ok := strings.Cut(resp.GetRequestId(), "@v")
	n, err := strconv.Atoi(v)
	if !ok || err != nil {
		t.Fatalf("answer %q names no version", resp.GetRequestId())
	}
	return n
}

// settled, inside a synctest bubble, waits until every other goroutine of
// the bubble is durably blocked, then requires cond: the state the test
// waits for has been reached, or never will be.
func settled(t *testing.T, cond func() bool) {
	t.Helper()
	synctest.Wait()
	if !cond() {
		t.Fatal("every goroutine is blocked, and the condition does not hold")
	}
}

// until yields until cond holds, for goroutines that wait on the network
// (outside what synctest can tell blocked): it waits for a state the
// Reader's counters show, without guessing a duration.
func until(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		runtime.Gosched()
	}
}

// outcome is one read's result, collected from a goroutine.
type outcome struct {
	res Result
	err error
}

// readAsync starts a Read and returns where its outcome will arrive.
func readAsync(ctx context.Context, r *Reader, id string, nlf bool) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := r.Read(ctx, id, nlf)
		ch <- outcome{res, err}
	}()
	return ch
}

// waiters is how many callers wait on the flight of id's slot, -1 when
// it has none.
func waiters(r *Reader, id string, nlf bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.props[id]
	if p == nil || p.slots[index(nlf)].flight == nil {
		return -1
	}
	return p.slots[index(nlf)].flight.waiters
}
