// Package clients_test checks that the README's client snippets are the
// files CI runs: each fenced block after a `<!-- quoted from PATH -->` line
// must appear, whole lines and verbatim, in PATH (relative to the
// repository root). The files themselves run elsewhere: client/ by go test,
// python/ and ts/ by their tests, cpp/ and java/ by protoc-examples.sh.
package clients_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var quoteMarker = regexp.MustCompile(`^<!-- quoted from (\S+) -->$`)

// mustQuote are the files the README's "Clients" section must quote: one
// runnable snippet per language.
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

// quotes reads the marked blocks of the README.
func quotes(t *testing.T, readme string) []quote {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []quote
	var cur *quote
	inFence := false
	pending := ""
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
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
				pending = m[1]
			} else if strings.TrimSpace(line) != "" {
				pending = ""
			}
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: quoted block never ends", cur.line)
	}
	return out
}

func TestReadmeQuotesRunnableFiles(t *testing.T) {
	root := filepath.Join("..")
	got := map[string]bool{}
	for _, q := range quotes(t, filepath.Join(root, "README.md")) {
		got[q.path] = true
		raw, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(q.path)))
		if err != nil {
			t.Errorf("README.md:%d: %v", q.line, err)
			continue
		}
		// Whole lines: the block starts at the start of a line.
		if !strings.HasPrefix(string(raw), q.block) && !strings.Contains(string(raw), "\n"+q.block) {
			t.Errorf("README.md:%d: the block is not a verbatim part of %s; copy it again", q.line, q.path)
		}
	}
	for _, p := range mustQuote {
		if !got[p] {
			t.Errorf("README.md quotes nothing from %s", p)
		}
	}
}
