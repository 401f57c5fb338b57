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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// grpcurlSessionFile is the grpcurl session of docs/grpcurl.md: the commands a user
// pastes, each with what its output must show. See the file's header for
// its format.
const grpcurlSessionFile = "testdata/grpcurl-session.txt"

// sessionAddr is the server address the session's commands are written
// with; the test puts the real one in its place.
const sessionAddr = "localhost:50051"

// TestGrpcurlSession builds the real contactsd and grpcurl binaries, starts
// contactsd on its embedded emulator on a free port, runs every command of
// the grpcurl session of docs/grpcurl.md with reflection only (no proto files), checks
// what each prints and how it exits, then stops the server with SIGTERM and
// checks that it exits 0.
func TestGrpcurlSession(t *testing.T) {
	steps, err := readGrpcurlSession(grpcurlSessionFile)
	if err != nil {
		t.Fatal(err)
	}
	bin := buildSessionBinaries(t)
	srv := startContactsdProcess(t, filepath.Join(bin, "contactsd"))
	grpcurl := filepath.Join(bin, "grpcurl")

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

// grpcurlStep is one command of the session and what it must print.
type grpcurlStep struct {
	line    int      // where the command starts in the file
	command string   // as written, continuation lines included
	args    []string // its shell words, "go tool grpcurl" included
	want    []string // substrings the output must contain (#>)
	notWant []string // substrings it must not contain (#!>)
	exit    int      // grpcurl's exit status (#exit)
}

// name is the subtest name: the line and what the command asks, e.g.
// "line34_contacts.v1.ContactsService/ListContacts".
func (s grpcurlStep) name() string {
	var what []string
	for i := 3; i < len(s.args); i++ {
		switch a := s.args[i]; {
		case a == "-d" || a == "-H" || a == "-max-time":
			i++ // skip the flag's value
		case strings.HasPrefix(a, "-"), a == sessionAddr:
		default:
			what = append(what, a)
		}
	}
	return fmt.Sprintf("line%d_%s", s.line, strings.Join(what, "_"))
}

// grpcurlArgs are the arguments of the grpcurl binary: the command's words
// after "go tool grpcurl", with addr for the session's address.
func (s grpcurlStep) grpcurlArgs(addr string) []string {
	args := append([]string(nil), s.args[3:]...)
	for i, a := range args {
		if a == sessionAddr {
			args[i] = addr
		}
	}
	return args
}

// readGrpcurlSession parses a session file (format in its header).
func readGrpcurlSession(path string) ([]grpcurlStep, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		steps   []grpcurlStep
		pending *grpcurlStep // a command whose quote or continuation is still open
		last    *grpcurlStep // the command the expectation lines below belong to
	)
	for i, line := range strings.Split(string(b), "\n") {
		n := i + 1
		if pending != nil {
			pending.command += "\n" + line
		} else {
			trimmed := strings.TrimSpace(line)
			directive, value, _ := strings.Cut(trimmed, " ")
			switch {
			case trimmed == "":
				continue
			case directive == "#>" || directive == "#!>" || directive == "#exit":
				if last == nil {
					return nil, fmt.Errorf("%s:%d: %s under no command", path, n, directive)
				}
				if value == "" {
					return nil, fmt.Errorf("%s:%d: %s with nothing after it", path, n, directive)
				}
				switch directive {
				case "#>":
					last.want = append(last.want, value)
				case "#!>":
					last.notWant = append(last.notWant, value)
				case "#exit":
					if last.exit, err = strconv.Atoi(value); err != nil {
						return nil, fmt.Errorf("%s:%d: #exit %q: %v", path, n, value, err)
					}
				}
				continue
			case strings.HasPrefix(trimmed, "#"):
				last = nil // prose ends the expectations of the command above
				continue
			}
			pending = &grpcurlStep{line: n, command: line}
		}
		words, err := shellWords(pending.command)
		if errors.Is(err, errOpenQuote) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, pending.line, err)
		}
		if len(words) < 4 || words[0] != "go" || words[1] != "tool" || words[2] != "grpcurl" {
			return nil, fmt.Errorf("%s:%d: %q: every command must be `go tool grpcurl ...`", path, pending.line, pending.command)
		}
		pending.args = words
		steps = append(steps, *pending)
		last, pending = &steps[len(steps)-1], nil
	}
	if pending != nil {
		return nil, fmt.Errorf("%s:%d: the command never ends (open quote or trailing \\)", path, pending.line)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("%s: no command", path)
	}
	for _, s := range steps {
		if len(s.want) == 0 {
			return nil, fmt.Errorf("%s:%d: a command with no #> expectation checks nothing", path, s.line)
		}
		if !strings.Contains(strings.Join(s.args, " "), sessionAddr) {
			return nil, fmt.Errorf("%s:%d: the command does not call %s", path, s.line, sessionAddr)
		}
	}
	return steps, nil
}

// errOpenQuote says a command goes on over the next line.
var errOpenQuote = errors.New("open quote or trailing backslash")

