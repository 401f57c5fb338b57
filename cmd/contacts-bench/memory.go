package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// contactsdPackage is what the memory table builds when -contactsd is not
// given: the bench belongs to the same module.
const contactsdPackage = "github.com/contacts-facade/contacts-facade/cmd/contactsd"

// memVariant is one way of running contactsd for the memory table.
type memVariant struct {
	name  string
	floor bool     // the floor (the bench's own executable) instead of contactsd
	props int      // properties the callers read at random; 0: each call in flight its own
	flags []string // contactsd flags beyond the wiring to the emulator
	env   []string // runtime settings (GOMEMLIMIT=...)
}

func memVariants() []memVariant {
	h2c := []string{"-upstream-h2c"}
	return []memVariant{
		{name: "HTTP/1.1 to the upstream (default)"},
		{name: "-upstream-h2c", flags: h2c},
		{name: "-upstream-h2c, GOMEMLIMIT=40MiB", flags: h2c, env: []string{"GOMEMLIMIT=40MiB"}},
		{name: "-upstream-h2c, -no-read-coalescing", flags: append(h2c, "-no-read-coalescing")},
		{name: "-upstream-h2c, callers at random", props: -1, flags: h2c},
		{name: "-upstream-h2c, 4 properties (coalesced)", props: 4, flags: h2c},
		{name: "floor: HTTP/1.1", floor: true},
		{name: "floor: -upstream-h2c", floor: true, flags: h2c},
	}
}

// memRow is what one variant cost.
type memRow struct {
	variant    memVariant
	callers    int
	props      int // 0: distinct
	calls      int
	p50        time.Duration
	idle, peak int64 // VmRSS before the load, VmHWM after it
	anon, file int64 // the largest RssAnon and RssFile sampled
	goroutines int64 // the largest of each sampled from /metrics
	stacks     int64
	heap       int64
}

// runMemory starts contactsd as a process of its own for each variant,
// against an emulator in this process that answers after cfg.slowLatency,
// holds cfg.inflight calls in flight through it for cfg.memDuration and
// reads its resident set (/proc/PID/status) and Go runtime metrics
// (its /metrics) meanwhile.
func runMemory(ctx context.Context, cfg config, progress *bufio.Writer) ([]memRow, error) {
	bin := cfg.contactsd
	if bin == "" {
		dir, err := os.MkdirTemp("", "contacts-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if bin, err = buildContactsd(ctx, dir); err != nil {
			return nil, err
		}
	}
	var cl closers
	defer cl.close()
	up, err := startUpstream(ctx, &cl, emulator.Options{Latency: cfg.slowLatency, ExtraProperties: cfg.inflight}, 1)
	if err != nil {
		return nil, err
	}
	ids := extraIDs(cfg.inflight)
	var rows []memRow
	for _, v := range memVariants() {
		if len(cfg.memVariants) > 0 && !containsFold(cfg.memVariants, v.name) {
			continue
		}
		r, err := measureMemory(ctx, cfg, bin, up, ids, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
		fmt.Fprintf(progress, "memory %-42s peak %6.1f MiB, %d calls\n", v.name, mib(r.peak), r.calls)
		progress.Flush()
		rows = append(rows, r)
	}
	return rows, nil
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if strings.Contains(strings.ToLower(s), strings.ToLower(l)) {
			return true
		}
	}
	return false
}

// buildContactsd builds contactsd into dir with the go command that built
// this bench, from the module the bench runs in.
func buildContactsd(ctx context.Context, dir string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "contactsd")
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", bin, contactsdPackage)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build contactsd (run inside the module, or give -contactsd): %w\n%s", err, out.Bytes())
	}
	return bin, nil
}

