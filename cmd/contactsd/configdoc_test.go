package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

var updateConfigDoc = flag.Bool("update", false, "rewrite docs/configuration.md from the flag set")

// TestConfigurationDoc fails when docs/configuration.md is not what the
// flag set renders; with -update (go generate ./cmd/contactsd) it
// rewrites the file.
func TestConfigurationDoc(t *testing.T) {
	var b bytes.Buffer
	if err := writeConfigDoc(&b); err != nil {
		t.Fatal(err)
	}
	if *updateConfigDoc {
		if err := os.WriteFile(configDocPath, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(configDocPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Errorf("docs/configuration.md is stale: run go generate ./cmd/contactsd")
	}
}

// TestConfigDocRendersEveryFlag: each flag has its row, with its default,
// and its usage, however many lines it spans, on that row.
func TestConfigDocRendersEveryFlag(t *testing.T) {
	var b bytes.Buffer
	if err := writeConfigDoc(&b); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(b.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `-"); ok {
			name, _, _ := strings.Cut(rest, "`")
			name, _, _ = strings.Cut(name, " ")
			rows[name] = line
		}
	}
	n := 0
	newFlagSet(&config{}, io.Discard).VisitAll(func(f *flag.Flag) {
		n++
		row, ok := rows[f.Name]
		if !ok {
			t.Errorf("no row for -%s", f.Name)
			return
		}
		if f.DefValue != "" && !strings.Contains(row, "| `"+f.DefValue+"` |") {
			t.Errorf("-%s: the row lacks the default %q: %s", f.Name, f.DefValue, row)
		}
		if !strings.Contains(row, tableCell(f.Usage)) && !strings.Contains(row, tableCell(strings.ReplaceAll(f.Usage, "`", ""))) {
			t.Errorf("-%s: the row lacks the usage: %s", f.Name, row)
		}
	})
	if len(rows) != n {
		t.Errorf("%d flag rows for %d flags", len(rows), n)
	}
}

// TestConfigDocListsEveryEnv: the environment variables the page names are
// exactly those parseConfig reads. A flag's variable is read when the flag
// is not given; the others are in envOnlyDoc.
func TestConfigDocListsEveryEnv(t *testing.T) {
	read := map[string]bool{}
	lookup := func(k string) (string, bool) { read[k] = true; return "", false }
	// No upstream and no credentials: parseConfig looks at every variable
	// it knows (the credentials, to refuse the demo when one is set).
	if _, err := parseConfig(nil, lookup, io.Discard); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	newFlagSet(&config{}, io.Discard).VisitAll(func(f *flag.Flag) {
		if e := flagEnv(f); e != "" {
			documented[e] = true
		}
	})
	for _, e := range envOnlyDoc {
		if documented[e.name] {
			t.Errorf("%s is documented twice", e.name)
		}
		documented[e.name] = true
	}
	for k := range read {
		if !documented[k] {
			t.Errorf("parseConfig reads %s, which the page does not document", k)
		}
	}
	for k := range documented {
		if !read[k] {
			t.Errorf("the page documents %s, which parseConfig does not read", k)
		}
	}
}

// envFlagSamples are valid values for the flags that have an environment
// variable; TestConfigDocFlagEnvIsRead needs one per such flag.
var envFlagSamples = map[string]string{
	"upstream":                 "https://contacts.example.com/contacts-api",
	"auth-url":                 "https://auth.example.com/exchange",
	"redis-url":                "redis://redis.example.com:6379/0",
	"upstream-rate-per-minute": "120",
}

// TestConfigDocFlagEnvIsRead: the variable the page gives for a flag sets
// what the flag sets when the flag is absent, and the flag wins over it.
func TestConfigDocFlagEnvIsRead(t *testing.T) {
	base := []string{"-upstream", envFlagSamples["upstream"]}
	parse := func(t *testing.T, args []string, env map[string]string) string {
		t.Helper()
		c, err := parseConfig(args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard)
		if err != nil {
			t.Fatalf("parseConfig(%q, %v): %v", args, env, err)
		}
		c.share.redisFromFlag = false // where the URL came from, not what it is
		return fmt.Sprintf("%+v", c)
	}
	var withEnv []string
	newFlagSet(&config{}, io.Discard).VisitAll(func(f *flag.Flag) {
		e := flagEnv(f)
		if e == "" {
			return
		}
		withEnv = append(withEnv, f.Name)
		t.Run(f.Name, func(t *testing.T) {
			v, ok := envFlagSamples[f.Name]
			if !ok {
				t.Fatalf("-%s has env %s: add a sample value to envFlagSamples", f.Name, e)
			}
			args := base
			if f.Name == "upstream" {
				args = nil
			}
			byFlag := parse(t, append(slices.Clone(args), "-"+f.Name, v), nil)
			byEnv := parse(t, args, map[string]string{e: v})
			if byFlag != byEnv {
				t.Errorf("-%s %s and %s=%s differ:\n%s\n%s", f.Name, v, e, v, byFlag, byEnv)
			}
			if byEnv == parse(t, args, nil) {
				t.Errorf("%s=%s changes nothing", e, v)
			}
			other := parse(t, append(slices.Clone(args), "-"+f.Name, v), map[string]string{e: v + "9"})
			if other != byFlag {
				t.Errorf("%s wins over -%s", e, f.Name)
			}
		})
	})
	if len(withEnv) == 0 {
		t.Fatal("no flag names an environment variable: the pattern finds nothing")
	}
}
