package docs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository root, seen from this package.
const root = ".."

// maxReadmeBytes is the most README.md may hold: a front door, with the
// rest in docs/.
const maxReadmeBytes = 12 << 10

// sessionFile is the grpcurl session cmd/contactsd's TestGrpcurlSession
// runs against a real contactsd.
const sessionFile = "cmd/contactsd/testdata/grpcurl-session.txt"

// pages are the Markdown files whose links are checked, relative to root.
func pages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"README.md", "docs/*.md", "clients/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pattern)))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			t.Fatalf("no file matches %s", pattern)
		}
		for _, p := range m {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadmeIsAFrontDoor(t *testing.T) {
	readme := read(t, "README.md")
	if len(readme) > maxReadmeBytes {
		t.Errorf("README.md is %d bytes, over %d: move detail to docs/", len(readme), maxReadmeBytes)
	}
	var code strings.Builder
	for _, b := range fencedBlocks(readme) {
		code.WriteString(b.text)
	}
	for _, cmd := range []string{"go run ./cmd/contactsd", "go test ./..."} {
		if !strings.Contains(code.String(), "\n"+cmd+" ") && !strings.HasPrefix(code.String(), cmd+" ") {
			t.Errorf("README.md gives no command line starting with %q", cmd)
		}
	}
}

func TestLinksResolve(t *testing.T) {
	for _, page := range pages(t) {
		for _, problem := range checkLinks(root, page) {
			t.Error(problem)
		}
	}
}

// TestGrpcurlPageHoldsTheSession: docs/grpcurl.md shows the whole tested
// session, verbatim, in one fenced block.
func TestGrpcurlPageHoldsTheSession(t *testing.T) {
	body := sessionBody(read(t, sessionFile))
	if strings.Count(body, "go tool grpcurl") < 3 {
		t.Fatalf("%s: the session has fewer than 3 commands", sessionFile)
	}
	for _, b := range fencedBlocks(read(t, "docs/grpcurl.md")) {
		if b.text == body {
			return
		}
	}
	t.Errorf("docs/grpcurl.md has no fenced block equal to the session of %s after its header; copy it again", sessionFile)
}

// TestReadmeGrpcurlCallsAreTested: every grpcurl call of the README is
// part of the tested session. Each paragraph of a README block that calls
// grpcurl must be a run of whole lines of the session file.
func TestReadmeGrpcurlCallsAreTested(t *testing.T) {
	session := read(t, sessionFile)
	calls := 0
	for _, b := range fencedBlocks(read(t, "README.md")) {
		if !strings.Contains(b.text, "go tool grpcurl") {
			continue
		}
		for _, para := range strings.Split(strings.TrimSuffix(b.text, "\n"), "\n\n") {
			calls += strings.Count(para, "go tool grpcurl")
			if problem := checkWholeLines(para, session); problem != "" {
				t.Errorf("README.md:%d: %s: %s\n%s", b.line, sessionFile, problem, para)
			}
		}
	}
	if calls < 3 {
		t.Errorf("README.md makes %d grpcurl calls, want 3", calls)
	}
}

// checkWholeLines says what is wrong with para as a run of whole lines of
// text, "" if nothing.
func checkWholeLines(para, text string) string {
	if strings.TrimSpace(para) == "" {
		return "empty paragraph"
	}
	p := para + "\n"
	if !strings.HasPrefix(text, p) && !strings.Contains(text, "\n"+p) {
		return "not a verbatim run of lines of the session"
	}
	return ""
}

// sessionBody is the session file after its header: from the first line
// after the first blank line.
func sessionBody(s string) string {
	_, body, _ := strings.Cut(s, "\n\n")
	return body
}

type block struct {
	line int    // the line of the opening fence
	text string // the lines inside, each with its newline
}

// fencedBlocks returns the fenced code blocks of a Markdown text.
func fencedBlocks(md string) []block {
	var out []block
	var cur *block
	for i, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &block{line: i + 1}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return out
}

var (
	linkPattern       = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	inlineCodePattern = regexp.MustCompile("`[^`]*`")
	schemePattern     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// checkLinks returns a problem for each relative link of the page (a path
// relative to dir) that does not resolve to a file inside dir, or whose
// #fragment names no heading of its Markdown target.
func checkLinks(dir, page string) []string {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(page)))
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	inFence := false
	for i, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		line = inlineCodePattern.ReplaceAllString(line, "")
		for _, m := range linkPattern.FindAllStringSubmatch(line, -1) {
			if p := checkLink(dir, page, m[1]); p != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", page, i+1, m[1], p))
			}
		}
	}
	return problems
}

