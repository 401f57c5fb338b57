package redisstore

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/contacts-facade/contacts-facade/internal/bulk"
)

// Defaults of Operations.
const (
	// DefaultLeaseTime is how long an operation's queue entry may go
	// unrenewed before another replica takes it over.
	DefaultLeaseTime = 30 * time.Second
	// takeBlock bounds one blocking read of the queue, so that Take sees
	// its context end (go-redis does not interrupt a blocked read) and
	// looks for lapsed leases at least this often.
	takeBlock = time.Second
	// opsGroup is the queue's consumer group: every replica's runners.
	opsGroup = "runners"
)

// OperationsConfig configures Operations.
type OperationsConfig struct {
	// Retention is how long an operation is kept after it ended, and the
	// least a running one is kept after its last progress (default
	// bulk.DefaultRetention).
	Retention time.Duration
	// LeaseTime is the idle time after which another replica takes an
	// operation over (default DefaultLeaseTime). Runners renew well
	// within it.
	LeaseTime time.Duration
	// Consumer names this process in the queue's consumer group; it must
	// be unique per process (default random). Redis keeps a consumer's
	// name in the group after its process ends (it holds nothing once
	// its entries were taken over): a stable name per replica keeps the
	// group from growing with every restart.
	Consumer string
}

// Operations is the fleet's bulk.Store: operations live in Redis, and a
// Redis Stream per account queues them for the replicas' runners.
//
// The queue's consumer group is the lease: a runner holds an operation
// while the operation's entry is pending under its consumer name, and
// renews it by resetting the entry's idle time. An entry idle for longer
// than LeaseTime (its replica died) is claimed by another replica's Take
// (XAUTOCLAIM). Every write of a lease runs in one script that first
// checks that the entry is still pending under this consumer, so a runner
// whose operation was taken over cannot write.
//
// Keys (under the account's prefix): bulk:queue (the stream), and per
// operation bulk:op:{name} (the header, sealed JSON), bulk:op:{name}:items
// (index → sealed item), bulk:op:{name}:undo (index → sealed Undo: read
// only by Undo, so that following an operation does not read what a
// revert needs), bulk:op:{name}:cancel, and while it is queued or
// runs bulk:op:{name}:entry (the id of its queue entry, which fences its
// leases: a lease of an entry that is no longer the operation's, because
// the operation was deleted or released, is lost); per owner
// bulk:owner:{HMAC of owner} (a sorted set of names by creation). Every
// operation key carries a TTL: Retention from its last progress while it
// runs, Retention from its end once ended.
type Operations struct {
	s         *Store
	retention time.Duration
	leaseTime time.Duration
	consumer  string
}

var (
	_ bulk.Store      = (*Operations)(nil)
	_ bulk.LeaseTimer = (*Operations)(nil)
)

// errOpExists: Create was given a name in use.
var errOpExists = errors.New("redisstore: an operation with that name exists")

// Operations returns the account's bulk operations.
func (s *Store) Operations(cfg OperationsConfig) *Operations {
	return &Operations{
		s:         s,
		retention: cmp.Or(cfg.Retention, bulk.DefaultRetention),
		leaseTime: cmp.Or(cfg.LeaseTime, DefaultLeaseTime),
		consumer:  cmp.Or(cfg.Consumer, "runner-"+randomToken()),
	}
}

// LeaseTime implements bulk.LeaseTimer: runners renew well within it.
func (o *Operations) LeaseTime() time.Duration { return o.leaseTime }

func (o *Operations) queueKey() string             { return o.s.key("bulk", "queue") }
func (o *Operations) headerKey(name string) string { return o.s.key("bulk", "op", name) }
func (o *Operations) itemsKey(name string) string  { return o.headerKey(name) + ":items" }
func (o *Operations) undoKey(name string) string   { return o.headerKey(name) + ":undo" }
func (o *Operations) cancelKey(name string) string { return o.headerKey(name) + ":cancel" }
func (o *Operations) entryKey(name string) string  { return o.headerKey(name) + ":entry" }

// ownerKey names owner's index by an HMAC of the owner, as Shares names a
// caller's key: no identity in a key name.
func (o *Operations) ownerKey(owner string) string {
	m := hmac.New(sha256.New, o.s.callers)
	m.Write([]byte(owner))
	return o.s.key("bulk", "owner", hex.EncodeToString(m.Sum(nil)))
}

