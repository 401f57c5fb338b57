package emulator

import (
	"errors"
	"strings"
)

// This file is the emulator's Go API for tests of the facade's safe edits:
// a writer outside the facade, and a count of the PUTs the facade made.

// ErrNoProperty: OutsideWrite was given a property the emulator does not
// hold.
var ErrNoProperty = errors.New("emulator: no such property")

// ProblemsError is a body OutsideWrite refused, with the OTA code and
// field of each problem, as a PUT would have answered them.
type ProblemsError struct {
	// Problems are "code field" pairs, e.g. "321 contacts[0].email", in
	// the order a PUT would answer them.
	Problems []string
}

func (e *ProblemsError) Error() string {
	return "emulator: body refused: " + strings.Join(e.Problems, "; ")
}

// OutsideWrite replaces the contacts of a property with those of body, a
// PUT body ({"contacts": [...]}), as a writer that does not go through the
// facade would (the Booking.com extranet, another tool): same validation
// and same overlay as PUT, but no HTTP request, no credentials, and no
// count in Puts. Meant for tests that change a property behind the
// facade's back. A body a PUT would refuse returns a *ProblemsError and
// changes nothing.
func (e *Emulator) OutsideWrite(propertyID int32, body []byte) error {
	doc, ok := decodeObject(body)
	if !ok {
		return &ProblemsError{Problems: []string{codeUnableToProcess + " body is not one JSON object"}}
	}
	contacts, problems := e.rules.validateBody(doc)
	if len(problems) > 0 {
		out := make([]string, len(problems))
		for i, p := range problems {
			out[i] = p.code + " " + p.field
		}
		return &ProblemsError{Problems: out}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.properties[propertyID]
	if !ok {
		return ErrNoProperty
	}
	p.contacts = contacts
	return nil
}

// Puts returns how many PUT requests reached the property (past routing,
// credentials and the property check), whatever their outcome. Meant for
// tests that count the facade's upstream writes.
func (e *Emulator) Puts(propertyID int32) int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.puts[propertyID]
}

// Posts is Puts for POST requests.
func (e *Emulator) Posts(propertyID int32) int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.posts[propertyID]
}
