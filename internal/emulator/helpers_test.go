package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// Authorization header values used throughout the tests.
const (
	staticAuth = "Bearer " + emulator.DemoStaticToken
	noAuth     = ""
)

// clock is a manual clock for Options.Now: tests advance it instead of
// sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is an emulator behind an httptest server.
type harness struct {
	t     *testing.T
	emu   *emulator.Emulator
	srv   *httptest.Server
	clock *clock
}

// newHarness starts an emulator; opts.Now is replaced by a manual clock.
func newHarness(t *testing.T, opts emulator.Options) *harness {
	t.Helper()
	c := newClock()
	opts.Now = c.Now
	e := emulator.New(opts)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &harness{t: t, emu: e, srv: srv, clock: c}
}

// apiErr is one entry of errors[] as the tests read it. Code is a string:
// decoding fails if the emulator ever writes a number.
type apiErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details *struct {
		Fields        []string `json:"fields"`
		AllowedValues []string `json:"allowed_values"`
	} `json:"details"`
}

type envelope struct {
	Data *struct {
		Contacts json.RawMessage `json:"contacts"`
	} `json:"data"`
	Warnings []apiErr `json:"warnings"`
	Errors   []apiErr `json:"errors"`
	Meta     *struct {
		RUID string `json:"ruid"`
	} `json:"meta"`
}

// result is one answer.
type result struct {
	status int
	header http.Header
	raw    []byte
	env    envelope
}

// do sends one request and checks what every answer must have: JSON
// content type, a JSON body and, for the contacts paths, the envelope with
// warnings, errors and meta.ruid.
func (h *harness) do(method, path, auth, body string) result {
	h.t.Helper()
	res, err := h.send(method, path, auth, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		h.t.Fatalf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if method == http.MethodPost && path == "/token-based-authentication/exchange" && res.status == http.StatusOK {
		return res // {"jwt","ruid"}, not an envelope
	}
	if err := json.Unmarshal(res.raw, &res.env); err != nil {
		h.t.Fatalf("%s %s: body is not the envelope: %v\n%s", method, path, err, res.raw)
	}
	var members map[string]json.RawMessage
	_ = json.Unmarshal(res.raw, &members)
	for _, k := range []string{"warnings", "errors", "meta"} {
		if _, ok := members[k]; !ok {
			h.t.Fatalf("%s %s: answer lacks %q: %s", method, path, k, res.raw)
		}
	}
	if res.env.Warnings == nil || res.env.Errors == nil {
		h.t.Fatalf("%s %s: warnings/errors must be lists, not null: %s", method, path, res.raw)
	}
	if res.env.Meta == nil || !isRUID(res.env.Meta.RUID) {
		h.t.Fatalf("%s %s: meta.ruid missing or not hex: %s", method, path, res.raw)
	}
	return res
}

// isRUID reports whether s looks like the emulator's meta.ruid: 32 hex
// digits.
func isRUID(s string) bool {
	return regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(s)
}

// send sends one request and reads the answer; it does not touch t, so
// that goroutines may call it.
func (h *harness) send(method, path, auth, body string) (result, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		return result{}, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{status: resp.StatusCode, header: resp.Header, raw: raw}, nil
}

// want is one expected entry of errors[]. allowed nil means the entry must
// carry no allowed_values; field "" means details must be null.
type want struct {
	code    string
	field   string
	allowed []string
}

// tableMessage is the seed table's message for each code.
func tableMessage(code string) (string, bool) {
	m, ok := map[string]string{
		"150": "Changes are not permitted.",
		"320": "Invalid value.",
		"321": "Required field missing.",
		"394": "Invalid item.",
		"450": "Unable to process",
		"497": "Authorization error.",
		"635": "Not found",
	}[code]
	return m, ok
}

// expectErrors checks the status and errors[] of an answer, entry by entry
// and in order.
func expectErrors(t *testing.T, res result, status int, wants ...want) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d; body %s", res.status, status, res.raw)
	}
	if res.env.Data != nil {
		t.Errorf("error answer carries data: %s", res.raw)
	}
	got := make([]string, len(res.env.Errors))
	for i, e := range res.env.Errors {
		got[i] = describe(e)
	}
	exp := make([]string, len(wants))
	for i, w := range wants {
		exp[i] = w.String()
	}
	if !slices.Equal(got, exp) {
		t.Fatalf("errors[] mismatch\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(exp, "\n      "))
	}
	for _, e := range res.env.Errors {
		if m, ok := tableMessage(e.Code); ok && e.Message != m {
			t.Errorf("code %s: message %q, want %q", e.Code, e.Message, m)
		}
	}
}

func describe(e apiErr) string {
	if e.Details == nil {
		return e.Code + " details=null"
	}
	s := e.Code + " fields=" + strings.Join(e.Details.Fields, ",")
	if e.Details.AllowedValues != nil {
		s += " allowed=" + strings.Join(e.Details.AllowedValues, "|")
	}
	return s
}

