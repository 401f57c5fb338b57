package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
	"github.com/contacts-facade/contacts-facade/internal/emulator"
	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
)

// TestMain fails the package if run leaves a goroutine behind after it
// returned: a server, an emulator or an upstream connection not closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logBuffer is the stderr of run: written by the server's goroutines,
// read by the test.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemon is run serving in a goroutine.
type daemon struct {
	addr   string
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error

	once sync.Once
	err  error
}

// startDaemon runs run(ctx, args, env) and waits until it serves. It is
// stopped at the end of the test if the test did not.
func startDaemon(t *testing.T, args []string, env map[string]string) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{logs: &logBuffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan net.Addr)
	go func() { d.done <- run(ctx, args, envMap(env), d.logs, ready) }()
	t.Cleanup(func() { d.stop(t) })
	select {
	case a := <-ready:
		d.addr = a.String()
	case err := <-d.done:
		d.done <- err
		t.Fatalf("run returned before serving: %v\n%s", err, d.logs)
	}
	return d
}

// stop cancels run's context and returns what run returned; it fails the
// test if run takes more than 10s (its shutdown timeout is 30s).
func (d *daemon) stop(t *testing.T) error {
	t.Helper()
	d.once.Do(func() {
		d.cancel()
		select {
		case d.err = <-d.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("run did not return within 10s of its context ending\n%s", d.logs)
		}
	})
	return d.err
}

func dialDaemon(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// jwtPattern is three base64url segments separated by dots: a JWT.
var jwtPattern = regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// checkNoSecrets fails if the logs hold one of secrets, a bearer token or
// a JWT.
func checkNoSecrets(t *testing.T, logs string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the logs hold %q", s)
		}
	}
	if strings.Contains(logs, "Bearer ") {
		t.Errorf("the logs hold a bearer token")
	}
	if m := jwtPattern.FindString(logs); m != "" {
		t.Errorf("the logs hold a JWT: %q", m)
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs)
	}
}

// personal is personal data sent in the test's requests.
var personal = struct{ name, email, phone string }{"Wilhelmina Zorgvlied", "w.zorgvlied@example.org", "+31209876543"}

func personalContact() *contactsv1.Contact {
	return &contactsv1.Contact{
		Profiles:      []contactsv1.ProfileType{contactsv1.ProfileType_PROFILE_TYPE_GENERAL},
		ContactPerson: &contactsv1.ContactPerson{Name: personal.name, LanguageCode: "nl", JobTitle: contactsv1.JobTitle_JOB_TITLE_OWNER},
		Phones:        []*contactsv1.Phone{{PhoneNumber: personal.phone, PhoneTechType: contactsv1.PhoneTechType_PHONE_TECH_TYPE_MOBILE}},
		Email:         personal.email,
	}
}

