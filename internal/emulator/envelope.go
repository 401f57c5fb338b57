package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
)

// OTA error codes of the Contacts API troubleshooting table.
const (
	codeChangesNotPermitted = "150"
	codeInvalidValue        = "320"
	codeRequiredMissing     = "321"
	codeInvalidItem         = "394"
	codeUnableToProcess     = "450"
	codeAuthorization       = "497"
	codeNotFound            = "635"
	// codeSystemError is not in the Contacts table; other Connectivity
	// APIs use it for "system error, retry later". The emulator only
	// answers it for its own bugs.
	codeSystemError = "448"
)

// messageFor is the "message" of each code, as the table words it.
func messageFor(code string) string {
	switch code {
	case codeChangesNotPermitted:
		return "Changes are not permitted."
	case codeInvalidValue:
		return "Invalid value."
	case codeRequiredMissing:
		return "Required field missing."
	case codeInvalidItem:
		return "Invalid item."
	case codeUnableToProcess:
		return "Unable to process"
	case codeAuthorization:
		return "Authorization error."
	case codeNotFound:
		return "Not found"
	case codeSystemError:
		return "System error."
	}
	return "Error."
}

// envelope is a success answer of the contacts paths.
type envelope struct {
	Data     *contactsData `json:"data,omitempty"`
	Warnings []apiError    `json:"warnings"`
	Errors   []apiError    `json:"errors"`
	Meta     meta          `json:"meta"`
}

type contactsData struct {
	Contacts []contact `json:"contacts"`
}

type meta struct {
	RUID string `json:"ruid"`
}

// apiError is one entry of errors[]. Code is a JSON string, as in the
// OpenAPI file; Details is written as null when no field applies.
type apiError struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Details *errDetails `json:"details"`
}

// errDetails names the offending field.
//
// ASSUMPTION (digest open question 2): the key of the allowed values is not
// documented; we write "allowed_values", and only for enum fields.
type errDetails struct {
	Fields        []string `json:"fields"`
	AllowedValues []string `json:"allowed_values,omitempty"`
}

func (p problem) apiError() apiError {
	e := apiError{Code: p.code, Message: messageFor(p.code)}
	if p.field != "" {
		e.Details = &errDetails{Fields: []string{p.field}, AllowedValues: p.allowed}
	}
	return e
}

// newRUID returns a random request id in hex, like meta.ruid.
func newRUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b[:])
}

// writeJSON writes v with the given status as application/json.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only the emulator's own types are marshalled; failing here is a
		// bug in the emulator, so say so plainly.
		status = http.StatusInternalServerError
		body = []byte(`{"errors":[{"code":"448","message":"System error.","details":null}],"warnings":[],"meta":{"ruid":""}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// errorEnvelope is an error answer; it lists errors first, as the digest
// shows it.
type errorEnvelope struct {
	Errors   []apiError `json:"errors"`
	Warnings []apiError `json:"warnings"`
	Meta     meta       `json:"meta"`
}

// writeProblems writes an error envelope holding one entry per problem.
func writeProblems(w http.ResponseWriter, status int, problems ...problem) {
	env := errorEnvelope{Errors: make([]apiError, 0, len(problems)), Warnings: []apiError{}, Meta: meta{RUID: newRUID()}}
	for _, p := range problems {
		env.Errors = append(env.Errors, p.apiError())
	}
	writeJSON(w, status, env)
}

// writeOK writes a success envelope; data is nil for PUT and POST.
func writeOK(w http.ResponseWriter, data *contactsData) {
	writeJSON(w, http.StatusOK, envelope{Data: data, Warnings: []apiError{}, Errors: []apiError{}, Meta: meta{RUID: newRUID()}})
}
