package bulk

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// MaxEndedOperations bounds the ended operations Memory keeps: past it, a
// new operation makes room by dropping the one that ended first, even
// within its retention.
const MaxEndedOperations = 1000

// Memory is the in-process Store: operations live as long as the process.
// Ended operations are dropped after the retention, when next looked at,
// and the oldest of them past MaxEndedOperations.
type Memory struct {
	retention time.Duration
	now       func() time.Time

	mu    sync.Mutex
	ops   map[string]*memOp
	queue []string      // names waiting for a runner, oldest first
	ready chan struct{} // closed and replaced when queue grows
	taken uint64        // counts Takes: each lease's own number
}

type memOp struct {
	h      Header
	items  map[int]Item
	undo   map[int][]byte
	cancel bool
	// lease is the number of the lease that holds it (0: none), so that a
	// lease released and taken again by another runner is lost to the
	// first.
	lease uint64
}

// NewMemory returns an empty Memory that keeps ended operations for
// retention (DefaultRetention when zero) by the clock now (time.Now when
// nil).
func NewMemory(retention time.Duration, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{
		retention: cmp.Or(retention, DefaultRetention),
		now:       now,
		ops:       make(map[string]*memOp),
		ready:     make(chan struct{}),
	}
}

// op returns the live operation name, dropping it when past retention.
// m.mu is held.
func (m *Memory) op(name string) (*memOp, error) {
	o, ok := m.ops[name]
	if !ok {
		return nil, ErrNotFound
	}
	if o.h.Done() && !m.now().Before(o.h.Ended.Add(m.retention)) {
		delete(m.ops, name)
		return nil, ErrNotFound
	}
	return o, nil
}

func (o *memOp) header() Header {
	h := o.h
	h.Request = slices.Clone(h.Request)
	h.CancelRequested = o.cancel
	return h
}

// Create implements Store.
func (m *Memory) Create(_ context.Context, h Header) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ops[h.Name]; ok {
		return errExists
	}
	// Drop the operations past their retention that nobody looked at
	// since, so that a process that keeps starting operations keeps only
	// a retention's worth of them.
	for name := range m.ops {
		_, _ = m.op(name)
	}
	// And past MaxEndedOperations ended ones, the oldest: the process's
	// memory is the bound, not the retention.
	var ended []*memOp
	for _, o := range m.ops {
		if o.h.Done() {
			ended = append(ended, o)
		}
	}
	if extra := len(ended) - MaxEndedOperations + 1; extra > 0 {
		slices.SortFunc(ended, func(a, b *memOp) int { return a.h.Ended.Compare(b.h.Ended) })
		for _, o := range ended[:extra] {
			delete(m.ops, o.h.Name)
		}
	}
	h.Request = slices.Clone(h.Request)
	m.ops[h.Name] = &memOp{h: h, items: make(map[int]Item), undo: make(map[int][]byte)}
	m.queue = append(m.queue, h.Name)
	close(m.ready)
	m.ready = make(chan struct{})
	return nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, name string) (Header, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, err := m.op(name)
	if err != nil {
		return Header{}, err
	}
	return o.header(), nil
}

// List implements Store.
func (m *Memory) List(_ context.Context, owner string) ([]Header, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Header
	for _, name := range slices.Collect(maps.Keys(m.ops)) {
		if o, err := m.op(name); err == nil && o.h.Owner == owner {
			out = append(out, o.header())
		}
	}
	slices.SortFunc(out, newestFirst)
	return out, nil
}

// newestFirst orders headers by creation, newest first, then by name.
func newestFirst(a, b Header) int {
	if c := b.Created.Compare(a.Created); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

// Items implements Store.
func (m *Memory) Items(_ context.Context, name string) (map[int]Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, err := m.op(name)
	if err != nil {
		return nil, err
	}
	out := make(map[int]Item, len(o.items))
	for i, it := range o.items {
		out[i] = Item{Final: it.Final, Data: slices.Clone(it.Data)}
	}
	return out, nil
}

// Undo implements Store.
func (m *Memory) Undo(_ context.Context, name string) (map[int][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, err := m.op(name)
	if err != nil {
		return nil, err
	}
	out := make(map[int][]byte, len(o.undo))
	for i, u := range o.undo {
		out[i] = slices.Clone(u)
	}
	return out, nil
}

// Cancel implements Store.
func (m *Memory) Cancel(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, err := m.op(name)
	if err != nil {
		return err
	}
	o.cancel = true
	return nil
}

// Cancelled implements Store.
func (m *Memory) Cancelled(_ context.Context, name string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, err := m.op(name)
	if err != nil {
		return false, err
	}
	return o.cancel, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.op(name); err != nil {
		return err
	}
	delete(m.ops, name)
	m.queue = slices.DeleteFunc(m.queue, func(n string) bool { return n == name })
	return nil
}

// Take implements Store.
func (m *Memory) Take(ctx context.Context) (Lease, error) {
	for {
		m.mu.Lock()
		if len(m.queue) > 0 {
			name := m.queue[0]
			m.queue = m.queue[1:]
			m.taken++
			m.ops[name].lease = m.taken
			m.mu.Unlock()
			return &memLease{m: m, name: name, n: m.taken}, nil
		}
		ready := m.ready
		m.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// memLease is a lease of Memory: it is lost when its operation is
// deleted, finished or released.
type memLease struct {
	m    *Memory
	name string
	n    uint64
}

func (l *memLease) Name() string { return l.name }

// held returns the leased operation. l.m.mu is held.
func (l *memLease) held() (*memOp, error) {
	o, ok := l.m.ops[l.name]
	if !ok || o.lease != l.n {
		return nil, ErrLeaseLost
	}
	return o, nil
}

func (l *memLease) Renew(context.Context) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	_, err := l.held()
	return err
}

func (l *memLease) Put(_ context.Context, h Header, index int, it Item) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	o, err := l.held()
	if err != nil {
		return err
	}
	o.h.Counts, o.h.Updated = h.Counts, h.Updated
	o.items[index] = Item{Final: it.Final, Data: slices.Clone(it.Data)}
	if it.Undo != nil {
		o.undo[index] = slices.Clone(it.Undo)
	}
	return nil
}

func (l *memLease) Finish(_ context.Context, h Header) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	o, err := l.held()
	if err != nil {
		return err
	}
	o.h.Counts, o.h.Updated, o.h.Ended = h.Counts, h.Updated, h.Ended
	o.lease = 0
	return nil
}

func (l *memLease) Release(context.Context) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	o, err := l.held()
	if err != nil {
		return err
	}
	o.lease = 0
	l.m.queue = append([]string{l.name}, l.m.queue...)
	close(l.m.ready)
	l.m.ready = make(chan struct{})
	return nil
}
