// Command contacts-descriptors writes the descriptor set that clients in
// other languages generate their code from, with no network and no .proto
// file to look for: clients/descriptors/contacts.binpb.
//
// The set is a google.protobuf.FileDescriptorSet, dependencies first, of
//   - contacts/v1/contacts.proto and contacts/v1/errors.proto (the ErrorReason
//     vocabulary) WITH their comments (the descriptors written by
//     cmd/protoc-gen-go-sourceinfo, the ones server reflection serves);
//   - google/rpc/status.proto and google/rpc/error_details.proto, the types of
//     the error details, and their imports (google/protobuf/any.proto and
//     duration.proto), as linked into contactsd from genproto (without
//     comments: genproto does not keep them);
//   - google/longrunning/operations.proto, the Operation the bulk RPCs return
//     and the google.longrunning.Operations service that follows it, and its
//     imports (google/api annotations, http, client, field_behavior and
//     launch_stage; google/protobuf descriptor and empty), as linked from
//     cloud.google.com/go/longrunning (also without comments).
//
// Run from the repository root after changing proto/ and
// `go tool -modfile=tools/go.mod buf generate`:
//
//	go run ./cmd/contacts-descriptors
//
// Its test fails while the committed file differs from what it would write.
// protoc reads the set with --descriptor_set_in, buf as an input.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	_ "cloud.google.com/go/longrunning/autogen/longrunningpb" // links google/longrunning/operations.proto
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"  // links google/rpc/error_details.proto
	_ "google.golang.org/genproto/googleapis/rpc/status"      // links google/rpc/status.proto
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// DefaultOut is where the set is committed, relative to the repository root.
const DefaultOut = "clients/descriptors/contacts.binpb"

// roots are the files the set is for; their imports come along.
var roots = []string{
	"google/rpc/status.proto",
	"google/rpc/error_details.proto",
	"google/longrunning/operations.proto",
	"contacts/v1/errors.proto",
	"contacts/v1/contacts.proto",
}

// withComments are the serialized descriptors, comments included, of the
// files of proto/, by path.
var withComments = map[string]func() []byte{
	"contacts/v1/contacts.proto": contactsv1.File_contacts_v1_contacts_proto_with_comments,
	"contacts/v1/errors.proto":   contactsv1.File_contacts_v1_errors_proto_with_comments,
}

func main() {
	out := flag.String("o", DefaultOut, "file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "contacts-descriptors:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	raw, err := build()
	if err != nil {
		return err
	}
	return os.WriteFile(out, raw, 0o644)
}

// build returns the serialized set, the same bytes on every run.
func build() ([]byte, error) {
	set, err := descriptorSet()
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(set)
}

// descriptorSet collects roots and everything they import, each file after
// its imports (what protoc --include_imports writes).
func descriptorSet() (*descriptorpb.FileDescriptorSet, error) {
	lookup := func(path string) (*descriptorpb.FileDescriptorProto, error) {
		if raw, ok := withComments[path]; ok {
			commented := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(raw(), commented); err != nil {
				return nil, fmt.Errorf("%s with comments: %w", path, err)
			}
			return commented, nil
		}
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return protodesc.ToFileDescriptorProto(fd), nil
	}

	set := &descriptorpb.FileDescriptorSet{}
	state := map[string]int{} // 1: being visited, 2: in set
	var visit func(path string) error
	visit = func(path string) error {
		switch state[path] {
		case 1:
			return fmt.Errorf("%s: import cycle", path)
		case 2:
			return nil
		}
		state[path] = 1
		fdp, err := lookup(path)
		if err != nil {
			return err
		}
		for _, dep := range fdp.GetDependency() {
			if err := visit(dep); err != nil {
				return err
			}
		}
		state[path] = 2
		set.File = append(set.File, fdp)
		return nil
	}
	for _, r := range roots {
		if err := visit(r); err != nil {
			return nil, err
		}
	}
	// The set must stand on its own: every import in it, every type resolved.
	if _, err := protodesc.NewFiles(set); err != nil {
		return nil, errors.Join(errors.New("the set does not resolve"), err)
	}
	return set, nil
}
