package access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"golang.org/x/time/rate"
)

const example = `version: 1
# Callers no rule names may read.
default:
  rpcs: [read]
  rate: {per_second: 5, burst: 10}
callers:
  - id: spiffe://corp/ns/billing/sa/invoicer
    rpcs: [read, write]
    write_profiles: [INVOICES]
    rate: {per_second: 20, burst: 40}
  - id: spiffe://corp/ns/ops/*
    rpcs: ["*"]
    write_profiles: ["*"]
  - id: dns:reservations.corp
    rpcs: [ListContacts, ReplaceContacts]
    write_profiles: [reservations, PROFILE_TYPE_CENTRAL_RESERVATIONS]
    properties: ["1000001", "2*"]
`

func TestParseExample(t *testing.T) {
	p, err := ParsePolicy([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	inv := p.Match("spiffe://corp/ns/billing/sa/invoicer")
	ops := p.Match("spiffe://corp/ns/ops/sa/oncall")
	res := p.Match("dns:reservations.corp")
	anon := p.Match("anonymous")
	type check struct {
		name string
		got  bool
		want bool
	}
	for _, c := range []check{
		{"invoicer lists", inv.AllowsRPC("ListContacts"), true},
		{"invoicer replaces", inv.AllowsRPC("ReplaceContacts"), true},
		{"invoicer writes INVOICES", inv.MayWrite(contactsv1.ProfileType_PROFILE_TYPE_INVOICES), true},
		{"invoicer writes GENERAL", inv.MayWrite(contactsv1.ProfileType_PROFILE_TYPE_GENERAL), false},
		{"invoicer any property", inv.AllowsProperty("42"), true},
		{"ops pattern writes all", ops.writesAllProfiles(), true},
		{"ops pattern any rpc", ops.AllowsRPC("CreateContacts"), true},
		{"reservations not Create", res.AllowsRPC("CreateContacts"), false},
		{"reservations REST name", res.MayWrite(contactsv1.ProfileType_PROFILE_TYPE_RESERVATIONS), true},
		{"reservations prefixed name", res.MayWrite(contactsv1.ProfileType_PROFILE_TYPE_CENTRAL_RESERVATIONS), true},
		{"reservations exact property", res.AllowsProperty("1000001"), true},
		{"reservations property pattern", res.AllowsProperty("2000007"), true},
		{"reservations other property", res.AllowsProperty("1000002"), false},
		{"default reads", anon.AllowsRPC("ListContacts"), true},
		{"default cannot write", anon.AllowsRPC("ReplaceContacts"), false},
		{"default writes nothing", anon.MayWrite(contactsv1.ProfileType_PROFILE_TYPE_INVOICES), false},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if inv.Rate != (Rate{20, 40}) || anon.Rate != (Rate{5, 10}) || ops.Rate != (Rate{}) {
		t.Errorf("rates: %+v %+v %+v", inv.Rate, anon.Rate, ops.Rate)
	}
	if inv.Line != 7 || ops.Rule != "spiffe://corp/ns/ops/*" {
		t.Errorf("rule position: line %d, rule %q", inv.Line, ops.Rule)
	}
}

func TestExactBeforePatternAndNoDefault(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"callers": [
  {"id": "spiffe://a/*", "rpcs": ["read"]},
  {"id": "spiffe://a/b", "rpcs": ["*"], "write_profiles": ["*"]}
]}`))
	if err != nil {
		t.Fatal(err)
	}
	if g := p.Match("spiffe://a/b"); !g.AllowsRPC("ReplaceContacts") {
		t.Error("the exact rule did not win over an earlier pattern")
	}
	if g := p.Match("spiffe://a/c"); g.AllowsRPC("ReplaceContacts") || !g.AllowsRPC("ListContacts") {
		t.Error("pattern rule not applied")
	}
	if g := p.Match("anonymous"); g != nil || g.AllowsRPC("ListContacts") {
		t.Error("a caller no rule names may call something without a default")
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown top key", "version: 1\ncalers: []\n", `line 2: unknown key "calers"`},
		{"bad version", "version: 2\n", "line 1: version must be 1"},
		{"unknown rpc", "callers:\n  - id: a\n    rpcs: [ListContacts, DeleteEverything]\n", `line 3: unknown RPC "DeleteEverything"`},
		{"unknown profile", "callers:\n  - id: a\n    rpcs: [write]\n    write_profiles: [INVOICE]\n", `line 4: unknown profile "INVOICE"`},
		{"unknown rule key", "callers:\n  - id: a\n    rcps: [read]\n", `line 3: unknown key "rcps"`},
		{"missing id", "callers:\n  - rpcs: [read]\n", "line 2: a caller rule needs an id"},
		{"duplicate id", "callers:\n  - id: a\n  - id: a\n", `line 3: caller "a" is already given at line 2`},
		{"bad rate", "default:\n  rate: {per_second: -1}\n", "line 2: rate.per_second must be a positive number"},
		{"profiles without write", "callers:\n  - id: a\n    rpcs: [read]\n    write_profiles: [INVOICES]\n", "line 2: write_profiles given but no write RPC"},
		{"id in default", "default:\n  id: x\n", `line 2: unknown key "id"`},
		{"not yaml", "callers: [\n", "line"},
		{"empty", "", "empty"},
		{"rpcs not a list", "callers:\n  - id: a\n    rpcs: read\n", "line 3: want a list"},
	}
	for _, tt := range tests {
		_, err := ParsePolicy([]byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	// Every error is reported at once, not only the first.
	_, err := ParsePolicy([]byte("callers:\n  - id: a\n    rpcs: [X]\n  - id: b\n    rpcs: [Y]\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("not every error reported: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPolicy(path); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	_ = os.WriteFile(big, make([]byte, maxFileBytes+10), 0o600)
	if _, err := LoadPolicy(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
	if _, err := LoadPolicy(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestMatchGlob(t *testing.T) {
	for _, tt := range []struct {
		glob, s string
		want    bool
	}{
		{"a", "a", true}, {"a", "b", false}, {"*", "", true}, {"a*", "abc", true},
		{"*c", "abc", true}, {"a*c", "abbc", true}, {"a*b*c", "axbyc", true},
		{"a*b*b", "ab", false}, {"spiffe://x/*", "spiffe://x/ns/y", true}, {"*x*", "y", false},
	} {
		if got := match(tt.glob, tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v", tt.glob, tt.s, got)
		}
	}
}

func TestAllowAllAndIsRead(t *testing.T) {
	g := allowAllPolicy().Match("anyone")
	for _, m := range methods() {
		if !g.AllowsRPC(m) {
			t.Errorf("allow-all refuses %s", m)
		}
	}
	if !g.writesAllProfiles() || !g.AllowsProperty("1") || g.Rate.PerSecond != 0 || g.Rate.limit() != rate.Inf {
		t.Error("allow-all restricts something")
	}
	if !IsRead("ListContacts") || IsRead("ReplaceContacts") || IsRead("CreateContacts") {
		t.Error("isRead wrong")
	}
	if _, ok := parseProfile("UNSPECIFIED"); ok {
		t.Error("UNSPECIFIED parsed as a profile")
	}
	h := NewHolder(allowAllPolicy())
	p, _ := ParsePolicy([]byte("version: 1\n"))
	h.Store(p)
	if h.Load() != p {
		t.Error("Store did not take")
	}
}
