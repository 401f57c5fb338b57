package upstream

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/answers"
)

// RetryPolicy says when a failed call is sent again. Which failures are
// retried is the answers table's RetryGet and RetryWrite; see the package
// doc.
type RetryPolicy struct {
	// MaxAttempts is the number of sends including the first; 1 turns
	// retries off. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// BaseDelay is the backoff cap before the first retry; it doubles per
	// retry up to MaxDelay, and the wait is drawn uniformly below the cap
	// ("full jitter"). Zero means DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps every wait. A Retry-After longer than this ends the
	// retries, leaving the decision to the caller. Zero means
	// DefaultMaxDelay.
	MaxDelay time.Duration
	// Budget throttles retries when the upstream keeps failing.
	Budget RetryBudget
}

// RetryBudget is a token bucket shared by all calls of a Client, after gRPC
// retry throttling: it starts full at MaxTokens, every failed send (a row
// with SpendsBudget) takes one token, every other answer gives back
// TokenRatio, and retries happen only while more than half the tokens are
// left. A struggling upstream thus gets its first sends, not a multiple of
// them.
type RetryBudget struct {
	// MaxTokens is the bucket size. Zero means DefaultMaxTokens.
	MaxTokens float64
	// TokenRatio is what a successful send gives back. Zero means
	// DefaultTokenRatio.
	TokenRatio float64
}

// withDefaults checks the policy and fills in the defaults.
func (r RetryPolicy) withDefaults() (RetryPolicy, error) {
	if r.MaxAttempts < 0 || r.BaseDelay < 0 || r.MaxDelay < 0 || r.Budget.MaxTokens < 0 || r.Budget.TokenRatio < 0 {
		return r, errors.New("upstream: RetryPolicy values must not be negative")
	}
	r.MaxAttempts = cmp.Or(r.MaxAttempts, defaultMaxAttempts)
	r.BaseDelay = cmp.Or(r.BaseDelay, defaultBaseDelay)
	r.MaxDelay = max(cmp.Or(r.MaxDelay, defaultMaxDelay), r.BaseDelay)
	r.Budget.MaxTokens = cmp.Or(r.Budget.MaxTokens, defaultMaxTokens)
	r.Budget.TokenRatio = cmp.Or(r.Budget.TokenRatio, defaultTokenRatio)
	return r, nil
}

// mayRetry reports whether the table lets m be sent again after an answer
// of row: GET is safe to repeat; PUT and POST only when the request
// provably never left.
func mayRetry(m Method, row answers.Row) bool {
	if m == MethodGet {
		return row.RetryGet
	}
	return row.RetryWrite
}

// retryAfter is the Retry-After the upstream sent with err, if any.
func retryAfter(err error) time.Duration {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.RetryAfter
	}
	if de, ok := errors.AsType[*DecodeError](err); ok {
		return de.RetryAfter
	}
	return 0
}

// answerStatus is the HTTP status of the answer that gave err: 200 for
// none, 0 when no answer came.
func answerStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.HTTPStatus
	}
	if de, ok := errors.AsType[*DecodeError](err); ok {
		return de.HTTPStatus
	}
	return 0
}

// backoff picks the wait before retry number attempt: uniform in
// [0, min(MaxDelay, BaseDelay·2^(attempt-1))], but at least the upstream's
// Retry-After. It reports false when the wait is not worth starting: the
// Retry-After exceeds MaxDelay, or the wait would end past the deadline.
func (c *Client) backoff(ctx context.Context, attempt int, after time.Duration) (time.Duration, bool) {
	if after > c.retry.MaxDelay {
		return 0, false
	}
	ceiling := c.retry.BaseDelay
	for i := 1; i < attempt && ceiling < c.retry.MaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.retry.MaxDelay)
	wait := max(rand.N(ceiling+1), after)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
		return 0, false
	}
	return wait, true
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// budget is the token bucket of RetryBudget, in thousandths of a token so
// that it fits an atomic integer (as grpc-go does).
type budget struct {
	max, ratio, threshold int64
	tokens                atomic.Int64
}

func (b *budget) init(cfg RetryBudget) {
	b.max = int64(cfg.MaxTokens * 1000)
	b.ratio = int64(cfg.TokenRatio * 1000)
	b.threshold = b.max / 2
	b.tokens.Store(b.max)
}

// record takes a token for a send that ended with err when its row spends
// the budget, and gives back ratio otherwise (nil err: a success).
func (b *budget) record(err error) {
	delta := b.ratio
	if err != nil {
		if row, ok := Meaning(err); ok && row.SpendsBudget {
			delta = -1000
		}
	}
	for {
		old := b.tokens.Load()
		n := min(max(old+delta, 0), b.max)
		if n == old || b.tokens.CompareAndSwap(old, n) {
			return
		}
	}
}

// allow reports whether a retry may be sent now.
func (b *budget) allow() bool { return b.tokens.Load() > b.threshold }
