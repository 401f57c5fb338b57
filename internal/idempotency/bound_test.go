package idempotency_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/idempotency"
)

// TestMaxBytesBoundsTheHeap is the issue 27 weak spot "84 MiB live heap
// against a 64 MiB bound": filled far past its bound with small outcomes
// (where the per-entry overhead dominates), the store's live heap stays
// within MaxBytes, plus modest slack for what the accounting rounds.
func TestMaxBytesBoundsTheHeap(t *testing.T) {
	const maxBytes = 1 << 20
	for _, tc := range []struct {
		name     string
		response int // bytes of each outcome
	}{
		{"tiny outcomes", 16},
		{"small outcomes", 200},
		{"large outcomes", 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			m := idempotency.NewMemory(idempotency.MemoryConfig{MaxEntries: 1 << 30, MaxBytes: maxBytes})
			ctx := context.Background()
			// Enough entries for 8 times the bound even at 250 bytes each.
			n := 8 * maxBytes / (250 + tc.response)
			for i := range n {
				key := fmt.Sprintf("request-%08d", i)
				fp := sha256.Sum256([]byte(key))
				r, err := m.Begin(ctx, key, fp[:])
				if err != nil {
					t.Fatal(err)
				}
				r.Finish(idempotency.Outcome{Response: make([]byte, tc.response)}, true)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			runtime.KeepAlive(m)
			const limit = maxBytes + maxBytes/10 + 64<<10
			t.Logf("%d entries remembered of %d, live heap %d bytes (bound %d)", m.Len(), n, live, maxBytes)
			if live > limit {
				t.Fatalf("live heap %d bytes for a %d-byte bound (limit with slack %d)", live, maxBytes, limit)
			}
		})
	}
}