func measureMemory(ctx context.Context, cfg config, bin string, up *upstreamSide, ids []string, v memVariant) (memRow, error) {
	r := memRow{variant: v, callers: cfg.inflight}
	grpcAddr, err := freeAddr()
	if err != nil {
		return r, err
	}
	adminAddr, err := freeAddr()
	if err != nil {
		return r, err
	}
	args := append([]string{
		"-upstream", up.base, "-auth-url", up.exchangeURL,
		"-listen", grpcAddr, "-admin-listen", adminAddr, "-log-level", "error",
	}, v.flags...)
	// Only what the run needs: no GOGC, GODEBUG or CONTACTS_* of the
	// bench's own environment changes the figures.
	env := []string{
		"CONTACTS_API_CLIENT_ID=" + emulator.DemoClientID,
		"CONTACTS_API_CLIENT_SECRET=" + emulator.DemoClientSecret,
	}
	if v.floor {
		if bin, err = os.Executable(); err != nil {
			return r, err
		}
		env = append(env, floorProcessEnv+"=1")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(env, v.env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return r, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	pid := cmd.Process.Pid

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return r, err
	}
	defer conn.Close()
	if err := awaitServing(ctx, conn, exited); err != nil {
		return r, fmt.Errorf("%w\n%s", err, logs.Bytes())
	}
	c := contactsv1.NewContactsServiceClient(conn)
	call := memCall(c, ids, v.props, !v.floor)
	if err := call(ctx); err != nil { // the token exchange, the first connection
		return r, err
	}
	r.idle = procStatus(pid)["VmRSS"]
	r.props = v.props
	if v.props < 0 {
		r.props = len(ids)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { r.sample(ctx, pid, "http://"+adminAddr+"/metrics", stop) })
	s, err := runLoad(ctx, cfg.inflight, cfg.memDuration, 0, call)
	close(stop)
	wg.Wait()
	if err != nil {
		return r, err
	}
	r.peak = procStatus(pid)["VmHWM"]
	res := summarize([]sample{s})
	r.calls, r.p50 = res.calls, res.p50
	return r, nil
}

// memCall reads a property: with props 0, one that no other call in flight
// reads (each call takes an id from a pool as large as the callers);
// otherwise one at random from the first props ids (all ids when -1). The
// answer must hold contacts when wantContacts (the floor's is empty).
func memCall(c contactsv1.ContactsServiceClient, ids []string, props int, wantContacts bool) func(context.Context) error {
	read := readProperty
	if !wantContacts {
		read = func(ctx context.Context, c contactsv1.ContactsServiceClient, id string) error {
			_, err := c.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: id})
			return err
		}
	}
	if props != 0 {
		if props > 0 {
			ids = ids[:min(props, len(ids))]
		}
		w := workload{props: ids}
		return func(ctx context.Context) error { return read(ctx, c, w.pick()) }
	}
	pool := make(chan string, len(ids))
	for _, id := range ids {
		pool <- id
	}
	return func(ctx context.Context) error {
		id := <-pool
		defer func() { pool <- id }()
		return read(ctx, c, id)
	}
}

// sample keeps the largest resident set parts and runtime metrics of pid
// until stop is closed.
func (r *memRow) sample(ctx context.Context, pid int, metricsURL string, stop <-chan struct{}) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	// Uncompressed, as the floor's page is: a gzip writer that
	// client_golang pools between scrapes would otherwise hold ~1 MiB of
	// contactsd's heap that no call in flight needs.
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableCompression: true}}
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := procStatus(pid)
		r.anon, r.file = max(r.anon, st["RssAnon"]), max(r.file, st["RssFile"])
		if n%5 != 0 {
			continue
		}
		m := scrape(ctx, hc, metricsURL, "go_goroutines", "go_memstats_stack_inuse_bytes", "go_memstats_heap_inuse_bytes")
		r.goroutines = max(r.goroutines, m["go_goroutines"])
		r.stacks = max(r.stacks, m["go_memstats_stack_inuse_bytes"])
		r.heap = max(r.heap, m["go_memstats_heap_inuse_bytes"])
	}
}

// awaitServing waits until the server's health says SERVING, the process
// exits or 30 s pass.
func awaitServing(ctx context.Context, conn *grpc.ClientConn, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h := healthpb.NewHealthClient(conn)
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		resp, err := h.Check(cctx, &healthpb.HealthCheckRequest{})
		ccancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("contactsd exited: %v", err)
		case <-ctx.Done():
			return errors.New("contactsd did not start serving in 30s")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// procStatus reads the kB lines of /proc/pid/status, in bytes.
func procStatus(pid int) map[string]int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	m := make(map[string]int64)
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		f := strings.Fields(v)
		if !ok || len(f) != 2 || f[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			m[k] = n << 10
		}
	}
	return m
}

// scrape reads the named unlabelled samples of a Prometheus text page.
func scrape(ctx context.Context, hc *http.Client, url string, names ...string) map[string]int64 {
	m := make(map[string]int64)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return m
	}
	resp, err := hc.Do(req)
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return m
	}
	for line := range strings.Lines(string(b)) {
		name, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		for _, n := range names {
			if name == n {
				if f, err := strconv.ParseFloat(val, 64); err == nil {
					m[n] = int64(f)
				}
			}
		}
	}
	return m
}
