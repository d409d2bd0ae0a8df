package sdk_test

import (
	"context"
	"errors"
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
