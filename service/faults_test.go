package service_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/errmap"
	"github.com/contacts-facade/contacts-facade/internal/errmap/errmaptest"
	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/service"
)

// faultProperty is the property of every call in this file.
const faultProperty = "1000001"

// fakeUpstream is an httptest server whose every request runs handle. It
// counts requests and gives handlers a way to report that they saw their
// request context end.
type fakeUpstream struct {
	srv  *httptest.Server
	hits atomic.Int32
	// cancelled receives one value per handler that saw r.Context() end.
	cancelled chan struct{}
	// stop is closed when the test ends, so that no handler outlives it
	// even if the client never goes away.
	stop chan struct{}
}

type handlerFunc func(f *fakeUpstream, w http.ResponseWriter, r *http.Request)

func newFakeUpstream(t *testing.T, handle handlerFunc) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{cancelled: make(chan struct{}, 16), stop: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		handle(f, w, r)
	}))
	// Cleanups run last-in first-out: stop the handlers, then close.
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) })
	return f
}

// readsSucceed lets the read that a write makes first (under the write
// lock, for the etag check and previous_contacts) find an empty property,
// uncounted, so that handle answers the write itself.
func readsSucceed(rpc string, handle handlerFunc) handlerFunc {
	if rpc == "list" {
		return handle
	}
	return func(f *fakeUpstream, w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			f.hits.Add(-1)
			answer(http.StatusOK, "application/json", okListBody)(f, w, r)
			return
		}
		handle(f, w, r)
	}
}

// waitGone blocks until the client has gone away (the request context
// ended) and reports it, or until the test ends.
func (f *fakeUpstream) waitGone(r *http.Request) {
	select {
	case <-r.Context().Done():
		f.cancelled <- struct{}{}
	case <-f.stop:
	}
}

// Canned upstream answers.
const (
	okListBody    = `{"data":{"contacts":[]},"warnings":[],"errors":[],"meta":{"ruid":"ruid-ok"}}`
	okWriteBody   = `{"warnings":[],"meta":{"ruid":"ruid-ok"}}`
	bodyStart     = `{"data":{"contacts":[`
	htmlErrorPage = `<html><head><title>Error</title></head><body><h1>Service Unavailable</h1></body></html>`
)

func answer(status int, contentType, body string, header ...string) handlerFunc {
	return func(_ *fakeUpstream, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// hang reads the request, as a real upstream would, and never answers: it
// waits for the client to go away. (net/http notices a closed connection
// only once the request body has been read.)
func hang(f *fakeUpstream, _ http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	f.waitGone(r)
}

// drip sends the headers and the start of a body, then one byte per tick of
// its own ticker, until the client goes away (at most 10,000 ticks).
func drip(f *fakeUpstream, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(bodyStart))
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for range 10_000 {
		select {
		case <-tick.C:
		case <-r.Context().Done():
			f.cancelled <- struct{}{}
			return
		case <-f.stop:
			return
		}
		if _, err := w.Write([]byte{' '}); err != nil {
			break
		}
		if rc.Flush() != nil {
			break
		}
	}
	f.waitGone(r)
}

// chunk is what the large-body handlers write, 32 KiB at a time.
var chunk = bytes.Repeat([]byte(" "), 32<<10)

// largeBody announces a 10 MiB body with Content-Length and writes it
// until done or until the client goes away.
func largeBody(_ *fakeUpstream, w http.ResponseWriter, _ *http.Request) {
	const size = 10 << 20
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(bodyStart))
	for sent := len(bodyStart); sent < size; {
		n, err := w.Write(chunk[:min(len(chunk), size-sent)])
		if err != nil {
			return
		}
		sent += n
	}
}

