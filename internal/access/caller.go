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

// Identity forms, each in its own namespace:
//   - a URI SAN as it is (it carries its scheme, e.g.
//     spiffe://corp/ns/billing/sa/invoicer), except a URI without a scheme
//     or whose scheme is one of the prefixes below ("dns:x", "uri:x"),
//     which is "uri:" followed by the URI: so no URI can pass for a DNS
//     name, a common name or the anonymous caller;
//   - a DNS SAN as "dns:" followed by the name in lower case (DNS names
//     compare without case);
//   - a subject common name as "cn:NAME";
//   - Anonymous, for a caller that presented no name.
//
// A policy id is written the same way; "uri:" followed by a URI with
// another scheme, and a "dns:" id in any case, mean the same as above
// (see canonicalID).
const (
	prefixDNS = "dns:"
	prefixCN  = "cn:"
	prefixURI = "uri:"
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
			// A verified certificate names the caller, or no one: it
			// never defers to a header that whoever holds it could send.
			if name := fromCertificate(info.State.VerifiedChains[0][0]); name != "" {
				return Identity{Name: name, Source: SourceCertificate}
			}
			return Identity{Name: Anonymous, Source: SourceCertificate}
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
		return uriIdentity(c.URIs[0].String())
	case len(c.DNSNames) > 0:
		return dnsIdentity(c.DNSNames[0])
	case c.Subject.CommonName != "":
		return bound(prefixCN + c.Subject.CommonName)
	}
	return ""
}

// fromXFCC names the client of the nearest proxy from an
// x-forwarded-client-cert value: its last element (the one the proxy that
// terminated the client's TLS added: a proxy that appends, as Envoy's
// APPEND_FORWARD does, puts it after whatever the client sent) with the
// same preference as fromCertificate: URI, then DNS, then the subject's
// CN. A value that does not parse cleanly names no one: a client could
// otherwise hide the comma before the proxy's element behind an
// unbalanced quote or a trailing backslash and be taken for whoever its
// own element names.
func fromXFCC(v string) string {
	elems, ok := parseXFCC(v)
	if !ok || len(elems) == 0 {
		return ""
	}
	var uri, dns, cn string
	for _, kv := range elems[len(elems)-1] {
		k, val := kv[0], kv[1]
		switch strings.ToLower(k) {
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
		return uriIdentity(uri)
	case dns != "":
		return dnsIdentity(dns)
	case cn != "":
		return bound(prefixCN + cn)
	}
	return ""
}

// parseXFCC reads a whole x-forwarded-client-cert value strictly: elements
// separated by ',' (optionally followed by spaces), each of key=value
// pairs separated by ';'. A value is bare (no '"', '\', ',' or ';') or
// quoted: "...", where '\' escapes the next character. Anything else
// (an unbalanced quote, a backslash outside quotes or at the end, a quote
// inside a bare value, text after a closing quote, an empty element or
// key, a control character) is not a clean header: ok is false. Quoted
// values are returned with their quotes removed and \" unescaped.
func parseXFCC(s string) (elems [][][2]string, ok bool) {
	var elem [][2]string
	i := 0
	for {
		// key
		start := i
		for i < len(s) && s[i] != '=' {
			switch c := s[i]; {
			case c == ',' || c == ';' || c == '"' || c == '\\' || c < 0x20 || c == 0x7f:
				return nil, false
			}
			i++
		}
		if i == len(s) || i == start {
			return nil, false
		}
		key := strings.TrimSpace(s[start:i])
		if key == "" {
			return nil, false
		}
		i++ // '='
		// value
		var val string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) && !closed {
				switch c := s[i]; {
				case c == '\\':
					if i+1 >= len(s) {
						return nil, false
					}
					if s[i+1] != '"' {
						b.WriteByte(c) // kept: an RFC 4514 escape in a subject
					}
					b.WriteByte(s[i+1])
					i += 2
				case c == '"':
					closed = true
					i++
				case c < 0x20 || c == 0x7f:
					return nil, false
				default:
					b.WriteByte(c)
					i++
				}
			}
			if !closed {
				return nil, false
			}
			val = b.String()
		} else {
			start := i
			for i < len(s) && s[i] != ',' && s[i] != ';' {
				if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
					return nil, false
				}
				i++
			}
			val = s[start:i]
		}
		elem = append(elem, [2]string{key, val})
		if i == len(s) {
			return append(elems, elem), true
		}
		switch s[i] {
		case ';':
			i++
		case ',':
			elems = append(elems, elem)
			elem = nil
			i++
			for i < len(s) && s[i] == ' ' {
				i++
			}
		default: // text after a closing quote
			return nil, false
		}
		if i == len(s) { // a trailing separator
			return nil, false
		}
	}
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

// uriIdentity is the identity of a URI SAN: the URI, or "uri:" and the
// URI when it has no scheme or one of the identity prefixes' (see the
// identity forms).
func uriIdentity(u string) string {
	if u == "" {
		return ""
	}
	return bound(canonicalURI(u))
}

func canonicalURI(u string) string {
	scheme, _, ok := strings.Cut(u, ":")
	if !ok || !validScheme(scheme) {
		return prefixURI + u
	}
	switch strings.ToLower(scheme) + ":" {
	case prefixDNS, prefixCN, prefixURI:
		return prefixURI + u
	}
	return u
}

// validScheme reports whether s is an RFC 3986 scheme:
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// dnsIdentity is the identity of a DNS SAN: "dns:" and the name in lower
// case.
func dnsIdentity(name string) string {
	if name == "" {
		return ""
	}
	return bound(prefixDNS + strings.ToLower(name))
}

// canonicalID is a policy id (or pattern) in the form identities have:
// "dns:" ids in lower case (their prefix too), "uri:" followed by a URI
// with a scheme of its own as the URI alone, "cn:" and "uri:" prefixes in
// lower case. Any other id is taken as it is: an ordinary URI such as
// spiffe://corp/ns/a/sa/b, or "anonymous".
func canonicalID(id string) string {
	lower := strings.ToLower(id)
	switch {
	case strings.HasPrefix(lower, prefixDNS):
		return lower
	case strings.HasPrefix(lower, prefixCN):
		return prefixCN + id[len(prefixCN):]
	case strings.HasPrefix(lower, prefixURI):
		return canonicalURI(id[len(prefixURI):])
	}
	return id
}
