// Package upstream is the client of the Booking.com Connectivity Contacts
// REST API: the JSON wire shapes (wire.go), the REST vocabulary and its
// mapping to contacts.v1 (convert.go), the HTTP client (client.go) and the
// typed errors it returns (errors.go).
//
// The client never guesses: an answer it cannot decode becomes a
// *DecodeError that keeps the HTTP status and the first bytes of the body,
// a transport failure becomes a *TransportError, and a documented error
// answer becomes an *APIError with every entry of errors[].
package upstream