// endlessBody streams a chunked body of spaces that never ends, until the
// client goes away (bounded at 4096 chunks, 128 MiB, which the client
// never gets near).
func endlessBody(f *fakeUpstream, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(bodyStart))
	for range 4096 {
		select {
		case <-f.stop:
			return
		default:
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// hijacked writes raw bytes on the connection and closes it.
func hijacked(raw string) handlerFunc {
	return func(_ *fakeUpstream, w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err) // httptest serves HTTP/1.1: hijacking works
		}
		_, _ = buf.WriteString(raw)
		_ = buf.Flush()
		_ = conn.Close()
	}
}

// sequence answers the handlers in order, repeating the last one.
func sequence(hs ...handlerFunc) handlerFunc {
	return func(f *fakeUpstream, w http.ResponseWriter, r *http.Request) {
		hs[min(int(f.hits.Load())-1, len(hs)-1)](f, w, r)
	}
}

// faultWant is what the caller must see.
type faultWant struct {
	code   codes.Code // codes.OK: the call must succeed
	reason string
	// md is the exact ErrorInfo metadata.
	md map[string]string
	// retry is the RetryInfo delay; 0 means no RetryInfo.
	retry time.Duration
	// hits is the number of requests the upstream must receive; 0 skips
	// the check (no upstream at all).
	hits int
	// cancelled: the upstream handler must see its request context end.
	cancelled bool
	// localDeadline: the caller's own deadline ends the call, so the gRPC
	// client may report DEADLINE_EXCEEDED itself before the server's
	// status (with its details) arrives. Details are checked when present.
	localDeadline bool
	// maxAlloc bounds the bytes allocated by the whole process during the
	// call (runtime.MemStats.TotalAlloc delta); 0 skips the check.
	maxAlloc uint64
}

// upMD and facadeMD are the ErrorInfo metadata of an answer from the
// upstream and of a failure the facade found itself.
// Every ErrorInfo has the same six keys, empty when unknown.
func upMD(httpStatus int, kv ...string) map[string]string {
	md := facadeMD()
	md[errmap.MetaHTTPStatus], md[errmap.MetaSource] = strconv.Itoa(httpStatus), errmap.SourceUpstream
	for i := 0; i+1 < len(kv); i += 2 {
		md[kv[i]] = kv[i+1]
	}
	return md
}

func facadeMD() map[string]string {
	return map[string]string{errmap.MetaSource: errmap.SourceFacade, errmap.MetaPropertyID: faultProperty,
		errmap.MetaHTTPStatus: "", errmap.MetaRequestID: "", errmap.MetaOTACode: "", errmap.MetaOTACodes: ""}
}

