package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// floorProcessEnv set to "1" makes the bench's executable serve the floor
// as a process of its own (serveFloorProcess) instead of measuring: the
// memory table runs it so, beside contactsd, to show what the bare
// pass-through itself holds with the same calls in flight.
const floorProcessEnv = "CONTACTS_BENCH_FLOOR_PROCESS"

// serveFloorProcess serves the floor until SIGTERM or SIGINT. It takes
// the flags the memory table gives contactsd (-log-level is accepted and
// ignored: the floor logs nothing), calls the upstream through the
// transport contactsd's upstream client uses, and serves what the memory
// table reads of contactsd: gRPC health, and on -admin-listen a /metrics
// page with the three Go runtime samples it scrapes.
func serveFloorProcess(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("contacts-bench floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "gRPC listen address")
	adminListen := fs.String("admin-listen", "", "address of /metrics; empty: none")
	base := fs.String("upstream", "", "base URL of the emulator")
	authURL := fs.String("auth-url", "", "token exchange URL of the emulator")
	h2c := fs.Bool("upstream-h2c", false, "speak HTTP/2 without TLS to the upstream")
	fs.String("log-level", "", "ignored")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *authURL == "" {
		return errors.New("floor process: -upstream and -auth-url are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	hc := &http.Client{Transport: upstream.NewTransport(*h2c)}
	defer hc.CloseIdleConnections()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	token, err := exchange(tctx, hc, *authURL)
	cancel()
	if err != nil {
		return err
	}
	f, err := newFloorServer(hc, *base, token)
	if err != nil {
		return err
	}
	gs := grpc.NewServer()
	contactsv1.RegisterContactsServiceServer(gs, f)
	healthpb.RegisterHealthServer(gs, health.NewServer()) // "" is SERVING
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return err
	}
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	if *adminListen != "" {
		alis, err := lc.Listen(ctx, "tcp", *adminListen)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /metrics", runtimeSamples)
		as := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = as.Serve(alis) }()
		defer as.Close()
	}
	<-ctx.Done()
	return nil
}

// runtimeSamples writes, in the Prometheus text format, the Go runtime
// samples the memory table scrapes from contactsd's /metrics, with the
// same meaning as client_golang's Go collector gives them.
func runtimeSamples(w http.ResponseWriter, _ *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "go_goroutines %d\ngo_memstats_stack_inuse_bytes %d\ngo_memstats_heap_inuse_bytes %d\n",
		runtime.NumGoroutine(), ms.StackInuse, ms.HeapInuse)
}
