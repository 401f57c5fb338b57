// The admin listener: contactsd's admin HTTP listener: Prometheus metrics,
// liveness and readiness for platforms that probe over HTTP, and, only when
// asked for, the pprof profiles. It serves no contact data; bind it to
// loopback or a port that only the platform reaches.

package observability

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminConfig is what adminHandler needs.
type adminConfig struct {
	// Gatherer is served at /metrics; nil serves no /metrics.
	Gatherer prometheus.Gatherer
	// Ready reports whether the gRPC server is SERVING (its health
	// status); /readyz answers 200 when it is and 503 otherwise. Nil means
	// always ready.
	Ready func() bool
	// Pprof serves /debug/pprof/. Profiles show code paths and may hold
	// values in flight, so it is off unless asked for.
	Pprof bool
}

// adminHandler routes the admin endpoints:
//
//	/metrics        Prometheus text or OpenMetrics (with exemplars)
//	/healthz        200 while the process serves HTTP at all
//	/readyz         200 when Ready, else 503
//	/debug/pprof/   only with Pprof
func adminHandler(cfg adminConfig) http.Handler {
	mux := http.NewServeMux()
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
			EnableOpenMetrics: true,
			// A failing collector leaves out its metrics, not the others.
			ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if cfg.Ready != nil && !cfg.Ready() {
			writeText(w, http.StatusServiceUnavailable, "not serving")
			return
		}
		writeText(w, http.StatusOK, "serving")
	})
	if cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}

// adminServer is the admin listener.
type adminServer struct {
	http *http.Server
	lis  net.Listener
}

// listenAdmin binds addr and returns an adminServer that serves h once Serve is
// called.
func listenAdmin(ctx context.Context, addr string, h http.Handler) (*adminServer, error) {
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &adminServer{
		lis: lis,
		http: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			// /debug/pprof/profile and /trace write for ?seconds (30 by
			// default); leave them room.
			WriteTimeout:   2 * time.Minute,
			IdleTimeout:    time.Minute,
			MaxHeaderBytes: 16 << 10,
		},
	}, nil
}

// Addr is the bound address.
func (s *adminServer) Addr() net.Addr { return s.lis.Addr() }

// Serve serves until Shutdown; it returns nil after Shutdown.
func (s *adminServer) Serve() error {
	if err := s.http.Serve(s.lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits for requests in flight until ctx
// ends, then closes them.
func (s *adminServer) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close()
	}
	return err
}
