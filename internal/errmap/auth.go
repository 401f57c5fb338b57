package errmap

import (
	"errors"

	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// fromAuthError translates a failure to obtain upstream credentials (the
// token exchange). It reports false for any other error.
func fromAuthError(err error, call Call) (Translated, bool) {
	var e *upstreamauth.Error
	if !errors.As(err, &e) {
		return Translated{}, false
	}
	row := rowExchangeUnavailable
	switch e.Kind {
	case upstreamauth.KindCredentialsRejected:
		row = rowExchangeFailed
	case upstreamauth.KindRateLimited:
		row = rowExchangeRateLimited
	case upstreamauth.KindBudgetExhausted:
		row = rowTokenBudget
	}
	md := metadata(call, SourceFacade, e.HTTPStatus, e.RequestID, nil)
	return fromRow(row, call, md, e.RetryAfter), true
}