func (w want) String() string {
	if w.field == "" {
		return w.code + " details=null"
	}
	s := w.code + " fields=" + w.field
	if w.allowed != nil {
		s += " allowed=" + strings.Join(w.allowed, "|")
	}
	return s
}

// readTestdata returns the content of testdata/name.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// contactsPath is the contacts path of a property.
func contactsPath(id any) string { return fmt.Sprintf("/properties/%v/contacts", id) }

// exchange obtains a JWT with the demo credentials.
func (h *harness) exchange() string {
	h.t.Helper()
	res := h.do(http.MethodPost, "/token-based-authentication/exchange", noAuth,
		`{"client_id":"`+emulator.DemoClientID+`","client_secret":"`+emulator.DemoClientSecret+`"}`)
	if res.status != http.StatusOK {
		h.t.Fatalf("exchange: status %d: %s", res.status, res.raw)
	}
	var out struct {
		JWT  string `json:"jwt"`
		RUID string `json:"ruid"`
	}
	if err := json.Unmarshal(res.raw, &out); err != nil || out.JWT == "" || out.RUID == "" {
		h.t.Fatalf("exchange answer %s: %v", res.raw, err)
	}
	return out.JWT
}

// getContacts reads a property's contacts as generic JSON.
func (h *harness) getContacts(id any, query string) []any {
	h.t.Helper()
	res := h.do(http.MethodGet, contactsPath(id)+query, staticAuth, "")
	if res.status != http.StatusOK || len(res.env.Errors) != 0 || res.env.Data == nil {
		h.t.Fatalf("GET %v: status %d: %s", id, res.status, res.raw)
	}
	var out []any
	if err := json.Unmarshal(res.env.Data.Contacts, &out); err != nil {
		h.t.Fatal(err)
	}
	if out == nil {
		h.t.Fatalf("GET %v: contacts is null, want a list: %s", id, res.raw)
	}
	return out
}

// jsonEqual reports whether got and want hold the same JSON value; each is
// JSON text (string or []byte) or a value to marshal.
func jsonEqual(t *testing.T, got, want any) bool {
	t.Helper()
	g, err := canonicalJSON(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := canonicalJSON(want)
	if err != nil {
		t.Fatal(err)
	}
	return g == w
}

// canonicalJSON re-encodes v so that equal JSON values compare equal.
func canonicalJSON(v any) (string, error) {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return "", err
		}
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return "", fmt.Errorf("not JSON: %v: %s", err, b)
	}
	out, err := json.Marshal(x)
	return string(out), err
}

// mutation changes a decoded body before it is sent.
type mutation func(t *testing.T, doc map[string]any)

// removed is the value that makes set delete a member or list element.
type removed struct{}

// set returns a mutation that sets the value at a field path such as
// "contacts[0].phones[1].extension" (the syntax of details.fields).
// Setting index len(list) appends.
func set(path string, value any) mutation {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		setAt(t, doc, parsePath(t, path), value, path)
	}
}

// del returns a mutation that deletes the member or element at path.
func del(path string) mutation { return set(path, removed{}) }

type step struct {
	key   string
	idx   int
	isIdx bool
}

func parsePath(t *testing.T, path string) []step {
	t.Helper()
	var steps []step
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			steps = append(steps, step{key: name})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil {
				t.Fatalf("bad path %q", path)
			}
			steps = append(steps, step{idx: i, isIdx: true})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps
}

// setAt sets value below node and returns the node, which is new when a
// list changed length.
func setAt(t *testing.T, node any, steps []step, value any, path string) any {
	t.Helper()
	s := steps[0]
	_, remove := value.(removed)
	if s.isIdx {
		list, ok := node.([]any)
		if !ok || s.idx > len(list) {
			t.Fatalf("path %s: no element %d in %T", path, s.idx, node)
		}
		if len(steps) > 1 {
			list[s.idx] = setAt(t, list[s.idx], steps[1:], value, path)
			return list
		}
		switch {
		case remove:
			return slices.Delete(list, s.idx, s.idx+1)
		case s.idx == len(list):
			return append(list, value)
		}
		list[s.idx] = value
		return list
	}
	m, ok := node.(map[string]any)
	if !ok {
		t.Fatalf("path %s: %q is not in an object but in %T", path, s.key, node)
	}
	switch {
	case len(steps) > 1:
		m[s.key] = setAt(t, m[s.key], steps[1:], value, path)
	case remove:
		delete(m, s.key)
	default:
		m[s.key] = value
	}
	return m
}

// mutate applies mutations to the JSON text base and returns the new text.
func mutate(t *testing.T, base string, muts ...mutation) string {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(base))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, m := range muts {
		m(t, doc)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
