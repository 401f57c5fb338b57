// Package httpx holds the small HTTP helpers that the upstream client, the
// token exchange and the commands share, so that each rule is written once:
// how a Retry-After header is read, what counts as loopback, how an
// outbound transport is built, and how HTTP/2 without TLS is spoken on
// each side.
package httpx

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter is the longest Retry-After the facade believes. A larger
// value (or a date further ahead) is cut to it, so that a wrong header
// cannot park a caller or the token exchange for days.
const maxRetryAfter = 24 * time.Hour

// MaxResponseHeaderBytes caps the response headers of every upstream
// answer. Go's default is 10 MiB, which lets 40 hostile answers cost
// hundreds of megabytes; the Contacts API's headers are a few hundred
// bytes.
const MaxResponseHeaderBytes = 64 << 10

// ParseRetryAfter reads a Retry-After header value (RFC 9110 §10.2.3):
// delay-seconds or an HTTP date. It returns 0 when v is empty, malformed,
// not positive or in the past, and never more than MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// IsLoopback reports whether host (a URL's Hostname(), without port) names
// this machine: "localhost" or a loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewTransport returns a transport of its own (never shared with
// http.DefaultTransport, so that closing its idle connections or changing
// its pool touches nobody else) with the standard library's defaults for
// proxies, dialling and TLS, response headers capped at
// MaxResponseHeaderBytes, and up to idle idle connections (0 keeps Go's
// default of 100).
func NewTransport(idle int) *http.Transport {
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
	}
	if idle > 0 {
		t.MaxIdleConns = idle
		t.MaxIdleConnsPerHost = idle
	}
	return t
}

// UseH2C makes t speak HTTP/2 without TLS to http:// URLs, with prior
// knowledge (RFC 9113 §3.3: no HTTP/1.1 upgrade, the connection starts
// with the HTTP/2 preface), and HTTP/2 over TLS to https:// URLs. All
// requests to a host then share one connection, a stream each, instead of
// a connection (and its buffers and two goroutines) per request in flight.
// A server that speaks only HTTP/1.1 fails every request. It returns t.
func UseH2C(t *http.Transport) *http.Transport {
	var p http.Protocols
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	t.Protocols = &p
	return t
}

// ServeH2C makes srv answer HTTP/1.1 and, to clients that open with the
// HTTP/2 preface, HTTP/2 without TLS: the server side of UseH2C. It
// returns srv.
func ServeH2C(srv *http.Server) *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv.Protocols = &p
	return srv
}
