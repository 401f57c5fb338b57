// Package deploy holds the container image and Kubernetes manifests of
// contactsd; this test checks them against the binary they deploy.
package deploy

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization these manifests
// use; anything else is refused.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources,omitempty"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// manifests is every object of deploy/k8s, decoded strictly.
type manifests struct {
	deployments map[string]*appsv1.Deployment // by file/name
	services    map[string]*corev1.Service
	pdbs        map[string]*policyv1.PodDisruptionBudget
	kust        map[string]*kustomization // by directory
}

func decodeAll(t *testing.T) manifests {
	t.Helper()
	m := manifests{map[string]*appsv1.Deployment{}, map[string]*corev1.Service{}, map[string]*policyv1.PodDisruptionBudget{}, map[string]*kustomization{}}
	err := filepath.WalkDir("k8s", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if filepath.Base(path) == "kustomization.yaml" {
			var k kustomization
			if err := yaml.UnmarshalStrict(b, &k); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			m.kust[filepath.Dir(path)] = &k
			return nil
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return fmt.Errorf("%s #%d: %w", path, i, err)
			}
			var obj any
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				obj = &appsv1.Deployment{}
			case "v1 Service":
				obj = &corev1.Service{}
			case "policy/v1 PodDisruptionBudget":
				obj = &policyv1.PodDisruptionBudget{}
			default:
				return fmt.Errorf("%s #%d: unexpected %s %s", path, i, head.APIVersion, head.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				return fmt.Errorf("%s #%d: %w", path, i, err)
			}
			switch o := obj.(type) {
			case *appsv1.Deployment:
				m.deployments[path+"/"+o.Name] = o
			case *corev1.Service:
				m.services[path+"/"+o.Name] = o
			case *policyv1.PodDisruptionBudget:
				m.pdbs[path+"/"+o.Name] = o
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func stripComments(doc string) string {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")
}

func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	doc := "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 3\n"
	if err := yaml.UnmarshalStrict([]byte(doc), &appsv1.Deployment{}); err == nil {
		t.Fatal("a misspelt field decodes")
	}
}

// TestDockerfileBuild checks the form of the Dockerfile's go build: a
// static binary (distroless/static has no libc and no loader), no build
// paths in it. The e2e test runs the command.
func TestDockerfileBuild(t *testing.T) {
	env, args := dockerBuild(t)
	if want := []string{"CGO_ENABLED=0"}; !slices.Equal(env, want) {
		t.Errorf("Dockerfile go build environment %v, want %v", env, want)
	}
	if len(args) < 2 || args[0] != "go" || args[1] != "build" || !slices.Contains(args, "-trimpath") || args[len(args)-1] != "./cmd/contactsd" {
		t.Errorf("Dockerfile: %q is not go build -trimpath ... ./cmd/contactsd", args)
	}
}

// dockerBuild is the go build command of the Dockerfile, as arguments, with
// its environment prefix.
func dockerBuild(t *testing.T) (env, args []string) {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "RUN ") && strings.Contains(line, "go build") {
			runs = append(runs, strings.TrimPrefix(line, "RUN "))
		}
	}
	if len(runs) != 1 {
		t.Fatalf("Dockerfile: %d RUN lines with go build, want 1", len(runs))
	}
	words := shellWords(t, runs[0])
	for len(words) > 0 && strings.Contains(words[0], "=") {
		env, words = append(env, words[0]), words[1:]
	}
	return env, words
}

