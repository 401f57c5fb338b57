package bulk_test

import (
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/bulk"
	"github.com/contacts-facade/contacts-facade/internal/bulk/bulktest"
)

func TestMemory(t *testing.T) {
	bulktest.Run(t, func(t *testing.T, retention time.Duration, now func() time.Time) bulktest.Backend {
		m := bulk.NewMemory(retention, now)
		return bulktest.Backend{Store: m, Peer: m}
	})
}