// TestRunEmbedded runs contactsd as `go run ./cmd/contactsd` does, at
// debug level, makes good and failing calls with personal data, stops it,
// and reads its logs.
func TestRunEmbedded(t *testing.T) {
	env := map[string]string{
		// Ignored on the emulator asked for; must not be logged either.
		envClientSecret: "env-client-secret-7d2e",
		envToken:        "env-static-token-9a8b",
		envPassword:     "env-password-6e5f",
	}
	d := startDaemon(t, []string{"-listen", "127.0.0.1:0", "-log-level", "debug", "-upstream", "emulator"}, env)
	conn := dialDaemon(t, d.addr, nil)
	client := contactsv1.NewContactsServiceClient(conn)
	full := strconv.Itoa(emulator.DemoPropertyFull)

	// A client with health checking keeps a Watch open: it must not hold
	// the shutdown. Its context outlives the 10s that stop allows.
	watchCtx, cancelWatch := context.WithCancel(context.Background())
	t.Cleanup(cancelWatch)
	watch, err := healthpb.NewHealthClient(conn).Watch(watchCtx, &healthpb.HealthCheckRequest{Service: "contacts.v1.ContactsService"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health watch: %v %v", resp, err)
	}

	// Health says it is the emulator, and so does every response.
	if resp, err := healthpb.NewHealthClient(conn).Check(callCtx(t), &healthpb.HealthCheckRequest{Service: grpcserver.HealthServiceEmulator}); err != nil ||
		resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health of %s: %v %v, want SERVING on the emulator", grpcserver.HealthServiceEmulator, resp, err)
	}
	var header metadata.MD
	var pii []string // every name, e-mail and phone number the calls carried
	before, err := client.ListContacts(callCtx(t), &contactsv1.ListContactsRequest{PropertyId: full}, grpc.Header(&header))
	if got := header.Get(grpcserver.EmulatorHeader); len(got) != 1 || !strings.Contains(got[0], "EMULATOR") {
		t.Errorf("response header %s: %q, want it to say EMULATOR", grpcserver.EmulatorHeader, got)
	}
	if err != nil || len(before.GetContacts()) == 0 {
		t.Fatalf("ListContacts: %v %v", before, err)
	}
	for _, c := range before.GetContacts() {
		pii = append(pii, c.GetContactPerson().GetName(), c.GetEmail())
		for _, p := range c.GetPhones() {
			pii = append(pii, p.GetPhoneNumber())
		}
	}
	pii = append(pii, personal.name, personal.email, personal.phone)

	if _, err := client.ReplaceContacts(callCtx(t), &contactsv1.ReplaceContactsRequest{PropertyId: full, Contacts: []*contactsv1.Contact{personalContact()}}); err != nil {
		t.Fatalf("ReplaceContacts: %v", err)
	}
	after, err := client.ListContacts(callCtx(t), &contactsv1.ListContactsRequest{PropertyId: full})
	if err != nil || len(after.GetContacts()) != 1 || after.GetContacts()[0].GetEmail() != personal.email {
		t.Fatalf("ListContacts after the replace: %v %v", after, err)
	}

	// Failing calls: refused by the upstream, and by the facade itself.
	if _, err := client.ListContacts(callCtx(t), &contactsv1.ListContactsRequest{PropertyId: "9999999"}); status.Code(err) != codes.NotFound {
		t.Fatalf("ListContacts(9999999): %v, want NOT_FOUND", err)
	}
	noAccess := strconv.Itoa(emulator.DemoPropertyNoAccess)
	if _, err := client.ReplaceContacts(callCtx(t), &contactsv1.ReplaceContactsRequest{PropertyId: noAccess, Contacts: []*contactsv1.Contact{personalContact()}}); status.Code(err) != codes.NotFound {
		t.Fatalf("ReplaceContacts(%s): %v, want NOT_FOUND", noAccess, err)
	}
	bad := personalContact()
	bad.Email = "not an e-mail " + personal.email
	if _, err := client.ReplaceContacts(callCtx(t), &contactsv1.ReplaceContactsRequest{PropertyId: full, Contacts: []*contactsv1.Contact{bad}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("ReplaceContacts with a bad e-mail: %v, want INVALID_ARGUMENT", err)
	}

	if err := d.stop(t); err != nil {
		t.Fatalf("run returned %v after its context ended, want nil", err)
	}
	if resp, err := watch.Recv(); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health watch after the shutdown began: %v %v, want NOT_SERVING", resp, err)
	}

	logs := d.logs.String()
	first, _, _ := strings.Cut(logs, "\n")
	if !strings.Contains(first, "level=WARN") || !strings.Contains(first, "EMBEDDED EMULATOR") || !strings.Contains(first, "because=\"-upstream emulator\"") {
		t.Errorf("the first log line does not warn that the emulator is used, and why: %q", first)
	}
	for _, e := range []string{envClientSecret, envToken, envPassword} {
		if !strings.Contains(logs, "ignored="+e) {
			t.Errorf("the logs do not say that %s is ignored", e)
		}
	}
	// Debug records were written: the checks below read everything.
	for _, want := range []string{
		"grpc.method=ReplaceContacts grpc.method_type=unary",
		"grpc.code=NotFound reason=NOT_FOUND",
		`msg="contacts emulator request" component=emulator method=PUT`,
		`msg="upstream call failed"`,
		`msg=stopped`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the debug logs lack %q", want)
		}
	}
	checkNoSecrets(t, logs, append(pii,
		emulator.DemoClientSecret, emulator.DemoStaticToken, emulator.DemoPassword,
		env[envClientSecret], env[envToken], env[envPassword])...)
}

