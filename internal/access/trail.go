package access

// The trail of writes: one JSON line per write call, allowed or refused,
// saying who changed which profiles of which property and with what
// outcome. A record holds identities, ids, profile names, etags and codes,
// never a contact's name, e-mail, phone or address.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"syscall"
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

// errTrailUnavailable wraps the failure of the last write of the trail:
// while the trail cannot be written the gate refuses writes.
var errTrailUnavailable = errors.New("audit: the audit trail cannot be written")

// Trail writes records to one writer, a line each, in the order they are
// written. It is safe for concurrent use. NoAudit is the explicit trail
// of nothing.
type Trail struct {
	mu   sync.Mutex
	w    io.Writer
	sync func() error // flushes to stable storage, when the writer can
	buf  bytes.Buffer
	err  error // the last failure; nil when the last write succeeded
}

// NewTrail returns a Trail writing to w. If w is a regular file, each
// record is synced before the gate goes on, so a record written is a
// record kept. A pipe, socket or terminal (stderr under systemd or in a
// container) has nothing to sync: its records are written, not synced. A
// nil w is NoAudit.
func NewTrail(w io.Writer) *Trail {
	if w == nil {
		return NoAudit()
	}
	return &Trail{w: w, sync: syncOf(w)}
}

// syncOf is how to flush w to stable storage: Sync for a regular file (or
// a writer that is no file but has Sync), nothing for anything else. A
// sync that says there is nothing to sync (EINVAL, ENOTSUP) succeeds.
func syncOf(w io.Writer) func() error {
	s, ok := w.(interface{ Sync() error })
	if !ok {
		return nil
	}
	if st, ok := w.(interface{ Stat() (fs.FileInfo, error) }); ok {
		fi, err := st.Stat()
		if err == nil && !fi.Mode().IsRegular() {
			return nil
		}
	}
	return func() error {
		err := s.Sync()
		if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
			return nil
		}
		return err
	}
}

// NoAudit is the trail of nothing: the gate keeps no record of writes.
func NoAudit() *Trail { return &Trail{} }

// none reports whether the trail keeps nothing.
func (l *Trail) none() bool { return l.w == nil }

// write appends rec. An error (a full disk, a closed file) is returned
// and kept: healthy reports it until a later write succeeds.
func (l *Trail) write(rec Record) error {
	if l.none() {
		return nil
	}
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
		l.err = fmt.Errorf("%w: %w", errTrailUnavailable, err)
		return l.err
	}
	l.err = nil
	return nil
}

// healthy returns the failure of the last write, or nil.
func (l *Trail) healthy() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