// itemName is what an item's seal is bound to: its hash and index, so a
// sealed item moved to another index or operation does not open.
func (o *Operations) itemName(name string, index string) string {
	return o.itemsKey(name) + ":" + index
}

// undoName is what an item's sealed Undo is bound to.
func (o *Operations) undoName(name string, index string) string {
	return o.undoKey(name) + ":" + index
}

// sealedItem is an Item as stored (sealed).
type sealedItem struct {
	Final bool   `json:"final,omitempty"`
	Data  []byte `json:"data,omitempty"`
}

func (o *Operations) sealHeader(h bulk.Header) ([]byte, error) {
	plain, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	return o.s.seal.seal(o.headerKey(h.Name), plain), nil
}

// openHeader reads a stored header; one that does not open (another
// secret) counts as absent.
func (o *Operations) openHeader(name string, raw []byte) (bulk.Header, error) {
	plain, err := o.s.seal.open(o.headerKey(name), raw)
	if err != nil {
		return bulk.Header{}, bulk.ErrNotFound
	}
	var h bulk.Header
	if err := json.Unmarshal(plain, &h); err != nil {
		return bulk.Header{}, fmt.Errorf("redisstore: operation header: %w", err)
	}
	return h, nil
}

// createScript stores a new header (unless the name is in use), indexes
// it under its owner and queues it, as one change.
// KEYS: header, owner index, queue, entry. ARGV: sealed header,
// retention ms, created ms, name.
var createScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local id = redis.call('XADD', KEYS[3], '*', 'op', ARGV[4])
redis.call('SET', KEYS[4], id, 'PX', ARGV[2])
return 1
`)

// Create implements bulk.Store.
func (o *Operations) Create(ctx context.Context, h bulk.Header) error {
	h.CancelRequested = false
	sealed, err := o.sealHeader(h)
	if err != nil {
		return err
	}
	n, err := createScript.Run(ctx, o.s.rdb,
		[]string{o.headerKey(h.Name), o.ownerKey(h.Owner), o.queueKey(), o.entryKey(h.Name)},
		sealed, o.retention.Milliseconds(), h.Created.UnixMilli(), h.Name).Int64()
	if err != nil {
		return err
	}
	if n == 0 {
		return errOpExists
	}
	return nil
}

// Get implements bulk.Store.
func (o *Operations) Get(ctx context.Context, name string) (bulk.Header, error) {
	hs, err := o.headers(ctx, []string{name})
	if err != nil {
		return bulk.Header{}, err
	}
	if hs[0] == nil {
		return bulk.Header{}, bulk.ErrNotFound
	}
	return *hs[0], nil
}

// headers reads the headers of names in one round trip, with their
// cancel flags; nil for one that is gone.
func (o *Operations) headers(ctx context.Context, names []string) ([]*bulk.Header, error) {
	hdr := make([]*redis.StringCmd, len(names))
	cancelled := make([]*redis.IntCmd, len(names))
	_, err := o.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			hdr[i] = p.Get(ctx, o.headerKey(n))
			cancelled[i] = p.Exists(ctx, o.cancelKey(n))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]*bulk.Header, len(names))
	for i, n := range names {
		raw, err := hdr[i].Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		} else if err != nil {
			return nil, err
		}
		h, err := o.openHeader(n, raw)
		if errors.Is(err, bulk.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		h.CancelRequested = cancelled[i].Val() > 0
		out[i] = &h
	}
	return out, nil
}

// List implements bulk.Store. Names whose operation expired or was
// deleted are dropped from the owner's index on the way.
func (o *Operations) List(ctx context.Context, owner string) ([]bulk.Header, error) {
	key := o.ownerKey(owner)
	names, err := o.s.rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil || len(names) == 0 {
		return nil, err
	}
	hs, err := o.headers(ctx, names)
	if err != nil {
		return nil, err
	}
	var out []bulk.Header
	var gone []any
	for i, h := range hs {
		switch {
		case h == nil:
			gone = append(gone, names[i])
		case h.Owner == owner: // an HMAC collision is not a leak
			out = append(out, *h)
		}
	}
	if len(gone) > 0 {
		// Best effort: a failed clean-up is done again next time.
		_ = o.s.rdb.ZRem(ctx, key, gone...).Err()
	}
	slices.SortFunc(out, func(a, b bulk.Header) int {
		return cmp.Or(b.Created.Compare(a.Created), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// Items implements bulk.Store.
func (o *Operations) Items(ctx context.Context, name string) (map[int]bulk.Item, error) {
	opened, err := o.openHash(ctx, name, o.itemsKey(name))
	if err != nil {
		return nil, err
	}
	out := make(map[int]bulk.Item, len(opened))
	for i, plain := range opened {
		var it sealedItem
		if err := json.Unmarshal(plain, &it); err != nil {
			return nil, fmt.Errorf("redisstore: operation item: %w", err)
		}
		out[i] = bulk.Item{Final: it.Final, Data: it.Data}
	}
	return out, nil
}

// Undo implements bulk.Store.
func (o *Operations) Undo(ctx context.Context, name string) (map[int][]byte, error) {
	return o.openHash(ctx, name, o.undoKey(name))
}

// openHash reads hash key of operation name (its items or their undo
// data), index → sealed value, and opens each value, bound to the key and
// index; ErrNotFound when the operation is gone. A value sealed under
// another secret is left out, as if not recorded: its item runs again.
func (o *Operations) openHash(ctx context.Context, name, key string) (map[int][]byte, error) {
	var exists *redis.IntCmd
	var all *redis.MapStringStringCmd
	if _, err := o.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, o.headerKey(name))
		all = p.HGetAll(ctx, key)
		return nil
	}); err != nil {
		return nil, err
	}
	if exists.Val() == 0 {
		return nil, bulk.ErrNotFound
	}
	out := make(map[int][]byte, len(all.Val()))
	for field, raw := range all.Val() {
		i, err := strconv.Atoi(field)
		if err != nil {
			continue
		}
		if plain, err := o.s.seal.open(key+":"+field, []byte(raw)); err == nil {
			out[i] = plain
		}
	}
	return out, nil
}

// cancelScript sets the cancel flag of an operation that exists, to
// expire with it. KEYS: header, cancel flag.
var cancelScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return 0 end
if ttl > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', ttl)
else
  redis.call('SET', KEYS[2], '1')
end
return 1
`)

