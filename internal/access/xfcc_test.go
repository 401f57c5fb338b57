package access

import (
	"net/netip"
	"testing"
)

// TestFromXFCCSpoofedPrefixGivesAnonymous: behind a proxy that appends its
// element (Envoy's APPEND_FORWARD), what a client sent comes first. A
// client value that hides the comma before the proxy's element (an
// unbalanced quote, a trailing backslash) must not name the caller: the
// header does not parse cleanly, so the caller is anonymous (""), and a
// clean header names the proxy's element, the last one.
func TestFromXFCCSpoofedPrefixGivesAnonymous(t *testing.T) {
	const proxy = `,By=spiffe://corp/envoy;Hash=abc;URI=spiffe://corp/guest`
	tests := []struct {
		name, client, want string
	}{
		{"clean client element", `URI=spiffe://corp/admin`, "spiffe://corp/guest"},
		{"unbalanced quote", `URI=spiffe://corp/admin"`, ""},
		{"unbalanced quote in a key", `URI=spiffe://corp/admin;x="`, ""},
		{"trailing backslash", `URI=spiffe://corp/admin\`, ""},
		{"backslash outside quotes", `URI=spiffe://corp/ad\min`, ""},
		{"quote mid-value", `URI=spiffe://corp/ad"min`, ""},
		{"quoted then more", `URI="spiffe://corp/admin"x`, ""},
		{"escaped quote then open quote", `Subject="CN=a\"";URI="spiffe://corp/admin`, ""},
	}
	for _, tt := range tests {
		if got := fromXFCC(tt.client + proxy); got != tt.want {
			t.Errorf("%s: fromXFCC(%q) = %q, want %q", tt.name, tt.client+proxy, got, tt.want)
		}
	}
	// Pinned by hand.
	if got := fromXFCC(`URI=spiffe://corp/admin"` + proxy); got != "" {
		t.Errorf("unbalanced quote: %q", got)
	}
	if got := fromXFCC(`URI=spiffe://corp/admin\` + proxy); got != "" {
		t.Errorf("trailing backslash: %q", got)
	}
	if got := fromXFCC(`URI=spiffe://corp/admin` + proxy); got != "spiffe://corp/guest" {
		t.Errorf("clean: %q", got)
	}
}

func TestResolveSpoofedXFCCIsAnonymous(t *testing.T) {
	mesh := Resolver{TrustProxyHeader: true, Proxies: mustPrefixes("10.0.0.0/8")}
	got := mesh.Resolve(peerCtx("10.1.1.1:5", nil, `URI=spiffe://corp/admin"`+`,By=spiffe://corp/envoy;URI=spiffe://corp/guest`))
	if got != (Identity{Anonymous, SourceNone}) {
		t.Errorf("got %+v, want anonymous", got)
	}
}

func mustPrefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}
