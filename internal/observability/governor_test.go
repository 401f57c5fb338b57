package observability

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/contacts-facade/contacts-facade/internal/governor"
)

// TestGovernorMetrics: what the governor reports lands in its metrics,
// per class, and they register beside the others.
func TestGovernorMetrics(t *testing.T) {
	m := newMetrics()
	g := newGovernorMetrics()
	if err := m.Register(g.collectors()...); err != nil {
		t.Fatal(err)
	}
	g.Admitted(governor.Interactive, 0)
	g.Admitted(governor.Bulk, 2*time.Second)
	g.Delayed(governor.Bulk, false)
	g.Delayed(governor.Bulk, true)
	g.Refused(governor.Write)
	g.Rate(200, 57)
	g.TooManyRequests()
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"admitted interactive", testutil.ToFloat64(g.admitted.WithLabelValues("interactive")), 1},
		{"admitted bulk", testutil.ToFloat64(g.admitted.WithLabelValues("bulk")), 1},
		{"delayed bulk", testutil.ToFloat64(g.delayed.WithLabelValues("bulk", "false")), 1},
		{"would delay bulk (shadow)", testutil.ToFloat64(g.delayed.WithLabelValues("bulk", "true")), 1},
		{"refused write", testutil.ToFloat64(g.refused.WithLabelValues("write")), 1},
		{"configured limit", testutil.ToFloat64(g.limit.WithLabelValues("configured")), 200},
		{"learned limit", testutil.ToFloat64(g.limit.WithLabelValues("learned")), 57},
		{"429s", testutil.ToFloat64(g.tooMany), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(g.waited); n != 2 {
		t.Errorf("%d wait histograms, want one per class seen (2)", n)
	}
}
