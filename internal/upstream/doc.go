// Package upstream is the client of the Booking.com Connectivity Contacts
// REST API: the JSON wire shapes (wire.go), the REST vocabulary and its
// mapping to contacts.v1 (convert.go), the HTTP client (client.go), the
// decoding of answers (decode.go), the retry policy and budget (retry.go),
// what each answer means (meaning.go, from internal/answers), the attempt
// observer (observer.go) and the typed errors (errors.go).
//
// The client never guesses: an answer it cannot decode becomes a
// *DecodeError that keeps the HTTP status, the kind of problem and its
// JSON path, and no byte of the body; a transport failure becomes a
// *TransportError; and a documented error answer becomes an *APIError with
// every entry of errors[]. A 2xx answer whose errors[] is not empty is an
// *APIError too, never half a success. Bodies are read up to
// Config.MaxBodyBytes, and the default transport reads at most
// httpx.MaxResponseHeaderBytes (64 KiB) of headers; a longer body or
// longer headers are a *DecodeError with TooLarge set, and the rest is
// never read.
//
// # One table
//
// What the client does after an answer is the answers table's row for it
// (Meaning): RenewToken, RetryGet/RetryWrite and SpendsBudget. The row of
// an error answer is chosen by its HTTP status and the OTA code of its
// first errors[] entry, as the error translation chooses it.
//
// # Credentials
//
// Before every send the Authorizer puts credentials on the request; its
// errors are returned unchanged. When the upstream refuses them (the rows
// with RenewToken: HTTP 401 whatever the body, or 400 with OTA 497 first)
// the client tells Authorizer.Rejected and, if it answers true, authorizes
// and sends the same request once more. That resend is not a retry: it
// uses no attempt (a failed resend still counts against the budget).
//
// # Retries
//
// A call is sent at most RetryPolicy.MaxAttempts times (default 3):
//
//   - GET, which is safe to repeat, is retried after a transport failure,
//     HTTP 502/503/504 (whatever the body), 500 with OTA 448 and 400 with
//     OTA 447 first (both documented as "retry later").
//   - PUT and POST are retried only after a transport failure that provably
//     happened before the request left (a failed dial or DNS lookup). PUT
//     replaces every contact and POST creates them: sending either twice
//     after an unclear failure could undo a newer write or fail with 150.
//   - Nothing is retried once the context is done, and 429 is never retried
//     here: its Retry-After goes back to the caller in the error.
//
// Waits use full-jitter exponential backoff: uniform in [0, cap], the cap
// starting at BaseDelay (50ms) and doubling up to MaxDelay (1s), raised to
// the upstream's Retry-After when there is one. A Retry-After beyond
// MaxDelay ends the retries, and so does a wait that would end after the
// context deadline: the caller gets the upstream's error at once instead of
// a deadline error later.
//
// A retry budget shared by all calls of a Client (a token bucket as in gRPC
// retry throttling: 10 tokens, −1 per failed send, +0.1 per other answer,
// retries only while more than 5 are left) keeps a failing upstream from
// receiving three times its normal load. "Failed" means a row with
// SpendsBudget: a transport failure, HTTP 5xx or 429, OTA 447/448, or
// headers over the cap; a 4xx about the request is a healthy answer.
//
// # Observing
//
// Config.Observer is told of every HTTP attempt (method, status, first OTA
// code, outcome, duration), and when the context carries a recording
// OpenTelemetry span the client sets http.response.status_code,
// contacts.upstream.ota_code and contacts.upstream.request_id on it.
package upstream