// TestUpstreamFaults drives every kind of upstream failure through the real
// REST client, service and gRPC server, one row per fault.
func TestUpstreamFaults(t *testing.T) {
	mdReq := func(status int, ruid string) map[string]string {
		return upMD(status, errmap.MetaRequestID, ruid)
	}
	cases := []struct {
		name   string
		rpc    string // "list", "replace" or "create"
		handle handlerFunc
		// dead: call a loopback port nobody listens on instead.
		dead bool
		// callerDeadline is the deadline the caller sets; 0 means 10s.
		callerDeadline time.Duration
		// serverDeadline, when set, is the server's DefaultTimeout and the
		// caller sets no deadline at all.
		serverDeadline time.Duration
		want           faultWant
	}{
		{name: "slow answer past the caller's deadline", rpc: "list", handle: hang, callerDeadline: 300 * time.Millisecond,
			want: faultWant{code: codes.DeadlineExceeded, reason: contactsv1.ErrorReason_UPSTREAM_TIMEOUT.String(), md: facadeMD(), hits: 1, cancelled: true, localDeadline: true}},
		{name: "slow answer past the server's default deadline", rpc: "list", handle: hang, serverDeadline: 300 * time.Millisecond,
			want: faultWant{code: codes.DeadlineExceeded, reason: contactsv1.ErrorReason_UPSTREAM_TIMEOUT.String(), md: facadeMD(), hits: 1, cancelled: true}},
		{name: "slow write past the caller's deadline", rpc: "replace", handle: hang, callerDeadline: 300 * time.Millisecond,
			want: faultWant{code: codes.DeadlineExceeded, reason: contactsv1.ErrorReason_UPSTREAM_TIMEOUT.String(), md: facadeMD(), hits: 1, cancelled: true, localDeadline: true}},
		{name: "slow drip past the caller's deadline", rpc: "list", handle: drip, callerDeadline: 300 * time.Millisecond,
			want: faultWant{code: codes.DeadlineExceeded, reason: contactsv1.ErrorReason_UPSTREAM_TIMEOUT.String(), md: facadeMD(), hits: 1, cancelled: true, localDeadline: true}},
		{name: "slow drip past the server's default deadline", rpc: "list", handle: drip, serverDeadline: 300 * time.Millisecond,
			want: faultWant{code: codes.DeadlineExceeded, reason: contactsv1.ErrorReason_UPSTREAM_TIMEOUT.String(), md: facadeMD(), hits: 1, cancelled: true}},

		// A refused dial provably sent nothing: retried (GET and PUT alike),
		// then UNAVAILABLE from the facade, without an HTTP status.
		{name: "connection refused GET", rpc: "list", dead: true,
			want: faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: facadeMD()}},
		{name: "connection refused PUT", rpc: "replace", dead: true,
			want: faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: facadeMD()}},

		// Reset mid-body: the status line and Content-Length came, then the
		// connection closed. The read fails with io.ErrUnexpectedEOF: no
		// complete answer, so a *TransportError, hence UNAVAILABLE (retry),
		// not INTERNAL: the upstream may well have a good answer. GET is
		// retried (3 sends), PUT is not (the request may have been applied).
		{name: "reset mid-body GET", rpc: "list",
			handle: hijacked("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + bodyStart),
			want:   faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: facadeMD(), hits: 3}},
		{name: "reset mid-body PUT", rpc: "replace",
			handle: hijacked("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + bodyStart),
			want:   faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: facadeMD(), hits: 1}},
		{name: "reset mid-chunk GET", rpc: "list",
			handle: hijacked("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + bodyStart),
			want:   faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: facadeMD(), hits: 3}},
		// Without Content-Length or chunking the body ends where the
		// connection does (RFC 9112 §6.3): a cut there is indistinguishable
		// from the end, the client sees truncated JSON: INTERNAL.
		{name: "close-delimited body cut", rpc: "list",
			handle: hijacked("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + bodyStart),
			want:   faultWant{code: codes.Internal, reason: contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE.String(), md: upMD(200), hits: 1}},

		// A proxy's HTML error page: undecodable, but its status says
		// enough: UNAVAILABLE. 502 and 503 are retried on GET, 500 is not.
		{name: "500 HTML", rpc: "list", handle: answer(500, "text/html", htmlErrorPage),
			want: faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: upMD(500), hits: 1}},
		{name: "502 HTML", rpc: "list", handle: answer(502, "text/html", htmlErrorPage),
			want: faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: upMD(502), hits: 3}},
		{name: "503 HTML", rpc: "list", handle: answer(503, "text/html", htmlErrorPage),
			want: faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: upMD(503), hits: 3}},
		{name: "503 HTML on PUT", rpc: "replace", handle: answer(503, "text/html", htmlErrorPage),
			want: faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: upMD(503), hits: 1}},

		{name: "429 with Retry-After", rpc: "list",
			handle: answer(429, "application/json", `{"errors":[{"message":"Too many requests"}],"meta":{"ruid":"ruid-429"}}`, "Retry-After", "7"),
			want:   faultWant{code: codes.ResourceExhausted, reason: contactsv1.ErrorReason_RATE_LIMITED.String(), md: mdReq(429, "ruid-429"), retry: 7 * time.Second, hits: 1}},
		// A gateway's plain-text 429: the status says enough, so the caller
		// gets RESOURCE_EXHAUSTED with the RetryInfo.
		{name: "429 plain text with Retry-After", rpc: "list",
			handle: answer(429, "text/plain", "Too Many Requests", "Retry-After", "7"),
			want:   faultWant{code: codes.ResourceExhausted, reason: contactsv1.ErrorReason_RATE_LIMITED.String(), md: upMD(429), retry: 7 * time.Second, hits: 1}},

		// Bodies over the client's cap (1 MiB): cut, and nothing near their
		// size is ever allocated. With Content-Length the client reads only
		// 256 bytes; without, it reads 1 MiB + 1 into a growing buffer:
		// about 4 MiB allocated in all (8 MiB under -race, whose build
		// allocates twice per buffer growth), against the 128 MiB the
		// endless handler would send.
		{name: "10 MiB body", rpc: "list", handle: largeBody,
			want: faultWant{code: codes.Internal, reason: contactsv1.ErrorReason_UPSTREAM_RESPONSE_TOO_LARGE.String(), md: upMD(200), hits: 1, maxAlloc: 1 << 20}},
		{name: "endless body", rpc: "list", handle: endlessBody,
			want: faultWant{code: codes.Internal, reason: contactsv1.ErrorReason_UPSTREAM_RESPONSE_TOO_LARGE.String(), md: upMD(200), hits: 1, maxAlloc: 10 << 20}},
		{name: "endless body on PUT", rpc: "replace", handle: endlessBody,
			want: faultWant{code: codes.Internal, reason: contactsv1.ErrorReason_UPSTREAM_RESPONSE_TOO_LARGE.String(), md: upMD(200), hits: 1, maxAlloc: 10 << 20}},

		// 200 that is not the documented JSON: never a half-filled success.
		{name: "truncated JSON 200", rpc: "list", handle: answer(200, "application/json", `{"data":{"contacts":[{"contact_profiles":[{"type":"general"}],"email":"a@`),
			want: faultWant{code: codes.Internal, reason: contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE.String(), md: upMD(200), hits: 1}},
		{name: "non-JSON 200", rpc: "list", handle: answer(200, "text/html", "<html><body>Welcome</body></html>"),
			want: faultWant{code: codes.Internal, reason: contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE.String(), md: upMD(200), hits: 1}},
		{name: "unrelated JSON 200", rpc: "list", handle: answer(200, "application/json", `{"status":"ok"}`),
			want: faultWant{code: codes.Internal, reason: contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE.String(), md: upMD(200), hits: 1}},
		{name: "truncated JSON 200 on PUT", rpc: "replace", handle: answer(200, "application/json", `{"warnings":[],"meta":{"ruid":`),
			want: faultWant{code: codes.Internal, reason: contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE.String(), md: upMD(200), hits: 1}},
		{name: "empty 200 on POST", rpc: "create", handle: answer(200, "application/json", ""),
			want: faultWant{code: codes.Internal, reason: contactsv1.ErrorReason_BAD_UPSTREAM_RESPONSE.String(), md: upMD(200), hits: 1}},

		// Retries as seen by the caller.
		{name: "GET 503 then success", rpc: "list",
			handle: sequence(answer(503, "application/json", `{"errors":[]}`), answer(200, "application/json", okListBody)),
			want:   faultWant{code: codes.OK, hits: 2}},
		{name: "PUT 503 not retried", rpc: "replace",
			handle: sequence(answer(503, "application/json", `{"errors":[]}`), answer(200, "application/json", okWriteBody)),
			want:   faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: mdReq(503, ""), hits: 1}},
		{name: "POST 503 not retried", rpc: "create",
			handle: sequence(answer(503, "application/json", `{"errors":[]}`), answer(200, "application/json", okWriteBody)),
			want:   faultWant{code: codes.Unavailable, reason: contactsv1.ErrorReason_UPSTREAM_UNAVAILABLE.String(), md: mdReq(503, ""), hits: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f *fakeUpstream
			base := "http://" + deadAddress(t)
			if !tc.dead {
				f = newFakeUpstream(t, readsSucceed(tc.rpc, tc.handle))
				base = f.srv.URL
			}
			up, err := upstream.New(upstream.Config{BaseURL: base})
			if err != nil {
				t.Fatal(err)
			}
			client := contactsv1.NewContactsServiceClient(serveFacade(t, up, service.Config{DefaultTimeout: tc.serverDeadline}))

			var ctx context.Context
			var cancel context.CancelFunc
			if tc.serverDeadline > 0 {
				// No deadline: the server's own bounds the call.
				ctx, cancel = context.WithCancel(context.Background())
			} else {
				ctx, cancel = context.WithTimeout(context.Background(), cmpOr(tc.callerDeadline, 10*time.Second))
			}
			defer cancel()

			// Connect first (a call refused locally, which never reaches the
			// upstream), so that the allocations measured are the call's.
			if _, err := client.ListContacts(ctx, &contactsv1.ListContactsRequest{}); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("warm-up call: %v", err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, err := callRPC(ctx, client, tc.rpc, faultProperty)
			runtime.ReadMemStats(&after)

			if tc.want.code == codes.OK {
				if err != nil {
					t.Fatalf("call failed: %v", err)
				}
			} else {
				if resp != nil {
					t.Fatalf("a failed call returned a response too: %v", resp)
				}
				checkFault(t, err, tc.want)
			}
			if tc.want.cancelled {
				select {
				case <-f.cancelled:
				case <-time.After(10 * time.Second):
					t.Fatal("the upstream never saw its request cancelled")
				}
			}
			if f != nil && tc.want.hits > 0 {
				if got := int(f.hits.Load()); got != tc.want.hits {
					t.Errorf("upstream got %d requests, want %d", got, tc.want.hits)
				}
			}
			if tc.want.maxAlloc > 0 {
				alloc := after.TotalAlloc - before.TotalAlloc
				t.Logf("allocated %d KiB during the call", alloc>>10)
				if alloc > tc.want.maxAlloc {
					t.Errorf("allocated %d bytes during the call, want at most %d", alloc, tc.want.maxAlloc)
				}
			}
		})
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// callRPC makes the gRPC call named rpc with a request that passes local
// validation, and returns the response (nil on failure).
func callRPC(ctx context.Context, c contactsv1.ContactsServiceClient, rpc, property string) (any, error) {
	contacts := []*contactsv1.Contact{validContact(contactsv1.ProfileType_PROFILE_TYPE_GENERAL)}
	switch rpc {
	case "list":
		r, err := c.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: property})
		if r == nil {
			return nil, err
		}
		return r, err
	case "replace":
		r, err := c.ReplaceContacts(ctx, &contactsv1.ReplaceContactsRequest{PropertyId: property, Contacts: contacts})
		if r == nil {
			return nil, err
		}
		return r, err
	case "create":
		r, err := c.CreateContacts(ctx, &contactsv1.CreateContactsRequest{PropertyId: property, Contacts: contacts})
		if r == nil {
			return nil, err
		}
		return r, err
	}
	panic("unknown rpc " + rpc)
}

