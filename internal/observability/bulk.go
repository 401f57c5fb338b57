package observability

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// The values the bulk metrics' labels take; anything else is "other", so
// that a label's values stay a fixed set.
var (
	bulkRPCs     = []string{"BulkEditProfile", "ApplyContactsTemplate", "RevertBulkEdit"}
	bulkOutcomes = []string{"changed", "unchanged", "failed"}
	bulkResults  = []string{"done", "cancelled", "failed"}
)

// BulkMetrics are the metrics of bulk operations: their items by outcome,
// and the operations that ended, by how. A nil *BulkMetrics counts
// nothing. It implements service.BulkMetrics.
type BulkMetrics struct {
	items, ended *prometheus.CounterVec
}

func newBulkMetrics() *BulkMetrics {
	return &BulkMetrics{
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "bulk_items_total",
			Help: "Items of bulk operations that ended (a dry run's included), by the RPC that started the operation and outcome: changed, unchanged, failed.",
		}, []string{"rpc", "outcome"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "bulk_operations_ended_total",
			Help: "Bulk operations that ended, by the RPC that started them and result: done, cancelled, failed (every item failed).",
		}, []string{"rpc", "result"}),
	}
}

func (b *BulkMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{b.items, b.ended}
}

// BulkItem counts an item of an operation of rpc that ended with outcome.
func (b *BulkMetrics) BulkItem(rpc, outcome string) {
	if b != nil {
		b.items.WithLabelValues(known(rpc, bulkRPCs), known(outcome, bulkOutcomes)).Inc()
	}
}

// BulkOperationEnded counts an operation of rpc that ended with result.
func (b *BulkMetrics) BulkOperationEnded(rpc, result string) {
	if b != nil {
		b.ended.WithLabelValues(known(rpc, bulkRPCs), known(result, bulkResults)).Inc()
	}
}

// known is v when it is one of values, else "other".
func known(v string, values []string) string {
	if slices.Contains(values, v) {
		return v
	}
	return "other"
}

// BulkMetrics is what the bulk operations tell the metrics (nil without
// an admin listener: nothing is collected).
func (o *Observability) BulkMetrics() *BulkMetrics {
	if o.metrics == nil {
		return nil
	}
	bm := newBulkMetrics()
	if err := o.metrics.Register(bm.collectors()...); err != nil {
		o.log.Error("bulk metrics not registered", "error", err.Error())
		return nil
	}
	return bm
}
