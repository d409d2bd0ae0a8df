package sdk

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// CheckSettings checks an account's settings against a plugin's declared
// schema, as the SDK does before every call but HandleWebhook: values are
// trimmed of surrounding white space, an empty or absent setting with a
// Default gets it, and a Required setting that is still empty fails the
// call with an ErrorKindInvalid error naming every missing key. It returns
// a new map; settings not in the schema are kept as they are.
func CheckSettings(schema []SettingField, s Settings) (Settings, error) {
	out := withDefaults(schema, s)
	var missing []string
	for _, f := range schema {
		if f.Required && out[f.Key] == "" {
			missing = append(missing, fmt.Sprintf("%s (%s)", f.Key, f.Label))
		}
	}
	if len(missing) > 0 {
		return out, Errorf(ErrorKindInvalid, "settings missing: %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// withDefaults trims every value and fills the schema's defaults.
func withDefaults(schema []SettingField, s Settings) Settings {
	out := make(Settings, len(s)+len(schema))
	for k, v := range s {
		out[k] = strings.TrimSpace(v)
	}
	for _, f := range schema {
		if out[f.Key] == "" && f.Default != "" {
			out[f.Key] = f.Default
		}
	}
	return out
}

// Get is the value of a setting ("" when absent), trimmed.
func (s Settings) Get(key string) string { return strings.TrimSpace(s[key]) }

// Int reads a setting as a whole number; an empty setting is 0. A value
// that is not one is an ErrorKindInvalid error naming the key.
func (s Settings) Int(key string) (int, error) {
	v := s.Get(key)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, Errorf(ErrorKindInvalid, "setting %s: %q is not a whole number", key, v)
	}
	return n, nil
}

// Float reads a setting as a number; an empty setting is 0.
func (s Settings) Float(key string) (float64, error) {
	v := s.Get(key)
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != f { // NaN
		return 0, Errorf(ErrorKindInvalid, "setting %s: %q is not a number", key, v)
	}
	return f, nil
}

// Bool reads a setting as true/false (also 1/0, yes/no, on/off); an empty
// setting is false.
func (s Settings) Bool(key string) (bool, error) {
	switch strings.ToLower(s.Get(key)) {
	case "":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, Errorf(ErrorKindInvalid, "setting %s: %q is not true or false", key, s.Get(key))
}

// Duration reads a setting as a Go duration ("90s", "2h"); an empty
// setting is 0.
func (s Settings) Duration(key string) (time.Duration, error) {
	v := s.Get(key)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, Errorf(ErrorKindInvalid, "setting %s: %q is not a duration such as 90s or 2h", key, v)
	}
	return d, nil
}

// List reads a comma-separated setting: trimmed items, empty ones dropped.
func (s Settings) List(key string) []string {
	var out []string
	for _, item := range strings.Split(s.Get(key), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// URL reads a setting as an absolute http or https URL, without a trailing
// slash; an empty setting is "". Plain http is accepted only for a
// loopback host (a fake in tests), so credentials never travel in clear.
func (s Settings) URL(key string) (string, error) {
	v := strings.TrimRight(s.Get(key), "/")
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", Errorf(ErrorKindInvalid, "setting %s: %q is not an http(s) URL", key, v)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", Errorf(ErrorKindInvalid, "setting %s: %q must use https (plain http only for a loopback address)", key, v)
	}
	return v, nil
}

// isLoopback: "localhost" or a loopback IP address (a name that merely
// starts with "127." is not: 127.attacker.example resolves anywhere).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guard runs the SDK's checks before a plugin's method is called: settings
// against the schema, a reply's length against ReplyMaxLength. It reads
// the plugin's Info once (again after a failure).
type guard struct {
	load    func(context.Context) (Info, error)
	measure ReplyMeasurer // nil: code points

	mu     sync.Mutex
	loaded bool
	cached Info
}

func newGuard(load func(context.Context) (Info, error)) *guard { return &guard{load: load} }

func (g *guard) info(ctx context.Context) (Info, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.loaded {
		return g.cached, nil
	}
	i, err := g.load(ctx)
	if err != nil {
		return Info{}, err
	}
	g.cached, g.loaded = i, true
	return i, nil
}

// settings is CheckSettings with the plugin's schema.
func (g *guard) settings(ctx context.Context, s Settings) (Settings, error) {
	i, err := g.info(ctx)
	if err != nil {
		return nil, err
	}
	return CheckSettings(i.Settings, s)
}

// defaults trims the settings and fills defaults, requiring nothing (for
// webhooks, which the hub forwards for integrations still being set up).
func (g *guard) defaults(ctx context.Context, s Settings) (Settings, error) {
	i, err := g.info(ctx)
	if err != nil {
		return nil, err
	}
	return withDefaults(i.Settings, s), nil
}

// reply refuses an empty reply, or one longer than ReplyMaxLength, before
// the store is called: never cut, the staff shortens it.
func (g *guard) reply(ctx context.Context, text string) error {
	i, err := g.info(ctx)
	if err != nil {
		return err
	}
	if strings.TrimSpace(text) == "" {
		return Errorf(ErrorKindRefused, "the reply is empty")
	}
	if i.Store == nil || i.Store.ReplyMaxLength <= 0 {
		return nil
	}
	n, note := utf8.RuneCountInString(text), ""
	if g.measure != nil {
		n, note = g.measure.ReplyLength(text)
	}
	if n > i.Store.ReplyMaxLength {
		if note != "" {
			note = " (" + note + ")"
		}
		name := i.DisplayName
		if name == "" {
			name = i.Name
		}
		return Errorf(ErrorKindRefused, "%s replies are limited to %d characters, this one has %d%s; shorten it and send it again",
			name, i.Store.ReplyMaxLength, n, note)
	}
	return nil
}
