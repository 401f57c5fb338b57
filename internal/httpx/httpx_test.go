package httpx

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"  ", 0},
		{"0", 0},
		{"-5", 0},
		{"abc", 0},
		{"1.5", 0},
		{"7", 7 * time.Second},
		{" 7 ", 7 * time.Second},
		{"99999999999", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Tuesday, 01-Dec-26 12:00:10 GMT", 10 * time.Second}, // RFC 850
		{now.Add(30 * 24 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	}
	for _, tt := range tests {
		if got := ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true,
		"": false, "example.com": false, "10.0.0.1": false, "localhost.example.com": false, "::": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestNewTransport(t *testing.T) {
	a, b := NewTransport(0), NewTransport(1000)
	if a == b || a == http.DefaultTransport {
		t.Fatal("transports must be distinct")
	}
	if a.MaxIdleConns != 100 || b.MaxIdleConns != 1000 || b.MaxIdleConnsPerHost != 1000 {
		t.Errorf("idle pool: got %d and %d/%d", a.MaxIdleConns, b.MaxIdleConns, b.MaxIdleConnsPerHost)
	}
	if a.MaxResponseHeaderBytes != MaxResponseHeaderBytes || a.Proxy == nil || a.DialContext == nil {
		t.Error("transport lacks the header cap, proxy or dialler")
	}
}
