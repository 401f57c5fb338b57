// Package clients_test checks that the client snippets of README.md and
// docs/*.md are the files CI runs: each fenced block right after a
// `<!-- quoted from PATH -->` line must be non-empty and appear, whole
// lines and verbatim, in PATH (relative to the repository root). The files
// themselves run elsewhere: client/ by go test, python/ and ts/ by their
// tests, cpp/ and java/ by protoc-examples.sh.
package clients_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var quoteMarker = regexp.MustCompile(`^<!-- quoted from (\S+) -->$`)

// mustQuote are the files the documentation must quote: one runnable
// snippet per language.
var mustQuote = []string{
	"client/example_test.go",
	"clients/python/example.py",
	"clients/ts/example.ts",
	"clients/cpp/example.sh",
	"clients/cpp/example.cc",
	"clients/java/example.sh",
	"clients/java/Example.java",
}

type quote struct {
	path, block string
	line        int
}

// quotes reads the marked blocks of a Markdown file. A marker must be
// followed by a fenced block (blank lines between are allowed).
func quotes(name string) ([]quote, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []quote
	var cur *quote
	inFence := false
	pending, pendingLine := "", 0
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur, inFence = nil, false
		case cur != nil:
			cur.block += line + "\n"
		case strings.HasPrefix(line, "```"):
			inFence = !inFence
			if inFence && pending != "" {
				cur = &quote{path: pending, line: n}
			}
			pending = ""
		case !inFence:
			if m := quoteMarker.FindStringSubmatch(line); m != nil {
				if pending != "" {
					return nil, fmt.Errorf("%s:%d: the quote marker is followed by no block", name, pendingLine)
				}
				pending, pendingLine = m[1], n
			} else if strings.TrimSpace(line) != "" && pending != "" {
				return nil, fmt.Errorf("%s:%d: the quote marker is followed by no block", name, pendingLine)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: quoted block never ends", name, cur.line)
	}
	if pending != "" {
		return nil, fmt.Errorf("%s:%d: the quote marker is followed by no block", name, pendingLine)
	}
	return out, nil
}

// checkQuote says what is wrong with q as a quote of the file content raw,
// "" if nothing.
func checkQuote(q quote, raw string) string {
	if strings.TrimSpace(q.block) == "" {
		return "the quoted block is empty"
	}
	// Whole lines: the block starts at the start of a line (and ends with
	// a newline, as every block line does).
	if !strings.HasPrefix(raw, q.block) && !strings.Contains(raw, "\n"+q.block) {
		return "the block is not a verbatim part of " + q.path + "; copy it again"
	}
	return ""
}

// docFiles are the Markdown files that may quote: README.md and docs/*.md.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(root, "README.md")}, pages...)
}

func TestDocsQuoteRunnableFiles(t *testing.T) {
	root := ".."
	got := map[string]bool{}
	for _, doc := range docFiles(t, root) {
		qs, err := quotes(doc)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, q := range qs {
			got[q.path] = true
			raw, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(q.path)))
			if err != nil {
				t.Errorf("%s:%d: %v", doc, q.line, err)
				continue
			}
			if problem := checkQuote(q, string(raw)); problem != "" {
				t.Errorf("%s:%d: %s", doc, q.line, problem)
			}
		}
	}
	for _, p := range mustQuote {
		if !got[p] {
			t.Errorf("neither README.md nor docs/*.md quotes %s", p)
		}
	}
}

// TestQuoteChecks: the checks refuse what they are there to refuse.
func TestQuoteChecks(t *testing.T) {
	raw := "package x\n\nfunc f() {\n\treturn\n}\n"
	for _, tc := range []struct {
		block string
		ok    bool
	}{
		{"func f() {\n\treturn\n}\n", true},
		{"package x\n", true},
		{"", false},            // an empty block quotes nothing
		{"\n", false},          // nor does a blank one
		{"unc f() {\n", false}, // not from the start of a line
		{"func f() {\n return\n}\n", false},
	} {
		problem := checkQuote(quote{path: "x.go", block: tc.block}, raw)
		if (problem == "") != tc.ok {
			t.Errorf("checkQuote(%q) = %q, want ok=%v", tc.block, problem, tc.ok)
		}
	}

	write := func(t *testing.T, text string) string {
		p := filepath.Join(t.TempDir(), "page.md")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	qs, err := quotes(write(t, "text\n\n<!-- quoted from a/b.go -->\n```go\nx := 1\n```\n\n```sh\nnot quoted\n```\n"))
	if err != nil || len(qs) != 1 || qs[0].path != "a/b.go" || qs[0].block != "x := 1\n" || qs[0].line != 4 {
		t.Errorf("quotes = %+v, %v", qs, err)
	}
	qs, err = quotes(write(t, "<!-- quoted from a/b.go -->\n```go\n```\n"))
	if err != nil || len(qs) != 1 || checkQuote(qs[0], "x := 1\n") == "" {
		t.Errorf("an empty quoted block passes: %+v, %v", qs, err)
	}
	for _, text := range []string{
		"<!-- quoted from a/b.go -->\nprose\n```go\nx\n```\n",
		"<!-- quoted from a/b.go -->\n",
		"<!-- quoted from a/b.go -->\n```go\nx\n",
	} {
		if _, err := quotes(write(t, text)); err == nil {
			t.Errorf("quotes(%q): no error", text)
		}
	}
}
