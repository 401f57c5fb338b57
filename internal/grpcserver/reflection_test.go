package grpcserver_test

import (
	"strings"
	"testing"

	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
)

// TestReflectionServesErrorDetails: a client that has only the server (no
// .proto file) can resolve the google.rpc types of the error details, with
// their imports, as grpcurl -format-error does. clients/descriptors is the
// committed copy of the same definitions; this is the promise that the
// server's own copy stays reachable too.
func TestReflectionServesErrorDetails(t *testing.T) {
	h := start(t, grpcserver.Config{})
	client := reflectionv1.NewServerReflectionClient(h.dial(t))

	for _, tc := range []struct {
		symbol, file string
	}{
		{"google.rpc.Status", "google/rpc/status.proto"},
		{"google.rpc.ErrorInfo", "google/rpc/error_details.proto"},
		{"google.rpc.BadRequest", "google/rpc/error_details.proto"},
		{"google.rpc.BadRequest.FieldViolation", "google/rpc/error_details.proto"},
		{"google.rpc.RetryInfo", "google/rpc/error_details.proto"},
		{"google.rpc.ResourceInfo", "google/rpc/error_details.proto"},
		{"google.rpc.RequestInfo", "google/rpc/error_details.proto"},
		{"google.rpc.Help", "google/rpc/error_details.proto"},
	} {
		t.Run(tc.symbol, func(t *testing.T) {
			// A stream of its own: the server sends each file once per
			// stream, so this answer carries every import.
			stream, err := client.ServerReflectionInfo(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = stream.CloseSend() }()
			if err := stream.Send(&reflectionv1.ServerReflectionRequest{
				MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: tc.symbol},
			}); err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if e := resp.GetErrorResponse(); e != nil {
				t.Fatalf("reflection error %d: %s", e.GetErrorCode(), e.GetErrorMessage())
			}
			set := &descriptorpb.FileDescriptorSet{}
			for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
				fdp := &descriptorpb.FileDescriptorProto{}
				if err := proto.Unmarshal(raw, fdp); err != nil {
					t.Fatal(err)
				}
				set.File = append(set.File, fdp)
			}
			if len(set.File) == 0 || set.File[0].GetName() != tc.file {
				t.Fatalf("first file served %v, want %s", names(set), tc.file)
			}
			// The file and the imports served with it resolve on their own
			// (Any for Status, Duration for RetryInfo).
			files, err := protodesc.NewFiles(set)
			if err != nil {
				t.Fatalf("files served %v do not resolve: %v", names(set), err)
			}
			d, err := files.FindDescriptorByName(protoreflect.FullName(tc.symbol))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := d.(protoreflect.MessageDescriptor); !ok {
				t.Fatalf("%s is a %T, want a message", tc.symbol, d)
			}
		})
	}
}

// TestReflectionServesErrorReasons: grpcurl describe contacts.v1.ErrorReason
// shows the error vocabulary with its comments (what each reason means and
// what to do), like the service's.
func TestReflectionServesErrorReasons(t *testing.T) {
	h := start(t, grpcserver.Config{})
	client := reflectionv1.NewServerReflectionClient(h.dial(t))
	stream, err := client.ServerReflectionInfo(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.CloseSend() }()
	if err := stream.Send(&reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "contacts.v1.ErrorReason"},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	raw := resp.GetFileDescriptorResponse().GetFileDescriptorProto()
	if len(raw) == 0 {
		t.Fatalf("no file served: %v", resp.GetErrorResponse())
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(raw[0], fdp); err != nil {
		t.Fatal(err)
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		t.Fatal(err)
	}
	etag := fd.Enums().ByName("ErrorReason").Values().ByName("ETAG_MISMATCH")
	if fd.Path() != "contacts/v1/errors.proto" || etag == nil {
		t.Fatalf("served %s without ETAG_MISMATCH", fd.Path())
	}
	if c := fd.SourceLocations().ByDescriptor(etag).LeadingComments; !strings.Contains(c, "ABORTED") {
		t.Errorf("ETAG_MISMATCH has comment %q, want the proto's", c)
	}
}

func names(set *descriptorpb.FileDescriptorSet) []string {
	var out []string
	for _, f := range set.GetFile() {
		out = append(out, f.GetName())
	}
	return out
}
