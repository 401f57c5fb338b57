package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/httpx"
)

// callersConfig says who may call, and where the audit trail goes.
type callersConfig struct {
	policyFile     string
	auditLog       string
	trustXFCC      bool
	trustedProxies string
}

func addCallersFlags(fs *flag.FlagSet, c *callersConfig) {
	fs.StringVar(&c.policyFile, "policy", "",
		"YAML or JSON file of what each caller may do (RPCs, writable profiles, properties, fair share);\nreloaded on SIGHUP; empty: every caller may do everything")
	fs.StringVar(&c.auditLog, "audit-log", "",
		"write one JSON line per write call, allowed or refused, to this file (appended; opened again on SIGHUP\nand after it is rotated or removed), or \"stderr\"; a caller's repeated refusals are summed up per 10 s; empty: off")
	fs.BoolVar(&c.trustXFCC, "trust-proxy-client-cert", false,
		"take the caller's identity from the "+access.XFCCHeader+" header of a mesh proxy that\nterminated TLS, only from -trusted-proxies")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "",
		"comma-separated addresses or CIDRs of the proxies whose "+access.XFCCHeader+" is believed")
}

// resolver is the caller identity resolver the flags describe.
func (c callersConfig) resolver() (access.Resolver, error) {
	r := access.Resolver{TrustProxyHeader: c.trustXFCC}
	for _, f := range strings.Split(c.trustedProxies, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return r, fmt.Errorf("-trusted-proxies: %q is neither an address nor a CIDR", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		r.Proxies = append(r.Proxies, p)
	}
	if r.TrustProxyHeader && len(r.Proxies) == 0 {
		return r, errors.New("-trust-proxy-client-cert needs -trusted-proxies")
	}
	return r, nil
}

// callers is the gate of the service: the policy of -policy (every
// caller may do everything without it), the trail of -audit-log (none
// without it), the identities the other flags describe.
type callers struct {
	resolver access.Resolver
	policy   *access.Holder
	trail    *access.Trail
	file     *access.PolicyFile // nil without -policy
}

// newCallers loads the policy and opens the audit trail. Without -policy
// every caller may do everything, and a server listening beyond loopback
// says so once.
func newCallers(cfg callersConfig, listen string, stderr io.Writer, log *slog.Logger) (*callers, error) {
	res, err := cfg.resolver()
	if err != nil {
		return nil, configError{err}
	}
	c := &callers{resolver: res, policy: access.AllowAll(), trail: access.NoAudit()}
	if cfg.policyFile == "" {
		if !loopbackListen(listen) {
			log.Warn("no -policy: every caller that reaches this address may read and overwrite every property's contacts", "listen", listen)
		}
	} else {
		if c.file, err = access.OpenPolicyFile(cfg.policyFile, log); err != nil {
			return nil, configError{fmt.Errorf("-policy %w", err)}
		}
		c.policy = c.file.Holder()
	}
	switch cfg.auditLog {
	case "":
	case "stderr":
		c.trail = access.NewTrail(stderr)
	default:
		if c.trail, err = access.OpenTrailFile(cfg.auditLog); err != nil {
			return nil, configError{fmt.Errorf("-audit-log: %w", err)}
		}
	}
	return c, nil
}

// reload reads the policy file again and opens the -audit-log file again
// (on SIGHUP, after a rotation). A policy that does not check keeps the
// one in force; the file's Reload says why. An audit file that cannot be
// opened again refuses writes until it can.
func (c *callers) reload(log *slog.Logger) {
	if err := c.trail.Reopen(); err != nil {
		log.Error("SIGHUP: the -audit-log file cannot be opened again; writes are refused until it can", "error", err.Error())
	}
	if c.file == nil {
		log.Info("SIGHUP: no -policy to reload")
		return
	}
	_ = c.file.Reload()
}

// close writes out what the trail holds back (refusals summed up) and
// closes the -audit-log file.
func (c *callers) close() {
	_ = c.trail.Close()
}

// loopbackListen reports whether a listen address is on loopback only.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return httpx.IsLoopback(host)
}
