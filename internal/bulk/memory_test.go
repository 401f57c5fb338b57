package bulk_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/bulk"
	"github.com/contacts-facade/contacts-facade/internal/bulk/bulktest"
)

func TestMemory(t *testing.T) {
	bulktest.Run(t, func(t *testing.T, retention time.Duration, now func() time.Time) bulktest.Backend {
		m := bulk.NewMemory(retention, now)
		return bulktest.Backend{Store: m, Peer: m}
	})
}

// TestMemoryBoundsEndedOperations: past MaxEndedOperations ended
// operations, each new one drops the one that ended first; running ones
// are never dropped.
func TestMemoryBoundsEndedOperations(t *testing.T) {
	ctx := t.Context()
	now := time.Unix(0, 0)
	m := bulk.NewMemory(0, func() time.Time { return now })
	running := bulk.Header{Name: "operations/running", Owner: "a", Created: now}
	if err := m.Create(ctx, running); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Take(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range bulk.MaxEndedOperations + 2 {
		name := fmt.Sprintf("operations/%d", i)
		if err := m.Create(ctx, bulk.Header{Name: name, Owner: "a", Created: now}); err != nil {
			t.Fatal(err)
		}
		l, err := m.Take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
		if err := l.Finish(ctx, bulk.Header{Name: name, Updated: now, Ended: now}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		kept bool
	}{{"operations/running", true}, {"operations/0", false}, {"operations/1", false}, {"operations/2", true}, {fmt.Sprintf("operations/%d", bulk.MaxEndedOperations+1), true}} {
		if _, err := m.Get(ctx, tc.name); (err == nil) != tc.kept {
			t.Errorf("%s: %v, want kept %v", tc.name, err, tc.kept)
		}
	}
}
