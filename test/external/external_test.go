//go:build e2e

// Package external_test proves that another team can mount the service:
// a module of its own, outside this one, imports service/, mounts it on
// its gRPC server next to its own service and calls it, and its module
// graph holds none of our build tools.
package external_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// program is the other team's server: its own upstream (a fake), the
// service mounted with its interceptors, one call.
const program = `package main

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/service"
)

type fakeUpstream struct{}

func (fakeUpstream) List(_ context.Context, id string, _ bool) (*contactsv1.ListContactsResponse, error) {
	return &contactsv1.ListContactsResponse{RequestId: "ruid-" + id}, nil
}
func (fakeUpstream) Replace(context.Context, string, []*contactsv1.Contact) (*contactsv1.ReplaceContactsResponse, error) {
	return nil, fmt.Errorf("read-only")
}
func (fakeUpstream) Create(context.Context, string, []*contactsv1.Contact) (*contactsv1.CreateContactsResponse, error) {
	return nil, fmt.Errorf("read-only")
}

func main() {
	if _, err := service.New(service.Config{Upstream: fakeUpstream{}, Audit: service.NoAudit()}); err == nil {
		log.Fatal("New without a policy succeeded")
	}
	svc, err := service.New(service.Config{Upstream: fakeUpstream{}, Policy: service.AllowAll(), Audit: service.NoAudit()})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(svc.UnaryInterceptors()...))
	svc.Register(srv)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := contactsv1.NewContactsServiceClient(conn).ListContacts(context.Background(), &contactsv1.ListContactsRequest{PropertyId: "1000001"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("mounted:", resp.GetUpstreamRequestId())
}
`

func TestAnotherModuleMountsTheService(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module example.com/otherteam\n\ngo 1.26\n\nrequire github.com/contacts-facade/contacts-facade v0.0.0\n\n" +
		"replace github.com/contacts-facade/contacts-facade => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(program)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("run", "."); !strings.Contains(out, "mounted: ruid-1000001") {
		t.Fatalf("the other team's server said:\n%s", out)
	}
	graph := run("list", "-m", "all")
	for _, tool := range []string{"github.com/bufbuild/buf", "github.com/bojand/ghz", "google.golang.org/grpc/cmd/protoc-gen-go-grpc"} {
		if strings.Contains(graph, tool+" ") {
			t.Errorf("importing service/ brings the build tool %s into the importer's module graph", tool)
		}
	}
	for _, line := range strings.Split(graph, "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.Contains(f[1], "-0.") && strings.HasPrefix(f[0], "google.golang.org/protobuf") {
			t.Errorf("importing service/ forces a pre-release %s", line)
		}
	}
}
