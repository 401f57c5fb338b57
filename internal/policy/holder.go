package policy

import (
	"io"
	"sync/atomic"
)

// Holder holds the policy in force. Calls read it without locks; a reload
// swaps it whole, so a call sees either the old or the new policy, never
// a mix.
type Holder struct {
	p atomic.Pointer[Policy]
}

// NewHolder returns a Holder with p in force.
func NewHolder(p *Policy) *Holder {
	h := &Holder{}
	h.p.Store(p)
	return h
}

// Load returns the policy in force.
func (h *Holder) Load() *Policy { return h.p.Load() }

// Swap puts p in force.
func (h *Holder) Swap(p *Policy) { h.p.Store(p) }

func ioLimit(r io.Reader, n int64) io.Reader { return io.LimitReader(r, n) }
