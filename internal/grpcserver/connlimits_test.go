package grpcserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/contacts-facade/contacts-facade/internal/grpcserver"
)

// TestSilentConnectionIsClosedAfterTheConnectionTimeout is the issue 27
// weak spot "connections that never send the HTTP/2 preface stay open for
// grpc's 120 s": a raw TCP client that sends nothing is closed by the
// server after Limits.ConnectionTimeout.
func TestSilentConnectionIsClosedAfterTheConnectionTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		send []byte // what the client sends before going silent
	}{
		{"nothing", nil},
		{"half a preface", []byte("PRI * HTTP/2.0\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, grpcserver.Config{Limits: grpcserver.Limits{ConnectionTimeout: 200 * time.Millisecond}})
			c, err := net.Dial("tcp", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			// A bound on the wait, well past the timeout and far below
			// grpc's default 120 s.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.Copy(io.Discard, c)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the server kept a connection that sent no preface open for 5s")
			}
		})
	}
}

// TestMaxConnectionsPerListener: with MaxConnections open, the next
// connection is not served until one of them closes.
func TestMaxConnectionsPerListener(t *testing.T) {
	h := start(t, grpcserver.Config{Limits: grpcserver.Limits{MaxConnections: 2, ConnectionTimeout: time.Minute}})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	check := func(d time.Duration) error {
		conn := h.dial(t)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	// A bounded negative check: the third connection is not served.
	if err := check(500 * time.Millisecond); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("third connection's call = %v, want it to wait (DeadlineExceeded)", err)
	}
	_ = held[0].Close()
	if err := check(10 * time.Second); err != nil {
		t.Fatalf("after one connection closed, the call = %v", err)
	}
}
