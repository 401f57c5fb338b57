package observability

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/contacts-facade/contacts-facade/internal/governor"
)

// governorMetrics are the upstream governor's metrics: what it admitted,
// delayed and refused per class, how long calls waited, the configured
// and learned limit, and the 429s seen.
type governorMetrics struct {
	admitted, delayed, refused *prometheus.CounterVec
	waited                     *prometheus.HistogramVec
	limit                      *prometheus.GaugeVec
	tooMany                    prometheus.Counter
}

func newGovernorMetrics() *governorMetrics {
	return &governorMetrics{
		admitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "governor_admitted_total",
			Help: "Upstream calls the governor admitted (in shadow mode: let through), by class.",
		}, []string{"class"}),
		delayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "governor_delayed_total",
			Help: "Upstream calls that had to wait for a slot (shadow=\"true\": would have had to), by class.",
		}, []string{"class", "shadow"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "governor_refused_total",
			Help: "Calls refused UPSTREAM_RATE_LIMITED: no slot before their deadline, by class.",
		}, []string{"class"}),
		waited: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "governor_wait_seconds",
			Help:    "How long admitted upstream calls waited for a slot, by class.",
			Buckets: []float64{0, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60},
		}, []string{"class"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "governor_limit_per_minute",
			Help: "The fleet's limit of upstream calls per minute: configured, and learned from 429s.",
		}, []string{"kind"}),
		tooMany: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "governor_upstream_429_total",
			Help: "429 answers of the upstream that the governor was told of.",
		}),
	}
}

func (g *governorMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{g.admitted, g.delayed, g.refused, g.waited, g.limit, g.tooMany}
}

func (g *governorMetrics) Admitted(c governor.Class, waited time.Duration) {
	g.admitted.WithLabelValues(c.String()).Inc()
	g.waited.WithLabelValues(c.String()).Observe(waited.Seconds())
}

func (g *governorMetrics) Delayed(c governor.Class, shadow bool) {
	s := "false"
	if shadow {
		s = "true"
	}
	g.delayed.WithLabelValues(c.String(), s).Inc()
}

func (g *governorMetrics) Refused(c governor.Class) { g.refused.WithLabelValues(c.String()).Inc() }

func (g *governorMetrics) Rate(configured, learned float64) {
	g.limit.WithLabelValues("configured").Set(configured)
	g.limit.WithLabelValues("learned").Set(learned)
}

func (g *governorMetrics) TooManyRequests() { g.tooMany.Inc() }

// GovernorMetrics is what the upstream governor tells the metrics (nil
// without an admin listener: nothing is collected).
func (o *Observability) GovernorMetrics() governor.Metrics {
	if o.metrics == nil {
		return nil
	}
	gm := newGovernorMetrics()
	if err := o.metrics.Register(gm.collectors()...); err != nil {
		o.log.Error("governor metrics not registered", "error", err.Error())
		return nil
	}
	return gm
}
