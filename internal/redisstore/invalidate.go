package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// PublishInvalidation tells every replica that propertyID changed.
func (s *Store) PublishInvalidation(ctx context.Context, propertyID string) error {
	return s.rdb.Publish(ctx, s.key("invalidate"), propertyID).Err()
}

// Invalidations calls fn with each property id published until ctx ends.
// After the subscription is (re)established it calls fn with "" first:
// messages sent while it was away are lost, so the caller must then forget
// everything. ready is closed once the first subscription is in place.
func (s *Store) Invalidations(ctx context.Context, fn func(propertyID string)) (ready <-chan struct{}, err error) {
	ps := s.rdb.Subscribe(ctx, s.key("invalidate"))
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, err
	}
	r := make(chan struct{})
	close(r)
	go func() {
		defer ps.Close()
		for {
			msg, err := ps.Receive(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				// go-redis reconnects and resubscribes on the next
				// Receive; anything published meanwhile is lost. Pause
				// so that a Redis that is down is not polled in a loop.
				fn("")
				t := time.NewTimer(time.Second)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				continue
			}
			switch m := msg.(type) {
			case *redis.Message:
				fn(m.Payload)
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					fn("")
				}
			}
		}
	}()
	return r, nil
}
