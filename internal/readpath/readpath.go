// Package readpath is a decorator over the facade's upstream (the
// service's Upstream interface) that makes reads cheaper without making
// them wrong:
//
//   - Request coalescing (on by default): concurrent identical reads (same
//     property, same no_language_fallback) share one upstream GET, a
//     "flight". The flight runs under its own deadline
//     (Options.FlightTimeout), not the first caller's, on the goroutine of
//     the caller that started it (no goroutine, nor stack, of its own): a
//     caller that joined and gives up returns at once with its context's
//     error; the one that started it flies on for the others and returns
//     with its context's error when the GET lands. When every caller has
//     left, the flight is cancelled.
//   - An opt-in read cache (Options.TTL > 0): answers younger than TTL are
//     served from memory; older ones, within Options.Stale, are served
//     while one background refresh runs (stale-while-revalidate); within
//     Options.StaleIfError they are served when the upstream fails with a
//     transport error, a timeout or a 5xx (never a 4xx: see StaleWorthy).
//     The cache is bounded in entries and in estimated bytes (LRU), holds
//     contact data (PII) in memory only, and tells the caller the age of
//     what it served (Result.Age).
//
// Writes: Replace and Create pass through, then call Invalidate, whatever
// their outcome (a write that timed out may still have been applied).
// Invalidate starts a new generation of the property: it drops the
// property's cached answers and detaches its flights, so no read that
// begins after Invalidate returns can join a flight that began before it,
// and a flight that began before it never stores its answer. Hence no read
// that began after a write through this decorator returns pre-write data.
// Other writers (e.g. read-modify-write RPCs that call the upstream
// themselves) must call Invalidate after their write.
//
// The upstream normalises what it stores (a missing language reads back
// as en-gb, unknown fields are dropped), so after a write the decorator
// invalidates rather than storing what was sent.
//
// Answers are shared: every caller gets its own top-level
// ListContactsResponse, but the contacts and warnings in it are shared
// with other callers and with the cache. Callers must not modify them.
package readpath

