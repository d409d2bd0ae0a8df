package sdk_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestCheckSettings(t *testing.T) {
	schema := []sdk.SettingField{
		{Key: "key_id", Label: "Key ID", Required: true},
		{Key: "private_key", Label: "Private key", Required: true, Secret: true},
		{Key: "base_url", Label: "Base URL", Default: "https://api.example"},
	}
	in := sdk.Settings{"key_id": "  k1\n", "private_key": "", "extra": " x "}
	got, err := sdk.CheckSettings(schema, in)
	if sdk.KindOf(err) != sdk.ErrorKindInvalid || err.Error() != "settings missing: private_key (Private key)" {
		t.Errorf("error %v, want Invalid naming private_key", err)
	}
	if got["key_id"] != "k1" || got["base_url"] != "https://api.example" || got["extra"] != "x" {
		t.Errorf("settings %v: want trimmed values and the default", got)
	}
	if in["key_id"] != "  k1\n" {
		t.Error("CheckSettings changed its input")
	}
	got, err = sdk.CheckSettings(schema, sdk.Settings{"key_id": "k", "private_key": "p", "base_url": "http://127.0.0.1:9"})
	if err != nil || got["base_url"] != "http://127.0.0.1:9" {
		t.Errorf("%v %v: a given value wins over the default", got, err)
	}
}

func TestSettingsAccessors(t *testing.T) {
	s := sdk.Settings{"n": " 42 ", "f": "1.5", "b": "Yes", "d": "90s", "l": " us, gb,,jp ", "bad": "x",
		"u": "https://api.example/v1/", "plain": "http://vendor.example", "local": "http://127.0.0.1:8080"}
	if n, err := s.Int("n"); n != 42 || err != nil {
		t.Errorf("Int: %d %v", n, err)
	}
	if f, err := s.Float("f"); f != 1.5 || err != nil {
		t.Errorf("Float: %v %v", f, err)
	}
	if b, err := s.Bool("b"); !b || err != nil {
		t.Errorf("Bool: %v %v", b, err)
	}
	if d, err := s.Duration("d"); d != 90*time.Second || err != nil {
		t.Errorf("Duration: %v %v", d, err)
	}
	if l := s.List("l"); strings.Join(l, "|") != "us|gb|jp" {
		t.Errorf("List: %q", l)
	}
	if n, err := s.Int("absent"); n != 0 || err != nil {
		t.Errorf("Int of an absent setting: %d %v", n, err)
	}
	for name, f := range map[string]func() error{
		"Int":      func() error { _, err := s.Int("bad"); return err },
		"Float":    func() error { _, err := s.Float("bad"); return err },
		"Bool":     func() error { _, err := s.Bool("bad"); return err },
		"Duration": func() error { _, err := s.Duration("bad"); return err },
		"URL":      func() error { _, err := s.URL("bad"); return err },
		"URL http": func() error { _, err := s.URL("plain"); return err },
	} {
		if err := f(); sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "setting ") {
			t.Errorf("%s of a bad value: %v, want Invalid naming the setting", name, err)
		}
	}
	if u, err := s.URL("u"); u != "https://api.example/v1" || err != nil {
		t.Errorf("URL: %q %v", u, err)
	}
	if u, err := s.URL("local"); u != "http://127.0.0.1:8080" || err != nil {
		t.Errorf("URL on loopback: %q %v", u, err)
	}
}

type notAStore struct{}

func (notAStore) ListReviews(context.Context, sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	return sdk.ListReviewsResponse{}, nil
}

func (notAStore) PostReply(context.Context, sdk.PostReplyRequest) (string, error) { return "", nil }

// A type that is neither interface is refused at start with the methods
// it lacks, not at the first call.
func TestServeStoreNamesWhatIsMissing(t *testing.T) {
	err := sdk.ServeStore(notAStore{})
	if err == nil {
		t.Fatal("served a type that is not a store")
	}
	for _, want := range []string{"sdk_test.notAStore is not a store plugin", "Info is missing", "CheckCredentials is missing",
		"PostReply has the form func(sdk_test.notAStore, context.Context, sdk.PostReplyRequest) (string, error), want func(context.Context, sdk.PostReplyRequest) (sdk.PostReplyResponse, error)",
		"for the older sdk.Store"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := sdk.ServeStore(sdk.AdaptStore(nil)); !errors.Is(err, sdk.ErrNotLaunchedByHub) {
		t.Errorf("a store run by hand: %v, want ErrNotLaunchedByHub", err)
	}
}

// Plain http is for loopback addresses only: a host name that merely
// starts with "127." could resolve anywhere.
func TestURLPlainHTTPOnlyOnLoopback(t *testing.T) {
	for v, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:1": true, "http://[::1]:9": true, "http://127.1.2.3": true,
		"http://127.attacker.example": false, "http://127.0.0.1.nip.io": false, "http://vendor.example": false,
		"https://127.attacker.example": true,
	} {
		_, err := sdk.Settings{"u": v}.URL("u")
		if (err == nil) != ok {
			t.Errorf("URL(%q): error %v, want accepted=%v", v, err, ok)
		}
	}
}

