package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// committed reads the set in the repository.
func committed(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", DefaultOut))
	if err != nil {
		t.Fatalf("%v (write it with `go run ./cmd/contacts-descriptors`)", err)
	}
	return raw
}

func TestCommittedSetIsFresh(t *testing.T) {
	want, err := build()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed(t), want) {
		t.Fatalf("%s is stale: run `go run ./cmd/contacts-descriptors` from the repository root and commit it", DefaultOut)
	}
}

// TestCommittedSetContents checks what clients rely on, so that a change of
// build() that drops something fails here, not in a user's protoc run.
func TestCommittedSetContents(t *testing.T) {
	set := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(committed(t), set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatalf("the set does not stand on its own: %v", err)
	}

	// Dependencies first, as protoc --include_imports writes them.
	seen := map[string]bool{}
	for _, f := range set.GetFile() {
		for _, dep := range f.GetDependency() {
			if !seen[dep] {
				t.Errorf("%s comes before its import %s", f.GetName(), dep)
			}
		}
		seen[f.GetName()] = true
	}

	for _, name := range []string{
		"contacts.v1.ContactsService",
		"contacts.v1.ReplaceContactsRequest",
		"contacts.v1.ErrorReason",
		"google.rpc.Status",
		"google.rpc.ErrorInfo",
		"google.rpc.BadRequest",
		"google.rpc.RetryInfo",
		"google.rpc.ResourceInfo",
		"google.rpc.RequestInfo",
		"google.rpc.Help",
		"google.protobuf.Duration",
		"google.protobuf.Any",
		// The bulk RPCs return an Operation, followed with the Operations
		// service (grpcurl, Python and TypeScript call it from the set).
		"contacts.v1.ContactsService.BulkEditProfile",
		"contacts.v1.BulkEditMetadata",
		"contacts.v1.BulkEditResponse",
		"google.longrunning.Operation",
		"google.longrunning.Operations",
		"google.longrunning.Operations.WaitOperation",
		"google.longrunning.operation_info",
		"google.api.http",
		"google.api.default_host",
		"google.api.field_behavior",
	} {
		if _, err := files.FindDescriptorByName(protoreflect.FullName(name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// contacts.v1 keeps its comments (the documentation of the API).
	fd, err := files.FindFileByPath("contacts/v1/contacts.proto")
	if err != nil {
		t.Fatal(err)
	}
	svc := fd.Services().ByName("ContactsService")
	replace := svc.Methods().ByName("ReplaceContacts")
	if c := fd.SourceLocations().ByDescriptor(replace).LeadingComments; !strings.Contains(c, "overlay") {
		t.Errorf("ReplaceContacts has comment %q, want the proto's (about the overlay)", c)
	}

	// So does the error vocabulary: what each reason means and what to do.
	errs, err := files.FindFileByPath("contacts/v1/errors.proto")
	if err != nil {
		t.Fatal(err)
	}
	etag := errs.Enums().ByName("ErrorReason").Values().ByName("ETAG_MISMATCH")
	if c := errs.SourceLocations().ByDescriptor(etag).LeadingComments; !strings.Contains(c, "ABORTED") {
		t.Errorf("ETAG_MISMATCH has comment %q, want the proto's (with its code)", c)
	}
}
