//go:build e2e

package deploy

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pending are flags and environment variables that the manifests use and
// that other changes add to contactsd. While contactsd lacks one the test
// logs it; once contactsd has it the test fails until it is removed here,
// so that the list only shrinks.
var pending = map[string]bool{}

// runtimeEnv are read by the Go runtime or the OpenTelemetry SDK, not by
// contactsd's own code.
var runtimeEnv = regexp.MustCompile(`^(GOMEMLIMIT|GOMAXPROCS|GODEBUG|GOGC|OTEL_[A-Z_]+)$`)

// TestManifestsMatchContactsd checks every flag and environment variable
// the manifests give contactsd against what the binary accepts (its -h).
// It needs the binary: CONTACTSD_BIN when set (.ci/run builds it once, with
// the Dockerfile's command), else the Dockerfile's go build, a full rebuild
// with -trimpath.
func TestManifestsMatchContactsd(t *testing.T) {
	m := decodeAll(t)
	in := contactsdInterface(t, contactsd(t))
	used := map[string]bool{}

	for name, d := range m.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name != "contactsd" {
				continue
			}
			for _, a := range c.Args {
				flagName, _, _ := strings.Cut(a, "=")
				if !in.accepts(t, used, flagName, in.flags) {
					t.Errorf("%s: contactsd has no flag %s", name, flagName)
				}
			}
			for _, e := range c.Env {
				if !runtimeEnv.MatchString(e.Name) && !in.accepts(t, used, e.Name, in.env) {
					t.Errorf("%s: contactsd reads no %s", name, e.Name)
				}
			}
		}
	}

	for name := range pending {
		if in.flags[name] || in.env[name] {
			t.Errorf("contactsd now has %s: remove it from pending", name)
		}
		if !used[name] {
			t.Errorf("%s is pending but no manifest uses it", name)
		}
	}
}

// contactsd returns the contactsd binary to check: CONTACTSD_BIN when set
// (built as the Dockerfile does; .ci/run does), else one built here with the
// Dockerfile's command.
func contactsd(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("CONTACTSD_BIN")
	if bin == "" {
		bin = dockerfileBuild(t)
	}
	// A static binary: distroless/static has no libc and no loader.
	// A static binary: distroless/static has no libc and no loader.
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, _ := f.ImportedLibraries()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary has a dynamic loader (%v)", libs)
		}
	}
	return bin
}

// dockerfileBuild builds contactsd with the Dockerfile's command (checked by
// TestDockerfileBuild) and returns its path.
func dockerfileBuild(t *testing.T) string {
	t.Helper()
	env, args := dockerBuild(t)
	bin := filepath.Join(t.TempDir(), "contactsd")
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "\x00VERSION\x00", "deploy-test")
		if i > 0 && args[i-1] == "-o" {
			args[i] = bin
		}
	}
	cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
	cmd.Dir = ".." // the repository root, the Docker build context
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// iface is what contactsd accepts: its flags and the environment
// variables its -h names.
type iface struct {
	flags map[string]bool
	env   map[string]bool
	help  string
}

func contactsdInterface(t *testing.T, bin string) iface {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, "-h")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("contactsd -h: %v\n%s", err, out.String())
	}
	in := iface{flags: map[string]bool{}, env: map[string]bool{}, help: out.String()}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(in.help, -1) {
		in.flags["-"+m[1]] = true
	}
	for _, m := range regexp.MustCompile(`\bCONTACTS_[A-Z_]+\b`).FindAllString(in.help, -1) {
		in.env[m] = true
	}
	if len(in.flags) < 10 || !in.flags["-listen"] || !in.env["CONTACTS_API_CLIENT_SECRET_FILE"] {
		t.Fatalf("could not read the flags of contactsd -h:\n%s", in.help)
	}
	return in
}

// accepts reports whether contactsd accepts name (a flag or env name);
// pending names are logged.
func (in iface) accepts(t *testing.T, used map[string]bool, name string, known map[string]bool) bool {
	used[name] = true
	if known[name] {
		return true
	}
	if pending[name] {
		t.Logf("%s: not in contactsd yet (pending)", name)
		return true
	}
	return false
}
