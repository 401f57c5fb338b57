package upstreamauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// ending is how a flight ended.
type ending int

const (
	endExchanged    ending = iota // a new token from the exchange
	endLoaded                     // a new token from Shared; nothing sent
	endFailed                     // the exchange failed
	endBudgetFailed               // the Budget could not be asked; nothing sent
	endInvalid                    // the exchange issued an unusable token
	endRefused                    // the budget refused; nothing sent
	endPeer                       // another replica holds the Shared lock; nothing sent
)

// run performs the exchange of f and publishes its outcome.
func (s *TokenSource) run(f *flight) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.base, s.timeout)
	tok, err, end := s.obtain(ctx, f)
	cancel()

	s.mu.Lock()
	now := s.now()
	s.inflight = nil
	var pause time.Duration
	switch end {
	case endExchanged, endLoaded:
		s.tok = tok
		s.failErr = nil
		s.fail.reset()
	case endFailed, endBudgetFailed:
		// Honour a Retry-After longer than the back-off, but never past
		// the budget window: by then the upstream's hourly count has reset.
		pause = s.fail.fail(now, min(err.RetryAfter, budgetWindow))
		s.failErr = err
	case endInvalid:
		// A token unusable on arrival is like one refused at once: the
		// pause is at least that between renewals of such tokens.
		pause = s.fail.fail(now, max(s.suspect.fail(now, 0), min(err.RetryAfter, budgetWindow)))
		s.failErr = err
	case endRefused:
		until := now.Add(err.RetryAfter)
		s.refused[f.why] = until
		if f.why == whyNeed && until.After(s.refused[whyRejected]) {
			s.refused[whyRejected] = until // a larger reserve is refused too
		}
	case endPeer:
		s.fail.hold(now, peerWait)
		s.failErr = err
	}
	f.tok, f.err = tok, err
	s.mu.Unlock()

	s.report(f, tok, err, end, pause)
	close(f.done)
}

// obtain gets a token for f: from Shared, else by an exchange if the
// Shared lock and the budget allow one.
func (s *TokenSource) obtain(ctx context.Context, f *flight) (*token, *Error, ending) {
	unlock, tok, ok := s.lockOrLoad(ctx)
	if tok != nil {
		return tok, nil, endLoaded
	}
	if !ok {
		return nil, &Error{Kind: KindUnavailable, Err: errPeerExchanging}, endPeer
	}
	if unlock != nil {
		defer unlock()
	}
	ok, retry, err := s.budget.Take(ctx, s.reserveFor(f.why))
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, Err: fmt.Errorf("token budget unavailable: %w", err)}, endBudgetFailed
	}
	if !ok {
		return nil, s.budgetError(retry), endRefused
	}
	ex, xerr := s.ex.exchange(ctx)
	if xerr != nil {
		if errors.Is(xerr, errInvalidToken) {
			return nil, xerr, endInvalid
		}
		return nil, xerr, endFailed
	}
	tok, terr := s.newToken(ex.jwt, ex.ruid, ex.obtained)
	if terr != nil {
		return nil, &Error{Kind: KindUnavailable, HTTPStatus: http.StatusOK, RequestID: ex.ruid, Err: terr}, endInvalid
	}
	if err := s.shared.Store(ctx, SharedToken{JWT: ex.jwt, RUID: ex.ruid, Obtained: ex.obtained}); err != nil {
		s.logLimited(slog.LevelWarn, "shared_store", "upstream token: storing it for the other replicas failed",
			slog.String("error", err.Error()))
	}
	return tok, nil, endExchanged
}

// lockOrLoad returns a token another replica stored, or the Shared lock
// that lets this replica exchange. While another replica holds the lock
// it waits for that replica's token (asking Load every peerPoll) rather
// than exchanging itself, until the lock is free or ctx (the flight's own
// deadline) ends; then ok is false. After taking the lock it asks Load
// once more, since the previous holder may have stored a token just
// before releasing it.
func (s *TokenSource) lockOrLoad(ctx context.Context) (unlock func(), tok *token, ok bool) {
	for {
		if tok := s.loadShared(ctx); tok != nil {
			return nil, tok, false
		}
		unlock, ok, err := s.shared.TryLock(ctx, s.timeout)
		if err != nil {
			s.logLimited(slog.LevelWarn, "shared_lock", "upstream token: shared lock unavailable; exchanging anyway",
				slog.String("error", err.Error()))
			return nil, nil, true
		}
		if ok {
			if tok := s.loadShared(ctx); tok != nil {
				unlock()
				return nil, tok, false
			}
			return unlock, nil, true
		}
		t := time.NewTimer(s.peerPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, false
		case <-t.C:
		}
	}
}

