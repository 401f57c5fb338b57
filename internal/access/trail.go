package access

// The trail of writes: one JSON line per write call, allowed or refused,
// saying who changed which profiles of which property and with what
// outcome. A record holds identities, ids, profile names, etags and codes,
// never a contact's name, e-mail, phone or address.
//
// Records are group-committed: the records written while a sync is under
// way are written and synced together by the next one. A write the gate
// admitted waits for its record's sync (a record written is a record
// kept); a refusal does not wait, and repeated refusals of one caller,
// RPC and reason are summed up: the first of an interval is recorded, the
// others counted in one record when the interval ends.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Record is one audited write, or the sum of a caller's repeated
// refusals (Count).
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
	// Outcome is the ErrorInfo's "outcome" when the status has one:
	// "unknown" for a write cut short (e.g. by the shutdown) that may or
	// may not have reached the upstream.
	Outcome string `json:"outcome,omitempty"`
	// Allowed is false when the facade refused the call before the
	// upstream (policy, fair share, validation).
	Allowed bool `json:"allowed"`
	// DryRun marks a call with validate_only: every check, no write.
	DryRun bool `json:"dry_run,omitempty"`
	// Operation, on the record of one item of a bulk operation, is the
	// operation's name ("operations/{id}"); RPC is then the single call
	// the item made, e.g. SetProfileContacts.
	Operation string `json:"operation,omitempty"`
	// Count, on a record that sums up refusals, is how many more refusals
	// of the caller, RPC, code and reason there were from Since to Time
	// than the one recorded at Since.
	Count int       `json:"count,omitempty"`
	Since time.Time `json:"since,omitzero"`
}

// errTrailUnavailable wraps the failure of the last write of the trail:
// while the trail cannot be written the gate refuses writes.
var errTrailUnavailable = errors.New("audit: the audit trail cannot be written")

const (
	// refusalInterval is the interval over which a caller's repeated
	// refusals are summed up in one record.
	refusalInterval = 10 * time.Second
	// refusalFlush is how long a refusal's record may wait for a sync.
	refusalFlush = time.Second
	// maxRefusalKeys bounds the refusals being summed up; past it, all are
	// written out.
	maxRefusalKeys = 10000
)

// Trail writes records to one writer, a line each, in the order they are
// committed. It is safe for concurrent use. NoAudit is the explicit trail
// of nothing.
type Trail struct {
	off bool
	now func() time.Time

	// io is held by the one writing a batch (the leader).
	io   sync.Mutex
	w    io.Writer
	sync func() error // flushes to stable storage, when the writer can
	path string       // the file's path when opened by OpenTrailFile
	file *os.File     // that file

	mu       sync.Mutex
	open     *batch // the records waiting for the next commit
	err      error  // the last failure; nil when the last commit succeeded
	refusals map[refusalKey]*refusalSum
	timer    *time.Timer // commits refusals' records; nil when not armed
	closed   bool
}

// batch is the records one commit writes and syncs.
type batch struct {
	buf  []byte
	done chan struct{}
	err  error
}

type refusalKey struct{ caller, source, rpc, code, reason string }

type refusalSum struct {
	since time.Time // the first refusal of the interval, recorded
	count int       // the refusals after it
	last  time.Time
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
	return &Trail{w: w, sync: syncOf(w), now: time.Now, refusals: make(map[refusalKey]*refusalSum)}
}

// OpenTrailFile opens (appends to, creates with mode 0600) the trail file
// at path. The file is opened again by Reopen (on SIGHUP) and by the next
// commit after it was renamed or removed (log rotation): a record is never
// written to a file that no longer has path as its name. Close flushes
// and closes it.
func OpenTrailFile(path string) (*Trail, error) {
	f, err := openTrail(path)
	if err != nil {
		return nil, err
	}
	l := NewTrail(f)
	l.path, l.file = path, f
	return l, nil
}

func openTrail(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
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
func NoAudit() *Trail { return &Trail{off: true} }

// none reports whether the trail keeps nothing.
func (l *Trail) none() bool { return l.off }

// write commits rec and returns once it is written and synced. An error
// (a full disk, a closed or removed file) is returned and kept: healthy
// reports it until a later commit succeeds.
func (l *Trail) write(rec Record) error {
	if l.none() {
		return nil
	}
	line, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("%w: %w", errTrailUnavailable, os.ErrClosed)
	}
	b := l.batchLocked()
	b.buf = append(b.buf, line...)
	l.mu.Unlock()
	return l.commit(b)
}

// refused records a refusal without waiting for it: the first refusal of
// the caller, RPC, code and reason in an interval is recorded as it is,
// the next ones only counted, and the count recorded when the interval
// ends (or the trail closes). The records are committed with the next
// commit, within refusalFlush.
func (l *Trail) refused(rec Record) {
	if l.none() {
		return
	}
	key := refusalKey{rec.Caller, rec.CallerSource, rec.RPC, rec.Code, rec.Reason}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if s, ok := l.refusals[key]; ok {
		if d := rec.Time.Sub(s.since); d >= 0 && d < refusalInterval {
			s.count++
			s.last = rec.Time
			l.armLocked()
			return
		}
		l.sumLocked(key, s)
	} else if len(l.refusals) >= maxRefusalKeys {
		for k, s := range l.refusals {
			l.sumLocked(k, s)
		}
	}
	if l.refusals == nil {
		l.refusals = make(map[refusalKey]*refusalSum)
	}
	l.refusals[key] = &refusalSum{since: rec.Time, last: rec.Time}
	if line, err := encodeRecord(rec); err == nil {
		b := l.batchLocked()
		b.buf = append(b.buf, line...)
	}
	l.armLocked()
}

