// Package upstreamauth supplies the credentials the Contacts REST client
// (package upstream) puts on its calls, as implementations of
// upstream.Authorizer:
//
//   - TokenSource, the one for real use: it exchanges a machine account's
//     Client ID and Secret for a JWT and shares that one token between all
//     calls, because Booking.com lets an account create at most 30 tokens an
//     hour. It renews lazily on Authorize shortly before the token expires,
//     lets a single exchange run at a time, backs off after failures and
//     refuses to go past its own hourly budget, so that neither a storm of
//     calls nor a wrong secret can burn the account's allowance.
//   - StaticToken, a fixed bearer token for debugging.
//   - Basic, the legacy username/password scheme, kept only for old
//     emulators now that Booking.com has sunset it.
//
// Every credential type redacts its secrets when printed with fmt or logged
// with log/slog, so that logging one by mistake is harmless; errors and log
// lines never carry a secret or a token either.
package upstreamauth
