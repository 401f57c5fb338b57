package access

// What each caller may do: which RPCs it may call, which contact profiles
// its writes may change, optionally which properties, and its fair share
// of the upstream. A policy is read from a YAML or JSON file and checked
// whole before it is used: an unknown key, RPC or profile is an error that
// names its line.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// maxFileBytes bounds a policy file.
const maxFileBytes = 1 << 20

// errTooLarge refuses a policy file over maxFileBytes.
var errTooLarge = fmt.Errorf("larger than %d bytes", maxFileBytes)

// wildcard matches every RPC, profile or property, and in a caller id any
// run of characters.
const wildcard = "*"

// RPC groups usable in a rule's rpcs.
const (
	groupRead  = "read"  // every RPC declared NO_SIDE_EFFECTS
	groupWrite = "write" // every other RPC
)

// Rate is a caller's fair share: a token bucket of Burst calls refilled
// at PerSecond.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Grant is what one caller may do. A nil *Grant may do nothing.
type Grant struct {
	// Rule is the id (or pattern) of the rule that matched, or "default".
	Rule string
	// Line is where that rule starts in the file.
	Line int

	allRPCs     bool
	rpcs        map[string]bool // method names, e.g. "SetProfileContacts"
	allProfiles bool
	profiles    map[contactsv1.ProfileType]bool
	allProps    bool
	props       map[string]bool
	propGlobs   []string
	// Rate is the caller's share; zero PerSecond means unlimited.
	Rate Rate
}

// AllowsRPC reports whether the grant covers the method (its short name,
// e.g. "ListContacts").
func (g *Grant) AllowsRPC(method string) bool {
	return g != nil && (g.allRPCs || g.rpcs[method])
}

// MayWrite reports whether writes may change profile p.
func (g *Grant) MayWrite(p contactsv1.ProfileType) bool {
	return g != nil && (g.allProfiles || g.profiles[p])
}

// readsAny reports whether the grant allows any read RPC.
func (g *Grant) readsAny() bool {
	if g == nil {
		return false
	}
	return g.allRPCs || slices.ContainsFunc(readMethods(), func(m string) bool { return g.rpcs[m] })
}

// writesAllProfiles reports whether the grant may change every profile,
// so that no check of what a Replace would delete is needed.
func (g *Grant) writesAllProfiles() bool { return g != nil && g.allProfiles }

// AllowsProperty reports whether the grant covers property id.
func (g *Grant) AllowsProperty(id string) bool {
	if g == nil {
		return false
	}
	if g.allProps || g.props[id] {
		return true
	}
	for _, p := range g.propGlobs {
		if match(p, id) {
			return true
		}
	}
	return false
}

// Policy is a checked policy file. It is immutable.
type Policy struct {
	exact    map[string]*Grant
	patterns []pattern
	def      *Grant
}

type pattern struct {
	glob  string
	grant *Grant
}

// allowAllPolicy is the policy without -policy: every caller may do everything,
// without a limit.
func allowAllPolicy() *Policy {
	return &Policy{def: &Grant{Rule: "allow-all", allRPCs: true, allProfiles: true, allProps: true}}
}

// Match returns the grant of caller id: an exact rule first, else the
// first pattern that matches in file order, else the default (nil when
// the file has none).
func (p *Policy) Match(id string) *Grant {
	if p == nil { // no policy: nothing is allowed
		return nil
	}
	if g, ok := p.exact[id]; ok {
		return g
	}
	for _, pt := range p.patterns {
		if match(pt.glob, id) {
			return pt.grant
		}
	}
	return p.def
}

