package bus

import (
	"strings"
	"testing"
	"time"
)

func TestSubscriberConfigDefaults(t *testing.T) {
	var c SubscriberConfig
	c.setDefaults()
	want := SubscriberConfig{ConsumerGroup: "hub", PollInterval: 500 * time.Millisecond,
		InitialBackoff: 500 * time.Millisecond, MaxBackoff: time.Minute, InFlight: 1}
	if c.ConsumerGroup != want.ConsumerGroup || c.PollInterval != want.PollInterval || c.InitialBackoff != want.InitialBackoff ||
		c.MaxBackoff != want.MaxBackoff || c.InFlight != want.InFlight {
		t.Errorf("defaults %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	// Set fields are kept.
	set := SubscriberConfig{ConsumerGroup: "g", PollInterval: time.Second, InitialBackoff: time.Millisecond, MaxBackoff: time.Second, InFlight: 8}
	got := set
	got.setDefaults()
	if got.ConsumerGroup != set.ConsumerGroup || got.PollInterval != set.PollInterval || got.InitialBackoff != set.InitialBackoff ||
		got.MaxBackoff != set.MaxBackoff || got.InFlight != set.InFlight {
		t.Errorf("setDefaults changed set fields: %+v, want %+v", got, set)
	}
}

func TestSubscriberConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    SubscriberConfig
		want string // "" valid; else a part of the error
	}{
		{"zero", SubscriberConfig{}, ""},
		{"negative in-flight", SubscriberConfig{InFlight: -1}, "InFlight: -1 is negative"},
		{"backoff upside down", SubscriberConfig{InitialBackoff: time.Second, MaxBackoff: time.Millisecond}, "InitialBackoff: 1s is longer than MaxBackoff 1ms"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkValidate(t, tc.c.Validate(), tc.want) })
	}
}

func TestRouterConfigDefaults(t *testing.T) {
	var c RouterConfig
	c.setDefaults()
	want := RouterConfig{Retries: 3, RetryInitial: 200 * time.Millisecond, RetryMax: 5 * time.Second,
		MaxRetryAfter: 2 * time.Minute, CloseTimeout: 30 * time.Second}
	if c != want {
		t.Errorf("defaults %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	set := RouterConfig{Retries: 1, RetryInitial: time.Millisecond, RetryMax: time.Second, MaxRetryAfter: time.Second, CloseTimeout: time.Second}
	got := set
	got.setDefaults()
	if got != set {
		t.Errorf("setDefaults changed set fields: %+v, want %+v", got, set)
	}
}

func TestRouterConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    RouterConfig
		want string
	}{
		{"zero", RouterConfig{}, ""},
		{"negative retries", RouterConfig{Retries: -2}, "Retries: -2 is negative"},
		{"negative timeout", RouterConfig{CloseTimeout: -time.Second}, "CloseTimeout: -1s is negative"},
		{"retry upside down", RouterConfig{RetryInitial: time.Minute, RetryMax: time.Second}, "RetryInitial: 1m0s is longer than RetryMax 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkValidate(t, tc.c.Validate(), tc.want) })
	}
	// NewRouter refuses what does not validate.
	if _, err := NewRouter(nil, nil, RouterConfig{Retries: -1}); err == nil || !strings.Contains(err.Error(), "Retries") {
		t.Errorf("NewRouter with negative retries: %v, want the field named", err)
	}
}

func checkValidate(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("error %v, want none", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("error %v, want one containing %q", err, want)
	}
}
