// Package idempotency remembers the outcome of writes by their AIP-155
// request_id, so that a retry gets the first outcome instead of a second
// write.
//
// A Store is keyed by request id. Begin either returns the remembered
// outcome, or lets the caller run the request and Finish it; a duplicate
// that arrives while the first is running waits for it. Memory is the
// in-process Store (bounded, LRU + TTL); a Store shared by replicas
// (Redis) can implement the same interface.
package idempotency

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// ErrMismatch: the request id was used before for a different request.
var ErrMismatch = errors.New("idempotency: the request id was used for a different request")

// Outcome is what a request answered, in bytes a shared store can keep:
// the marshalled response on success, else the marshalled google.rpc.Status.
type Outcome struct {
	Response []byte
	Status   []byte
}

// clone copies o into slices of their own length, so that a caller's
// larger buffer is not kept alive behind a short outcome.
func (o Outcome) clone() Outcome {
	return Outcome{Response: bytes.Clone(o.Response), Status: bytes.Clone(o.Status)}
}

// entryFixed is what a remembered entry costs whatever its contents: the
// entry, its LRU element, and its map slot (key header and pointer, with
// the table's spare capacity: a map grown by doubling is at worst half
// full, and groups add control bytes).
const entryFixed = int(unsafe.Sizeof(entry{})) + int(unsafe.Sizeof(list.Element{})) + mapSlot

const mapSlot = 2*(int(unsafe.Sizeof(""))+int(unsafe.Sizeof(uintptr(0)))) + 8

// allocated is what the heap spends on n bytes of one allocation: size
// classes waste up to an eighth (plus the rounding of small ones).
func allocated(n int) int {
	if n == 0 {
		return 0
	}
	return n + n/8 + 16
}

// EntrySize is what Memory counts against MaxBytes for a remembered
// outcome: its bytes and key and fingerprint, and the fixed cost of an
// entry (about 250 bytes), so that the bound holds for the heap and not
// only for the outcomes.
func EntrySize(key string, fingerprint []byte, o Outcome) int {
	return entryFixed + allocated(len(key)) + allocated(len(fingerprint)) +
		allocated(len(o.Response)) + allocated(len(o.Status))
}

// Result is what Begin found.
type Result struct {
	// Done: Outcome is the remembered outcome of the first request with
	// this id; answer it, and do not run the request.
	Done    bool
	Outcome Outcome
	// Finish, when not Done, must be called exactly once with the outcome
	// of the request. remember false forgets the id instead (the request
	// had no effect, so running it again is safe); a duplicate waiting
	// for it then runs the request itself.
	Finish func(o Outcome, remember bool)
}

// Store remembers outcomes by request id.
type Store interface {
	// Begin looks key up. fingerprint identifies the request (the same
	// request always has the same one): a remembered key with another
	// fingerprint is ErrMismatch. While another request with key runs,
	// Begin waits for it, or returns ctx's error when ctx ends first.
	Begin(ctx context.Context, key string, fingerprint []byte) (Result, error)
}

// Defaults of MemoryConfig.
const (
	DefaultTTL        = 24 * time.Hour
	DefaultMaxEntries = 100_000
	DefaultMaxBytes   = 64 << 20
)

// MemoryConfig configures a Memory store; zero fields take the defaults.
type MemoryConfig struct {
	// TTL is how long an outcome is remembered after it was finished.
	TTL time.Duration
	// MaxEntries and MaxBytes bound the remembered outcomes (MaxBytes
	// counts what each costs in memory, EntrySize: its response and
	// status, key, fingerprint and the entry's own overhead): past either,
	// the least recently used are forgotten first, even before their TTL.
	MaxEntries int
	MaxBytes   int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Memory is an in-process Store. Requests still running are never
// evicted and do not count against the bounds.
type Memory struct {
	cfg     MemoryConfig
	mu      sync.Mutex
	entries map[string]*entry
	lru     list.List // of *entry, done ones only, most recent first
	bytes   int
}

type entry struct {
	key         string
	fingerprint []byte
	done        bool
	outcome     Outcome
	size        int // EntrySize, once done
	expires     time.Time
	finished    chan struct{} // closed by Finish
	elem        *list.Element
}

// NewMemory returns an empty Memory store.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Memory{cfg: cfg, entries: map[string]*entry{}}
}

// Begin implements Store.
func (m *Memory) Begin(ctx context.Context, key string, fingerprint []byte) (Result, error) {
	for {
		m.mu.Lock()
		e := m.entries[key]
		if e != nil && e.done && !m.cfg.Now().Before(e.expires) {
			m.remove(e)
			e = nil
		}
		if e == nil {
			e = &entry{key: strings.Clone(key), fingerprint: bytes.Clone(fingerprint), finished: make(chan struct{})}
			m.entries[key] = e
			m.mu.Unlock()
			var once sync.Once
			return Result{Finish: func(o Outcome, remember bool) {
				once.Do(func() { m.finish(e, o, remember) })
			}}, nil
		}
		if !bytes.Equal(e.fingerprint, fingerprint) {
			m.mu.Unlock()
			return Result{}, ErrMismatch
		}
		if e.done {
			m.lru.MoveToFront(e.elem)
			o := e.outcome
			m.mu.Unlock()
			return Result{Done: true, Outcome: o}, nil
		}
		wait := e.finished
		m.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return Result{}, context.Cause(ctx)
		}
	}
}

func (m *Memory) finish(e *entry, o Outcome, remember bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	close(e.finished)
	// Waiters hold their own reference: the entry need not keep it.
	e.finished = nil
	size := EntrySize(e.key, e.fingerprint, o)
	if !remember || size > m.cfg.MaxBytes {
		delete(m.entries, e.key)
		return
	}
	e.done, e.outcome, e.size, e.expires = true, o.clone(), size, m.cfg.Now().Add(m.cfg.TTL)
	e.elem = m.lru.PushFront(e)
	m.bytes += size
	for m.lru.Len() > m.cfg.MaxEntries || m.bytes > m.cfg.MaxBytes {
		m.remove(m.lru.Back().Value.(*entry))
	}
}

// remove forgets a done entry. The caller holds m.mu.
func (m *Memory) remove(e *entry) {
	m.lru.Remove(e.elem)
	m.bytes -= e.size
	delete(m.entries, e.key)
}

// Bytes is what the remembered outcomes count against MaxBytes.
func (m *Memory) Bytes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// Len returns how many outcomes are remembered (requests running aside).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}
