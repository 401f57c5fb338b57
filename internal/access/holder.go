package access

import (
	"errors"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
)

// Holder holds the policy in force. Calls read it without locks; a reload
// stores a new one whole, so a call sees either the old or the new policy,
// never a mix. A Holder without a policy allows nothing.
type Holder struct {
	p atomic.Pointer[Policy]
}

// NewHolder returns a Holder with p in force.
func NewHolder(p *Policy) *Holder {
	h := &Holder{}
	h.p.Store(p)
	return h
}

// AllowAll is the Holder of the policy that lets every caller do
// everything, without a limit: for tests, examples and a single-tenant
// deployment that says so.
func AllowAll() *Holder { return NewHolder(allowAllPolicy()) }

// Load returns the policy in force.
func (h *Holder) Load() *Policy { return h.p.Load() }

// Store puts p in force.
func (h *Holder) Store(p *Policy) { h.p.Store(p) }

// PolicyFile is a policy file and the Holder of its policy: Reload reads
// the file again (on SIGHUP) and puts it in force if it checks.
type PolicyFile struct {
	path   string
	holder *Holder
	log    *slog.Logger
}

// OpenPolicyFile reads and checks the policy file at path; its policy is
// in force in the file's Holder. log (nil: none) hears of reloads.
func OpenPolicyFile(path string, log *slog.Logger) (*PolicyFile, error) {
	p, err := LoadPolicy(path)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("caller policy loaded", "policy", path)
	return &PolicyFile{path: path, holder: NewHolder(p), log: log}, nil
}

// Holder is the holder of the file's policy, for the Gate.
func (f *PolicyFile) Holder() *Holder { return f.holder }

// Reload reads the file again. A policy that checks replaces the one in
// force; one that does not leaves it, and the error says why. Both are
// logged with the file's path and, for a fault, its lines: never a value
// of the file (a caller's identity, a key typed by mistake).
func (f *PolicyFile) Reload() error {
	p, err := LoadPolicy(f.path)
	if err != nil {
		f.log.Error("caller policy not reloaded: the file does not check; the previous policy stays in force",
			"policy", f.path, "at", describeFault(err))
		return err
	}
	f.holder.Store(p)
	f.log.Info("caller policy reloaded", "policy", f.path)
	return nil
}

// describeFault says where a policy file is wrong without quoting it:
// its lines, or what kind of failure it is.
func describeFault(err error) string {
	if lines := errorLines(err); len(lines) > 0 {
		at := make([]string, len(lines))
		for i, l := range lines {
			at[i] = "line " + strconv.Itoa(l)
		}
		return strings.Join(at, ", ")
	}
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return pe.Op + ": " + pe.Err.Error()
	case errors.Is(err, errTooLarge):
		return errTooLarge.Error()
	default:
		return "not a policy document (YAML or JSON)"
	}
}
