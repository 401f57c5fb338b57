package upstream

import (
	"context"
	"net/http"
)

// Authorizer puts credentials on the requests of the client. Implementations
// must be safe for concurrent use.
type Authorizer interface {
	// Authorize adds credentials to req (normally an Authorization header).
	// An error here fails the call without sending it; the client returns
	// it unchanged so that its type (e.g. a token-exchange failure) reaches
	// the error translation.
	Authorize(ctx context.Context, req *http.Request) error

	// Rejected tells the authorizer that the upstream refused the
	// credentials Authorize put on req (HTTP 401, or 400 with OTA 497; not 403, which means no access).
	// It reports whether fresh credentials may succeed; the client then
	// authorizes and sends the call once more, and only once.
	Rejected(req *http.Request) bool
}
