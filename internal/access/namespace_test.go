package access

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestIdentityFormsDoNotCollide: a URI SAN "dns:admin.corp" is not the DNS
// name admin.corp, a DNS name is the same in any case, and each form only
// gets the grant written in its own form.
func TestIdentityFormsDoNotCollide(t *testing.T) {
	pol, err := ParsePolicy([]byte(`version: 1
callers:
  - id: dns:Admin.Corp
    rpcs: ["*"]
    write_profiles: ["*"]
  - id: spiffe://corp/ns/a/sa/b
    rpcs: [read]
  - id: uri:spiffe://corp/ns/c/sa/d
    rpcs: [read]
  - id: cn:admin.corp
    rpcs: [ListContacts]
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cert     x509.Certificate
		wantID   string
		wantRule string // "" when no rule grants it
	}{
		{"dns name", x509.Certificate{DNSNames: []string{"admin.corp"}}, "dns:admin.corp", "dns:admin.corp"},
		{"dns name in upper case", x509.Certificate{DNSNames: []string{"ADMIN.corp"}}, "dns:admin.corp", "dns:admin.corp"},
		{"uri spelling a dns name", x509.Certificate{URIs: []*url.URL{mustURL(t, "dns:admin.corp")}}, "uri:dns:admin.corp", ""},
		{"uri spelling a dns name in upper case", x509.Certificate{URIs: []*url.URL{mustURL(t, "DNS:admin.corp")}}, "uri:dns:admin.corp", ""},
		{"uri spelling a cn", x509.Certificate{URIs: []*url.URL{mustURL(t, "cn:admin.corp")}}, "uri:cn:admin.corp", ""},
		{"uri without a scheme", x509.Certificate{URIs: []*url.URL{mustURL(t, "anonymous")}}, "uri:anonymous", ""},
		{"spiffe uri", x509.Certificate{URIs: []*url.URL{mustURL(t, "spiffe://corp/ns/a/sa/b")}}, "spiffe://corp/ns/a/sa/b", "spiffe://corp/ns/a/sa/b"},
		{"spiffe uri written uri:", x509.Certificate{URIs: []*url.URL{mustURL(t, "spiffe://corp/ns/c/sa/d")}}, "spiffe://corp/ns/c/sa/d", "spiffe://corp/ns/c/sa/d"},
		{"common name", x509.Certificate{Subject: pkix.Name{CommonName: "admin.corp"}}, "cn:admin.corp", "cn:admin.corp"},
	}
	for _, tt := range tests {
		id := fromCertificate(&tt.cert)
		g := pol.Match(id)
		rule := ""
		if g != nil {
			rule = g.Rule
		}
		if id != tt.wantID || rule != tt.wantRule {
			t.Errorf("%s: identity %q with rule %q, want %q with %q", tt.name, id, rule, tt.wantID, tt.wantRule)
		}
	}
	// Pinned by hand: the URI SAN dns:admin.corp gets nothing of admin.corp's grant.
	if g := pol.Match(fromCertificate(&x509.Certificate{URIs: []*url.URL{mustURL(t, "dns:admin.corp")}})); g != nil {
		t.Errorf("URI SAN dns:admin.corp got the grant of %q", g.Rule)
	}
	// The same forms through the proxy header.
	for in, want := range map[string]string{
		`URI=dns:admin.corp`: "uri:dns:admin.corp",
		`DNS=Admin.CORP`:     "dns:admin.corp",
	} {
		if got := fromXFCC(in); got != want {
			t.Errorf("fromXFCC(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVerifiedCertificateWithoutNameIsAnonymous: a verified client
// certificate without a usable name never defers to the proxy header.
func TestVerifiedCertificateWithoutNameIsAnonymous(t *testing.T) {
	mesh := Resolver{TrustProxyHeader: true, Proxies: mustPrefixes("10.0.0.0/8")}
	for name, cert := range map[string]*x509.Certificate{
		"no name":            {},
		"name not printable": {Subject: pkix.Name{CommonName: "a\nb"}},
	} {
		got := mesh.Resolve(peerCtx("10.1.1.1:5", cert, "URI=spiffe://corp/admin"))
		if got != (Identity{Anonymous, SourceCertificate}) {
			t.Errorf("%s: %+v, want anonymous from the certificate", name, got)
		}
	}
	// Pinned by hand.
	if got := mesh.Resolve(peerCtx("10.1.1.1:5", &x509.Certificate{}, "URI=spiffe://corp/admin")); got.Name != Anonymous {
		t.Errorf("certificate without a name: %+v", got)
	}
}
