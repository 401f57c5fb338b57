// Package errmap turns everything that can go wrong behind a contacts.v1 call
// into one precise, machine-readable gRPC status.
//
// The mapping is data, in internal/answers: one row per (HTTP status, OTA
// code) pair of the Contacts REST API and one row per failure the facade
// itself detects (transport, undecodable answers, token exchange, local
// validation). The upstream client picks its retries and token renewals
// from the same rows (upstream.Meaning); Translate builds the status from
// the row; no other code chooses a gRPC code.
//
// Status is the one builder of every status of the facade, its own
// refusals included (service, access gate, gRPC server): code, message, an
// ErrorInfo first, then the details, with grpc-go's WithDetails. Every
// reason is a value of contactsv1.ErrorReason (proto/contacts/v1/errors.proto,
// where each is documented for callers); the wire carries its name.
//
// Every status carries, following AIP-193:
//   - exactly one google.rpc.ErrorInfo: Reason (UPPER_SNAKE_CASE), Domain,
//     and always the same six metadata keys, empty when unknown: otaCode,
//     otaCodes, httpStatus, requestId, propertyId and source ("upstream"
//     or "facade");
//   - a google.rpc.BadRequest with one FieldViolation per offending field,
//     the field named in the request message's own terms
//     ("contacts[0].phones[1].phone_number");
//   - ResourceInfo on NOT_FOUND and PERMISSION_DENIED, RetryInfo when a
//     delay is known, RequestInfo with the upstream request id, and a Help
//     link to the documentation of the error.
//
// Each detail type appears at most once, and the details are small: an
// upstream body is never echoed, every echoed value is cut to a bound
// (limits.go), and a status never encodes to more than MaxStatusBytes
// (5 KiB): past it the BadRequest keeps its first violations and a last
// one, reason VIOLATIONS_OMITTED, says how many were left out.
package errmap
