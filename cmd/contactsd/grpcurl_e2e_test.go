//go:build e2e

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestGrpcurlSession builds the real contactsd and grpcurl binaries (or
// takes contactsd from CONTACTSD_BIN, as .ci/run gives it), starts
// contactsd on its embedded emulator on a free port, runs every command of
// the grpcurl session of docs/grpcurl.md with reflection only (no proto files), checks
// what each prints and how it exits, then stops the server with SIGTERM and
// checks that it exits 0.
func TestGrpcurlSession(t *testing.T) {
	steps, err := readGrpcurlSession(grpcurlSessionFile)
	if err != nil {
		t.Fatal(err)
	}
	contactsd, grpcurl := buildSessionBinaries(t)
	srv := startContactsdProcess(t, contactsd)

	for _, step := range steps {
		t.Run(step.name(), func(t *testing.T) {
			args := step.grpcurlArgs(srv.addr)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, grpcurl, args...).CombinedOutput()
			exit := 0
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				exit = ee.ExitCode()
			case err != nil:
				t.Fatalf("%s:%d: grpcurl: %v", grpcurlSessionFile, step.line, err)
			}
			var problems []string
			if exit != step.exit {
				problems = append(problems, fmt.Sprintf("exit status %d, want %d", exit, step.exit))
			}
			for _, w := range step.want {
				if !strings.Contains(string(out), w) {
					problems = append(problems, fmt.Sprintf("output lacks %q", w))
				}
			}
			for _, w := range step.notWant {
				if strings.Contains(string(out), w) {
					problems = append(problems, fmt.Sprintf("output has %q", w))
				}
			}
			if len(problems) > 0 {
				t.Errorf("%s:%d: %s\n%s\noutput:\n%s", grpcurlSessionFile, step.line, step.command,
					strings.Join(problems, "\n"), out)
			}
		})
	}

	srv.stop(t)
}

// buildSessionBinaries builds grpcurl (the version pinned in go.mod) and,
// unless CONTACTSD_BIN names one, contactsd into a temporary folder, and
// returns the paths of contactsd and grpcurl.
func buildSessionBinaries(t *testing.T) (contactsd, grpcurl string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	dir := t.TempDir()
	pkgs := []string{"github.com/fullstorydev/grpcurl/cmd/grpcurl"}
	contactsd = os.Getenv("CONTACTSD_BIN")
	if contactsd == "" {
		pkgs = append(pkgs, "./cmd/contactsd")
		contactsd = filepath.Join(dir, "contactsd")
	}
	// With -o naming a folder, go build writes each main package there
	// under its own name.
	build := exec.CommandContext(t.Context(), "go", append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return contactsd, filepath.Join(dir, "grpcurl")
}

// contactsdProcess is a running contactsd.
type contactsdProcess struct {
	cmd     *exec.Cmd
	addr    string        // its gRPC address, from the "serving" log line
	drained chan struct{} // closed when its stderr has ended
	mu      sync.Mutex
	log     strings.Builder // its stderr
}

func (p *contactsdProcess) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// startContactsdProcess starts contactsd -upstream emulator on a free
// loopback port and reads its stderr until the line that says it serves,
// which carries the address. A contactsd that never says so is killed when
// the test's context ends.
func startContactsdProcess(t *testing.T, bin string) *contactsdProcess {
	t.Helper()
	return startContactsdWith(t, bin, nil, "-listen", "127.0.0.1:0", "-upstream", "emulator")
}

// startContactsdWith starts contactsd with args (which must include a
// -listen on a free port) and, when env is not nil, that environment
// instead of the test's, and waits for its serving line as
// startContactsdProcess does.
func startContactsdWith(t *testing.T, bin string, env []string, args ...string) *contactsdProcess {
	t.Helper()
	p := &contactsdProcess{drained: make(chan struct{})}
	p.cmd = exec.CommandContext(t.Context(), bin, args...)
	p.cmd.Env = env
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil { // the test failed before stop
			_ = p.cmd.Process.Kill()
			<-p.drained
			_ = p.cmd.Wait()
		}
	})

	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.log.WriteString(line + "\n")
		p.mu.Unlock()
		if strings.Contains(line, `msg="serving contacts.v1.ContactsService"`) {
			p.addr = logValue(line, "listen")
			break
		}
	}
	go func() {
		defer close(p.drained)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr) // after a too long line
	}()
	if p.addr == "" {
		<-p.drained
		err := p.cmd.Wait()
		t.Fatalf("contactsd ended (%v) before its serving line:\n%s", err, p.logText())
	}
	return p
}

// stop sends SIGTERM, as a service manager does, and checks that contactsd
// shuts down cleanly: exit status 0 and its "stopped" log line.
func (p *contactsdProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.drained
	err := p.cmd.Wait()
	if err != nil || p.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("contactsd after SIGTERM: %v, want exit status 0\n%s", err, p.logText())
	}
	if !strings.Contains(p.logText(), `msg=stopped`) {
		t.Errorf("contactsd did not log that it stopped:\n%s", p.logText())
	}
}