// shellWords splits a command line on blanks, honouring double quotes.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	// The one variable the line may use is the build argument VERSION.
	for _, r := range strings.ReplaceAll(s, "${VERSION}", "\x00VERSION\x00") {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case strings.ContainsRune(`\'&|;$`+"`", r):
			t.Fatalf("Dockerfile go build line %q: keep it one plain command", s)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestManifests checks the manifests by themselves; the e2e test
// TestManifestsMatchContactsd checks their flags and environment against
// the contactsd binary.
func TestManifests(t *testing.T) {
	m := decodeAll(t)

	base := m.deployments["k8s/base/deployment.yaml/contactsd"]
	if base == nil {
		t.Fatalf("no contactsd Deployment in k8s/base/deployment.yaml; have %v", keys(m.deployments))
	}
	if r := base.Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("replicas %v, want 3", r)
	}
	podLabels := base.Spec.Template.Labels
	if !matches(base.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("the Deployment's selector does not match its pods")
	}

	c := container(t, base, "contactsd")
	args := argMap(c.Args)
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for flagName, portName := range map[string]string{"-listen": "grpc", "-health-listen": "health", "-admin-listen": "admin"} {
		if got := listenPort(t, args[flagName]); got != ports[portName] {
			t.Errorf("%s=%s, but containerPort %q is %d", flagName, args[flagName], portName, ports[portName])
		}
	}
	// Probes cannot present client certificates: they use the plaintext
	// health port, in the base and with mTLS.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"readiness", c.ReadinessProbe}, {"liveness", c.LivenessProbe}, {"startup", c.StartupProbe}} {
		if p.probe == nil || p.probe.GRPC == nil || p.probe.GRPC.Port != ports["health"] {
			t.Errorf("%s probe %+v: want a gRPC probe on the health port %d", p.name, p.probe, ports["health"])
		}
	}

	// Shutdown: preStop sleep, then SIGTERM: -drain-delay, then at most
	// -shutdown-timeout. The grace period must cover them, with a margin.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("no preStop sleep")
	}
	need := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second + duration(t, args["-drain-delay"]) + duration(t, args["-shutdown-timeout"])
	grace := time.Duration(*base.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	if grace < need+2*time.Second || grace > need+15*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v; preStop + -drain-delay + -shutdown-timeout = %v, want 2s..15s more", grace, need)
	}
	if duration(t, args["-max-connection-age"]) <= 0 {
		t.Error("no -max-connection-age: clients of the headless Service would never rebalance")
	}

	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}

	// The secret is a file from a Secret volume, not an env value.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if _, ok := env["CONTACTS_API_CLIENT_SECRET"]; ok {
		t.Error("CONTACTS_API_CLIENT_SECRET in the environment; use CONTACTS_API_CLIENT_SECRET_FILE")
	}
	secretFile := env["CONTACTS_API_CLIENT_SECRET_FILE"].Value
	if !fromSecretVolume(base, c, secretFile) {
		t.Errorf("CONTACTS_API_CLIENT_SECRET_FILE=%q is not in a mounted Secret volume", secretFile)
	}

	// Services: the client-facing one is headless and selects the pods.
	svc := m.services["k8s/base/service.yaml/contactsd"]
	if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone || !matches(svc.Spec.Selector, podLabels) {
		t.Errorf("contactsd Service %+v: want headless (clusterIP None) selecting the pods", svc)
	} else if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort != intstr.FromString("grpc") {
		t.Errorf("contactsd Service ports %+v: want the grpc port", svc.Spec.Ports)
	}

	pdb := m.pdbs["k8s/base/pdb.yaml/contactsd"]
	if pdb == nil || pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) ||
		pdb.Spec.UnhealthyPodEvictionPolicy == nil || *pdb.Spec.UnhealthyPodEvictionPolicy != policyv1.AlwaysAllow ||
		!matches(pdb.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("PodDisruptionBudget %+v: want maxUnavailable 1, AlwaysAllow, selecting the pods", pdb)
	}

	// Redis: CONTACTS_REDIS_URL names the Redis Service and its port.
	ru, err := url.Parse(env["CONTACTS_REDIS_URL"].Value)
	if err != nil || ru.Scheme != "redis" {
		t.Fatalf("CONTACTS_REDIS_URL %q", env["CONTACTS_REDIS_URL"].Value)
	}
	rs := m.services["k8s/base/redis.yaml/"+ru.Hostname()]
	rd := m.deployments["k8s/base/redis.yaml/"+ru.Hostname()]
	if rs == nil || rd == nil || strconv.Itoa(int(rs.Spec.Ports[0].Port)) != ru.Port() || !matches(rs.Spec.Selector, rd.Spec.Template.Labels) {
		t.Errorf("CONTACTS_REDIS_URL %s: no Redis Deployment and Service of that name and port", ru)
	}

	// The mTLS overlay keeps every flag of the base and adds TLS.
	for name, d := range m.deployments {
		if !strings.Contains(name, "mtls") {
			continue
		}
		oargs := argMap(container(t, d, "contactsd").Args)
		for f, v := range args {
			if oargs[f] != v {
				t.Errorf("%s: %s=%q, base has %q (a patch replaces the whole args list)", name, f, oargs[f], v)
			}
		}
		for _, f := range []string{"-tls-cert", "-tls-key", "-client-ca"} {
			if oargs[f] == "" {
				t.Errorf("%s: no %s", name, f)
			}
		}
	}

	// Every kustomization names files that exist.
	for dir, k := range m.kust {
		for _, r := range k.Resources {
			if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
				t.Errorf("%s: resource %s: %v", dir, r, err)
			}
		}
		for _, p := range k.Patches {
			if _, err := os.Stat(filepath.Join(dir, p.Path)); err != nil {
				t.Errorf("%s: patch %s: %v", dir, p.Path, err)
			}
		}
	}

}

func keys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func container(t *testing.T, d *appsv1.Deployment, name string) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container %s", d.Name, name)
	return corev1.Container{}
}

// argMap reads "-name=value" arguments.
func argMap(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		m[k] = v
	}
	return m
}

func listenPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("listen address %q: %v", addr, err)
		return -1
	}
	n, _ := strconv.Atoi(p)
	return int32(n)
}

func duration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Errorf("duration %q: %v", s, err)
	}
	return d
}

func fromSecretVolume(d *appsv1.Deployment, c corev1.Container, file string) bool {
	for _, vm := range c.VolumeMounts {
		if !strings.HasPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/") {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == vm.Name && v.Secret != nil {
				return true
			}
		}
	}
	return false
}