import (
	"container/list"
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// Upstream is the method set of the service's Upstream interface, which
// *Reader implements too.
type Upstream interface {
	List(ctx context.Context, propertyID string, noLanguageFallback bool) (*contactsv1.ListContactsResponse, error)
	Replace(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error)
	Create(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error)
}

// Defaults of Options.
const (
	defaultFlightTimeout = 30 * time.Second
	DefaultMaxEntries    = 10_000
	DefaultMaxBytes      = 16 << 20
)

// entryOverhead is what an entry is assumed to cost beyond the wire size
// of its answer and its property id: the entry, its list element, its
// share of the property record and map slot.
const entryOverhead = 256

// Options configure a Reader. The zero value coalesces and does not cache.
type Options struct {
	// Now is the clock of cache ages; tests inject one. Default time.Now.
	Now func() time.Time

	// NoCoalescing turns request coalescing off: every read that the
	// cache does not answer makes its own upstream GET, under its
	// caller's context.
	NoCoalescing bool
	// FlightTimeout bounds a shared GET (the upstream client's retries
	// included). Default DefaultFlightTimeout.
	FlightTimeout time.Duration

	// TTL is how long an answer is served from the cache; 0 (the
	// default) turns the cache off.
	TTL time.Duration
	// Stale is how long past TTL an answer is still served while one
	// background GET refreshes it. Default 0: none.
	Stale time.Duration
	// StaleIfError is how long past TTL an answer is served instead of
	// an upstream failure that ServeStaleOn accepts. Default 0: none.
	StaleIfError time.Duration
	// ServeStaleOn says which upstream failures StaleIfError covers.
	// Default StaleWorthy.
	ServeStaleOn func(error) bool
	// MaxEntries bounds the cached answers (one per property and
	// no_language_fallback). Default DefaultMaxEntries.
	MaxEntries int
	// MaxBytes bounds the estimated size of the cached answers: their
	// protobuf wire size (proto.Size) plus the property id and a fixed
	// overhead per entry. The heap they take is a small multiple of the
	// wire size. Default DefaultMaxBytes.
	MaxBytes int64
}

// Result is an answer with where it came from.
type Result struct {
	Resp *contactsv1.ListContactsResponse
	// Cached is true when the answer came from the cache, not from an
	// upstream GET made or joined for this read.
	Cached bool
	// Stale is true when a cached answer was older than TTL (served while
	// refreshing, or instead of an upstream failure).
	Stale bool
	// Age is, for a cached answer, how long ago the GET that produced it
	// was sent; zero otherwise.
	Age time.Duration
}

// Stats are the Reader's counters since New, and the cache's size now.
type Stats struct {
	UpstreamGets  uint64 // GETs sent to the upstream (a retrying client may send more)
	Joins         uint64 // reads that joined a flight already in the air
	Hits          uint64 // reads answered from the cache within TTL
	Misses        uint64 // reads the cache could not answer (the cache on, not fresh reads)
	StaleServes   uint64 // reads answered stale while refreshing
	StaleOnError  uint64 // reads answered stale instead of an upstream failure
	Refreshes     uint64 // background refreshes started
	Evictions     uint64 // answers dropped for the bounds or for age
	Invalidations uint64 // Invalidate calls that found something to invalidate
	Entries       int    // answers cached now
	Bytes         int64  // their estimated size
}

// Reader is the decorator. Safe for concurrent use.
type Reader struct {
	up           Upstream
	now          func() time.Time
	coalesce     bool
	timeout      time.Duration
	ttl          time.Duration
	stale        time.Duration
	staleIfError time.Duration
	keep         time.Duration // TTL + max(Stale, StaleIfError): past this an entry is useless
	staleOn      func(error) bool
	maxEntries   int
	maxBytes     int64

	closed    context.Context // ended by Close; every flight ends with it
	closeNow  context.CancelFunc
	inFlights sync.WaitGroup

	mu      sync.Mutex
	props   map[string]*prop
	lru     list.List // of *entry, most recently used first
	bytes   int64
	lastGen uint64

	upstreamGets, joins, hits, misses, staleServes, staleOnError, refreshes, evictions, invalidations atomic.Uint64
}

// prop is what the Reader holds for one property: its generation, and per
// no_language_fallback value a flight and a cached answer. It exists
// while it holds any of them or an upstream call is running for it.
type prop struct {
	id    string
	gen   uint64
	refs  int // upstream calls running for this property
	slots [2]slot
}

type slot struct {
	flight *flight // of the current generation, nil when none
	entry  *entry
}

type entry struct {
	p    *prop
	nlf  bool
	resp *contactsv1.ListContactsResponse
	asOf time.Time // when the GET was sent
	size int64
	elem *list.Element
}

// flight is one shared GET. resp and err are set before done closes.
type flight struct {
	p       *prop
	nlf     bool
	gen     uint64
	started time.Time
	waiters int  // callers waiting; guarded by Reader.mu
	owned   bool // a background refresh: never cancelled for lack of waiters
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	resp    *contactsv1.ListContactsResponse
	err     error
}

// New returns the decorator over up.
func New(up Upstream, opts Options) *Reader {
	r := &Reader{
		up:           up,
		now:          opts.Now,
		coalesce:     !opts.NoCoalescing,
		timeout:      opts.FlightTimeout,
		ttl:          max(opts.TTL, 0),
		stale:        max(opts.Stale, 0),
		staleIfError: max(opts.StaleIfError, 0),
		staleOn:      opts.ServeStaleOn,
		maxEntries:   opts.MaxEntries,
		maxBytes:     opts.MaxBytes,
		props:        make(map[string]*prop),
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.timeout <= 0 {
		r.timeout = defaultFlightTimeout
	}
	if r.staleOn == nil {
		r.staleOn = staleWorthy
	}
	if r.maxEntries <= 0 {
		r.maxEntries = DefaultMaxEntries
	}
	if r.maxBytes <= 0 {
		r.maxBytes = DefaultMaxBytes
	}
	r.keep = r.ttl + max(r.stale, r.staleIfError)
	r.closed, r.closeNow = context.WithCancel(context.Background())
	return r
}

// Close cancels the flights still in the air (background refreshes
// included) and waits for them to end. Reads after Close fail.
func (r *Reader) Close() {
	r.closeNow()
	r.inFlights.Wait()
}

// staleWorthy is the default Options.ServeStaleOn: failures that say
// nothing about the data, only that the upstream could not be reached or
// could not answer: a transport error or timeout, and an HTTP 5xx. A 4xx
// (the property is gone or no longer ours, the credentials were refused, a
// 429 quota) is an answer about this caller or this property and is
// passed on: serving stale data over it would hide a lost access or keep
// hammering a quota.
func staleWorthy(err error) bool {
	if _, ok := errors.AsType[*upstream.TransportError](err); ok {
		return true
	}
	if ae, ok := errors.AsType[*upstream.APIError](err); ok {
		return ae.HTTPStatus >= http.StatusInternalServerError
	}
	if de, ok := errors.AsType[*upstream.DecodeError](err); ok {
		return de.HTTPStatus >= http.StatusInternalServerError
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// List implements Upstream: Read without the provenance.
func (r *Reader) List(ctx context.Context, propertyID string, noLanguageFallback bool) (*contactsv1.ListContactsResponse, error) {
	res, err := r.Read(ctx, propertyID, noLanguageFallback)
	return res.Resp, err
}

// Read answers from the cache when it may, else from a flight (joined or
// started), else from its own GET.
func (r *Reader) Read(ctx context.Context, propertyID string, noLanguageFallback bool) (Result, error) {
	return r.read(ctx, propertyID, noLanguageFallback, false)
}

// ReadFresh is Read for a read-modify-write: it never answers from the
// cache, nor stale on failure. With coalescing it may join a flight in the
// air: every flight of the current generation began after the last
// Invalidate of the property, so it sees every write made through this
// Reader (or reported to Invalidate) before it — under a lock that
// serialises those writers, as good as a GET of its own. A write made
// around the facade may land between that flight's start and this call;
// only a precondition check at write time covers that case.
func (r *Reader) ReadFresh(ctx context.Context, propertyID string, noLanguageFallback bool) (Result, error) {
	return r.read(ctx, propertyID, noLanguageFallback, true)
}

// Replace implements Upstream: the upstream's Replace, then Invalidate.
func (r *Reader) Replace(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	defer r.Invalidate(propertyID)
	return r.up.Replace(ctx, propertyID, contacts)
}

// Create implements Upstream: the upstream's Create, then Invalidate.
func (r *Reader) Create(ctx context.Context, propertyID string, contacts []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	defer r.Invalidate(propertyID)
	return r.up.Create(ctx, propertyID, contacts)
}

// Invalidate starts a new generation of the property: its cached answers
// are dropped, and its flights in the air keep their callers but take no
// new ones and store nothing. Call it after every write to the property
// that does not go through Replace or Create, whatever the write's
// outcome.
func (r *Reader) Invalidate(propertyID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.props[propertyID]; p != nil {
		r.invalidateLocked(p)
	}
	// Nothing cached and nothing in the air: nothing to do.
}

// InvalidateAll invalidates every property, as Invalidate does one: for
// when writes may have been missed (another replica's invalidations were
// lost while the channel that carries them was down).
func (r *Reader) InvalidateAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.props {
		r.invalidateLocked(p)
	}
}

// invalidateLocked starts a new generation of p. r.mu is held.
func (r *Reader) invalidateLocked(p *prop) {
	r.invalidations.Add(1)
	p.gen = r.nextGen()
	for i := range p.slots {
		p.slots[i].flight = nil
		if e := p.slots[i].entry; e != nil {
			r.drop(e)
		}
	}
	r.release(p)
}

// Stats returns the counters and the cache's size.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	entries, bytes := r.lru.Len(), r.bytes
	r.mu.Unlock()
	return Stats{
		UpstreamGets:  r.upstreamGets.Load(),
		Joins:         r.joins.Load(),
		Hits:          r.hits.Load(),
		Misses:        r.misses.Load(),
		StaleServes:   r.staleServes.Load(),
		StaleOnError:  r.staleOnError.Load(),
		Refreshes:     r.refreshes.Load(),
		Evictions:     r.evictions.Load(),
		Invalidations: r.invalidations.Load(),
		Entries:       entries,
		Bytes:         bytes,
	}
}

func (r *Reader) cacheOn() bool { return r.ttl > 0 }

func index(nlf bool) int {
	if nlf {
		return 1
	}
	return 0
}

func (r *Reader) read(ctx context.Context, id string, nlf, fresh bool) (Result, error) {
	if !r.coalesce && !r.cacheOn() {
		r.upstreamGets.Add(1)
		resp, err := r.up.List(ctx, id, nlf)
		return Result{Resp: resp}, err
	}
	now := r.now()
	f, lead, own, res, done := r.join(ctx, id, nlf, fresh, now)
	switch {
	case done:
		return res, nil
	case own.p != nil:
		r.upstreamGets.Add(1)
		resp, err := r.up.List(ctx, id, nlf)
		return r.landOwn(ctx, own, nlf, fresh, now, resp, err)
	case lead:
		return r.lead(ctx, f, fresh)
	}
	return r.wait(ctx, f, fresh)
}

// ownRead is a read without coalescing (but with the cache): the property
// it holds a reference to and the generation it began in; p nil: none.
type ownRead struct {
	p   *prop
	gen uint64
}

// join answers from the cache, or joins the slot's flight, or starts one
// (lead: the caller makes its GET), or, without coalescing, takes a
// reference to the property for a GET of the caller's own.
//
//go:noinline
func (r *Reader) join(ctx context.Context, id string, nlf, fresh bool, now time.Time) (f *flight, lead bool, own ownRead, res Result, done bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.props[id]
	if r.cacheOn() && !fresh {
		if p != nil {
			if res, ok := r.cached(p, nlf, now); ok {
				return nil, false, ownRead{}, res, true
			}
		}
		r.misses.Add(1)
	}
	if p == nil {
		p = &prop{id: id, gen: r.nextGen()}
		r.props[id] = p
	}
	if !r.coalesce {
		p.refs++
		return nil, false, ownRead{p: p, gen: p.gen}, Result{}, false
	}
	s := &p.slots[index(nlf)]
	if f := s.flight; f != nil {
		f.waiters++
		r.joins.Add(1)
		return f, false, ownRead{}, Result{}, false
	}
	return r.launch(ctx, p, nlf, now, false), true, ownRead{}, Result{}, false
}

// landOwn ends a read without coalescing: it stores the answer when the
// generation has not changed, or answers stale on a failure when allowed.
//
//go:noinline
func (r *Reader) landOwn(ctx context.Context, o ownRead, nlf, fresh bool, now time.Time, resp *contactsv1.ListContactsResponse, err error) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := o.p
	p.refs--
	defer r.release(p)
	if err != nil {
		if ctx.Err() == nil && !fresh {
			if res, ok := r.staleFor(p, nlf, err); ok {
				return res, nil
			}
		}
		return Result{}, err
	}
	if p.gen == o.gen {
		r.store(p, nlf, resp, now)
	}
	return Result{Resp: share(resp)}, nil
}

// cached answers from p's entry when it is young enough, starting a
// refresh when it is stale. An entry too old for anything is dropped.
// r.mu is held.
func (r *Reader) cached(p *prop, nlf bool, now time.Time) (Result, bool) {
	s := &p.slots[index(nlf)]
	e := s.entry
	if e == nil {
		return Result{}, false
	}
	age := now.Sub(e.asOf)
	switch {
	case age < r.ttl:
		r.hits.Add(1)
		r.lru.MoveToFront(e.elem)
		return Result{Resp: share(e.resp), Cached: true, Age: max(age, 0)}, true
	case age < r.ttl+r.stale:
		r.staleServes.Add(1)
		r.lru.MoveToFront(e.elem)
		if s.flight == nil {
			r.refreshes.Add(1)
			r.launch(context.Background(), p, nlf, now, true)
		}
		return Result{Resp: share(e.resp), Cached: true, Stale: true, Age: age}, true
	case age >= r.keep:
		r.evictions.Add(1)
		r.drop(e)
	}
	return Result{}, false
}

// staleFor answers with p's entry instead of err when StaleIfError
// allows. r.mu is held.
func (r *Reader) staleFor(p *prop, nlf bool, err error) (Result, bool) {
	e := p.slots[index(nlf)].entry
	if e == nil || r.staleIfError <= 0 || !r.staleOn(err) {
		return Result{}, false
	}
	age := r.now().Sub(e.asOf)
	if age >= r.ttl+r.staleIfError {
		return Result{}, false
	}
	r.staleOnError.Add(1)
	return Result{Resp: share(e.resp), Cached: true, Stale: true, Age: max(age, 0)}, true
}

// launch starts a flight for p's slot and makes it the slot's flight.
// Its context keeps the caller's values but not its cancellation or
// deadline. A refresh (owned) flies on a goroutine of its own; any other
// flight is flown by the caller that launched it (Reader.lead). r.mu is
// held.
func (r *Reader) launch(ctx context.Context, p *prop, nlf bool, now time.Time, owned bool) *flight {
	fctx, cancel := context.WithTimeout(flightParent{Context: r.closed, values: ctx}, r.timeout)
	f := &flight{
		p: p, nlf: nlf, gen: p.gen, started: now, owned: owned,
		ctx:    fctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	if !owned {
		f.waiters = 1
	}
	p.slots[index(nlf)].flight = f
	p.refs++
	r.inFlights.Add(1)
	if owned {
		go r.fly(f)
	}
	return f
}

// flightParent is the parent of a flight's context: the Reader's
// cancellation (Context, r.closed, which Close cancels) with the values
// of the caller that launched it. It is what WithoutCancel(ctx) with an
// AfterFunc(r.closed, cancel) would give, for less per flight: as
// r.closed answers the context package's own lookup (it has no values of
// its own), the flight's context registers with it directly, without an
// AfterFunc or a goroutine.
type flightParent struct {
	context.Context // r.closed
	values          context.Context
}

func (p flightParent) Value(key any) any {
	if v := p.Context.Value(key); v != nil {
		return v
	}
	return p.values.Value(key)
}

// lead flies f on the caller's goroutine, which saves a goroutine (and its
// stack) per flight: the caller would wait for it anyway. The flight
// keeps its own deadline: if the caller leaves meanwhile and others wait,
// it flies on for them and the caller returns with its context's error
// when the GET lands; if nobody waits any more, leaving cancels it.
func (r *Reader) lead(ctx context.Context, f *flight, fresh bool) (Result, error) {
	stop := context.AfterFunc(ctx, func() { r.leave(f) })
	r.fly(f)
	if !stop() {
		return Result{}, canceled(ctx)
	}
	return r.landed(f, fresh)
}

// fly makes the flight's GET and lands it: the answer is stored when the
// generation has not changed, and the waiters are woken.
func (r *Reader) fly(f *flight) {
	r.upstreamGets.Add(1)
	resp, err := r.list(f)
	r.land(f, resp, err)
}

// land ends a flight with the answer of its GET (out of line, so that
// fly's frame, on the stack while the answer is awaited, stays small).
//
//go:noinline
func (r *Reader) land(f *flight, resp *contactsv1.ListContactsResponse, err error) {
	defer r.inFlights.Done()
	f.cancel()
	r.mu.Lock()
	f.resp, f.err = resp, err
	s := &f.p.slots[index(f.nlf)]
	if s.flight == f {
		s.flight = nil
	}
	f.p.refs--
	if err == nil && f.p.gen == f.gen {
		r.store(f.p, f.nlf, resp, f.started)
	}
	r.release(f.p)
	r.mu.Unlock()
	close(f.done)
}

// errPanicked is what the callers of a shared GET get when the upstream
// client panicked in it: the panic must not fail the others as well, nor,
// in a background refresh (on a goroutine of its own, out of reach of the
// server's panic recovery), end the process.
var errPanicked = errors.New("readpath: the upstream read panicked")

// list is the upstream GET of a flight, with its panic turned into
// ErrPanicked.
func (r *Reader) list(f *flight) (resp *contactsv1.ListContactsResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, errPanicked
		}
	}()
	return r.up.List(f.ctx, f.p.id, f.nlf)
}

