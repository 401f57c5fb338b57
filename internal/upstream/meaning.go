package upstream

import (
	"context"
	"errors"

	"github.com/contacts-facade/contacts-facade/internal/answers"
)

// Meaning returns the row of the answers table that err, an error returned
// by a Client, stands for: the row of an *APIError by its HTTP status and
// first OTA code, of a *DecodeError by its status or size, of a
// *TransportError by whether the request left and why it failed. The
// client decides with the same row whether to renew the credentials, to
// retry and to spend the retry budget, and the error translation builds the
// caller's status from it. It reports false for any other error (an
// Authorizer's, which the client returns unchanged).
func Meaning(err error) (answers.Row, bool) {
	if f, ok := failureOf(err); ok {
		return answers.Of(f), true
	}
	if ae, ok := errors.AsType[*APIError](err); ok {
		return answers.API(ae.HTTPStatus, ae.firstCode()), true
	}
	if de, ok := errors.AsType[*DecodeError](err); ok {
		return answers.Undecodable(de.HTTPStatus), true
	}
	return answers.Row{}, false
}

// failureOf names the failures that have a row of their own.
func failureOf(err error) (answers.Failure, bool) {
	if de, ok := errors.AsType[*DecodeError](err); ok {
		switch {
		case de.Kind == DecodeHeadersTooLarge:
			return answers.HeadersTooLarge, true
		case de.Kind == DecodeBodyTooLarge || de.TooLarge:
			return answers.BodyTooLarge, true
		}
		return 0, false
	}
	te, ok := errors.AsType[*TransportError](err)
	switch {
	case !ok:
		return 0, false
	case errors.Is(te, context.DeadlineExceeded):
		return answers.Timeout, true
	case errors.Is(te, context.Canceled):
		return answers.Cancelled, true
	case te.NotSent:
		return answers.Unreachable, true
	}
	return answers.ConnectionLost, true
}

// invalidatesCache reports whether a PUT or POST that ended with err (nil
// for success) may have changed the property, or found it being changed,
// so that a cached read of it must be dropped. An Authorizer's error means
// nothing was sent: false.
func invalidatesCache(err error) bool {
	if err == nil {
		return answers.Of(answers.Success).InvalidatesCache
	}
	row, ok := Meaning(err)
	return ok && row.InvalidatesCache
}
