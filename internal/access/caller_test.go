package access

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

func TestFromCertificatePrefersURIThenDNSThenCN(t *testing.T) {
	spiffe, _ := url.Parse("spiffe://corp/ns/billing/sa/invoicer")
	tests := []struct {
		name string
		cert x509.Certificate
		want string
	}{
		{"uri", x509.Certificate{URIs: []*url.URL{spiffe}, DNSNames: []string{"a.corp"}, Subject: pkix.Name{CommonName: "x"}}, "spiffe://corp/ns/billing/sa/invoicer"},
		{"dns", x509.Certificate{DNSNames: []string{"a.corp", "b.corp"}, Subject: pkix.Name{CommonName: "x"}}, "dns:a.corp"},
		{"cn", x509.Certificate{Subject: pkix.Name{CommonName: "invoicer"}}, "cn:invoicer"},
		{"none", x509.Certificate{}, ""},
		{"control characters", x509.Certificate{Subject: pkix.Name{CommonName: "a\nb"}}, ""},
		{"too long", x509.Certificate{Subject: pkix.Name{CommonName: strings.Repeat("a", 600)}}, ""},
	}
	for _, tt := range tests {
		if got := fromCertificate(&tt.cert); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFromXFCC(t *testing.T) {
	tests := map[string]string{
		`By=spiffe://corp/envoy;Hash=abc;URI=spiffe://corp/ns/a/sa/b`:   "spiffe://corp/ns/a/sa/b",
		`Hash=abc;Subject="CN=invoicer,OU=billing,O=corp";DNS=inv.corp`: "dns:inv.corp",
		`Hash=abc;Subject="CN=invoicer,OU=billing,O=corp"`:              "cn:invoicer",
		`URI=spiffe://corp/first,By=x;URI=spiffe://corp/last`:           "spiffe://corp/last",
		`Hash=abc;Subject="O=corp, \"quoted\",CN=q"`:                    "cn:q",
		``:        "",
		`garbage`: "",
		`URI=`:    "",
	}
	for in, want := range tests {
		if got := fromXFCC(in); got != want {
			t.Errorf("fromXFCC(%q) = %q, want %q", in, got, want)
		}
	}
}

func peerCtx(addr string, cert *x509.Certificate, xfcc string) context.Context {
	ap := netip.MustParseAddrPort(addr)
	p := &peer.Peer{Addr: net.TCPAddrFromAddrPort(ap)}
	if cert != nil {
		p.AuthInfo = credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}
	}
	ctx := peer.NewContext(context.Background(), p)
	if xfcc != "" {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(XFCCHeader, xfcc))
	}
	return ctx
}

func TestResolveOrderOfTrust(t *testing.T) {
	mesh := Resolver{TrustProxyHeader: true, Proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "direct"}}
	tests := []struct {
		name string
		r    Resolver
		ctx  context.Context
		want Identity
	}{
		{"certificate wins over header", mesh, peerCtx("10.1.1.1:5", cert, "URI=spiffe://x"), Identity{"cn:direct", SourceCertificate}},
		{"header from a proxy", mesh, peerCtx("10.1.1.1:5", nil, "URI=spiffe://x"), Identity{"spiffe://x", SourceProxyHeader}},
		{"header from a non-proxy is ignored", mesh, peerCtx("192.0.2.1:5", nil, "URI=spiffe://x"), Identity{Anonymous, SourceNone}},
		{"header ignored unless enabled", Resolver{Proxies: mesh.Proxies}, peerCtx("10.1.1.1:5", nil, "URI=spiffe://x"), Identity{Anonymous, SourceNone}},
		{"nothing", mesh, peerCtx("10.1.1.1:5", nil, ""), Identity{Anonymous, SourceNone}},
		{"no peer", mesh, context.Background(), Identity{Anonymous, SourceNone}},
	}
	for _, tt := range tests {
		if got := tt.r.Resolve(tt.ctx); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
