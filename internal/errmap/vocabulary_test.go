package errmap_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/answers"
)

// TestReasonWireStrings pins by hand every ErrorReason: its number and the
// string ErrorInfo.reason carries, which callers match on and which must
// never change; and checks each against AIP-193's form of a reason.
func TestReasonWireStrings(t *testing.T) {
	wire := []string{
		0: "ERROR_REASON_UNSPECIFIED",
		1: "CHANGES_NOT_PERMITTED", 2: "INVALID_VALUE", 3: "REQUIRED_FIELD_MISSING", 4: "INVALID_ITEM",
		5: "SIMULTANEOUS_UPDATES", 6: "SYSTEM_ERROR", 7: "UNABLE_TO_PROCESS", 8: "AUTHORIZATION_ERROR",
		9: "NOT_FOUND", 10: "UNKNOWN_OTA_ERROR",
		11: "AUTHENTICATION_FAILED", 12: "PERMISSION_DENIED", 13: "CONFLICT", 14: "RATE_LIMITED",
		15: "UPSTREAM_TIMEOUT", 16: "UPSTREAM_UNAVAILABLE", 17: "UPSTREAM_ERROR",
		18: "BAD_UPSTREAM_RESPONSE", 19: "UPSTREAM_RESPONSE_TOO_LARGE", 20: "CANCELLED",
		21: "TOKEN_EXCHANGE_FAILED", 22: "TOKEN_EXCHANGE_UNAVAILABLE", 23: "TOKEN_EXCHANGE_RATE_LIMITED",
		24: "TOKEN_BUDGET_EXHAUSTED", 25: "INTERNAL", 26: "VIOLATIONS_OMITTED",
		27: "ETAG_MISMATCH", 28: "REQUEST_ID_REUSED", 29: "GENERAL_REQUIRED", 30: "PROFILE_HAS_NO_CONTACT",
		31: "PROFILE_HAS_SEVERAL_CONTACTS", 32: "CONTACTS_NOT_WRITABLE", 33: "WRITE_LOCK_TIMEOUT",
		34: "WRITE_LOCK_LOST", 35: "WRITE_STATE_UNAVAILABLE",
		36: "CALLER_NOT_ALLOWED", 37: "CALLER_RATE_LIMITED", 38: "AUDIT_UNAVAILABLE",
		39: "MALFORMED_REQUEST", 40: "REQUEST_TOO_LARGE", 41: "UNKNOWN_METHOD", 42: "SERVER_SHUTTING_DOWN", 43: "OUTCOME_UNKNOWN",
		44: "UPSTREAM_RATE_LIMITED",
		45: "OPERATION_NOT_FOUND", 46: "OPERATION_RUNNING", 47: "OPERATION_NOT_REVERTIBLE", 48: "OPERATION_CANCELLED",
		49: "OPERATION_ITEMS_FAILED",
	}
	if len(contactsv1.ErrorReason_name) != len(wire) {
		t.Errorf("ErrorReason has %d values, %d are pinned here", len(contactsv1.ErrorReason_name), len(wire))
	}
	aip193 := regexp.MustCompile(`^[A-Z][A-Z0-9_]+[A-Z0-9]$`)
	for n, w := range wire {
		r := contactsv1.ErrorReason(n)
		if r.String() != w || contactsv1.ErrorReason_value[w] != int32(n) {
			t.Errorf("ErrorReason %d is %q on the wire, pinned %q", n, r.String(), w)
		}
		if !aip193.MatchString(w) || len(w) > 63 {
			t.Errorf("%q is not an AIP-193 reason", w)
		}
	}
	// A few by hand, through the generated names.
	if contactsv1.ErrorReason_ETAG_MISMATCH.String() != "ETAG_MISMATCH" ||
		contactsv1.ErrorReason_INVALID_VALUE.String() != "INVALID_VALUE" ||
		contactsv1.ErrorReason_UPSTREAM_RESPONSE_TOO_LARGE.String() != "UPSTREAM_RESPONSE_TOO_LARGE" ||
		contactsv1.ErrorReason_CALLER_NOT_ALLOWED.String() != "CALLER_NOT_ALLOWED" {
		t.Error("a wire string changed")
	}
}

// TestEveryReasonIsProduced reads the facade's Go code (not gen/, not
// tests): every ErrorReason but ERROR_REASON_UNSPECIFIED is used somewhere,
// so errors.proto declares nothing the facade never sends, and no code
// spells a reason as a string literal instead of the generated name. The
// answers table's rows, the most of the reasons, each have one.
func TestEveryReasonIsProduced(t *testing.T) {
	root := filepath.Join("..", "..")
	used := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "gen", "node_modules", "testdata", ".git", "clients":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		// client/ is the Go SDK: it keeps the reasons as string constants
		// (client/safe_test.go holds them to the enum).
		sdk := strings.HasPrefix(filepath.ToSlash(rel), "client/")
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if name, ok := strings.CutPrefix(n.Sel.Name, "ErrorReason_"); ok {
					used[name] = append(used[name], rel)
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && !sdk {
					if _, ok := contactsv1.ErrorReason_value[s]; ok {
						t.Errorf("%s: the reason %s spelled as a literal; use contactsv1.ErrorReason_%s", fset.Position(n.Pos()), s, s)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range contactsv1.ErrorReason_value {
		if name != "ERROR_REASON_UNSPECIFIED" && len(used[name]) == 0 {
			t.Errorf("ErrorReason %s is declared but the facade never produces it", name)
		}
	}
	for _, e := range answers.All() {
		if (e.Row.Reason == contactsv1.ErrorReason_ERROR_REASON_UNSPECIFIED) != (e.Name == "Success") {
			t.Errorf("row %s has reason %v", e.Name, e.Row.Reason)
		}
	}
	// By hand: where a few come from.
	for name, file := range map[string]string{
		"ETAG_MISMATCH":      "service/safe_errors.go",
		"CALLER_NOT_ALLOWED": "internal/access/gate.go",
		"MALFORMED_REQUEST":  "internal/grpcserver/refusals.go",
		"VIOLATIONS_OMITTED": "internal/errmap/errmap.go",
		"INVALID_VALUE":      "internal/answers/table.go",
	} {
		found := false
		for _, f := range used[name] {
			found = found || filepath.ToSlash(f) == file
		}
		if !found {
			t.Errorf("%s is not produced in %s (used in %v)", name, file, used[name])
		}
	}
}
