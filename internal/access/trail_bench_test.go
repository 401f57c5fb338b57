package access

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// benchGate is a gate whose trail is a real file, with its fsyncs
// counted, and whose policy lets callers read and set INVOICES only.
func benchGate(b *testing.B) (*Gate, *Trail, *atomic.Int64) {
	b.Helper()
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "audit.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	tr := NewTrail(f)
	var syncs atomic.Int64
	inner := tr.sync
	tr.sync = func() error { syncs.Add(1); return inner() }
	p, err := ParsePolicy([]byte("version: 1\ndefault:\n  rpcs: [read, SetProfileContacts]\n  write_profiles: [INVOICES]\n"))
	if err != nil {
		b.Fatal(err)
	}
	g, err := NewGate(Config{Policy: NewHolder(p), Audit: tr})
	if err != nil {
		b.Fatal(err)
	}
	return g, tr, &syncs
}

// BenchmarkRefusedWrites: one caller making writes its grant refuses, as
// fast as it can: refusals per second and fsyncs per 1,000 refusals.
func BenchmarkRefusedWrites(b *testing.B) {
	g, _, syncs := benchGate(b)
	req := &contactsv1.ClearProfileContactsRequest{PropertyId: "1000001", Profile: contactsv1.ProfileType_PROFILE_TYPE_GENERAL}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := g.Admit(ctx, contactsv1.ContactsService_ClearProfileContacts_FullMethodName, req); err == nil {
			b.Fatal("admitted")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refusals/s")
	b.ReportMetric(float64(syncs.Load())*1000/float64(b.N), "fsyncs/1000")
}

// BenchmarkAllowedWritesParallel: allowed writes from concurrent callers,
// each End returning once its record is synced: writes per second and
// fsyncs per 1,000 writes.
func BenchmarkAllowedWritesParallel(b *testing.B) {
	g, _, syncs := benchGate(b)
	req := &contactsv1.SetProfileContactsRequest{PropertyId: "1000001", Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES}
	ctx := context.Background()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, err := g.Admit(ctx, contactsv1.ContactsService_SetProfileContacts_FullMethodName, req)
			if err != nil {
				b.Error(err)
				return
			}
			c.End(&contactsv1.SetProfileContactsResponse{}, nil)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	b.ReportMetric(float64(syncs.Load())*1000/float64(b.N), "fsyncs/1000")
}
