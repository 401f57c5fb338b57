package governor

import "context"

// Class is the priority of an upstream call. Classes are ordered: a higher
// class may fill more of the window (Shares). The zero value is
// Background, the lowest, so that a call nobody classified never takes
// the room kept for the calls a caller waits on.
type Class int

// The classes, lowest first.
const (
	// Background: work nobody waits on (cache refreshes, future polling).
	Background Class = iota
	// Bulk: the calls of bulk operations.
	Bulk
	// Write: PUT and POST of a caller's write, and the read that prepares
	// it.
	Write
	// Interactive: reads a caller waits on.
	Interactive

	numClasses = int(Interactive) + 1
)

// Classes lists every class, lowest first, for metrics and tests.
func Classes() []Class { return []Class{Background, Bulk, Write, Interactive} }

// String is the class's name, fit for a metric label or a log attribute.
func (c Class) String() string {
	switch c {
	case Background:
		return "background"
	case Bulk:
		return "bulk"
	case Write:
		return "write"
	case Interactive:
		return "interactive"
	}
	return "background" // an unknown class counts as the lowest
}

// valid turns an unknown class into Background.
func (c Class) valid() Class {
	if c < Background || c > Interactive {
		return Background
	}
	return c
}

// classKey is the context key of a call's class.
type classKey struct{}

// WithClass returns ctx carrying class: request-scoped data, like gRPC's
// criticality, that travels with the context (also through
// context.WithoutCancel) down to the upstream client.
func WithClass(ctx context.Context, class Class) context.Context {
	return context.WithValue(ctx, classKey{}, class.valid())
}

// ClassOf is the class ctx carries; Background when it carries none.
func ClassOf(ctx context.Context) Class {
	if c, ok := ctx.Value(classKey{}).(Class); ok {
		return c
	}
	return Background
}
