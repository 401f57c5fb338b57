package access

// Who is calling: the identity the policy, fair shares and audit trail
// speak of. In order of trust it comes from the verified mTLS client
// certificate, from the client-certificate header of a mesh proxy that
// terminated TLS (only when enabled, and only from the configured proxy
// addresses), or it is Anonymous.

import (
	"context"
	"crypto/x509"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// Anonymous is the identity of a caller that presented nothing.
const Anonymous = "anonymous"

// Identity forms: a URI SAN as it is (it carries its scheme, e.g.
// spiffe://corp/ns/billing/sa/invoicer); a DNS SAN as "dns:NAME"; a
// subject common name as "cn:NAME". The prefixes keep a DNS name and a
// common name that spell the same from meaning the same caller.
const (
	prefixDNS = "dns:"
	prefixCN  = "cn:"
)

// Source says where an identity came from.
type Source string

const (
	SourceCertificate Source = "certificate"
	SourceProxyHeader Source = "proxy_header"
	SourceNone        Source = "none"
)

// Identity is one caller.
type Identity struct {
	Name   string
	Source Source
}

// XFCCHeader is Envoy's x-forwarded-client-cert header.
const XFCCHeader = "x-forwarded-client-cert"

// maxIdentityLen bounds an identity taken from a certificate or header, so
// that it can go into logs, audit records and status metadata.
const maxIdentityLen = 512

// Resolver finds the caller of a call.
type Resolver struct {
	// TrustProxyHeader enables the x-forwarded-client-cert header.
	TrustProxyHeader bool
	// Proxies are the addresses the header is believed from; from any
	// other peer it is ignored.
	Proxies []netip.Prefix
}

// Resolve returns the identity of the call in ctx.
func (r Resolver) Resolve(ctx context.Context) Identity {
	p, ok := peer.FromContext(ctx)
	if ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.VerifiedChains) > 0 && len(info.State.VerifiedChains[0]) > 0 {
			if name := fromCertificate(info.State.VerifiedChains[0][0]); name != "" {
				return Identity{Name: name, Source: SourceCertificate}
			}
		}
	}
	if r.TrustProxyHeader && ok && r.fromProxy(p.Addr) {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if vs := md.Get(XFCCHeader); len(vs) > 0 {
				if name := fromXFCC(vs[len(vs)-1]); name != "" {
					return Identity{Name: name, Source: SourceProxyHeader}
				}
			}
		}
	}
	return Identity{Name: Anonymous, Source: SourceNone}
}

func (r Resolver) fromProxy(addr net.Addr) bool {
	if addr == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range r.Proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// fromCertificate names the holder of a verified client certificate: its
// first URI SAN, else its first DNS SAN, else its subject common name;
// "" when it has none of them.
func fromCertificate(c *x509.Certificate) string {
	switch {
	case len(c.URIs) > 0:
		return bound(c.URIs[0].String())
	case len(c.DNSNames) > 0:
		return bound(prefixDNS + c.DNSNames[0])
	case c.Subject.CommonName != "":
		return bound(prefixCN + c.Subject.CommonName)
	}
	return ""
}

// fromXFCC names the client of the nearest proxy from an
// x-forwarded-client-cert value: its last element (the one the proxy that
// terminated the client's TLS added) with the same preference as
// fromCertificate: URI, then DNS, then the subject's CN.
func fromXFCC(v string) string {
	elems := splitQuoted(v, ',')
	if len(elems) == 0 {
		return ""
	}
	var uri, dns, cn string
	for _, kv := range splitQuoted(elems[len(elems)-1], ';') {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		val = unquote(strings.TrimSpace(val))
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "uri":
			if uri == "" {
				uri = val
			}
		case "dns":
			if dns == "" {
				dns = val
			}
		case "subject":
			if cn == "" {
				cn = commonName(val)
			}
		}
	}
	switch {
	case uri != "":
		return bound(uri)
	case dns != "":
		return bound(prefixDNS + dns)
	case cn != "":
		return bound(prefixCN + cn)
	}
	return ""
}

// commonName takes CN=... out of an RFC 4514 subject such as
// "CN=invoicer,OU=billing,O=corp".
func commonName(subject string) string {
	for _, rdn := range splitQuoted(subject, ',') {
		k, v, ok := strings.Cut(rdn, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "CN") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// splitQuoted splits s at sep outside double quotes (backslash escapes a
// quote inside them).
func splitQuoted(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	out = append(out, s[start:])
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		s = strings.ReplaceAll(s, `\"`, `"`)
	}
	return s
}

// bound keeps only printable ASCII-safe identities of bounded length: an
// identity with control characters is no identity.
func bound(s string) string {
	if len(s) > maxIdentityLen {
		return ""
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	return s
}
