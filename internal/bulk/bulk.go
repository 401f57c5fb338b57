// Package bulk keeps the state of bulk operations (long-running
// operations over many properties) and hands each one to exactly one
// runner at a time.
//
// An operation is a Header (who started it, its request, its progress)
// and one Item per target that has run: its intent, recorded before its
// write is sent, then its outcome. What an item holds is opaque bytes to
// this package; the service gives them meaning.
//
// A Store keeps operations and queues them: Memory in the process (lost
// with it), or redisstore.Operations on the Redis the fleet shares, where
// an operation whose runner stops renewing its Lease (its replica died)
// is taken over by another replica's Take. The new runner reads the items
// already recorded and runs the others, so no item is run to its end
// twice; an item whose intent is recorded but not its outcome is run
// again, and the service makes that safe (the write lock, a fresh read,
// and no write when the property already holds the result).
//
// Runner takes operations from a Store and runs a few at a time.
package bulk

import (
	"context"
	"errors"
	"time"
)

// Errors of a Store.
var (
	// ErrNotFound: no operation has that name (or it is past its
	// retention).
	ErrNotFound = errors.New("bulk: no such operation")
	// ErrLeaseLost: another runner took the operation over; this one must
	// stop running it.
	ErrLeaseLost = errors.New("bulk: the operation's lease was lost")
)

// DefaultRetention is how long an operation is kept after it ended.
const DefaultRetention = 7 * 24 * time.Hour

// Header is what a Store keeps of an operation apart from its items.
type Header struct {
	// Name is the operation's name, "operations/{id}".
	Name string `json:"name"`
	// Owner is the caller that started it: the only one that sees it.
	Owner string `json:"owner"`
	// OwnerSource is where the owner's name came from (a certificate, a
	// proxy's header), for the audit records of its items.
	OwnerSource string `json:"owner_source,omitempty"`
	// Method is the full name of the RPC that started it.
	Method string `json:"method"`
	// Request is the marshalled request (it holds contacts: a shared
	// Store seals it).
	Request []byte `json:"request,omitempty"`
	// Total is the number of items.
	Total int `json:"total"`
	// Created, Updated and Ended are when it started, last made progress
	// and ended (zero while it runs).
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Ended   time.Time `json:"ended,omitzero"`
	// Counts is its progress.
	Counts Counts `json:"counts"`
	// CancelRequested is set by Store.Cancel; Stores report it on Get
	// and List, whatever the header they were given says.
	CancelRequested bool `json:"-"`
}

// Done reports whether the operation ended.
func (h Header) Done() bool { return !h.Ended.IsZero() }

// Counts counts the items by outcome.
type Counts struct {
	Changed   int `json:"changed,omitempty"`
	Unchanged int `json:"unchanged,omitempty"`
	Failed    int `json:"failed,omitempty"`
	Cancelled int `json:"cancelled,omitempty"`
}

// Sum is the number of items with an outcome.
func (c Counts) Sum() int { return c.Changed + c.Unchanged + c.Failed + c.Cancelled }

// Item is what is kept of one item of an operation.
type Item struct {
	// Final: Data is the item's outcome. Otherwise it is its intent,
	// recorded before its write was sent.
	Final bool
	Data  []byte
	// Undo, when not nil, is what undoing the item needs (the contacts
	// before its write): kept apart from Data, read only by Undo, so that
	// following an operation does not read it. A Put with a nil Undo
	// leaves the item's Undo as it is.
	Undo []byte
}

// Store keeps operations. Implementations are safe for concurrent use.
type Store interface {
	// Create stores a new operation and queues it for a runner. Its name
	// must be new.
	Create(ctx context.Context, h Header) error
	// Get returns an operation's header; ErrNotFound when there is none.
	Get(ctx context.Context, name string) (Header, error)
	// List returns the operations of owner, newest first.
	List(ctx context.Context, owner string) ([]Header, error)
	// Items returns the items recorded, by index, without their Undo.
	Items(ctx context.Context, name string) (map[int]Item, error)
	// Undo returns the Undo of the items that have one, by index.
	Undo(ctx context.Context, name string) (map[int][]byte, error)
	// Cancel asks the operation's runner to start no new item.
	// ErrNotFound when there is no such operation.
	Cancel(ctx context.Context, name string) error
	// Cancelled reports whether Cancel was called for the operation: what
	// its runner asks before each item, without reading the header.
	Cancelled(ctx context.Context, name string) (bool, error)
	// Delete forgets the operation; ErrNotFound when there is none.
	Delete(ctx context.Context, name string) error
	// Take waits until an operation is there to run, a new one or one
	// whose runner stopped renewing its lease, and returns its lease; or
	// returns ctx's error.
	Take(ctx context.Context) (Lease, error)
}

// LeaseTimer is a Store whose leases lapse when they go unrenewed for
// LeaseTime: a Runner that is not told how often to renew renews well
// within it.
type LeaseTimer interface {
	LeaseTime() time.Duration
}

// Lease is a runner's hold on one operation. Its writes fail with
// ErrLeaseLost once another runner took the operation over.
type Lease interface {
	// Name is the operation's name.
	Name() string
	// Renew keeps the lease; it must be called more often than the
	// Store's lease time.
	Renew(ctx context.Context) error
	// Put records item index (its intent or its outcome, and its Undo
	// when not nil) and the header as it now stands (h.Counts,
	// h.Updated), as one change.
	Put(ctx context.Context, h Header, index int, it Item) error
	// Finish stores h, which has Ended set, and ends the lease: the
	// operation is then kept for the Store's retention.
	Finish(ctx context.Context, h Header) error
	// Release gives the operation up without finishing it (a shutdown),
	// for another runner to take at once.
	Release(ctx context.Context) error
}

// errExists: Create was given a name in use.
var errExists = errors.New("bulk: an operation with that name exists")