// TestRunCredentials runs contactsd on an upstream (an emulator started
// here) with credentials from the environment, at debug level, and checks
// that no credential and no token reaches the logs, on success and failure.
func TestRunCredentials(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	base, stopEmu, err := emulator.Start(context.Background(), "127.0.0.1:0", emu)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stopEmu(context.Background()) })
	exchangeURL := base + "/token-based-authentication/exchange"

	// The JWT check matches the tokens this emulator issues.
	if tok := exchangeToken(t, exchangeURL); !jwtPattern.MatchString(tok) {
		t.Fatalf("jwtPattern does not match the emulator's token %q", tok)
	}

	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(emulator.DemoClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	full := strconv.Itoa(emulator.DemoPropertyFull)

	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		secret string
		// revoke: revoke the tokens after the first call, so that the
		// facade drops its token and exchanges again.
		revoke bool
		want   codes.Code
	}{
		{
			name: "token exchange", args: []string{"-upstream", base},
			env:    map[string]string{envClientID: emulator.DemoClientID, envClientSecret: emulator.DemoClientSecret, envAuthURL: exchangeURL},
			secret: emulator.DemoClientSecret, revoke: true,
		},
		{
			name: "token exchange, secret file, env upstream, json", args: []string{"-log-format", "json"},
			env:    map[string]string{envUpstreamURL: base, envClientID: emulator.DemoClientID, envClientSecretFile: secretFile, envAuthURL: exchangeURL},
			secret: emulator.DemoClientSecret, revoke: true,
		},
		{
			name: "token exchange, wrong secret", args: []string{"-upstream", base, "-auth", "token"},
			env:    map[string]string{envClientID: emulator.DemoClientID, envClientSecret: "wrong-secret-8c7b6a", envAuthURL: exchangeURL},
			secret: "wrong-secret-8c7b6a", want: codes.Unauthenticated,
		},
		{
			name: "fixed token", args: []string{"-upstream", base, "-auth", "static"},
			env:    map[string]string{envToken: emulator.DemoStaticToken},
			secret: emulator.DemoStaticToken,
		},
		{
			name: "wrong fixed token", args: []string{"-upstream", base},
			env:    map[string]string{envToken: "wrong-static-token-1f2e3d"},
			secret: "wrong-static-token-1f2e3d", want: codes.Unauthenticated,
		},
		{
			name: "legacy basic", args: []string{"-upstream", base, "-auth", "basic"},
			env:    map[string]string{envUsername: emulator.DemoUsername, envPassword: emulator.DemoPassword},
			secret: emulator.DemoPassword,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// run leaves nothing behind, not even idle connections to the
			// upstream, which outlives it here. Registered first, so run
			// last, after the client connection is closed.
			before := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, before) })
			args := append([]string{"-listen", "127.0.0.1:0", "-log-level", "debug"}, tc.args...)
			d := startDaemon(t, args, tc.env)
			client := contactsv1.NewContactsServiceClient(dialDaemon(t, d.addr, nil))
			calls := 1
			if tc.revoke {
				calls = 2
			}
			for i := range calls {
				if i > 0 {
					emu.RevokeTokens()
				}
				_, err := client.ListContacts(callCtx(t), &contactsv1.ListContactsRequest{PropertyId: full})
				if status.Code(err) != tc.want {
					t.Fatalf("ListContacts #%d: %v, want %v", i+1, err, tc.want)
				}
			}
			if _, err := client.ListContacts(callCtx(t), &contactsv1.ListContactsRequest{PropertyId: "9999999"}); err == nil {
				t.Fatal("ListContacts(9999999) succeeded")
			}
			if err := d.stop(t); err != nil {
				t.Fatalf("run: %v", err)
			}
			logs := d.logs.String()
			first, _, _ := strings.Cut(logs, "\n")
			if !strings.Contains(first, "using the Contacts API") || strings.Contains(first, "EMULATOR") {
				t.Errorf("first log line %q: want the upstream, not the embedded emulator", first)
			}
			if slices.Contains(tc.args, "json") {
				sc := bufio.NewScanner(strings.NewReader(logs))
				for sc.Scan() {
					if !json.Valid(sc.Bytes()) {
						t.Errorf("not a JSON log line: %s", sc.Text())
					}
				}
			}
			checkNoSecrets(t, logs, tc.secret, tc.env[envClientSecret], tc.env[envToken], tc.env[envPassword])
		})
	}
}

