package errmap

import (
	"strings"
	"unicode/utf8"
)

// MaxStatusBytes bounds the encoded google.rpc.Status of every error,
// message and details included: what grpc-go sends, base64-encoded, in the
// grpc-status-details-bin trailer. 5 KiB encodes to 6.7 KiB of base64, so
// the trailer stays under 7 KiB, and the whole trailer block (grpc-status,
// grpc-message with the message percent-encoded, the details, and the
// :status and content-type of a trailers-only answer) stays under the
// 8 KiB header lists that many clients accept. Past it, the BadRequest's
// violations are cut and a last violation says how many were left out.
const MaxStatusBytes = 5 << 10

// Bounds of the values a status echoes, in bytes. Longer values are cut at
// a character boundary and end in "…".
const (
	maxMessage     = 256 // the status message (it is sent twice: grpc-message and the Status)
	maxPropertyID  = 64  // ErrorInfo propertyId and ResourceInfo name
	maxRequestID   = 128 // the upstream ruid
	maxOTACode     = 16  // one OTA code
	maxOTACodes    = 128 // otaCodes, the joined list
	maxField       = 160 // a FieldViolation's field path
	maxDescription = 400 // a FieldViolation's description (allowed values included)
	// maxViolations only sizes the first allocation; MaxStatusBytes is
	// what bounds a BadRequest.
	maxViolations = 64
)

// bound cuts s to at most n bytes (n ≥ 4) at a character boundary, ending
// in "…" when cut, and replaces invalid UTF-8, which a proto string may
// not hold.
func bound(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// joinCodes joins the OTA codes with commas, each bounded, the whole at
// most maxOTACodes bytes (ending in ",…" when codes were left out).
func joinCodes(list []string) string {
	if len(list) == 1 && len(list[0]) <= maxOTACode {
		return list[0] // the common case, without a copy
	}
	var b strings.Builder
	for i, c := range list {
		c = bound(c, maxOTACode)
		if b.Len()+len(c)+1 > maxOTACodes-len(",…") {
			b.WriteString(",…")
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c)
	}
	return b.String()
}
