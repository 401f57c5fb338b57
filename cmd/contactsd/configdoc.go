package main

// docs/configuration.md is rendered from contactsd's flag set by
// writeConfigDoc; TestConfigurationDoc fails when the committed file is
// not what it renders, and rewrites it with -update:
//
//go:generate go test -run ^TestConfigurationDoc$ . -update

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// configDocPath is the generated page, relative to this package.
const configDocPath = "../../docs/configuration.md"

// flagEnvPattern finds the environment variable a flag's usage names as
// "env NAME": the variable read when the flag is not given.
var flagEnvPattern = regexp.MustCompile(`\benv ([A-Z][A-Z0-9_]*)\b`)

// flagEnv returns the environment variable of f, "" if it has none.
func flagEnv(f *flag.Flag) string {
	if m := flagEnvPattern.FindStringSubmatch(f.Usage); m != nil {
		return m[1]
	}
	return ""
}

// envOnlyDoc are the environment variables parseConfig reads that no flag
// stands for: secrets, which never go in flags. TestConfigDocListsEveryEnv
// fails when parseConfig reads one that is not here, or one here is no
// longer read.
var envOnlyDoc = []struct{ name, meaning string }{
	{envClientID, "Client ID of the Booking.com machine account, exchanged with the secret for a token (`-auth auto` or `token`). Not a secret: it is logged."},
	{envClientSecret, "Client Secret of the machine account."},
	{envClientSecretFile, "A file holding the Client Secret (at most 64 KiB; a final newline is dropped), read instead of `" + envClientSecret + "`."},
	{envToken, "A fixed bearer token sent as it is (`-auth static`, or `auto` without a client id and secret), for debugging."},
	{envUsername, "Legacy Basic authentication user, used only with `-auth basic` (Booking.com sunset Basic authentication on 2025-12-31)."},
	{envPassword, "Legacy Basic authentication password, with `" + envUsername + "`."},
	{envRedisURLFile, "A file holding the Redis URL (at most 4 KiB), read when neither `-redis-url` nor `" + envRedisURL + "` gives one."},
}

// writeConfigDoc renders docs/configuration.md from the flags newFlagSet
// defines.
func writeConfigDoc(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`<!-- Generated from contactsd's flag set by cmd/contactsd/configdoc.go: do not edit.
     Regenerate with: go generate ./cmd/contactsd -->
# Configuring contactsd

contactsd takes flags and environment variables. A flag given on the
command line wins over its environment variable. Credentials, and a Redis
URL with a password, come only from the environment or from a file named
there, never from a flag: flags show in ` + "`ps`" + ` and in shell history. No
secret is ever logged or printed by ` + "`contactsd -h`" + `, which lists the same
flags.

With no ` + "`-upstream`" + ` and no ` + "`" + envUpstreamURL + "`" + `, contactsd serves on an embedded emulator of
the Contacts API with demo data, unless one of the credential variables
below (or ` + "`" + envAuthURL + "`" + `) is set: then it refuses to start (exit status 2).
An empty upstream is refused too.

## Flags

| flag | default | environment | meaning |
|---|---|---|---|
`)
	fs := newFlagSet(&config{}, io.Discard)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		cell := "`-" + f.Name
		if name != "" {
			cell += " " + name
		}
		cell += "`"
		def := ""
		if f.DefValue != "" {
			def = "`" + f.DefValue + "`"
		}
		env := ""
		if e := flagEnv(f); e != "" {
			env = "`" + e + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell, def, env, tableCell(usage))
	})
	b.WriteString(`
## Environment variables without a flag

| variable | meaning |
|---|---|
`)
	for _, e := range envOnlyDoc {
		fmt.Fprintf(&b, "| `%s` | %s |\n", e.name, tableCell(e.meaning))
	}
	b.WriteString(`
Tracing is configured by the standard OpenTelemetry variables alone
(` + "`OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SDK_DISABLED`" + `, ...):
see [Tracing](operations.md#tracing). The Go runtime's ` + "`GOMEMLIMIT`" + ` and
` + "`GOMAXPROCS`" + ` apply as for any Go program.
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// tableCell puts a flag's usage on one line of a Markdown table.
func tableCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
