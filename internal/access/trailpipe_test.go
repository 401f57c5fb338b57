package access

import (
	"bufio"
	"encoding/json"
	"os"
	"syscall"
	"testing"
)

// TestTrailToAPipeWritesAndStaysHealthy: fsync on a pipe (stderr under
// systemd, in a container, | cat) fails with EINVAL; there is nothing to
// sync, so the record is written and the trail stays healthy.
func TestTrailToAPipeWritesAndStaysHealthy(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	l := NewTrail(w)
	for i := range 3 {
		if err := l.write(Record{Caller: "cn:a", RPC: "ReplaceContacts", Code: "OK", Allowed: true}); err != nil {
			t.Fatalf("write %d to a pipe: %v", i, err)
		}
		if err := l.healthy(); err != nil {
			t.Fatalf("after write %d to a pipe: unhealthy: %v", i, err)
		}
	}
	sc := bufio.NewScanner(r)
	for i := range 3 {
		if !sc.Scan() {
			t.Fatalf("line %d missing: %v", i, sc.Err())
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.RPC != "ReplaceContacts" {
			t.Fatalf("line %d = %q (%v)", i, sc.Text(), err)
		}
	}
}

// syncErr is a writer whose Sync fails with err.
type syncErr struct{ err error }

func (s syncErr) Write(p []byte) (int, error) { return len(p), nil }
func (s syncErr) Sync() error                 { return s.err }

// TestNothingToSyncIsNoFailure: a Sync that says there is nothing to sync
// (EINVAL, ENOTSUP) succeeds; any other failure is one.
func TestNothingToSyncIsNoFailure(t *testing.T) {
	tests := []struct {
		err     error
		healthy bool
	}{
		{nil, true},
		{syscall.EINVAL, true},
		{&os.PathError{Op: "sync", Path: "x", Err: syscall.ENOTSUP}, true},
		{syscall.EIO, false},
		{syscall.ENOSPC, false},
	}
	for _, tt := range tests {
		l := NewTrail(syncErr{tt.err})
		err := l.write(Record{RPC: "ReplaceContacts"})
		if (err == nil) != tt.healthy || (l.healthy() == nil) != tt.healthy {
			t.Errorf("sync error %v: write %v, healthy %v; want healthy %v", tt.err, err, l.healthy(), tt.healthy)
		}
	}
	// Pinned by hand.
	if err := NewTrail(syncErr{syscall.EINVAL}).write(Record{}); err != nil {
		t.Errorf("EINVAL: %v", err)
	}
}