// Cancel implements bulk.Store.
func (o *Operations) Cancel(ctx context.Context, name string) error {
	n, err := cancelScript.Run(ctx, o.s.rdb, []string{o.headerKey(name), o.cancelKey(name)}).Int64()
	if err != nil {
		return err
	}
	if n == 0 {
		return bulk.ErrNotFound
	}
	return nil
}

// Cancelled implements bulk.Store: one EXISTS of the flag (and of the
// header, for ErrNotFound), not a read of the sealed header.
func (o *Operations) Cancelled(ctx context.Context, name string) (bool, error) {
	var header, flag *redis.IntCmd
	if _, err := o.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		header = p.Exists(ctx, o.headerKey(name))
		flag = p.Exists(ctx, o.cancelKey(name))
		return nil
	}); err != nil {
		return false, err
	}
	if header.Val() == 0 {
		return false, bulk.ErrNotFound
	}
	return flag.Val() > 0, nil
}

// deleteScript forgets an operation and drops its queue entry, whether
// queued or leased. KEYS: header, items, cancel, entry, queue, undo.
// ARGV: group. Returns 0 when there was no operation.
var deleteScript = redis.NewScript(`
local found = redis.call('EXISTS', KEYS[1])
local id = redis.call('GET', KEYS[4])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6])
if id then
  redis.pcall('XACK', KEYS[5], ARGV[1], id)
  redis.call('XDEL', KEYS[5], id)
end
return found
`)

// Delete implements bulk.Store. The owner's index is left for List to
// clean: it finds the header gone.
func (o *Operations) Delete(ctx context.Context, name string) error {
	n, err := deleteScript.Run(ctx, o.s.rdb,
		[]string{o.headerKey(name), o.itemsKey(name), o.cancelKey(name), o.entryKey(name), o.queueKey(), o.undoKey(name)},
		opsGroup).Int64()
	if err != nil {
		return err
	}
	if n == 0 {
		return bulk.ErrNotFound
	}
	return nil
}

