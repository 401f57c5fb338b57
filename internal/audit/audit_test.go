package audit

import (
	"bytes"
	"context"
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
	l := New(&buf)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	recs := []Record{
		{Time: at, Caller: "spiffe://a", CallerSource: "certificate", RPC: "SetProfileContacts", PropertyID: "1", Profiles: []string{"INVOICES", "GENERAL"}, Code: "OK", Allowed: true},
		{Time: at, Caller: "anonymous", CallerSource: "none", RPC: "ReplaceContacts", PropertyID: "2", Code: "PermissionDenied", Reason: "CALLER_NOT_ALLOWED"},
	}
	for _, r := range recs {
		if err := l.Write(r); err != nil {
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
	l := New(w)
	err := l.Write(Record{RPC: "ReplaceContacts"})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping ENOSPC", err)
	}
	if !errors.Is(l.Healthy(), syscall.ENOSPC) {
		t.Fatal("Healthy does not report the failure")
	}
	w.fail = false
	if err := l.Write(Record{RPC: "ReplaceContacts"}); err != nil || l.Healthy() != nil {
		t.Fatalf("after the disk cleared: %v, %v", err, l.Healthy())
	}
}

func TestEntryFromContext(t *testing.T) {
	var nilEntry *Entry
	nilEntry.AddProfiles("X") // no panic
	if FromContext(context.Background()) != nil {
		t.Fatal("entry from an empty context")
	}
	e := &Entry{}
	ctx := NewContext(context.Background(), e)
	FromContext(ctx).AddProfiles("INVOICES", "GENERAL", "INVOICES")
	FromContext(ctx).SetEtags(`W/"a"`, `W/"b"`)
	rec := Record{Profiles: []string{"GENERAL"}}
	e.Fill(&rec)
	if strings.Join(rec.Profiles, ",") != "GENERAL,INVOICES" || rec.EtagBefore != `W/"a"` || rec.EtagAfter != `W/"b"` {
		t.Errorf("filled %+v", rec)
	}
}