// loadShared returns a token another replica stored, nil when there is
// none worth using: the current token itself (being replaced), or one due
// for renewal or unusable.
func (s *TokenSource) loadShared(ctx context.Context) *token {
	st, ok, err := s.shared.Load(ctx)
	if err != nil {
		s.logLimited(slog.LevelWarn, "shared_load", "upstream token: reading the shared token failed",
			slog.String("error", err.Error()))
		return nil
	}
	if !ok || !validBearer(st.JWT) {
		return nil
	}
	s.mu.Lock()
	cur := s.tok
	s.mu.Unlock()
	if cur != nil && cur.jwt == st.JWT {
		return nil
	}
	tok, err := s.newToken(st.JWT, st.RUID, st.Obtained)
	if err != nil || !s.now().Before(tok.renewAt) {
		return nil
	}
	return tok
}

// report logs the end of a flight and tells OnExchange.
func (s *TokenSource) report(f *flight, tok *token, err *Error, end ending, pause time.Duration) {
	clientID := slog.String("client_id", s.ex.clientID)
	switch end {
	case endExchanged, endLoaded:
		msg := "upstream token obtained"
		if end == endLoaded {
			msg = "upstream token loaded from the shared store"
		}
		s.log.Info(msg, clientID,
			slog.String("reason", f.why.String()),
			slog.Time("obtained_at", tok.obtained),
			slog.Time("expires_at", tok.expires),
			slog.Bool("expiry_from_jwt", tok.expFromJWT),
			slog.String("ruid", tok.ruid))
	case endFailed, endInvalid, endBudgetFailed:
		s.logLimited(slog.LevelWarn, "failed/"+err.Kind.String()+"/"+strconv.Itoa(err.HTTPStatus)+"/"+strconv.FormatBool(end == endInvalid),
			"upstream token exchange failed", clientID,
			slog.String("kind", err.Kind.String()),
			slog.Int("status", err.HTTPStatus),
			slog.String("ruid", err.RequestID),
			slog.Duration("retry_after", err.RetryAfter),
			slog.Duration("backoff", pause),
			slog.String("error", err.Error()))
	case endRefused:
		s.logLimited(slog.LevelWarn, "budget/"+f.why.String(), "upstream token exchange budget exhausted", clientID,
			slog.String("reason", f.why.String()),
			slog.Int("max_exchanges_per_hour", s.budget.Limit()),
			slog.Int("reserve", s.reserveFor(f.why)),
			slog.Duration("retry_after", err.RetryAfter))
	case endPeer:
		s.log.Debug("upstream token: another replica is exchanging", clientID)
	}
	switch end {
	case endExchanged:
		s.onExchange(OutcomeOK)
	case endInvalid:
		s.onExchange(OutcomeInvalidToken)
	case endRefused:
		s.onExchange(OutcomeBudgetExhausted)
	case endFailed:
		switch err.Kind {
		case KindCredentialsRejected:
			s.onExchange(OutcomeRejected)
		case KindRateLimited:
			s.onExchange(OutcomeRateLimited)
		default:
			s.onExchange(OutcomeUnavailable)
		}
	}
}

// suspectMaxBackoff is the longest pause between renewals of tokens
// refused while young: a minute, so that the account recovers within about
// a minute of a short episode, but never shorter than the spacing at which
// such renewals can go on for hours without spending the budget less its
// reserve (2m30s for 30 an hour), so that a long episode does not end with
// the budget spent and no renewal possible for many minutes.
func suspectMaxBackoff(limit int) time.Duration {
	d := time.Minute
	if n := limit - renewalReserve(limit) - 1; n > 0 {
		d = max(d, (budgetWindow+time.Duration(n)-1)/time.Duration(n))
	}
	return d
}

// logLimited writes msg at level unless a line of the same key was written
// within logInterval; the line carries how many were held back since.
func (s *TokenSource) logLimited(level slog.Level, key, msg string, attrs ...any) {
	ok, suppressed := s.logRate.Allow(key)
	if !ok {
		return
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	s.log.Log(context.Background(), level, msg, attrs...)
}
