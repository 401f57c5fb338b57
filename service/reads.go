package service

import (
	"context"

	"google.golang.org/protobuf/types/known/durationpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/readpath"
)

// sharedReads is what a read path in front of the upstream
// (readpath.Reader: coalescing and the opt-in cache) offers beyond
// Upstream: reads that say whether the cache answered, and reads that a
// read-modify-write can trust.
type sharedReads interface {
	Read(ctx context.Context, propertyID string, noLanguageFallback bool) (readpath.Result, error)
	ReadFresh(ctx context.Context, propertyID string, noLanguageFallback bool) (readpath.Result, error)
	Invalidate(propertyID string)
}

var _ sharedReads = (*readpath.Reader)(nil)

// read is the read of ListContacts and GetProfileContacts: through the
// read path when there is one, telling the caller the age of a cached
// answer, with the etag of what it returns.
func (s *Service) read(ctx context.Context, propertyID string, noLanguageFallback bool) (*contactsv1.ListContactsResponse, error) {
	sr, ok := s.up.(sharedReads)
	if !ok {
		return withEtag(s.up.List(ctx, propertyID, noLanguageFallback))
	}
	res, err := sr.Read(ctx, propertyID, noLanguageFallback)
	if err != nil {
		return nil, err
	}
	// The read path hands each caller its own top-level message: setting
	// fields on it touches no other caller's answer nor the cache.
	resp := res.Resp
	if res.Cached {
		resp.CacheAge = durationpb.New(res.Age)
		resp.CacheStale = res.Stale
	}
	return withEtag(resp, nil)
}

// readFresh is the read under the write lock of a read-modify-write:
// never from the cache, and never a GET that started before the lock was
// taken. Another replica may have written the property since such a GET
// left (its invalidation reaches this one late, or not at all without a
// cache), so the property starts a new generation first: the read makes
// its own GET, which only reads that started after it may share.
func (s *Service) readFresh(ctx context.Context, propertyID string) (*contactsv1.ListContactsResponse, error) {
	sr, ok := s.up.(sharedReads)
	if !ok {
		return s.up.List(ctx, propertyID, false)
	}
	sr.Invalidate(propertyID)
	res, err := sr.ReadFresh(ctx, propertyID, false)
	if err != nil {
		return nil, err
	}
	return res.Resp, nil
}
