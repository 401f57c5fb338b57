package observability

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestBulkMetrics: items and ended operations land in their counters,
// labels outside their fixed sets become "other", and a nil BulkMetrics
// counts nothing without failing.
func TestBulkMetrics(t *testing.T) {
	m := newMetrics()
	b := newBulkMetrics()
	if err := m.Register(b.collectors()...); err != nil {
		t.Fatal(err)
	}
	b.BulkItem("BulkEditProfile", "changed")
	b.BulkItem("BulkEditProfile", "changed")
	b.BulkItem("RevertBulkEdit", "failed")
	b.BulkItem("ListContacts", "sideways")
	b.BulkOperationEnded("ApplyContactsTemplate", "cancelled")
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"changed", testutil.ToFloat64(b.items.WithLabelValues("BulkEditProfile", "changed")), 2},
		{"failed revert", testutil.ToFloat64(b.items.WithLabelValues("RevertBulkEdit", "failed")), 1},
		{"unknown values", testutil.ToFloat64(b.items.WithLabelValues("other", "other")), 1},
		{"cancelled", testutil.ToFloat64(b.ended.WithLabelValues("ApplyContactsTemplate", "cancelled")), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	var none *BulkMetrics
	none.BulkItem("BulkEditProfile", "changed")
	none.BulkOperationEnded("BulkEditProfile", "done")
}
