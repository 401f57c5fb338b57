//go:build e2e

package governor_test

import "testing"

// TestFleetProbing is TestFleetOnRealRedis for 30 windows (a minute) with
// a climb of 1% of the configured limit per window instead of 0.5%: the
// fleet reaches the upstream's limit again every ~6 windows, takes a 429
// or two, and settles back under it. (With 2% it probes every 3 windows
// and ~1.04% of the calls get a 429: the climb is what the 429 share
// costs.) Run with -tags e2e.
func TestFleetProbing(t *testing.T) {
	fleet(t, 0.01, 30)
}
