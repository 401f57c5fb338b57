package fleet_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/redisstore/redistest"
)

// TestRedisLatency measures (and logs; it asserts nothing about time) what
// a write pays for Redis: the p50 of 200 sequential SetProfileContacts,
// each with a request_id of its own, through a replica whose write lock
// and request records are in process and through one whose are in a real
// redis-server on loopback. The calls alternate between the two, so that
// both see the same machine load.
func TestRedisLatency(t *testing.T) {
	srv := redistest.Start(t)
	clk := &clock{}
	e := startEmulator(t, clk)
	cfg := fleetConfig{redisURL: srv.URL(), emu: e, clk: clk}
	onRedis := newReplica(t, 0, cfg)
	cfg.inProcess = true
	inProcess := newReplica(t, 1, cfg)

	const n = 200
	write := func(r *replica, id string, i int) time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		_, err := r.client.SetProfileContacts(ctx, &contactsv1.SetProfileContactsRequest{PropertyId: id,
			Profile: contactsv1.ProfileType_PROFILE_TYPE_INVOICES, Contacts: []*contactsv1.Contact{named(fmt.Sprintf("latency%d", i))},
			RequestId: fmt.Sprintf("7d3c2b1a-0f9e-4d8c-b7a6-%012d", i+1+1_000_000*r.id)})
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		return time.Since(start)
	}
	localID := strconv.Itoa(emulator.FirstExtraProperty)
	redisID := strconv.Itoa(emulator.FirstExtraProperty + 1)
	write(inProcess, localID, -1) // the token, the connections
	write(onRedis, redisID, -1)
	var local, shared []time.Duration
	for i := range n {
		local = append(local, write(inProcess, localID, i))
		shared = append(shared, write(onRedis, redisID, i))
	}
	p50 := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	pl, pr := p50(local), p50(shared)
	t.Logf("SetProfileContacts p50 of %d sequential calls: in-process lock and records %v, Redis %v: Redis adds %v a call",
		n, pl.Round(time.Microsecond), pr.Round(time.Microsecond), (pr - pl).Round(time.Microsecond))
}
