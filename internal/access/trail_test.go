package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWriteOneLinePerRecord(t *testing.T) {
	var buf bytes.Buffer
	l := NewTrail(&buf)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	recs := []Record{
		{Time: at, Caller: "spiffe://a", CallerSource: "certificate", RPC: "SetProfileContacts", PropertyID: "1", Profiles: []string{"INVOICES", "GENERAL"}, Code: "OK", Allowed: true},
		{Time: at, Caller: "anonymous", CallerSource: "none", RPC: "ReplaceContacts", PropertyID: "2", Code: "PermissionDenied", Reason: "CALLER_NOT_ALLOWED"},
	}
	for _, r := range recs {
		if err := l.write(r); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	var got Record
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Profiles, ",") != "GENERAL,INVOICES" || !got.Allowed || got.RPC != "SetProfileContacts" {
		t.Errorf("record 0 = %+v", got)
	}
	if !strings.Contains(lines[1], `"profiles":[]`) || !strings.Contains(lines[1], `"allowed":false`) {
		t.Errorf("record 1 = %s", lines[1])
	}
}

// fullDisk fails every write as a full disk does.
type fullDisk struct{ fail bool }

func (f *fullDisk) Write(p []byte) (int, error) {
	if f.fail {
		return 0, &os.PathError{Op: "write", Path: "audit.log", Err: syscall.ENOSPC}
	}
	return len(p), nil
}

func TestFullDiskIsAClearErrorUntilItClears(t *testing.T) {
	w := &fullDisk{fail: true}
	l := NewTrail(w)
	err := l.write(Record{RPC: "ReplaceContacts"})
	if !errors.Is(err, errTrailUnavailable) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want errTrailUnavailable wrapping ENOSPC", err)
	}
	if !errors.Is(l.healthy(), syscall.ENOSPC) {
		t.Fatal("Healthy does not report the failure")
	}
	w.fail = false
	if err := l.write(Record{RPC: "ReplaceContacts"}); err != nil || l.healthy() != nil {
		t.Fatalf("after the disk cleared: %v, %v", err, l.healthy())
	}
}

func TestNoAuditKeepsNothingAndIsHealthy(t *testing.T) {
	for name, l := range map[string]*Trail{"NoAudit": NoAudit(), "NewTrail(nil)": NewTrail(nil)} {
		if !l.none() || l.write(Record{RPC: "ReplaceContacts"}) != nil || l.healthy() != nil {
			t.Errorf("%s: keeps something or is unhealthy", name)
		}
	}
	if NewTrail(&fullDisk{}).none() {
		t.Error("a trail with a writer keeps nothing")
	}
}