// sumLocked ends key's interval: its count, if any, is recorded.
func (l *Trail) sumLocked(key refusalKey, s *refusalSum) {
	delete(l.refusals, key)
	if s.count == 0 {
		return
	}
	rec := Record{Time: s.last, Caller: key.caller, CallerSource: key.source, RPC: key.rpc,
		Code: key.code, Reason: key.reason, Count: s.count, Since: s.since}
	if line, err := encodeRecord(rec); err == nil {
		b := l.batchLocked()
		b.buf = append(b.buf, line...)
	}
}

// sumEndedLocked records the counts of the intervals that ended by now
// (all of them when all is set).
func (l *Trail) sumEndedLocked(now time.Time, all bool) {
	for k, s := range l.refusals {
		if all || now.Sub(s.since) >= refusalInterval {
			l.sumLocked(k, s)
		}
	}
}

func (l *Trail) batchLocked() *batch {
	if l.open == nil {
		l.open = &batch{done: make(chan struct{})}
	}
	return l.open
}

// armLocked makes sure that a commit comes within refusalFlush.
func (l *Trail) armLocked() {
	if l.timer == nil {
		l.timer = time.AfterFunc(refusalFlush, l.tick)
	}
}

// tick commits the refusals' records, and the counts of the intervals
// that ended.
func (l *Trail) tick() {
	l.mu.Lock()
	l.timer = nil
	l.mu.Unlock()
	_ = l.commit(nil)
	l.mu.Lock()
	if len(l.refusals) > 0 && !l.closed {
		l.armLocked()
	}
	l.mu.Unlock()
}

// commit writes and syncs the open batch, unless b (nil: whatever is
// open) was already committed by another caller while this one waited.
// One commit at a time: the callers that wait meanwhile are committed
// together by the next.
func (l *Trail) commit(b *batch) error {
	l.io.Lock()
	defer l.io.Unlock()
	if b != nil {
		select {
		case <-b.done:
			return b.err
		default:
		}
	}
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	l.mu.Lock()
	l.sumEndedLocked(now(), l.closed)
	cur := l.open
	l.open = nil
	l.mu.Unlock()
	if cur == nil {
		return nil
	}
	err := l.writeOut(cur.buf)
	if err != nil {
		err = fmt.Errorf("%w: %w", errTrailUnavailable, err)
	}
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
	cur.err = err
	close(cur.done)
	return err
}

// writeOut writes and syncs p; for a trail file, first opens the file
// again if its path no longer names it. Called with l.io held.
func (l *Trail) writeOut(p []byte) error {
	if l.path != "" {
		if err := l.checkFile(); err != nil {
			return err
		}
	}
	if l.w == nil {
		return os.ErrClosed
	}
	n, err := l.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err == nil && l.sync != nil {
		err = l.sync()
	}
	return err
}

// checkFile opens the trail file again when its path names another file
// (rotated) or none (removed): records written to a file no longer at its
// path would be lost, so failing to open it again is a failure. Two
// stats: cheaper than the sync each commit makes.
func (l *Trail) checkFile() error {
	if l.file == nil { // closed
		return os.ErrClosed
	}
	{
		cur, errCur := l.file.Stat()
		at, errAt := os.Stat(l.path)
		if errCur == nil && errAt == nil && os.SameFile(cur, at) {
			return nil
		}
	}
	return l.reopenLocked()
}

// reopenLocked opens the path again and closes the file it replaces.
// Called with l.io held.
func (l *Trail) reopenLocked() error {
	f, err := openTrail(l.path)
	if err != nil {
		return err
	}
	if l.file != nil {
		_ = l.file.Close()
	}
	l.file, l.w, l.sync = f, f, syncOf(f)
	return nil
}

// Reopen opens the trail file again (on SIGHUP, after a rotation). It
// does nothing for a trail that is no file. If the file cannot be opened
// the trail is unavailable (and the gate refuses writes) until a commit
// can open it.
func (l *Trail) Reopen() error {
	if l.none() || l.path == "" {
		return nil
	}
	l.io.Lock()
	err := l.reopenLocked()
	l.io.Unlock()
	if err != nil {
		err = fmt.Errorf("%w: %w", errTrailUnavailable, err)
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
	}
	return err
}

// Flush commits the records waiting for a commit now (refusals' records,
// and the counts of the intervals that ended) instead of within a second.
func (l *Trail) Flush() error {
	if l.none() {
		return nil
	}
	return l.commit(nil)
}

// Close writes what is pending (refusals' records and counts), syncs it
// and, for a trail file, closes the file. Later writes fail.
func (l *Trail) Close() error {
	if l.none() {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.mu.Unlock()
	err := l.commit(nil)
	l.io.Lock()
	defer l.io.Unlock()
	if l.file != nil {
		err = errors.Join(err, l.file.Close())
		l.file, l.w = nil, nil
	}
	return err
}

// healthy returns the failure of the last commit, or nil.
func (l *Trail) healthy() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// encodeRecord is rec's line.
func encodeRecord(rec Record) ([]byte, error) {
	rec.Profiles = slices.Clone(rec.Profiles)
	slices.Sort(rec.Profiles)
	if rec.Profiles == nil {
		rec.Profiles = []string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return nil, fmt.Errorf("audit: encoding a record: %w", err)
	}
	return buf.Bytes(), nil
}
