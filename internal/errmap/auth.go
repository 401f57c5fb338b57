package errmap

import (
	"errors"

	"github.com/contacts-facade/contacts-facade/internal/answers"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// fromAuthError translates a failure to obtain upstream credentials (the
// token exchange). It reports false for any other error.
func fromAuthError(err error, call Call) (Translated, bool) {
	var e *upstreamauth.Error
	if !errors.As(err, &e) {
		return Translated{}, false
	}
	f := answers.ExchangeUnavailable
	switch e.Kind {
	case upstreamauth.KindCredentialsRejected:
		f = answers.ExchangeRefused
	case upstreamauth.KindRateLimited:
		f = answers.ExchangeRateLimited
	case upstreamauth.KindBudgetExhausted:
		f = answers.TokenBudget
	}
	md := metadata(call, SourceFacade, e.HTTPStatus, e.RequestID, nil)
	return fromRow(answers.Of(f), call, md, e.RetryAfter), true
}
