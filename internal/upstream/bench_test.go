package upstream

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// benchContacts is a large but plausible property: 20 contacts (a chain
// hotel with a contact per department), all fields set.
func benchContacts() []*contactsv1.Contact {
	cs := append(everyEnumContacts(), sampleContacts()...)
	return cs[:20]
}

func BenchmarkContactsToWire(b *testing.B) {
	cs := benchContacts()
	b.ReportAllocs()
	for b.Loop() {
		ContactsToWire(cs)
	}
}

func BenchmarkContactsFromWire(b *testing.B) {
	ws := ContactsToWire(benchContacts())
	b.ReportAllocs()
	for b.Loop() {
		ContactsFromWire(ws)
	}
}

// BenchmarkDecodeList is the client's work on a GET answer once the body is
// read: envelope checks, JSON decoding and conversion to contacts.v1.
func BenchmarkDecodeList(b *testing.B) {
	body, err := json.Marshal(Envelope{
		Data:     &ContactsBody{Contacts: ContactsToWire(benchContacts())},
		Warnings: []Message{},
		Errors:   []Message{},
		Meta:     &Meta{RUID: "UmFuZG9tSVYkc2RlIyh9Yf3h3Kp0b0c1"},
	})
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{"Content-Type": []string{"application/json"}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var env Envelope
		if err := decodeAnswer(MethodGet, 200, h, body, &env); err != nil {
			b.Fatal(err)
		}
		if cs, _ := ContactsFromWire(env.Data.Contacts); len(cs) != 20 {
			b.Fatal(len(cs))
		}
	}
}

// BenchmarkDecodeRefusal is the client's work on a refused write once the
// body is read: a 400 answer with two 320 entries (testdata/error_320.json,
// one with details the API does not document) decoded into an *APIError.
func BenchmarkDecodeRefusal(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "error_320.json"))
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{"Content-Type": []string{"application/json"}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var env Envelope
		var apiErr *APIError
		if err := decodeAnswer(MethodPut, 400, h, body, &env); !errors.As(err, &apiErr) || len(apiErr.Errors) != 2 {
			b.Fatal(err)
		}
	}
}
