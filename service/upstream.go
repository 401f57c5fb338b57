package service

import (
	"errors"
	"io"
	"log/slog"

	"github.com/contacts-facade/contacts-facade/internal/upstream"
	"github.com/contacts-facade/contacts-facade/internal/upstreamauth"
)

// UpstreamConfig says how to reach the Contacts API for NewUpstream.
type UpstreamConfig struct {
	// BaseURL is the API's base URL, e.g.
	// https://supply-xml.booking.com/contacts-api. Required.
	BaseURL string
	// ClientID and ClientSecret are the machine account's: the client
	// exchanges them for tokens (at most 30 an hour, renewed before they
	// expire). Else Token is sent as a fixed bearer token.
	ClientID, ClientSecret string
	Token                  string
	// ExchangeURL is the token exchange's URL; default Booking.com's.
	ExchangeURL string
	// UserAgent names the calling system in the upstream's logs.
	UserAgent string
	// Logger gets the client's log lines (never a token). Default: discard.
	Logger *slog.Logger
}

// UpstreamClient is the Contacts API client of NewUpstream: an Upstream
// with retries of idempotent calls, Retry-After, size caps and typed
// errors that the service translates. Close it when done.
type UpstreamClient struct {
	*upstream.Client
	auth io.Closer // the token source, if any
}

// NewUpstream returns the REST client of the Contacts API that contactsd
// uses, authenticated with the machine account of cfg.
func NewUpstream(cfg UpstreamConfig) (*UpstreamClient, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	account := upstreamauth.Account{ClientID: cfg.ClientID, Secret: cfg.ClientSecret, Token: cfg.Token}
	mode, err := account.Mode(upstreamauth.ModeAuto)
	if err != nil {
		return nil, errors.New("service: NewUpstream needs ClientID and ClientSecret, or Token")
	}
	auth, err := account.Authorizer(mode, upstreamauth.TokenConfig{ExchangeURL: cfg.ExchangeURL, Logger: log}, log)
	if err != nil {
		return nil, err
	}
	c := &UpstreamClient{}
	c.auth, _ = auth.(io.Closer)
	if c.Client, err = upstream.New(upstream.Config{BaseURL: cfg.BaseURL, Authorizer: auth, UserAgent: cfg.UserAgent}); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Close releases the client's connections and stops its token renewal.
func (c *UpstreamClient) Close() error {
	if c.Client != nil {
		c.Client.CloseIdleConnections()
	}
	if c.auth != nil {
		return c.auth.Close()
	}
	return nil
}
