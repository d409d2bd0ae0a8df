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
// Default gets it, and a Required setting that is still empty, or a typed
// one whose value is not of its Type or outside Min..Max, fails the call
// with an ErrorKindInvalid error naming every such key. It returns
// a new map; settings not in the schema are kept as they are.
func CheckSettings(schema []SettingField, s Settings) (Settings, error) {
	out := withDefaults(schema, s)
	var missing, bad []string
	for _, f := range schema {
		if f.Required && out[f.Key] == "" {
			missing = append(missing, fmt.Sprintf("%s (%s)", f.Key, f.Label))
		}
		if err := f.CheckValue(out[f.Key]); err != nil {
			bad = append(bad, fmt.Sprintf("setting %s (%s) is %s", f.Key, f.Label, MessageOf(err)))
		}
	}
	if len(missing) > 0 {
		bad = append([]string{"settings missing: " + strings.Join(missing, ", ")}, bad...)
	}
	if len(bad) > 0 {
		return out, Errorf(ErrorKindInvalid, "%s", strings.Join(bad, "; "))
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
	if err := checkSchema(i.Settings); err != nil {
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

// defaults trims the settings and fills defaults, requiring nothing and
// failing on no value (for webhooks, which the hub forwards for
// integrations still being set up, and whose refusal the vendor retries,
// then gives up on, losing a staff answer): a typed setting whose value
// is not of its Type or outside Min..Max is replaced by its Default, or
// dropped when it has none, so the plugin's own fallback applies, and a
// warning names the key (never the value, which may be a secret).
func (g *guard) defaults(ctx context.Context, s Settings) (Settings, error) {
	i, err := g.info(ctx)
	if err != nil {
		return nil, err
	}
	out := withDefaults(i.Settings, s)
	for _, f := range i.Settings {
		err := f.CheckValue(out[f.Key])
		if err == nil {
			continue
		}
		Log(ctx).Warn("a webhook's setting is invalid, the plugin's default is used", "setting", f.Key, "problem", MessageOf(err))
		if f.Default != "" {
			out[f.Key] = f.Default
		} else {
			delete(out, f.Key)
		}
	}
	return out, nil
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

// SettingType is what a setting's value is (SettingField.Type).
type SettingType string

// Setting types. A plugin reads a typed setting with the Settings method
// named beside it; the SDK has checked the value's form before the call.
const (
	SettingText     SettingType = ""         // any text (Settings.Get)
	SettingInt      SettingType = "int"      // a whole number (Settings.Int)
	SettingNumber   SettingType = "number"   // a number (Settings.Float)
	SettingBool     SettingType = "bool"     // true/false, 1/0, yes/no, on/off (Settings.Bool)
	SettingDuration SettingType = "duration" // a Go duration such as 90s or 2h (Settings.Duration)
	SettingURL      SettingType = "url"      // an http(s) URL, plain http only on loopback (Settings.URL)
)

// CheckValue checks one value against the field's Type and Min..Max (an
// empty value passes: Required is CheckSettings'). The error, of kind
// ErrorKindInvalid, says what form or range is wanted without repeating
// the value (it may be a secret) nor the key.
//
// A Type this SDK does not know (one a later SDK added, declared by a
// plugin built with it) is checked as text: the receiver is lenient, so a
// hub on this SDK still lets such a plugin's accounts be saved, and the
// plugin, on the SDK that knows the type, checks the value before its
// call. A plugin's own schema with an unknown Type is still refused
// (ServeStore, ServeHelpdesk).
func (f SettingField) CheckValue(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	n, err := f.Type.parse(v)
	if err != nil {
		return err
	}
	if !f.Type.ordered() {
		return nil
	}
	if f.Min != "" {
		if lo, err := f.Type.parse(f.Min); err == nil && n < lo {
			return Errorf(ErrorKindInvalid, "below the least allowed, %s", f.Min)
		}
	}
	if f.Max != "" {
		if hi, err := f.Type.parse(f.Max); err == nil && n > hi {
			return Errorf(ErrorKindInvalid, "above the most allowed, %s", f.Max)
		}
	}
	return nil
}

// ordered: the type has Min and Max.
func (t SettingType) ordered() bool {
	return t == SettingInt || t == SettingNumber || t == SettingDuration
}

// parse reads v as t; an ordered type's value as a number to compare.
func (t SettingType) parse(v string) (float64, error) {
	s := Settings{"v": v}
	switch t {
	case SettingText:
		return 0, nil
	case SettingInt:
		n, err := s.Int("v")
		if err != nil {
			return 0, Errorf(ErrorKindInvalid, "not a whole number")
		}
		return float64(n), nil
	case SettingNumber:
		f, err := s.Float("v")
		if err != nil {
			return 0, Errorf(ErrorKindInvalid, "not a number")
		}
		return f, nil
	case SettingBool:
		if _, err := s.Bool("v"); err != nil {
			return 0, Errorf(ErrorKindInvalid, "not true or false")
		}
		return 0, nil
	case SettingDuration:
		d, err := s.Duration("v")
		if err != nil {
			return 0, Errorf(ErrorKindInvalid, "not a duration such as 90s or 2h")
		}
		return float64(d), nil
	case SettingURL:
		if _, err := s.URL("v"); err != nil {
			return 0, Errorf(ErrorKindInvalid, "not an https URL (plain http only for a loopback address)")
		}
		return 0, nil
	}
	return 0, nil // unknown: text (CheckValue); checkSchema refuses it first
}

// checkSchema reports a plugin's own mistakes in its settings schema: an
// unknown Type, bounds on a type without order, bounds that do not parse
// or are the wrong way round. ServeStore and ServeHelpdesk refuse such a
// plugin's Info.
func checkSchema(schema []SettingField) error {
	var errs []string
	for _, f := range schema {
		if !knownType(f.Type) {
			errs = append(errs, fmt.Sprintf("setting %s: unknown type %q", f.Key, string(f.Type)))
			continue
		}
		if (f.Min != "" || f.Max != "") && !f.Type.ordered() {
			errs = append(errs, fmt.Sprintf("setting %s: Min and Max need the type int, number or duration", f.Key))
			continue
		}
		bound := func(name, v string) (float64, bool) {
			if v == "" {
				return 0, false
			}
			n, err := f.Type.parse(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("setting %s: %s %q is %s", f.Key, name, v, MessageOf(err)))
				return 0, false
			}
			return n, true
		}
		lo, okLo := bound("Min", f.Min)
		hi, okHi := bound("Max", f.Max)
		if okLo && okHi && lo > hi {
			errs = append(errs, fmt.Sprintf("setting %s: Min %s is above Max %s", f.Key, f.Min, f.Max))
		}
		if err := f.CheckValue(f.Default); err != nil {
			errs = append(errs, fmt.Sprintf("setting %s: Default %q is %s", f.Key, f.Default, MessageOf(err)))
		}
	}
	if len(errs) > 0 {
		return Errorf(ErrorKindInvalid, "the plugin's settings schema: %s", strings.Join(errs, "; "))
	}
	return nil
}

func knownType(t SettingType) bool {
	switch t {
	case SettingText, SettingInt, SettingNumber, SettingBool, SettingDuration, SettingURL:
		return true
	}
	return false
}
