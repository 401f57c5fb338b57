package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

// TestHelpListsDemoData checks that -h tells a developer everything needed
// to call the emulator, and exits cleanly.
func TestHelpListsDemoData(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-h"}, &out); err != nil {
		t.Fatalf("run -h: %v", err)
	}
	for _, s := range []string{
		emulator.DemoClientID, emulator.DemoClientSecret,
		emulator.DemoUsername, emulator.DemoPassword, emulator.DemoStaticToken,
		"1000001", "1000002", "1000003", "1000004",
		"-listen", "-token-lifetime", "-log-level", "-latency", "-latency-jitter", "-extra-properties",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("-h output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-log-level", "loud"}, {"-token-lifetime", "soon"}, {"-nope"},
		{"-latency", "-1ms"}, {"-latency-jitter", "-1ms"}, {"-latency", "slow"}, {"-extra-properties", "-1"}, {"-extra-properties", "1000001"}} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}

func TestBadListenAddress(t *testing.T) {
	if err := run([]string{"-listen", "127.0.0.1:-1"}, &bytes.Buffer{}); err == nil {
		t.Error("run with a bad address: no error")
	}
}
