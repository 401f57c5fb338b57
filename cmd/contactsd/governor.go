package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"

	"github.com/contacts-facade/contacts-facade/internal/governor"
)

// envUpstreamRate may set -upstream-rate-per-minute, as operators set the
// account's limit per environment.
const envUpstreamRate = "CONTACTS_UPSTREAM_RATE_PER_MINUTE"

// Values of -upstream-rate-mode.
const (
	rateModeEnforce = "enforce"
	rateModeShadow  = "shadow"
)

// governorConfig is the upstream governor's: the machine account's limit
// of calls to the Contacts API, for the whole fleet.
type governorConfig struct {
	perMinute int
	mode      string
}

func addGovernorFlags(fs *flag.FlagSet, c *governorConfig) {
	fs.IntVar(&c.perMinute, "upstream-rate-per-minute", governor.DefaultPerMinute,
		"the most calls to the Contacts API per minute for the machine account, for the whole fleet\n(every replica, every attempt; shared through -redis-url); env "+envUpstreamRate)
	fs.StringVar(&c.mode, "upstream-rate-mode", rateModeEnforce,
		rateModeEnforce+": hold calls back to the limit, refuse with UPSTREAM_RATE_LIMITED what cannot be sent in time;\n"+
			rateModeShadow+": hold nothing, count and log what would have been held back")
}

// finish reads the environment and checks the values.
func (c *governorConfig) finish(set map[string]bool, lookupEnv func(string) (string, bool)) error {
	if v, ok := lookupEnv(envUpstreamRate); ok && !set["upstream-rate-per-minute"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%s: want a whole number of calls per minute", envUpstreamRate)
		}
		c.perMinute = n
	}
	if c.perMinute <= 0 {
		return errors.New("-upstream-rate-per-minute must be positive")
	}
	if c.mode != rateModeEnforce && c.mode != rateModeShadow {
		return fmt.Errorf("-upstream-rate-mode %q: want %s or %s", c.mode, rateModeEnforce, rateModeShadow)
	}
	return nil
}

// governorMode is the governor's mode of -upstream-rate-mode.
func (c governorConfig) governorMode() governor.Mode {
	if c.mode == rateModeShadow {
		return governor.Shadow
	}
	return governor.Enforce
}