// TestSecretFileCapped: a secret file over 64 KiB (here /dev/zero, which
// never ends) is refused with a clear error, not read.
func TestSecretFileCapped(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 64<<10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"/dev/zero", big} {
		env := map[string]string{envClientID: "id", envClientSecretFile: f}
		err := run(t.Context(), []string{"-listen", "127.0.0.1:0", "-upstream", "https://contacts.example"}, envMap(env), &logBuffer{}, nil)
		if err == nil || !strings.Contains(err.Error(), envClientSecretFile+": "+f+" is larger than 65536 bytes") || exitCode(err) != 2 {
			t.Errorf("secret file %s: %v, want a refusal naming the file and the cap, exit status 2", f, err)
		}
	}
}

// exchangeToken gets a JWT from the emulator's token exchange.
func exchangeToken(t *testing.T, url string) string {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	body := strings.NewReader(`{"client_id":"` + emulator.DemoClientID + `","client_secret":"` + emulator.DemoClientSecret + `"}`)
	req, err := http.NewRequestWithContext(callCtx(t), http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		JWT string `json:"jwt"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.JWT == "" {
		t.Fatalf("token exchange: %d %v", resp.StatusCode, err)
	}
	return out.JWT
}

// pki is a CA with a server certificate for 127.0.0.1 and a client
// certificate, as PEM files, and a client certificate of another CA.
type pki struct {
	caFile, serverCert, serverKey string
	roots                         *x509.CertPool
	client, stranger              tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	p := &pki{
		caFile:     filepath.Join(dir, "ca.pem"),
		serverCert: filepath.Join(dir, "server.pem"),
		serverKey:  filepath.Join(dir, "server-key.pem"),
		roots:      x509.NewCertPool(),
	}
	ca, caKey := newCA(t, "contactsd test CA")
	other, otherKey := newCA(t, "another CA")
	p.roots.AddCert(ca)
	writePEM(t, p.caFile, "CERTIFICATE", ca.Raw)

	serverDER, serverKey := issue(t, ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "contactsd"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	writePEM(t, p.serverCert, "CERTIFICATE", serverDER)
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.serverKey, "PRIVATE KEY", keyDER)

	clientTemplate := func() *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: "a client"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	}
	der, key := issue(t, ca, caKey, clientTemplate())
	p.client = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	der, key = issue(t, other, otherKey, clientTemplate())
	p.stranger = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return p
}

var serial int64

func nextSerial() *big.Int {
	serial++
	return big.NewInt(serial)
}

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = nextSerial()
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// healthCheck calls grpc.health.v1.Health/Check on a new connection.
func healthCheck(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	resp, err := healthpb.NewHealthClient(dialDaemon(t, addr, creds)).Check(callCtx(t), &healthpb.HealthCheckRequest{})
	if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health %v", resp.GetStatus())
	}
	return err
}

func TestRunTLS(t *testing.T) {
	p := newPKI(t)

	t.Run("tls", func(t *testing.T) {
		d := startDaemon(t, []string{"-listen", "127.0.0.1:0", "-upstream", "emulator", "-tls-cert", p.serverCert, "-tls-key", p.serverKey}, nil)
		tlsClient := credentials.NewTLS(&tls.Config{RootCAs: p.roots})
		if err := healthCheck(t, d.addr, tlsClient); err != nil {
			t.Fatalf("TLS client: %v", err)
		}
		if _, err := contactsv1.NewContactsServiceClient(dialDaemon(t, d.addr, tlsClient)).ListContacts(callCtx(t),
			&contactsv1.ListContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyFull)}); err != nil {
			t.Fatalf("ListContacts over TLS: %v", err)
		}
		if err := healthCheck(t, d.addr, nil); status.Code(err) != codes.Unavailable {
			t.Fatalf("plaintext client: %v, want UNAVAILABLE", err)
		}
		if err := healthCheck(t, d.addr, credentials.NewTLS(&tls.Config{})); status.Code(err) != codes.Unavailable {
			t.Fatalf("client that does not trust the CA: %v, want UNAVAILABLE", err)
		}
		if err := d.stop(t); err != nil {
			t.Fatalf("run: %v", err)
		}
		if !strings.Contains(d.logs.String(), "tls=true mtls=false") {
			t.Errorf("the serving line does not say TLS:\n%s", d.logs)
		}
	})

	t.Run("mtls", func(t *testing.T) {
		d := startDaemon(t, []string{"-listen", "127.0.0.1:0", "-upstream", "emulator", "-health-listen", "127.0.0.1:0",
			"-tls-cert", p.serverCert, "-tls-key", p.serverKey, "-client-ca", p.caFile}, nil)
		withCert := credentials.NewTLS(&tls.Config{RootCAs: p.roots, Certificates: []tls.Certificate{p.client}})
		if err := healthCheck(t, d.addr, withCert); err != nil {
			t.Fatalf("client with a CA-signed certificate: %v", err)
		}
		if err := healthCheck(t, d.addr, credentials.NewTLS(&tls.Config{RootCAs: p.roots})); status.Code(err) != codes.Unavailable {
			t.Fatalf("client without a certificate: %v, want UNAVAILABLE", err)
		}
		// GetClientCertificate, not Certificates: crypto/tls would not send
		// a certificate the server's CA list does not name.
		stranger := credentials.NewTLS(&tls.Config{RootCAs: p.roots,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &p.stranger, nil }})
		if err := healthCheck(t, d.addr, stranger); status.Code(err) != codes.Unavailable {
			t.Fatalf("client with a certificate of another CA: %v, want UNAVAILABLE", err)
		}
		if err := healthCheck(t, d.addr, nil); status.Code(err) != codes.Unavailable {
			t.Fatalf("plaintext client: %v, want UNAVAILABLE", err)
		}
		// The health-only port answers a plaintext probe, and only health.
		healthAddr := logValue(d.logs.String(), "health_listen")
		if healthAddr == "" {
			t.Fatalf("the serving line does not give the health port:\n%s", d.logs)
		}
		if err := healthCheck(t, healthAddr, nil); err != nil {
			t.Fatalf("plaintext probe on the health port: %v", err)
		}
		if _, err := contactsv1.NewContactsServiceClient(dialDaemon(t, healthAddr, nil)).ListContacts(callCtx(t),
			&contactsv1.ListContactsRequest{PropertyId: strconv.Itoa(emulator.DemoPropertyFull)}); status.Code(err) != codes.Unimplemented {
			t.Fatalf("ListContacts on the health port: %v, want UNIMPLEMENTED", err)
		}
		if err := d.stop(t); err != nil {
			t.Fatalf("run: %v", err)
		}
	})

	t.Run("bad files", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"-tls-cert", p.serverCert, "-tls-key", p.caFile}, "-tls-cert/-tls-key"},
			{[]string{"-tls-cert", filepath.Join(t.TempDir(), "missing.pem"), "-tls-key", p.serverKey}, "-tls-cert/-tls-key"},
			{[]string{"-tls-cert", p.serverCert, "-tls-key", p.serverKey, "-client-ca", p.serverKey}, "-client-ca"},
			// Files read whole are capped: /dev/zero is refused, not read.
			{[]string{"-tls-cert", "/dev/zero", "-tls-key", p.serverKey}, "larger than 1048576 bytes"},
			{[]string{"-tls-cert", p.serverCert, "-tls-key", p.serverKey, "-client-ca", "/dev/zero"}, "-client-ca: /dev/zero is larger than"},
		} {
			err := run(t.Context(), append([]string{"-listen", "127.0.0.1:0", "-upstream", "emulator"}, tc.args...), envMap(nil), &logBuffer{}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 2 {
				t.Errorf("run %v: %v, want a refusal naming %s, exit status 2", tc.args, err, tc.want)
			}
		}
	})
}