// Take implements bulk.Store: a lapsed lease first (XAUTOCLAIM), else a
// new entry (XREADGROUP, blocking for at most takeBlock a round).
func (o *Operations) Take(ctx context.Context) (bulk.Lease, error) {
	q := o.queueKey()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		msgs, err := o.claimLapsed(ctx)
		if err == nil && len(msgs) == 0 {
			var streams []redis.XStream
			streams, err = o.s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
				Group: opsGroup, Consumer: o.consumer,
				Streams: []string{q, ">"}, Count: 1, Block: o.blockFor(ctx),
			}).Result()
			if errors.Is(err, redis.Nil) {
				continue // nothing new this round
			}
			for _, s := range streams {
				msgs = append(msgs, s.Messages...)
			}
		}
		if err != nil {
			if isNoGroup(err) {
				if err := o.createGroup(ctx); err != nil {
					return nil, err
				}
				continue
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		// The entries are pending under this consumer now: finish reading
		// them even if ctx just ended, rather than leave them for a
		// takeover one lease time later. A lease returned with ctx done is
		// released by its runner.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), takeBlock)
		for _, m := range msgs {
			l, err := o.lease(lctx, m)
			if err != nil || l != nil {
				cancel()
				if err != nil {
					return nil, err
				}
				return l, nil
			}
		}
		cancel()
	}
}

// blockFor is how long one read of the queue may block: takeBlock, or
// less when the lease time is shorter (a lapsed lease is then seen
// within one) or ctx's deadline is nearer; never 0, which blocks for ever.
func (o *Operations) blockFor(ctx context.Context) time.Duration {
	b := min(takeBlock, o.leaseTime)
	if d, ok := ctx.Deadline(); ok {
		b = min(b, time.Until(d))
	}
	return max(b, time.Millisecond)
}

// claimLapsed claims one entry idle for longer than the lease time, if
// any. XAUTOCLAIM looks at no more than ten pending entries per COUNT,
// so it is called again from its cursor until it has gone through the
// whole list: a lapsed entry behind many live ones is found too.
func (o *Operations) claimLapsed(ctx context.Context) ([]redis.XMessage, error) {
	start := "0-0"
	for {
		msgs, next, err := o.s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: o.queueKey(), Group: opsGroup, Consumer: o.consumer,
			MinIdle: o.leaseTime, Start: start, Count: 1,
		}).Result()
		if err != nil || len(msgs) > 0 || next == "0-0" || next == "" {
			return msgs, err
		}
		start = next
	}
}

// isNoGroup reports Redis's answer for a missing stream or group (a new
// account, or Redis lost its state).
func isNoGroup(err error) bool {
	return strings.HasPrefix(err.Error(), "NOGROUP")
}

// createGroup creates the queue and its group. The group starts at the
// stream's first entry, so that operations queued before it are run.
func (o *Operations) createGroup(ctx context.Context) error {
	err := o.s.rdb.XGroupCreateMkStream(ctx, o.queueKey(), opsGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return err
	}
	return nil
}

// lease returns the lease of entry m, or nil (having dropped the entry)
// when its operation is gone, has ended, or is queued by another entry
// (it was deleted and its name used again).
func (o *Operations) lease(ctx context.Context, m redis.XMessage) (*opLease, error) {
	name, _ := m.Values["op"].(string)
	if name != "" {
		hs, err := o.headers(ctx, []string{name})
		if err != nil {
			return nil, err
		}
		id, err := o.s.rdb.Get(ctx, o.entryKey(name)).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		if h := hs[0]; h != nil && !h.Done() && id == m.ID {
			return &opLease{o: o, id: m.ID, h: *h}, nil
		}
	}
	_, err := o.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, o.queueKey(), opsGroup, m.ID)
		p.XDel(ctx, o.queueKey(), m.ID)
		return nil
	})
	return nil, err
}

// fence is the start of every lease script: it goes on only while the
// entry ARGV[3] is pending under this consumer (ARGV[2]) in the group
// (ARGV[1]) of the queue (KEYS[1]), the header (KEYS[2]) exists and the
// entry is still the operation's (KEYS[6]). An entry that is no longer
// its operation's is dropped. Returns 0 from the script when the lease is
// lost.
const fence = `
local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if type(p) ~= 'table' or p.err or #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 or redis.call('GET', KEYS[6]) ~= ARGV[3] then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  redis.call('XDEL', KEYS[1], ARGV[3])
  return 0
end
`