// checkFault checks the code, the one ErrorInfo (domain, reason, exact
// metadata) and the RetryInfo of a failed call.
func checkFault(t *testing.T, err error, w faultWant) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("want a status error, got %v", err)
	}
	if st.Code() != w.code {
		t.Fatalf("code %v, want %v (%q)", st.Code(), w.code, st.Message())
	}
	if w.localDeadline && len(st.Details()) == 0 {
		// The caller's deadline fired in the gRPC client first.
		return
	}
	var (
		infos []*errdetails.ErrorInfo
		retry *errdetails.RetryInfo
	)
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			infos = append(infos, d)
		case *errdetails.RetryInfo:
			retry = d
		case error:
			t.Fatalf("undecodable detail: %v", d)
		}
	}
	if len(infos) != 1 {
		t.Fatalf("%d ErrorInfo details, want 1: %v", len(infos), st.Proto())
	}
	info := infos[0]
	if info.GetDomain() != errmap.Domain || info.GetReason() != w.reason {
		t.Errorf("ErrorInfo domain %q reason %q, want %q %q", info.GetDomain(), info.GetReason(), errmap.Domain, w.reason)
	}
	if diff := cmp.Diff(w.md, info.GetMetadata()); diff != "" {
		t.Errorf("ErrorInfo metadata (-want +got):\n%s", diff)
	}
	switch {
	case w.retry == 0 && retry != nil:
		t.Errorf("unexpected RetryInfo %v", retry)
	case w.retry != 0 && retry.GetRetryDelay().AsDuration() != w.retry:
		t.Errorf("RetryInfo %v, want %v", retry, w.retry)
	}
}

