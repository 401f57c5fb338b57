// Command contacts-emulator serves the in-memory emulator of the Booking.com
// Connectivity Contacts REST API (package emulator) for local runs of
// contacts-facade. Run with -h for the demo account and properties.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/emulator"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "contacts-emulator:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("contacts-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "localhost:8089", "address to listen on")
	lifetime := fs.Duration("token-lifetime", emulator.DefaultTokenLifetime, "lifetime of issued JWTs")
	latency := fs.Duration("latency", 0, "delay every request by this much, to emulate a distant upstream (0: none)")
	jitter := fs.Duration("latency-jitter", 0, "spread the delay uniformly over -latency ± this")
	extra := fs.Int("extra-properties", 0, fmt.Sprintf("seed this many copies of %d, ids from %d on", emulator.DemoPropertyFull, emulator.FirstExtraProperty))
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level: debug, info, warn or error (debug logs every request)")
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return err
	}

	if *latency < 0 || *jitter < 0 || *extra < 0 || *extra > 1_000_000 {
		return fmt.Errorf("-latency and -latency-jitter must not be negative, -extra-properties from 0 to 1000000")
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	e := emulator.New(emulator.Options{TokenLifetime: *lifetime, Logger: logger,
		Latency: *latency, LatencyJitter: *jitter, ExtraProperties: *extra})

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	base, stop, err := emulator.Start(ctx, *listen, e)
	if err != nil {
		return err
	}
	logger.Info("contacts emulator listening", "base_url", base)
	<-ctx.Done()
	logger.Info("stopping")
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer stopCancel()
	return stop(stopCtx)
}

func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, `Usage: contacts-emulator [flags]

Serves an in-memory Booking.com Contacts API emulator:
  GET|PUT|POST /properties/{id}/contacts
  POST         /token-based-authentication/exchange

Demo machine account %s:
  client id / secret    %s / %s
  Basic (legacy)        %s / %s
  static bearer token   %s   (e.g. CONTACTS_API_TOKEN)

Demo properties:
  %d  general+invoices contact (full, NL address) and a reservations+availability contact
  %d  general contact with no stored language (en-gb, or null with no_language_fallback=1) and a contract contact
  %d  no contacts (create them with POST)
  %d  exists, but the demo account has no access (404 + OTA 635)

Flags:
`, emulator.DemoMachineAccountID,
		emulator.DemoClientID, emulator.DemoClientSecret,
		emulator.DemoUsername, emulator.DemoPassword,
		emulator.DemoStaticToken,
		emulator.DemoPropertyFull, emulator.DemoPropertyNoLanguage,
		emulator.DemoPropertyEmpty, emulator.DemoPropertyNoAccess)
	fs.PrintDefaults()
}
