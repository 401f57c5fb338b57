// Package audit writes the trail of writes: one JSON line per write call,
// allowed or refused, saying who changed which profiles of which property
// and with what outcome. A record holds identities, ids, profile names,
// etags and codes, never a contact's name, e-mail, phone or address.
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Record is one audited write.
type Record struct {
	Time         time.Time `json:"time"`
	Caller       string    `json:"caller"`
	CallerSource string    `json:"caller_source"`
	RPC          string    `json:"rpc"`
	PropertyID   string    `json:"property_id"`
	// Profiles are the profiles the write changes (sent or deleted), by
	// their proto names without prefix (e.g. "INVOICES"), sorted.
	Profiles []string `json:"profiles"`
	// RequestID is the caller's idempotency key (AIP-155 request_id), if
	// it sent one.
	RequestID string `json:"request_id,omitempty"`
	// UpstreamRUID is the upstream's id of its answer (meta.ruid).
	UpstreamRUID string `json:"upstream_ruid,omitempty"`
	EtagBefore   string `json:"etag_before,omitempty"`
	EtagAfter    string `json:"etag_after,omitempty"`
	// Code is the gRPC code the caller got; Reason its ErrorInfo reason.
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
	// Allowed is false when the facade refused the call before the
	// upstream (policy, fair share, validation).
	Allowed bool `json:"allowed"`
}

// ErrUnavailable wraps the failure of the last write of the trail: while
// the trail cannot be written the facade refuses writes.
var ErrUnavailable = errors.New("audit: the audit trail cannot be written")

// Log writes records to one writer, a line each, in the order of Write.
// It is safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	w    io.Writer
	sync func() error // flushes to stable storage, when the writer can
	buf  bytes.Buffer
	err  error // the last failure; nil when the last write succeeded
}

// New returns a Log writing to w. If w has a Sync method (an *os.File),
// each record is synced before Write returns, so a record written is a
// record kept.
func New(w io.Writer) *Log {
	l := &Log{w: w}
	if s, ok := w.(interface{ Sync() error }); ok {
		l.sync = s.Sync
	}
	return l
}

// Write appends rec. An error (a full disk, a closed file) is returned
// and kept: Healthy reports it until a later Write succeeds.
func (l *Log) Write(rec Record) error {
	rec.Profiles = slices.Clone(rec.Profiles)
	slices.Sort(rec.Profiles)
	if rec.Profiles == nil {
		rec.Profiles = []string{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
	enc := json.NewEncoder(&l.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return fmt.Errorf("audit: encoding a record: %w", err)
	}
	n, err := l.w.Write(l.buf.Bytes())
	if err == nil && n < l.buf.Len() {
		err = io.ErrShortWrite
	}
	if err == nil && l.sync != nil {
		err = l.sync()
	}
	if err != nil {
		l.err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		return l.err
	}
	l.err = nil
	return nil
}

// Healthy returns the failure of the last write, or nil.
func (l *Log) Healthy() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Entry is what the service knows of a write that the interceptor does
// not: the profiles a Replace deletes, the etag it replaced. The
// interceptor puts one in the call's context; the service adds to it.
type Entry struct {
	mu         sync.Mutex
	profiles   []string
	etagBefore string
	etagAfter  string
}

type entryKey struct{}

// NewContext returns ctx carrying e.
func NewContext(ctx context.Context, e *Entry) context.Context {
	return context.WithValue(ctx, entryKey{}, e)
}

// FromContext returns the call's Entry; nil (whose methods do nothing)
// when the call is not audited.
func FromContext(ctx context.Context) *Entry {
	e, _ := ctx.Value(entryKey{}).(*Entry)
	return e
}

// AddProfiles records profiles the write changes.
func (e *Entry) AddProfiles(names ...string) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range names {
		if !slices.Contains(e.profiles, n) {
			e.profiles = append(e.profiles, n)
		}
	}
}

// SetEtags records the state's etag before and after the write.
func (e *Entry) SetEtags(before, after string) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.etagBefore, e.etagAfter = before, after
}

// Fill copies what the entry holds into rec, keeping what rec already has
// where the entry knows nothing.
func (e *Entry) Fill(rec *Record) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.profiles {
		if !slices.Contains(rec.Profiles, p) {
			rec.Profiles = append(rec.Profiles, p)
		}
	}
	if e.etagBefore != "" {
		rec.EtagBefore = e.etagBefore
	}
	if e.etagAfter != "" {
		rec.EtagAfter = e.etagAfter
	}
}
