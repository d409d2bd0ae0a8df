package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// SubscriberConfig tunes WindowSubscriber.
type SubscriberConfig struct {
	ConsumerGroup string
	// PollInterval when idle (commits in this process wake the
	// subscriptions at once; polling finds other processes' work).
	PollInterval time.Duration
	// IdlePollMax: a subscription whose reads keep finding nothing looks
	// less often, its wait doubling from PollInterval up to this (default
	// PollInterval: no slowing down; PostgreSQL: DefaultPostgresIdlePoll).
	// A commit of this process to the topic still wakes it at once.
	IdlePollMax time.Duration
	// Redelivery backoff after a nack: InitialBackoff doubling up to MaxBackoff.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// InFlight bounds the messages of one group (an integration, see
	// SetKeys) handed out at once per subscription (default 1). Messages of
	// one order key are still handed out one after the other, in order.
	InFlight int
	// BatchSize is how many messages a subscription keeps in its window
	// (default 100).
	BatchSize int
	// WriteGate, when set, admits the acks' writes one at a time with the
	// other writers of the process on the same SQLite database
	// (state.DB.WriteGate), so they never wait in SQLite's busy handler.
	WriteGate func(context.Context) (release func())
	// Owner names this hub in the PostgreSQL bus's subscription leases;
	// the same across restarts, so a restarted hub takes its partitions
	// back at once (default: a random name per process).
	Owner string
	// Lease is how long a PostgreSQL subscription lease lasts unless
	// renewed (every third of it); a hub that stops without releasing its
	// leases hands its partitions over after this (default 15s).
	Lease time.Duration
}

// Defaults of SubscriberConfig and RouterConfig.
const (
	DefaultConsumerGroup = "hub"
	// DefaultPollInterval is the SQLite subscriber's: commits in this
	// process wake its subscriptions at once.
	DefaultPollInterval = 500 * time.Millisecond
	// DefaultPostgresPollInterval is the PostgreSQL subscriber's, per
	// partition subscription: nothing wakes it across hubs.
	DefaultPostgresPollInterval = 250 * time.Millisecond
	// DefaultPostgresIdlePoll bounds how slowly an idle PostgreSQL
	// subscription looks for what other hubs published: 24 partitions
	// read 4 times a second each cost a hub ~100 queries a second for
	// nothing.
	DefaultPostgresIdlePoll = time.Second
	DefaultInitialBackoff   = 500 * time.Millisecond
	DefaultBatchSize        = 100
	DefaultLease            = 15 * time.Second
	DefaultMaxBackoff       = time.Minute

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
	if c.IdlePollMax < c.PollInterval {
		c.IdlePollMax = c.PollInterval
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
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.Owner == "" {
		c.Owner = "hub-" + watermill.NewUUID()
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