// Every lease script takes KEYS: queue, header, items, cancel flag,
// owner index, entry, undo; ARGV: group, consumer, entry id, retention
// ms, then its own.

// renewOpScript resets the entry's idle time (XCLAIM by its own consumer,
// JUSTID so the delivery count stays) and keeps the operation's keys
// for another retention.
var renewOpScript = redis.NewScript(fence + `
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
for i = 2, 7 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
return 1
`)

// putScript records one item (ARGV[6] at index ARGV[5]), its Undo
// (ARGV[8], unless empty) and the header (ARGV[7]), and keeps the
// operation's keys for another retention.
var putScript = redis.NewScript(fence + `
redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[4])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
if ARGV[8] ~= '' then redis.call('HSET', KEYS[7], ARGV[5], ARGV[8]) end
for i = 3, 7 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
return 1
`)

// finishScript stores the ended header (ARGV[5]), keeps the operation
// for the retention from now, and drops its entry from the queue.
var finishScript = redis.NewScript(fence + `
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4])
for i = 3, 5 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
redis.call('PEXPIRE', KEYS[7], ARGV[4])
redis.call('DEL', KEYS[6])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
return 1
`)

// releaseOpScript queues the operation again as a new entry and drops
// the leased one. A new entry, rather than the old one claimed by a
// placeholder consumer with its idle time set past the lease time, wakes
// the replicas blocked in XREADGROUP at once and leaves no pending entry
// under a consumer that does not exist. ARGV[5] is the name.
var releaseOpScript = redis.NewScript(fence + `
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
local id = redis.call('XADD', KEYS[1], '*', 'op', ARGV[5])
redis.call('SET', KEYS[6], id, 'PX', ARGV[4])
return 1
`)

// opLease is a lease of Operations: the entry id pending under this
// consumer.
type opLease struct {
	o  *Operations
	id string
	// h is the header as read at Take: Put and Finish take only their
	// progress from the runner's header.
	h bulk.Header
}

func (l *opLease) Name() string { return l.h.Name }

// run runs a lease script; a 0 reply is a lost lease.
func (l *opLease) run(ctx context.Context, sc *redis.Script, extra ...any) error {
	o := l.o
	n := l.h.Name
	keys := []string{o.queueKey(), o.headerKey(n), o.itemsKey(n), o.cancelKey(n), o.ownerKey(l.h.Owner), o.entryKey(n), o.undoKey(n)}
	args := append([]any{opsGroup, o.consumer, l.id, o.retention.Milliseconds()}, extra...)
	r, err := sc.Run(ctx, o.s.rdb, keys, args...).Int64()
	if err != nil {
		return err
	}
	if r == 0 {
		return bulk.ErrLeaseLost
	}
	return nil
}

func (l *opLease) Renew(ctx context.Context) error {
	return l.run(ctx, renewOpScript)
}

func (l *opLease) Put(ctx context.Context, h bulk.Header, index int, it bulk.Item) error {
	next := l.h
	next.Counts, next.Updated = h.Counts, h.Updated
	sealed, err := l.o.sealHeader(next)
	if err != nil {
		return err
	}
	field := strconv.Itoa(index)
	plain, err := json.Marshal(sealedItem{Final: it.Final, Data: it.Data})
	if err != nil {
		return err
	}
	var undo []byte // empty: left as it is
	if it.Undo != nil {
		undo = l.o.s.seal.seal(l.o.undoName(l.h.Name, field), it.Undo)
	}
	if err := l.run(ctx, putScript, field, l.o.s.seal.seal(l.o.itemName(l.h.Name, field), plain), sealed, undo); err != nil {
		return err
	}
	l.h = next
	return nil
}

func (l *opLease) Finish(ctx context.Context, h bulk.Header) error {
	next := l.h
	next.Counts, next.Updated, next.Ended = h.Counts, h.Updated, h.Ended
	sealed, err := l.o.sealHeader(next)
	if err != nil {
		return err
	}
	if err := l.run(ctx, finishScript, sealed); err != nil {
		return err
	}
	l.h = next
	return nil
}

func (l *opLease) Release(ctx context.Context) error {
	return l.run(ctx, releaseOpScript, l.h.Name)
}
