package readpath

import (
	"context"
	"log/slog"
	"time"
)

// Bus carries invalidations between the replicas of an account
// (*redisstore.Store implements it).
type Bus interface {
	// PublishInvalidation tells every replica that a property changed.
	PublishInvalidation(ctx context.Context, propertyID string) error
	// Invalidations calls fn with each property another replica changed,
	// and with "" after each (re)subscription: what was published
	// meanwhile is lost.
	Invalidations(ctx context.Context, fn func(propertyID string)) (ready <-chan struct{}, err error)
}

// Path is the read path of the service: a Reader, whose invalidations
// reach the other replicas when a Bus is given.
type Path struct {
	r   *Reader
	bus Bus // nil: this replica only
	log *slog.Logger
}

// publishTimeout bounds telling the other replicas about one write.
const publishTimeout = 2 * time.Second

// Share returns the read path over r. With a bus, and only when the cache
// is on (without one there is nothing to tell), it subscribes r to the
// other replicas' invalidations until ctx ends, and publishes its own.
func Share(ctx context.Context, r *Reader, bus Bus, log *slog.Logger) *Path {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Path{r: r, log: log}
	if bus == nil || !r.cacheOn() {
		return p
	}
	p.bus = bus
	_, err := bus.Invalidations(ctx, func(id string) {
		if id == "" {
			// (Re)subscribed: what was published meanwhile is lost.
			r.InvalidateAll()
			return
		}
		r.Invalidate(id)
	})
	if err != nil {
		log.Warn("shared Redis: cache invalidations from other replicas not received; this replica's cache is dropped on every Redis failure")
	}
	return p
}

// Read is Reader.Read.
func (p *Path) Read(ctx context.Context, propertyID string, noLanguageFallback bool) (Result, error) {
	return p.r.Read(ctx, propertyID, noLanguageFallback)
}

// ReadFresh is the read under the write lock of a read-modify-write:
// never from the cache, and never a GET that started before the lock was
// taken. Another replica may have written the property since such a GET
// left (its invalidation reaches this one late, or not at all without a
// cache), so the property starts a new generation first: the read makes
// its own GET, which only reads that started after it may share.
func (p *Path) ReadFresh(ctx context.Context, propertyID string, noLanguageFallback bool) (Result, error) {
	p.r.Invalidate(propertyID)
	return p.r.ReadFresh(ctx, propertyID, noLanguageFallback)
}

// Invalidate drops what this replica knows of a property after a write,
// and tells the other replicas to do the same.
func (p *Path) Invalidate(ctx context.Context, propertyID string) {
	p.r.Invalidate(propertyID)
	if p.bus == nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := p.bus.PublishInvalidation(pctx, propertyID); err != nil {
		p.log.Warn("shared Redis: could not tell the other replicas to drop a cached property; their caches expire it by TTL")
	}
}
