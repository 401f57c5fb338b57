package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"

	"google.golang.org/grpc"

	"github.com/contacts-facade/contacts-facade/internal/access"
	"github.com/contacts-facade/contacts-facade/internal/audit"
	"github.com/contacts-facade/contacts-facade/internal/caller"
	"github.com/contacts-facade/contacts-facade/internal/httpx"
	"github.com/contacts-facade/contacts-facade/internal/policy"
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
		"write one JSON line per write call, allowed or refused, to this file (appended), or \"stderr\"; empty: off")
	fs.BoolVar(&c.trustXFCC, "trust-proxy-client-cert", false,
		"take the caller's identity from the "+caller.XFCCHeader+" header of a mesh proxy that\nterminated TLS, only from -trusted-proxies")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "",
		"comma-separated addresses or CIDRs of the proxies whose "+caller.XFCCHeader+" is believed")
}

// resolver is the caller identity resolver the flags describe.
func (c callersConfig) resolver() (caller.Resolver, error) {
	r := caller.Resolver{TrustProxyHeader: c.trustXFCC}
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

// callers is the gate in front of the service, when a policy or an audit
// trail asks for one.
type callers struct {
	gate   *access.Gate
	policy *policy.Holder
	file   string
	trail  io.Closer
}

// newCallers loads the policy and opens the audit trail. Without either,
// there is no gate: every caller may do everything, as before, and a
// server listening beyond loopback says so once.
func newCallers(cfg callersConfig, listen string, stderr io.Writer, log *slog.Logger) (*callers, error) {
	res, err := cfg.resolver()
	if err != nil {
		return nil, configError{err}
	}
	c := &callers{file: cfg.policyFile}
	if cfg.policyFile == "" && cfg.auditLog == "" {
		if !loopbackListen(listen) {
			log.Warn("no -policy: every caller that reaches this address may read and overwrite every property's contacts", "listen", listen)
		}
		return c, nil
	}
	p := policy.AllowAll()
	if cfg.policyFile != "" {
		if p, err = policy.Load(cfg.policyFile); err != nil {
			return nil, configError{fmt.Errorf("-policy %w", err)}
		}
		log.Info("caller policy loaded", "policy", cfg.policyFile)
	}
	c.policy = policy.NewHolder(p)
	var trail *audit.Log
	switch cfg.auditLog {
	case "":
	case "stderr":
		trail = audit.New(stderr)
	default:
		f, err := os.OpenFile(cfg.auditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, configError{fmt.Errorf("-audit-log: %w", err)}
		}
		c.trail = f
		trail = audit.New(f)
	}
	c.gate = access.New(access.Config{Resolver: res, Policy: c.policy, Audit: trail, Logger: log.With("component", "access")})
	return c, nil
}

// interceptors are the gate's, to run after the metrics (which must see
// its refusals) and before the service.
func (c *callers) interceptors() []grpc.UnaryServerInterceptor {
	if c.gate == nil {
		return nil
	}
	return []grpc.UnaryServerInterceptor{c.gate.Unary()}
}

// reload reads the policy file again (on SIGHUP). A policy that does not
// check keeps the one in force, and says why.
func (c *callers) reload(log *slog.Logger) {
	if c.policy == nil || c.file == "" {
		log.Info("SIGHUP: no -policy to reload")
		return
	}
	p, err := policy.Load(c.file)
	if err != nil {
		log.Error("SIGHUP: the policy file does not check; the previous policy stays in force", "error", err.Error())
		return
	}
	c.policy.Swap(p)
	log.Info("SIGHUP: caller policy reloaded", "policy", c.file)
}

func (c *callers) close() {
	if c.trail != nil {
		_ = c.trail.Close()
	}
}

// loopbackListen reports whether a listen address is on loopback only.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return httpx.IsLoopback(host)
}