// deadAddress is a loopback address nobody listens on any more, so that a
// dial is refused at once.
func deadAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// readGolden reads internal/errmap/testdata/golden/NAME.golden: "code: X",
// then the google.rpc.Status as JSON.
func readGolden(t *testing.T, path string) (code string, st *spb.Status) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := bytes.Cut(raw, []byte("\n"))
	code, ok := strings.CutPrefix(string(first), "code: ")
	if !ok {
		t.Fatalf("%s: first line %q, want \"code: X\"", path, first)
	}
	st = new(spb.Status)
	if err := protojson.Unmarshal(rest, st); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return code, st
}

// TestRecordedAnswersThroughServer replays every recorded upstream answer
// of the error table through the REST client, the service and the gRPC
// server, and checks that the caller gets exactly the status of its golden
// file: every seed row, 394 and 450 included, end to end.
func TestRecordedAnswersThroughServer(t *testing.T) {
	dir := filepath.Join("..", "internal", "errmap", "testdata")
	files, err := filepath.Glob(filepath.Join(dir, "answers", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded answers: %v", err)
	}
	rpcs := map[string]string{"GET": "list", "PUT": "replace", "POST": "create"}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			a, err := errmaptest.ReadAnswer(file)
			if err != nil {
				t.Fatal(err)
			}
			wantCode, wantStatus := readGolden(t, filepath.Join(dir, "golden", name+".golden"))
			rpc, ok := rpcs[a.Method]
			if !ok {
				t.Fatalf("unknown method %q", a.Method)
			}
			f := newFakeUpstream(t, readsSucceed(rpc, func(_ *fakeUpstream, w http.ResponseWriter, r *http.Request) { a.ServeHTTP(w, r) }))
			up, err := upstream.New(upstream.Config{BaseURL: f.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			client := contactsv1.NewContactsServiceClient(serveFacade(t, up, service.Config{}))
			resp, err := callRPC(ctxT(t), client, rpc, faultProperty)
			if err == nil {
				t.Fatalf("the call succeeded: %v", resp)
			}
			st := status.Convert(err)
			if st.Code().String() != wantCode {
				t.Fatalf("code %v, want %s (%q)", st.Code(), wantCode, st.Message())
			}
			var reason, wantReason string
			for _, d := range st.Details() {
				if ei, ok := d.(*errdetails.ErrorInfo); ok {
					reason = ei.GetReason()
				}
			}
			for _, d := range status.FromProto(wantStatus).Details() {
				if ei, ok := d.(*errdetails.ErrorInfo); ok {
					wantReason = ei.GetReason()
				}
			}
			if reason != wantReason || reason == "" {
				t.Fatalf("reason %q, want %q", reason, wantReason)
			}
			if diff := cmp.Diff(wantStatus, st.Proto(), protocmp.Transform()); diff != "" {
				t.Errorf("status through the server differs from the golden file (-golden +got):\n%s", diff)
			}
		})
	}
}