// wait waits for the flight or for the caller's context.
func (r *Reader) wait(ctx context.Context, f *flight, fresh bool) (Result, error) {
	select {
	case <-f.done:
		return r.landed(f, fresh)
	case <-ctx.Done():
		r.leave(f)
		return Result{}, canceled(ctx)
	}
}

// leave is a caller giving up on f. The last caller to leave a flight
// that is not a refresh cancels it.
func (r *Reader) leave(f *flight) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f.waiters--
	if f.waiters > 0 || f.owned {
		return
	}
	select {
	case <-f.done:
	default:
		if s := &f.p.slots[index(f.nlf)]; s.flight == f {
			s.flight = nil // a new caller must not join a cancelled flight
		}
		f.cancel()
	}
}

// canceled is what a caller that gave up gets, as the upstream client
// returns it.
func canceled(ctx context.Context) error {
	return &upstream.TransportError{Method: upstream.MethodGet, Err: ctx.Err()}
}

// landed is a caller's answer from a flight that has landed.
func (r *Reader) landed(f *flight, fresh bool) (Result, error) {
	if f.err != nil {
		if !fresh && r.cacheOn() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if cur := r.props[f.p.id]; cur == f.p {
				if res, ok := r.staleFor(f.p, f.nlf, f.err); ok {
					return res, nil
				}
			}
		}
		return Result{}, f.err
	}
	return Result{Resp: share(f.resp)}, nil
}