// A typed setting is refused before the plugin is called when its value is
// not of its type or out of its bounds; every such key is named, the
// values never repeated (one may be a secret).
func TestTypedSettings(t *testing.T) {
	schema := []sdk.SettingField{
		{Key: "tolerance", Label: "Tolerance", Type: sdk.SettingDuration, Min: "10s", Max: "24h", Default: "10m"},
		{Key: "pages", Label: "Pages", Type: sdk.SettingInt, Min: "1"},
		{Key: "overlap", Label: "Overlap", Type: sdk.SettingNumber, Min: "0", Max: "720"},
		{Key: "strict", Label: "Strict", Type: sdk.SettingBool},
		{Key: "base_url", Label: "Base URL", Type: sdk.SettingURL},
		{Key: "token", Label: "Token", Required: true, Secret: true},
	}
	good := sdk.Settings{"token": "t", "pages": " 3 ", "overlap": "1.5", "strict": "yes", "base_url": "https://api.example"}
	got, err := sdk.CheckSettings(schema, good)
	if err != nil || got["tolerance"] != "10m" {
		t.Fatalf("good settings: %v %v", got, err)
	}
	if d, err := got.Duration("tolerance"); d != 10*time.Minute || err != nil {
		t.Errorf("the default, read typed: %v %v", d, err)
	}
	for _, tc := range []struct {
		key, value, want string
	}{
		{"tolerance", "forever-s3cret", "setting tolerance (Tolerance) is not a duration such as 90s or 2h"},
		{"tolerance", "5s", "setting tolerance (Tolerance) is below the least allowed, 10s"},
		{"tolerance", "48h", "setting tolerance (Tolerance) is above the most allowed, 24h"},
		{"pages", "2.5", "setting pages (Pages) is not a whole number"},
		{"pages", "0", "setting pages (Pages) is below the least allowed, 1"},
		{"overlap", "-1", "setting overlap (Overlap) is below the least allowed, 0"},
		{"overlap", "NaN", "setting overlap (Overlap) is not a number"},
		{"strict", "maybe", "setting strict (Strict) is not true or false"},
		{"base_url", "http://vendor.example", "setting base_url (Base URL) is not an https URL (plain http only for a loopback address)"},
	} {
		s := maps.Clone(good)
		s[tc.key] = tc.value
		_, err := sdk.CheckSettings(schema, s)
		if sdk.KindOf(err) != sdk.ErrorKindInvalid || err.Error() != tc.want {
			t.Errorf("%s=%q: %v, want Invalid %q", tc.key, tc.value, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), tc.value) && tc.value != "0" {
			t.Errorf("%s: the error repeats the value: %v", tc.key, err)
		}
	}
	// Every problem at once, the missing ones first.
	_, err = sdk.CheckSettings(schema, sdk.Settings{"pages": "x", "strict": "maybe"})
	want := "settings missing: token (Token); setting pages (Pages) is not a whole number; setting strict (Strict) is not true or false"
	if err == nil || err.Error() != want {
		t.Errorf("several problems: %v, want %q", err, want)
	}
}

// A plugin whose schema is wrong (an unknown type, bounds that do not
// parse, a default out of range) is refused when its Info is read, naming
// each mistake, instead of failing its accounts one call at a time.
func TestServeRefusesAWrongSchema(t *testing.T) {
	st, err := sdk.CheckedStore(schemaStore{settings: []sdk.SettingField{
		{Key: "a", Type: "colour"},
		{Key: "b", Type: sdk.SettingDuration, Min: "ten seconds"},
		{Key: "c", Type: sdk.SettingInt, Min: "5", Max: "1"},
		{Key: "d", Type: sdk.SettingBool, Max: "1"},
		{Key: "e", Type: sdk.SettingInt, Max: "10", Default: "11"},
		{Key: "f", Type: sdk.SettingInt, Min: "1", Max: "10", Default: "5"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Info(context.Background(), sdk.InfoRequest{})
	for _, want := range []string{`setting a: unknown type "colour"`, `setting b: Min "ten seconds" is not a duration`,
		"setting c: Min 5 is above Max 1", "setting d: Min and Max need the type int, number or duration",
		`setting e: Default "11" is above the most allowed, 10`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Info: %v, want it to say %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "setting f") {
		t.Errorf("a correct field reported: %v", err)
	}
}

type schemaStore struct{ settings []sdk.SettingField }

func (s schemaStore) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{Name: "schema", Settings: s.settings, Store: &sdk.StoreCapabilities{}}, nil
}
func (schemaStore) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{}, nil
}
func (schemaStore) ListReviews(context.Context, sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	return sdk.ListReviewsResponse{}, nil
}
func (schemaStore) PostReply(context.Context, sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	return sdk.PostReplyResponse{}, nil
}
func (schemaStore) DeleteReply(context.Context, sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return sdk.DeleteReplyResponse{}, nil
}

// A type a later SDK added is text to this one's CheckValue and
// CheckSettings (the hub saving an account of a newer plugin), while a
// plugin declaring it on this SDK is refused (TestServeRefusesAWrongSchema).
func TestUnknownTypeIsTextToAReceiver(t *testing.T) {
	f := sdk.SettingField{Key: "tint", Label: "Tint", Type: "colour", Min: "a", Max: "b"}
	for _, v := range []string{"#ff0000", "red", "12"} {
		if err := f.CheckValue(v); err != nil {
			t.Errorf("CheckValue(%q) of an unknown type: %v, want it taken as text", v, err)
		}
	}
	out, err := sdk.CheckSettings([]sdk.SettingField{f}, sdk.Settings{"tint": " red "})
	if err != nil || out["tint"] != "red" {
		t.Errorf("CheckSettings with an unknown type: %v, %v; want red and no error", out, err)
	}
}
