package upstreamauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/contacts-facade/contacts-facade/internal/httpx"
)

// maxBodyBytes caps the exchange answer we read; a token answer is a few
// hundred bytes.
const maxBodyBytes = 64 << 10

// exchanger sends the HTTP token exchange: Client ID and Secret in, a JWT
// out. It knows nothing of caching, budgets or back-off.
type exchanger struct {
	url      string
	clientID string
	secret   string
	client   *http.Client // never follows redirects
	now      func() time.Time
}

// exchanged is a successful exchange's answer.
type exchanged struct {
	jwt      string
	ruid     string
	obtained time.Time
}

type exchangeRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// exchangeAnswer is the 200 body; error bodies are undocumented, so ruid
// is looked for both at the top and under meta (the Contacts API's place).
type exchangeAnswer struct {
	JWT  string `json:"jwt"`
	RUID string `json:"ruid"`
	Meta struct {
		RUID string `json:"ruid"`
	} `json:"meta"`
}

// exchange sends one exchange request and returns the token or an *Error.
// A 200 whose jwt is not a usable bearer string is an error wrapping
// ErrInvalidToken; whether the JWT's lifetime is usable is the caller's
// question (tokenExpiry).
func (x *exchanger) exchange(ctx context.Context) (exchanged, *Error) {
	body, err := json.Marshal(exchangeRequest{ClientID: x.clientID, ClientSecret: x.secret})
	if err != nil {
		return exchanged{}, &Error{Kind: KindUnavailable, Err: errors.New("encoding the exchange request failed")}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.url, bytes.NewReader(body))
	if err != nil {
		return exchanged{}, &Error{Kind: KindUnavailable, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := x.client.Do(req)
	if err != nil {
		return exchanged{}, &Error{Kind: KindUnavailable, Err: err}
	}
	defer func() { _ = resp.Body.Close() }()

	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	var ans exchangeAnswer
	var decodeErr error
	switch {
	case readErr != nil:
		decodeErr = fmt.Errorf("reading the answer: %w", readErr)
	case len(data) > maxBodyBytes:
		decodeErr = fmt.Errorf("answer larger than %d bytes", maxBodyBytes)
	default:
		if err := json.Unmarshal(data, &ans); err != nil {
			decodeErr = fmt.Errorf("undecodable answer (%s): %w", resp.Header.Get("Content-Type"), err)
		}
	}
	ruid := ans.RUID
	if ruid == "" {
		ruid = ans.Meta.RUID
	}
	obtained := x.now()
	retryAfter := httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), obtained)
	fail := func(kind Kind, cause error) *Error {
		return &Error{Kind: kind, HTTPStatus: resp.StatusCode, RequestID: ruid, RetryAfter: retryAfter, Err: cause}
	}

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if decodeErr != nil {
			return exchanged{}, fail(KindUnavailable, decodeErr)
		}
		if !validBearer(ans.JWT) {
			return exchanged{}, fail(KindUnavailable, fmt.Errorf("%w: answer holds no usable jwt", errInvalidToken))
		}
		return exchanged{jwt: ans.JWT, ruid: ruid, obtained: obtained}, nil
	case code == http.StatusBadRequest || code == http.StatusUnauthorized || code == http.StatusForbidden:
		return exchanged{}, fail(KindCredentialsRejected, nil)
	case code == http.StatusTooManyRequests:
		return exchanged{}, fail(KindRateLimited, nil)
	default:
		// 5xx, but also redirects (not followed) and unexpected 4xx such
		// as 404 from a wrong URL: the exchange is not usable right now.
		return exchanged{}, fail(KindUnavailable, nil)
	}
}
