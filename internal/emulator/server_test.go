package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// TestConcurrentPutGet runs PUTs of two different bodies and GETs at the
// same time (meant for go test -race): every GET must see one whole body,
// never a mix.
func TestConcurrentPutGet(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	bodies := []string{readTestdata(t, "valid_put.json"), oneGeneralContact}
	stored := []string{readTestdata(t, "valid_put_stored.json"), oneGeneralContactStored}
	path := contactsPath(emulator.DemoPropertyFull)
	if res := h.do(http.MethodPut, path, staticAuth, bodies[0]); res.status != http.StatusOK {
		t.Fatalf("PUT: %s", res.raw)
	}

	want := make(map[string]bool)
	for _, s := range stored {
		c, err := canonicalJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		want[c] = true
	}

	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				if w%2 == 0 {
					res, err := h.send(http.MethodPut, path, staticAuth, bodies[(w/2+i)%2])
					if err != nil || res.status != http.StatusOK {
						errs <- fmt.Sprintf("PUT: %v %s", err, res.raw)
					}
					continue
				}
				res, err := h.send(http.MethodGet, path, staticAuth, "")
				var env envelope
				if err == nil {
					err = json.Unmarshal(res.raw, &env)
				}
				if err != nil || env.Data == nil {
					errs <- fmt.Sprintf("GET: %v %s", err, res.raw)
					continue
				}
				if got, err := canonicalJSON([]byte(env.Data.Contacts)); err != nil || !want[got] {
					errs <- fmt.Sprintf("GET saw a mix: %v %s", err, env.Data.Contacts)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestStart checks the listening server and its graceful, repeatable stop.
func TestStart(t *testing.T) {
	e := emulator.New(emulator.Options{})
	base, stop, err := emulator.Start(context.Background(), "127.0.0.1:0", e)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, base+contactsPath(emulator.DemoPropertyFull), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", staticAuth)
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	client.CloseIdleConnections()

	if err := stop(context.Background()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if resp, err := client.Get(base + "/"); err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after stop")
	}
}

func TestStartBadAddress(t *testing.T) {
	if _, _, err := emulator.Start(context.Background(), "127.0.0.1:-1", emulator.New(emulator.Options{})); err == nil {
		t.Fatal("Start on a bad address did not fail")
	}
}

// TestRequestLog checks that each request is logged at debug level with
// method, path and status, and without personal data or credentials.
func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, emulator.Options{Logger: logger})
	jwt := h.exchange()
	body := readTestdata(t, "valid_put.json")
	h.do(http.MethodPut, contactsPath(emulator.DemoPropertyFull), "Bearer "+jwt, body)
	h.do(http.MethodGet, contactsPath(emulator.DemoPropertyFull)+"?no_language_fallback=1", basic(emulator.DemoUsername, emulator.DemoPassword), "")
	h.do(http.MethodGet, contactsPath(emulator.DemoPropertyFull), noAuth, "")

	mu.Lock()
	out := buf.String()
	mu.Unlock()
	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		records = append(records, rec)
	}
	if len(records) != 4 {
		t.Fatalf("%d log records, want 4:\n%s", len(records), out)
	}
	wantStatus := []float64{200, 200, 200, 401}
	for i, rec := range records {
		if rec["level"] != "DEBUG" || rec["method"] == nil || rec["path"] == nil || rec["duration"] == nil || rec["status"] != wantStatus[i] {
			t.Errorf("record %d: %v", i, rec)
		}
	}
	for _, secret := range []string{
		"lotte.bakker@example.com", "Lotte Bakker", "+31201112233", "Keizersgracht",
		"anna.devries@example.com", "Anna de Vries",
		jwt, emulator.DemoClientSecret, emulator.DemoPassword, "no_language_fallback",
	} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q:\n%s", secret, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
