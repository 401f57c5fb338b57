package governor_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/governor"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
)

// BenchmarkInteractiveP99 measures the latency of Interactive Waits on one
// replica, paced at 500 a second (within their reserved share), with no
// other load and while four goroutines saturate the governor with Bulk
// Waits; it reports p50 and p99 of each (the target: p99 with the
// bulk load ≤ 1.25 × without). Run:
//
//	go test ./internal/governor -run '^$' -bench InteractiveP99 -benchtime 2000x
func BenchmarkInteractiveP99(b *testing.B) {
	for _, store := range []string{"redis", "local"} {
		for _, load := range []string{"idle", "bulk"} {
			b.Run(store+"/"+load, func(b *testing.B) {
				cfg := governor.Config{PerMinute: 2000 * 60, Window: time.Second}
				if store == "redis" {
					srv := redistest.Start(b)
					s, err := redisstore.Open(redisstore.Config{URL: srv.URL(), Account: "bench", Secret: "s"})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = s.Close() })
					cfg.Store = s
				}
				g, err := governor.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				ctx, stop := context.WithCancel(b.Context())
				var wg sync.WaitGroup
				var bulk atomic.Int64
				if load == "bulk" {
					// Start measuring once the bulk load filled its 60% of
					// the window (1,200 of 2,000 a second) and then got a
					// slot as the window moved on: its steady state.
					saturated := make(chan struct{})
					var once sync.Once
					for range 4 {
						wg.Go(func() {
							for g.Wait(ctx, governor.Bulk) == nil {
								if bulk.Add(1) == 1201 {
									once.Do(func() { close(saturated) })
								}
							}
						})
					}
					<-saturated
				}
				lat := make([]time.Duration, 0, b.N)
				bulk.Store(0)
				began := time.Now()
				tick := time.NewTicker(2 * time.Millisecond)
				b.ResetTimer()
				for range b.N {
					<-tick.C
					start := time.Now()
					if err := g.Wait(b.Context(), governor.Interactive); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
				}
				b.StopTimer()
				// With the bulk load: its calls per second, 60% of the limit
				// (1,200) when it saturates the governor.
				b.ReportMetric(float64(bulk.Load())/time.Since(began).Seconds(), "bulk/s")
				tick.Stop()
				stop()
				wg.Wait()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			})
		}
	}
}
