package main

import "flag"

// obsConfig is what contactsd is told about metrics, profiles and the
// admin listener (observability.Config). Tracing is configured by the
// OTEL_* environment only.
type obsConfig struct {
	adminListen string
	adminPprof  bool
}

// addObservabilityFlags defines the flags of obsConfig.
func addObservabilityFlags(fs *flag.FlagSet, c *obsConfig) {
	fs.StringVar(&c.adminListen, "admin-listen", "",
		"admin HTTP address (host:port) for /metrics, /healthz, /readyz; empty: no admin listener.\nIt serves no contact data, but bind it to loopback or a port only the platform reaches")
	fs.BoolVar(&c.adminPprof, "admin-pprof", false, "also serve /debug/pprof/ on -admin-listen")
}
