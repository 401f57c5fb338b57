package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// grpcurlSessionFile is the grpcurl session of docs/grpcurl.md: the commands a user
// pastes, each with what its output must show. See the file's header for
// its format.
const grpcurlSessionFile = "testdata/grpcurl-session.txt"

// sessionAddr is the server address the session's commands are written
// with; the test puts the real one in its place.
const sessionAddr = "localhost:50051"

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
