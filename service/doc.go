// Package service implements contacts.v1.ContactsService on top of the
// Contacts REST API client.
//
// Each call is validated first (validate.go): a request the upstream would
// refuse for a documented reason is refused here with the same
// INVALID_ARGUMENT shape the error translation gives upstream refusals
// (errmap.Invalid), and never reaches the upstream. Every upstream failure
// goes through errmap.Translate, the one place that picks gRPC codes.
package service
