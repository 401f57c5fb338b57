package grpcserver

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// registerReflection serves server reflection, v1 and v1alpha, from
// descriptors that keep the comments of proto/ (protoc-gen-go strips them),
// so that `grpcurl describe` shows the API documentation. Every other type
// (health, error details) resolves from the linked-in registry.
func registerReflection(reg grpc.ServiceRegistrar, g *grpc.Server) error {
	files, err := commentedFiles()
	if err != nil {
		return err
	}
	opts := reflection.ServerOptions{
		Services:           g,
		DescriptorResolver: resolver{first: files, then: protoregistry.GlobalFiles},
		ExtensionResolver:  protoregistry.GlobalTypes,
	}
	reflectionv1.RegisterServerReflectionServer(reg, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(reg, reflection.NewServer(opts))
	return nil
}

// commentedFiles builds a registry of the contacts.v1 files with comments:
// the service and the ErrorReason vocabulary.
func commentedFiles() (*protoregistry.Files, error) {
	files := &protoregistry.Files{}
	for _, raw := range [][]byte{
		contactsv1.File_contacts_v1_contacts_proto_with_comments(),
		contactsv1.File_contacts_v1_errors_proto_with_comments(),
	} {
		fdp := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(raw, fdp); err != nil {
			return nil, fmt.Errorf("contacts.v1 descriptor: %w", err)
		}
		fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
		if err != nil {
			return nil, fmt.Errorf("contacts.v1 descriptor %s: %w", fdp.GetName(), err)
		}
		if err := files.RegisterFile(fd); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// resolver looks in first, then in then.
type resolver struct {
	first, then *protoregistry.Files
}

func (r resolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := r.first.FindFileByPath(path); err == nil {
		return fd, nil
	}
	return r.then.FindFileByPath(path)
}

func (r resolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := r.first.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	return r.then.FindDescriptorByName(name)
}
