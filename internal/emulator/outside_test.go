package emulator_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// TestOutsideWrite: a write behind the facade's back is what the next GET
// returns, and is not counted as a PUT.
func TestOutsideWrite(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	if err := h.emu.OutsideWrite(emulator.DemoPropertyFull, []byte(oneGeneralContact)); err != nil {
		t.Fatal(err)
	}
	if got := h.getContacts(emulator.DemoPropertyFull, ""); !jsonEqual(t, got, oneGeneralContactStored) {
		t.Errorf("after the outside write GET answers %v, want %s", got, oneGeneralContactStored)
	}
	if n := h.emu.Puts(emulator.DemoPropertyFull); n != 0 {
		t.Errorf("Puts = %d after an outside write, want 0", n)
	}
}

// TestOutsideWriteValidates: a body a PUT would refuse changes nothing and
// names its problems as a PUT would.
func TestOutsideWriteValidates(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	before := h.getContacts(emulator.DemoPropertyFull, "")
	err := h.emu.OutsideWrite(emulator.DemoPropertyFull, []byte(`{"contacts":[{"contact_profiles":[{"type":"invoices"}],
		"contact_person":{"name":"X","language_code":"nl"},"phones":[{"phone_number":"+31301234567","phone_tech_type":1}],"email":"x@example.nl"}]}`))
	var pe *emulator.ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != 1 || pe.Problems[0] != "321 contacts" {
		t.Fatalf("OutsideWrite without a general contact: %v, want one 321 on contacts", err)
	}
	if got := h.getContacts(emulator.DemoPropertyFull, ""); !jsonEqual(t, got, before) {
		t.Errorf("a refused outside write changed the property: %v", got)
	}
	if err := h.emu.OutsideWrite(999, []byte(oneGeneralContact)); !errors.Is(err, emulator.ErrNoProperty) {
		t.Errorf("OutsideWrite on an unknown property: %v, want ErrNoProperty", err)
	}
}

// TestPutsCounted: every PUT that reaches a property counts, refused or
// not; GET and POST do not, nor PUTs of other properties.
func TestPutsCounted(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	h.do(http.MethodPut, contactsPath(emulator.DemoPropertyFull), staticAuth, oneGeneralContact)
	h.do(http.MethodPut, contactsPath(emulator.DemoPropertyFull), staticAuth, `{"contacts":[]}`)
	h.do(http.MethodGet, contactsPath(emulator.DemoPropertyFull), staticAuth, "")
	h.do(http.MethodPost, contactsPath(emulator.DemoPropertyFull), staticAuth, oneGeneralContact)
	h.do(http.MethodPut, contactsPath(emulator.DemoPropertyEmpty), staticAuth, oneGeneralContact)
	if n := h.emu.Puts(emulator.DemoPropertyFull); n != 2 {
		t.Errorf("Puts(full) = %d, want 2", n)
	}
	if n := h.emu.Puts(emulator.DemoPropertyEmpty); n != 1 {
		t.Errorf("Puts(empty) = %d, want 1", n)
	}
}