// store caches resp as p's answer, unless the cache is off, the answer is
// larger than the whole cache, or the entry holds a younger one; then
// evicts down to the bounds. r.mu is held.
func (r *Reader) store(p *prop, nlf bool, resp *contactsv1.ListContactsResponse, asOf time.Time) {
	if !r.cacheOn() {
		return
	}
	s := &p.slots[index(nlf)]
	if old := s.entry; old != nil {
		if old.asOf.After(asOf) {
			return
		}
		r.drop(old)
	}
	size := int64(proto.Size(resp)) + int64(len(p.id)) + entryOverhead
	if size > r.maxBytes {
		return
	}
	e := &entry{p: p, nlf: nlf, resp: resp, asOf: asOf, size: size}
	e.elem = r.lru.PushFront(e)
	s.entry = e
	r.bytes += size
	for r.lru.Len() > r.maxEntries || r.bytes > r.maxBytes {
		victim := r.lru.Back().Value.(*entry)
		r.evictions.Add(1)
		r.drop(victim)
		r.release(victim.p)
	}
}

// drop removes an entry from the cache. r.mu is held.
func (r *Reader) drop(e *entry) {
	r.lru.Remove(e.elem)
	r.bytes -= e.size
	s := &e.p.slots[index(e.nlf)]
	if s.entry == e {
		s.entry = nil
	}
}

// release forgets p when it holds nothing any more. r.mu is held.
func (r *Reader) release(p *prop) {
	if p.refs > 0 {
		return
	}
	for _, s := range p.slots {
		if s.flight != nil || s.entry != nil {
			return
		}
	}
	if r.props[p.id] == p {
		delete(r.props, p.id)
	}
}

// nextGen returns a generation never used before, so that a property
// forgotten and met again cannot match an old flight's. r.mu is held.
func (r *Reader) nextGen() uint64 {
	r.lastGen++
	return r.lastGen
}

// share gives a caller its own top-level answer, so that setting a field
// on it (a cache age, a warning) cannot race with other callers; the
// contacts and warnings are shared and read-only.
func share(resp *contactsv1.ListContactsResponse) *contactsv1.ListContactsResponse {
	if resp == nil {
		return nil
	}
	return &contactsv1.ListContactsResponse{
		Contacts:          resp.Contacts,
		Warnings:          resp.Warnings,
		RequestId:         resp.RequestId,
		Etag:              resp.Etag,
		UpstreamRequestId: resp.UpstreamRequestId,
		CacheAge:          resp.CacheAge,
		CacheStale:        resp.CacheStale,
	}
}
