package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/access"
)

// TestAuditLogStderrPipe: -audit-log stderr with stderr a pipe (systemd,
// a container, | cat) keeps writing records and admitting writes: fsync
// on a pipe says EINVAL, which is nothing to sync, not a failure.
func TestAuditLogStderrPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	c, err := newCallers(callersConfig{auditLog: "stderr"}, "127.0.0.1:0", w, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	gate, err := access.NewGate(access.Config{Resolver: c.resolver, Policy: c.policy, Audit: c.trail})
	if err != nil {
		t.Fatal(err)
	}
	req := &contactsv1.SetProfileContactsRequest{PropertyId: "1000001", Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES}
	for i := range 3 {
		call, err := gate.Admit(context.Background(), contactsv1.ContactsService_SetProfileContacts_FullMethodName, req)
		if err != nil {
			t.Fatalf("write %d refused with the trail on a pipe: %v", i, err)
		}
		call.End(&contactsv1.SetProfileContactsResponse{}, nil)
	}
	sc := bufio.NewScanner(r)
	for i := range 3 {
		if !sc.Scan() {
			t.Fatalf("record %d missing: %v", i, sc.Err())
		}
		var rec access.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || !rec.Allowed || rec.Code != "OK" {
			t.Fatalf("record %d = %s (%v)", i, sc.Text(), err)
		}
	}
}

// TestAuditLogFollowsRotation: the -audit-log file renamed by a log
// rotation, then SIGHUP (reload): the next write's record is in the new
// file at the flag's path, not in the rotated one.
func TestAuditLogFollowsRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	log := slog.New(slog.DiscardHandler)
	c, err := newCallers(callersConfig{auditLog: path}, "127.0.0.1:0", io.Discard, log)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	gate, err := access.NewGate(access.Config{Resolver: c.resolver, Policy: c.policy, Audit: c.trail})
	if err != nil {
		t.Fatal(err)
	}
	write := func(id string) {
		t.Helper()
		call, err := gate.Admit(context.Background(), contactsv1.ContactsService_SetProfileContacts_FullMethodName,
			&contactsv1.SetProfileContactsRequest{PropertyId: id, Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES})
		if err != nil {
			t.Fatal(err)
		}
		call.End(&contactsv1.SetProfileContactsResponse{}, nil)
	}
	write("1")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	c.reload(log)
	write("2")
	for file, want := range map[string]string{path + ".1": "1", path: "2"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var rec access.Record
		if err := json.Unmarshal(b, &rec); err != nil || rec.PropertyID != want {
			t.Errorf("%s holds %q (%v), want the record of property %s alone", file, b, err, want)
		}
	}
}
