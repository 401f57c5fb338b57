package errmap

import "google.golang.org/grpc/status"

// fromAuthError translates a failure of the upstream credentials (the token
// exchange). It reports false for any other error.
func fromAuthError(err error, call Call) (*status.Status, bool) {
	return nil, false
}
