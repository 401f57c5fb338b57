package emulator_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (a server
// not stopped, a request still in flight).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
