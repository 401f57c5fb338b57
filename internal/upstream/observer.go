package upstream

import "time"

// Observer is told of every HTTP attempt the client makes.
type Observer interface {
	ObserveAttempt(method Method, httpStatus int, otaCode string, outcome string, d time.Duration)
}

// The outcomes an Observer is told of: a small fixed set, fit for a metric
// label. httpStatus is 0 when no answer came (transport_error, and
// too_large for headers over the cap); otaCode is the first OTA code of an
// error_answer, as the upstream sent it (map unknown codes to a fixed label
// before using it as one), else "".
const (
	OutcomeOK             = "ok"              // a 2xx answer that decoded
	OutcomeErrorAnswer    = "error_answer"    // an *APIError
	OutcomeDecodeError    = "decode_error"    // a *DecodeError other than too_large
	OutcomeTransportError = "transport_error" // a *TransportError
	OutcomeTooLarge       = "too_large"       // body or headers over the cap
)
