package upstreamauth

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"

	"github.com/contacts-facade/contacts-facade/internal/upstream"
)

// Ways to authenticate with the Contacts API (contactsd's -auth).
const (
	// ModeAuto is ModeToken when the account has a client id and a
	// secret, else ModeStatic when it has a token.
	ModeAuto   = "auto"
	ModeToken  = "token"  // machine-account token exchange (client id + secret)
	ModeStatic = "static" // a fixed bearer token
	ModeBasic  = "basic"  // legacy Basic auth, sunset by Booking.com on 2025-12-31
	ModeNone   = "none"   // no credentials
)

// Modes lists every mode, for validating a setting.
var Modes = []string{ModeAuto, ModeToken, ModeStatic, ModeBasic, ModeNone}

// ErrNoCredentials is Account.Mode's error for ModeAuto without any
// credentials.
var ErrNoCredentials = errors.New("no upstream credentials")

// Account is what the machine account's operator gave: any of a client id
// and secret (token exchange), a fixed token, a user and password.
// Only the presence of a secret is ever logged.
type Account struct {
	ClientID, Secret   string
	Token              string
	Username, Password string
}

// Mode resolves ModeAuto for a; any other mode is returned as it is.
func (a Account) Mode(mode string) (string, error) {
	if mode != ModeAuto {
		return mode, nil
	}
	switch {
	case a.ClientID != "" && a.Secret != "":
		return ModeToken, nil
	case a.Token != "":
		return ModeStatic, nil
	}
	return "", ErrNoCredentials
}

// Authorizer returns the credentials of mode (not ModeAuto: resolve it
// with Mode first) for upstream calls; nil for ModeNone. tc configures the
// token exchange (everything but the client id and secret, taken from a).
// The caller closes a returned io.Closer.
func (a Account) Authorizer(mode string, tc TokenConfig, log *slog.Logger) (upstream.Authorizer, error) {
	switch mode {
	case ModeToken:
		if a.ClientID == "" || a.Secret == "" {
			return nil, errors.New("-auth token needs a client id and a client secret")
		}
		log.Info("upstream credentials: token exchange", "client_id", a.ClientID, "exchange_url", cmp.Or(tc.ExchangeURL, DefaultExchangeURL))
		tc.ClientID, tc.ClientSecret = a.ClientID, a.Secret
		ts, err := NewTokenSource(tc)
		if err != nil {
			return nil, err
		}
		return ts, nil
	case ModeStatic:
		if a.Token == "" {
			return nil, errors.New("-auth static needs a token")
		}
		log.Info("upstream credentials: fixed bearer token")
		return NewStaticToken(a.Token), nil
	case ModeBasic:
		if a.Username == "" || a.Password == "" {
			return nil, errors.New("-auth basic needs a user name and a password")
		}
		log.Warn("upstream credentials: legacy Basic auth; Booking.com sunset it on 2025-12-31, move to token exchange", "username_set", true)
		return newBasic(a.Username, a.Password), nil
	case ModeNone:
		log.Warn("upstream credentials: none (-auth none)")
		return nil, nil
	}
	return nil, fmt.Errorf("unknown upstream authentication mode %q", mode)
}