// checkLink says what is wrong with one link target of page, "" if
// nothing. Links with a scheme (https:, mailto:) are not followed.
func checkLink(dir, page, target string) string {
	if schemePattern.MatchString(target) {
		return ""
	}
	path, frag, _ := strings.Cut(target, "#")
	file := page
	if path != "" {
		file = filepath.ToSlash(filepath.Join(filepath.Dir(filepath.FromSlash(page)), filepath.FromSlash(path)))
		if file == ".." || strings.HasPrefix(file, "../") || filepath.IsAbs(path) {
			return "leaves the repository"
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(file))); err != nil {
			return "no such file"
		}
	}
	if frag == "" {
		return ""
	}
	if !strings.HasSuffix(file, ".md") {
		return "a #fragment on a file that is not Markdown"
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
	if err != nil {
		return err.Error()
	}
	if !headingAnchors(string(b))[frag] {
		return "no heading of " + file + " has the anchor #" + frag
	}
	return ""
}

var slugDrop = regexp.MustCompile(`[^\p{L}\p{N}\s_-]`)

// headingAnchors returns the anchors GitHub gives the ATX headings of a
// Markdown text: lower case, punctuation dropped, spaces as hyphens, and
// -1, -2... for repeats.
func headingAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	inFence := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		text, ok := headingText(line)
		if !ok {
			continue
		}
		slug := strings.ReplaceAll(slugDrop.ReplaceAllString(strings.ToLower(text), ""), " ", "-")
		if n := seen[slug]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

// headingText is the text of an ATX heading line ("## Text").
func headingText(line string) (string, bool) {
	hashes := len(line) - len(strings.TrimLeft(line, "#"))
	if hashes == 0 || hashes > 6 || len(line) == hashes || line[hashes] != ' ' {
		return "", false
	}
	return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(line[hashes:]), "#")), true
}

// TestLinkChecks: the checks refuse what they are there to refuse.
func TestLinkChecks(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"README.md":   "# Top\n",
		"docs/a.md":   "# Page A\n\n## The facade's own credential\n\n```sh\n# Not a heading\n```\n\n## Same\n\n## Same\n",
		"docs/img.go": "package x\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		page, target string
		ok           bool
	}{
		{"README.md", "docs/a.md", true},
		{"docs/a.md", "../README.md", true},
		{"docs/a.md", "a.md#page-a", true},
		{"docs/a.md", "#the-facades-own-credential", true},
		{"docs/a.md", "#same-1", true},
		{"README.md", "https://example.com/x", true},
		{"README.md", "docs/b.md", false},
		{"docs/a.md", "../../shared/contacts-api.md", false},
		{"README.md", "/etc/passwd", false},
		{"docs/a.md", "#not-a-heading", false},
		{"docs/a.md", "#same-2", false},
		{"README.md", "docs/img.go#x", false},
	} {
		problem := checkLink(dir, tc.page, tc.target)
		if (problem == "") != tc.ok {
			t.Errorf("checkLink(%s, %s) = %q, want ok=%v", tc.page, tc.target, problem, tc.ok)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "docs", "c.md"), []byte("[ok](a.md) `[code](nowhere.md)`\n```\n[fenced](nowhere.md)\n```\n[bad](nowhere.md)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := checkLinks(dir, "docs/c.md"); len(got) != 1 || !strings.Contains(got[0], "docs/c.md:5: nowhere.md") {
		t.Errorf("checkLinks = %q, want the one bad link of line 5", got)
	}
	if p := checkWholeLines("b\nc", "a\nb\nc\nd\n"); p != "" {
		t.Errorf("checkWholeLines of a run of lines: %s", p)
	}
	for _, para := range []string{"", "b\nc", "b\nd", "c\nd\ne", "a\nb"} {
		if checkWholeLines(para, "a\nbb\nc\nd\n") == "" {
			t.Errorf("checkWholeLines(%q) passes", para)
		}
	}
}
