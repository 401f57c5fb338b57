package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/redisstore"
	"github.com/contacts-facade/contacts-facade/service"
)

// redisCost is the Redis table, or why it was skipped.
type redisCost struct {
	rows    []costRow
	skipped string
}

// runRedis starts cfg.redisServer on a free loopback port and measures one
// caller's ListContacts and SetProfileContacts through a facade with the
// in-process write lock and idempotency store, and through one with
// internal/redisstore's. Without a redis-server the table is skipped.
func runRedis(ctx context.Context, cfg config, progress *bufio.Writer) (*redisCost, error) {
	bin := ""
	if cfg.redisServer != "none" {
		bin, _ = exec.LookPath(cfg.redisServer)
	}
	if bin == "" {
		return &redisCost{skipped: fmt.Sprintf("Redis table skipped: no redis-server (-redis-server %q); install Debian's redis-server package or name the binary.", cfg.redisServer)}, nil
	}
	var cl closers
	defer cl.close()
	addr, err := startRedis(ctx, &cl, bin)
	if err != nil {
		return nil, err
	}
	store, err := redisstore.Open(redisstore.Config{URL: "redis://" + addr, Account: emulator.DemoClientID, Secret: emulator.DemoClientSecret})
	if err != nil {
		return nil, err
	}
	cl.add(func() { _ = store.Close() })
	if err := store.Ping(ctx); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	up, err := startUpstream(ctx, &cl, emulator.Options{}, 1)
	if err != nil {
		return nil, err
	}
	local, _, err := startFacade(ctx, &cl, up, cfg.logLevel, nil)
	if err != nil {
		return nil, err
	}
	shared, _, err := startFacadeWith(ctx, &cl, up, cfg.logLevel, facadeOptions{
		service: service.Options{Locks: store.WriteLocks(0), Requests: store.Requests(0, 0)}})
	if err != nil {
		return nil, err
	}
	writes := &profileWrites{property: property}
	w := workload{props: []string{property}}
	calls := []struct {
		label         string
		local, shared func(context.Context) error
	}{
		{"ListContacts",
			func(ctx context.Context) error { return facadeRead(local)(ctx, w) },
			func(ctx context.Context) error { return facadeRead(shared)(ctx, w) }},
		{"SetProfileContacts (write lock)", setProfileCall(local, writes, false), setProfileCall(shared, writes, false)},
		{"SetProfileContacts with request_id (write lock, idempotency record)", setProfileCall(local, writes, true), setProfileCall(shared, writes, true)},
	}
	rc := &redisCost{}
	for _, c := range calls {
		res, err := measure(ctx, cfg.costWarmup, cfg.costDuration, 0, cfg.rounds, 1, counters{}, []func(context.Context) error{c.local, c.shared})
		if err != nil {
			return nil, fmt.Errorf("redis, %s: %w", c.label, err)
		}
		fmt.Fprintf(progress, "%-68s p50 in process %6.0fµs, Redis %6.0fµs\n", c.label, micros(res[0].p50), micros(res[1].p50))
		progress.Flush()
		rc.rows = append(rc.rows,
			costRow{call: c.label, callers: 1, path: "in-process lock and idempotency store", res: res[0]},
			costRow{call: c.label, callers: 1, path: "internal/redisstore (redis-server on loopback)", res: res[1]})
	}
	return rc, nil
}

// startRedis runs bin on a free loopback port without persistence until
// the closers run, and returns its address once it answers PING.
func startRedis(ctx context.Context, cl *closers, bin string) (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "contacts-bench-redis-")
	if err != nil {
		return "", err
	}
	cl.add(func() { _ = os.RemoveAll(dir) })
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	cl.add(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// redis-server says when it accepts connections.
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			if !said && strings.Contains(strings.ToLower(sc.Text()), "ready to accept connections") {
				ready <- true
				said = true
			}
		}
		if !said {
			ready <- false // exited, or wrote no such line
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		return "", errors.New("redis-server did not start within 10s")
	case <-ctx.Done():
		return "", ctx.Err()
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		return "", fmt.Errorf("redis-server on %s does not answer: %w", addr, err)
	}
	return addr, nil
}

func writeRedis(bw *bufio.Writer, cfg config, r *redisCost) {
	if r.skipped != "" {
		fmt.Fprintln(bw, r.skipped)
		fmt.Fprintln(bw)
		return
	}
	fmt.Fprintf(bw, "Redis table. One caller; the same emulator behind a facade with the in-process write lock and idempotency store, and behind one with internal/redisstore's (a redis-server started by the bench on loopback, no persistence). %s warm-up, then %s per variant in %d alternating rounds.\n\n", cfg.costWarmup, cfg.costDuration, cfg.rounds)
	writeCost(bw, r.rows)
	fmt.Fprintln(bw, "- ListContacts touches neither store (no Redis round trip: the control row). SetProfileContacts takes and releases the property's lease; with a request_id it also claims and seals an idempotency record.")
	fmt.Fprintln(bw)
}