// shellWords splits a command as a POSIX shell would, for the little shell
// that a pastable grpcurl command needs: blanks between words, '...'
// (newlines included), "..." with \" \\ \$ \` escapes, backslash escapes
// and backslash-newline continuations. Anything that would make the shell
// do more than split words (pipes, redirections, $, globs, comments...) is
// refused, so the test runs exactly what a user's shell would.
func shellWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		inAny bool // cur holds a word, maybe an empty quoted one
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inAny {
				words = append(words, cur.String())
				cur.Reset()
				inAny = false
			}
		case c == '\\':
			if i+1 == len(s) {
				return nil, errOpenQuote
			}
			i++
			if s[i] != '\n' {
				cur.WriteByte(s[i])
				inAny = true
			}
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errOpenQuote
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inAny = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '$' || s[i] == '`' {
					return nil, fmt.Errorf("%q inside double quotes: use single quotes", s[i])
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue
					}
				}
				cur.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, errOpenQuote
			}
			inAny = true
		case strings.IndexByte("|&;<>()$`*?[]{}~#!", c) >= 0:
			return nil, fmt.Errorf("unquoted %q: the session holds plain commands only", c)
		default:
			cur.WriteByte(c)
			inAny = true
		}
	}
	if inAny {
		words = append(words, cur.String())
	}
	return words, nil
}

// buildSessionBinaries builds contactsd and grpcurl (the version pinned in
// go.mod) into a temporary folder, once, and returns the folder.
func buildSessionBinaries(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	dir := t.TempDir()
	// With -o naming a folder, go build writes each main package there
	// under its own name.
	build := exec.CommandContext(t.Context(), "go", "build", "-o", dir+string(filepath.Separator),
		"./cmd/contactsd", "github.com/fullstorydev/grpcurl/cmd/grpcurl")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
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
	p := &contactsdProcess{drained: make(chan struct{})}
	p.cmd = exec.CommandContext(t.Context(), bin, "-listen", "127.0.0.1:0", "-upstream", "emulator")
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

// logValue returns the value of key in a log/slog text line, "" if absent.
func logValue(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

func TestShellWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string // substring of the error; "" for none
	}{
		{in: `go tool grpcurl -plaintext localhost:50051 list`, want: []string{"go", "tool", "grpcurl", "-plaintext", "localhost:50051", "list"}},
		{in: "a \\\n  b", want: []string{"a", "b"}},
		{in: "-d '{\n  \"a\": \"b c\"\n}' x", want: []string{"-d", "{\n  \"a\": \"b c\"\n}", "x"}},
		{in: `-d "{\"a\": 1}" '' x\ y`, want: []string{"-d", `{"a": 1}`, "", "x y"}},
		{in: `a'b'"c"`, want: []string{"abc"}},
		{in: "-d '{", err: errOpenQuote.Error()},
		{in: `a \`, err: errOpenQuote.Error()},
		{in: `-d "x`, err: errOpenQuote.Error()},
		{in: `list | head`, err: "unquoted '|'"},
		{in: `list > out.txt`, err: "unquoted '>'"},
		{in: `-d "$HOME"`, err: "use single quotes"},
		{in: `list # comment`, err: "unquoted '#'"},
	} {
		got, err := shellWords(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("shellWords(%q): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("shellWords(%q): error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want):
			t.Errorf("shellWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReadGrpcurlSession(t *testing.T) {
	write := func(t *testing.T, text string) string {
		p := filepath.Join(t.TempDir(), "session.txt")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("good", func(t *testing.T) {
		steps, err := readGrpcurlSession(write(t, `# prose
go tool grpcurl -plaintext localhost:50051 list
#> contacts.v1.ContactsService

go tool grpcurl -plaintext -format-error -d '{
  "property_id": "9999999"
}' localhost:50051 contacts.v1.ContactsService/ListContacts
#exit 69
#> "otaCode": "635"
#!> Anna de Vries
`))
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != 2 {
			t.Fatalf("%d steps, want 2", len(steps))
		}
		s := steps[1]
		if s.line != 5 || s.exit != 69 || len(s.want) != 1 || s.want[0] != `"otaCode": "635"` || len(s.notWant) != 1 {
			t.Errorf("step %+v", s)
		}
		if got := s.grpcurlArgs("127.0.0.1:1234"); fmt.Sprint(got) != fmt.Sprint([]string{
			"-plaintext", "-format-error", "-d", "{\n  \"property_id\": \"9999999\"\n}", "127.0.0.1:1234", "contacts.v1.ContactsService/ListContacts",
		}) {
			t.Errorf("grpcurlArgs %q", got)
		}
		if got, want := s.name(), "line5_contacts.v1.ContactsService/ListContacts"; got != want {
			t.Errorf("name %q, want %q", got, want)
		}
	})
	for _, tc := range []struct{ name, text, err string }{
		{"empty", "# nothing\n", "no command"},
		{"not grpcurl", "curl localhost:50051\n#> x\n", "go tool grpcurl"},
		{"no expectation", "go tool grpcurl -plaintext localhost:50051 list\n", "checks nothing"},
		{"expectation after prose", "go tool grpcurl -plaintext localhost:50051 list\n# prose\n#> x\n", "under no command"},
		{"open quote", "go tool grpcurl -d '{ localhost:50051 list\n#> x\n", "never ends"},
		{"bad exit", "go tool grpcurl -plaintext localhost:50051 list\n#exit three\n", "#exit"},
		{"other address", "go tool grpcurl -plaintext example.com:443 list\n#> x\n", "does not call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readGrpcurlSession(write(t, tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// TestReadmeHasTheSession fails when the documented grpcurl session
// differs from the one TestGrpcurlSession runs: every command, as written,
// must be in docs/grpcurl.md.
func TestReadmeHasTheSession(t *testing.T) {
	steps, err := readGrpcurlSession(filepath.Join("testdata", "grpcurl-session.txt"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "docs", "grpcurl.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if !strings.Contains(string(readme), s.command) {
			t.Errorf("docs/grpcurl.md lacks the command of %s:\n%s", s.name(), s.command)
		}
	}
}
