package bus

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of SubscriberConfig and RouterConfig.
const (
	DefaultConsumerGroup = "hub"
	// DefaultPollInterval is the SQLite subscriber's: commits in this
	// process wake its subscriptions at once.
	DefaultPollInterval = 500 * time.Millisecond
	// DefaultPostgresPollInterval is the PostgreSQL subscriber's, per
	// partition subscription: nothing wakes it across hubs.
	DefaultPostgresPollInterval = 250 * time.Millisecond
	DefaultInitialBackoff       = 500 * time.Millisecond
	DefaultMaxBackoff           = time.Minute

	DefaultRetries       = 3
	DefaultRetryInitial  = 200 * time.Millisecond
	DefaultRetryMax      = 5 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
	DefaultCloseTimeout  = 30 * time.Second
)

// setDefaults fills the fields left zero (or negative, for the durations).
func (c *SubscriberConfig) setDefaults() {
	if c.ConsumerGroup == "" {
		c.ConsumerGroup = DefaultConsumerGroup
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.InitialBackoff <= 0 {
		c.InitialBackoff = DefaultInitialBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.InFlight == 0 {
		c.InFlight = 1
	}
}

// Validate reports the settings that cannot work, naming each field.
func (c SubscriberConfig) Validate() error {
	var errs []error
	if c.InFlight < 0 {
		errs = append(errs, fmt.Errorf("%s: %d is negative", "InFlight", c.InFlight))
	}
	if c.MaxBackoff > 0 && c.InitialBackoff > c.MaxBackoff {
		errs = append(errs, fmt.Errorf("%s: %s is longer than MaxBackoff %s", "InitialBackoff", c.InitialBackoff, c.MaxBackoff))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bus: subscriber config: %w", err)
	}
	return nil
}

// setDefaults fills the fields left zero.
func (c *RouterConfig) setDefaults() {
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.RetryInitial == 0 {
		c.RetryInitial = DefaultRetryInitial
	}
	if c.RetryMax == 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
}

// Validate reports the settings that cannot work, naming each field.
func (c RouterConfig) Validate() error {
	var errs []error
	if c.Retries < 0 {
		errs = append(errs, fmt.Errorf("%s: %d is negative", "Retries", c.Retries))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"RetryInitial", c.RetryInitial}, {"RetryMax", c.RetryMax}, {"MaxRetryAfter", c.MaxRetryAfter}, {"CloseTimeout", c.CloseTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s: %s is negative", d.name, d.v))
		}
	}
	if c.RetryMax > 0 && c.RetryInitial > c.RetryMax {
		errs = append(errs, fmt.Errorf("%s: %s is longer than RetryMax %s", "RetryInitial", c.RetryInitial, c.RetryMax))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bus: router config: %w", err)
	}
	return nil
}
