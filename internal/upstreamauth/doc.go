// Package upstreamauth supplies the credentials the Contacts REST client
// (package upstream) puts on its calls, as implementations of
// upstream.Authorizer:
//
//   - TokenSource, the one for real use: it exchanges a machine account's
//     Client ID and Secret for a JWT and shares that one token between all
//     calls, because Booking.com lets an account create at most 30 tokens an
//     hour. It renews lazily on Authorize shortly before the token expires,
//     lets a single exchange run at a time, backs off after failures, paces
//     renewals of tokens the upstream refuses soon after they were obtained
//     and keeps part of the budget for ordinary renewals, and refuses to go
//     past its hourly Budget, so that neither a storm of calls, a storm of
//     401s nor a wrong secret can burn the account's allowance.
//
// The files: token.go (configuration, the rules of when to exchange and
// of rejected tokens), flight.go (one exchange in progress: Shared, Budget,
// the exchange, its outcome and logs), snapshot.go (state for metrics),
// budget.go (Budget, the hourly allowance, and LocalBudget),
// backoff.go (the growing pause), exchange.go (the HTTP exchange), jwt.go
// (reading exp, the lifetime believed), shared.go (Shared, the seam for
// sharing the token between replicas).
//   - StaticToken, a fixed bearer token for debugging.
//   - Basic, the legacy username/password scheme, kept only for old
//     emulators now that Booking.com has sunset it.
//
// Every credential type redacts its secrets when printed with fmt or logged
// with log/slog, so that logging one by mistake is harmless; errors and log
// lines never carry a secret or a token either.
package upstreamauth