// LoadPolicy reads and checks a policy file.
func LoadPolicy(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFileBytes+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if buf.Len() > maxFileBytes {
		return nil, fmt.Errorf("%s: %w", path, errTooLarge)
	}
	p, err := ParsePolicy(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy checks a policy document (YAML, or JSON, which is YAML too).
func ParsePolicy(doc []byte) (*Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, errors.New("the policy is empty")
	}
	top := root.Content[0]
	if err := expectKeys(top, "version", "default", "callers"); err != nil {
		return nil, err
	}
	var errs []error
	p := &Policy{exact: make(map[string]*Grant)}
	seen := make(map[string]int)
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "version":
			if v.Value != "1" {
				errs = append(errs, lineErr(v, "version must be 1"))
			}
		case "default":
			g, err := compile(v, true)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			g.Rule = "default"
			p.def = g
		case "callers":
			if v.Kind != yaml.SequenceNode {
				errs = append(errs, lineErr(v, "callers must be a list"))
				continue
			}
			for _, item := range v.Content {
				g, err := compile(item, false)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if first, dup := seen[g.Rule]; dup {
					errs = append(errs, lineErr(item, fmt.Sprintf("caller %q is already given at line %d", g.Rule, first)))
					continue
				}
				seen[g.Rule] = g.Line
				if strings.Contains(g.Rule, wildcard) {
					p.patterns = append(p.patterns, pattern{glob: g.Rule, grant: g})
				} else {
					p.exact[g.Rule] = g
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// compile checks one rule (a mapping) and turns it into a Grant.
func compile(n *yaml.Node, isDefault bool) (*Grant, error) {
	if n.Kind != yaml.MappingNode {
		return nil, lineErr(n, "a rule must be a mapping")
	}
	allowed := []string{"id", "rpcs", "write_profiles", "properties", "rate"}
	if isDefault {
		allowed = allowed[1:]
	}
	if err := expectKeys(n, allowed...); err != nil {
		return nil, err
	}
	g := &Grant{Line: n.Line, allProps: true}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "id":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				errs = append(errs, lineErr(v, "id must be a caller identity or pattern"))
				continue
			}
			g.Rule = canonicalID(v.Value)
		case "rpcs":
			errs = append(errs, eachString(v, func(s string, at *yaml.Node) error { return g.addRPC(s, at) })...)
		case "write_profiles":
			errs = append(errs, eachString(v, func(s string, at *yaml.Node) error { return g.addProfile(s, at) })...)
		case "properties":
			g.allProps = false
			g.props = make(map[string]bool)
			errs = append(errs, eachString(v, func(s string, _ *yaml.Node) error {
				switch {
				case s == wildcard:
					g.allProps = true
				case strings.Contains(s, wildcard):
					g.propGlobs = append(g.propGlobs, s)
				default:
					g.props[s] = true
				}
				return nil
			})...)
		case "rate":
			if err := g.setRate(v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if !isDefault && g.Rule == "" {
		errs = append(errs, lineErr(n, "a caller rule needs an id"))
	}
	if len(g.profiles) > 0 || g.allProfiles {
		if !g.allRPCs && !slices.ContainsFunc(writeMethods(), func(m string) bool { return g.rpcs[m] }) {
			errs = append(errs, lineErr(n, "write_profiles given but no write RPC is allowed"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Grant) addRPC(s string, at *yaml.Node) error {
	if g.rpcs == nil {
		g.rpcs = make(map[string]bool)
	}
	switch s {
	case wildcard:
		g.allRPCs = true
		return nil
	case groupRead:
		for _, m := range readMethods() {
			g.rpcs[m] = true
		}
		return nil
	case groupWrite:
		for _, m := range writeMethods() {
			g.rpcs[m] = true
		}
		return nil
	}
	if !slices.Contains(methods(), s) {
		return lineErr(at, fmt.Sprintf("unknown RPC %q (want one of %s, %q, %q or %q)", s, strings.Join(methods(), ", "), groupRead, groupWrite, wildcard))
	}
	g.rpcs[s] = true
	return nil
}

func (g *Grant) addProfile(s string, at *yaml.Node) error {
	if s == wildcard {
		g.allProfiles = true
		return nil
	}
	p, ok := parseProfile(s)
	if !ok {
		return lineErr(at, fmt.Sprintf("unknown profile %q (want e.g. INVOICES or %q)", s, wildcard))
	}
	if g.profiles == nil {
		g.profiles = make(map[contactsv1.ProfileType]bool)
	}
	g.profiles[p] = true
	return nil
}

func (g *Grant) setRate(v *yaml.Node) error {
	if err := expectKeys(v, "per_second", "burst"); err != nil {
		return err
	}
	var r struct {
		PerSecond float64 `yaml:"per_second"`
		Burst     int     `yaml:"burst"`
	}
	if err := v.Decode(&r); err != nil {
		return lineErr(v, "rate: "+err.Error())
	}
	if r.PerSecond <= 0 || math.IsInf(r.PerSecond, 0) || math.IsNaN(r.PerSecond) {
		return lineErr(v, "rate.per_second must be a positive number")
	}
	if r.Burst <= 0 {
		r.Burst = max(1, int(math.Ceil(r.PerSecond)))
	}
	g.Rate = Rate{PerSecond: r.PerSecond, Burst: r.Burst}
	return nil
}

// limit is the grant's rate as x/time/rate wants it.
func (r Rate) limit() rate.Limit {
	if r.PerSecond <= 0 {
		return rate.Inf
	}
	return rate.Limit(r.PerSecond)
}

// parseProfile reads a profile name: "INVOICES", "PROFILE_TYPE_INVOICES"
// or the REST name "invoices". UNSPECIFIED is no profile.
func parseProfile(s string) (contactsv1.ProfileType, bool) {
	name := strings.ToUpper(strings.TrimSpace(s))
	name = strings.TrimPrefix(name, "PROFILE_TYPE_")
	v, ok := contactsv1.ProfileType_value["PROFILE_TYPE_"+name]
	if !ok || v == 0 {
		return 0, false
	}
	return contactsv1.ProfileType(v), true
}

// methods are the RPCs of contacts.v1.ContactsService, from its
// descriptor, so that new RPCs are known without a change here.
func methods() []string {
	ms := contactsv1.File_contacts_v1_contacts_proto.Services().ByName("ContactsService").Methods()
	out := make([]string, 0, ms.Len())
	for i := range ms.Len() {
		out = append(out, string(ms.Get(i).Name()))
	}
	return out
}

// IsRead reports whether a ContactsService RPC only reads, as its
// descriptor declares it: `option idempotency_level = NO_SIDE_EFFECTS` in
// contacts.proto. method is the short name ("ListContacts") or the full
// one ("/contacts.v1.ContactsService/ListContacts"); an unknown method, or
// one of another service, is not a read.
func IsRead(method string) bool {
	svc := contactsv1.File_contacts_v1_contacts_proto.Services().ByName("ContactsService")
	method = strings.TrimPrefix(method, "/"+string(svc.FullName())+"/")
	m := svc.Methods().ByName(protoreflect.Name(method))
	if m == nil {
		return false
	}
	opts, _ := m.Options().(*descriptorpb.MethodOptions)
	return opts.GetIdempotencyLevel() == descriptorpb.MethodOptions_NO_SIDE_EFFECTS
}

func readMethods() []string {
	return slices.DeleteFunc(methods(), func(m string) bool { return !IsRead(m) })
}

func writeMethods() []string { return slices.DeleteFunc(methods(), IsRead) }

// eachString calls fn for each string of a list node.
func eachString(n *yaml.Node, fn func(string, *yaml.Node) error) []error {
	if n.Kind != yaml.SequenceNode {
		return []error{lineErr(n, "want a list")}
	}
	var errs []error
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode {
			errs = append(errs, lineErr(item, "want a string"))
			continue
		}
		if err := fn(item.Value, item); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// expectKeys refuses a mapping with keys other than allowed, or with a key
// given twice (YAML would let the last one win, silently).
func expectKeys(n *yaml.Node, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "want a mapping")
	}
	var errs []error
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(allowed, k.Value) {
			errs = append(errs, lineErr(k, fmt.Sprintf("unknown key %q (want %s)", k.Value, strings.Join(allowed, ", "))))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			errs = append(errs, lineErr(k, fmt.Sprintf("key %q is already given at line %d", k.Value, first)))
			continue
		}
		seen[k.Value] = k.Line
	}
	return errors.Join(errs...)
}

// lineError is a fault of a policy document at a line.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func lineErr(n *yaml.Node, msg string) error { return &lineError{line: n.Line, msg: msg} }

// errorLines are the lines of a policy document that err names, in order,
// each once: where to look, without quoting anything of the document.
func errorLines(err error) []int {
	var lines []int
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *lineError:
			if !slices.Contains(lines, e.line) {
				lines = append(lines, e.line)
			}
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return lines
}

// match reports whether s matches glob, where * stands for any run of
// characters (slashes included) and everything else for itself.
func match(glob, s string) bool {
	parts := strings.Split(glob, wildcard)
	if len(parts) == 1 {
		return glob == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
