// Package deepl is Reviewhub's DeepL translator plugin: it translates
// reviews and answers through the DeepL API (API Free keys, ending ":fx",
// at api-free.deepl.com; Pro keys at api.deepl.com), POST /v2/translate
// with a JSON text array, and reads GET /v2/usage and /v2/languages for the
// credentials check. See README.md.
package deepl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

const (
	version = "1.0.0"
	// FreeBase and ProBase are DeepL's API hosts (developers.deepl.com,
	// "Authentication"): an API Free key ends in ":fx".
	FreeBase = "https://api-free.deepl.com"
	ProBase  = "https://api.deepl.com"
	// MaxTexts is DeepL's limit of texts per /v2/translate request (50).
	MaxTexts = 50
	// MaxCharacters per call: DeepL limits a request's body to 128 KiB;
	// 30,000 code points are at most 120,000 bytes of UTF-8, leaving room
	// for JSON.
	MaxCharacters = 30000
	// quotaWait is how long the hub waits after DeepL's 456 (quota
	// exceeded) before it tries again: the answer does not say when the
	// billing period ends (GUESS: an hour, so a raised Cost Control limit
	// is seen soon).
	quotaWait = time.Hour
)

// Languages DeepL translates (developers.deepl.com, "Supported languages",
// the long-standing ones; /v2/languages lists the account's own).
var (
	sourceLanguages = []string{"ar", "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "hu", "id", "it", "ja",
		"ko", "lt", "lv", "nb", "nl", "pl", "pt", "ro", "ru", "sk", "sl", "sv", "tr", "uk", "zh"}
	targetLanguages = append(append([]string{}, sourceLanguages...), "en-GB", "en-US", "pt-BR", "pt-PT", "zh-Hans", "zh-Hant")
)

type translator struct{ http *http.Client }

var _ sdk.TranslatorPlugin = (*translator)(nil)

// New returns the plugin (what Main serves), for in-process tests.
func New() sdk.TranslatorPlugin {
	return &translator{http: sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: 8 << 20})}
}

func (*translator) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "deepl", DisplayName: "DeepL", Version: version,
		Description: "DeepL API (Free or Pro): machine translation of reviews and answers.",
		Settings: []sdk.SettingField{
			{Key: "auth_key", Label: "Authentication key", Required: true, Secret: true,
				Description: "DeepL account → API Keys; a key ending in :fx is an API Free key (api-free.deepl.com)"},
			{Key: "base_url", Label: "API base URL override", Endpoint: true, Type: sdk.SettingURL,
				Description: "empty: " + FreeBase + " for API Free keys, " + ProBase + " for Pro keys"},
		},
		Translator: &sdk.TranslatorCapabilities{
			SourceLanguages: sourceLanguages, TargetLanguages: targetLanguages, DetectsLanguage: true,
			MaxCharactersPerCall: MaxCharacters, MaxTextsPerCall: MaxTexts,
			Quotas: []sdk.TranslatorQuota{{Name: "DeepL API Free characters", Unit: sdk.QuotaUnitCharacters, Limit: 500000, Window: 30 * 24 * time.Hour}},
		},
	}, nil
}

// BaseFor is the API host of a key: API Free keys end in ":fx".
func BaseFor(key string) string {
	if strings.HasSuffix(strings.TrimSpace(key), ":fx") {
		return FreeBase
	}
	return ProBase
}

type client struct {
	http *http.Client
	base string
	key  string
}

func (t *translator) client(s sdk.Settings) (*client, error) {
	key := s.Get("auth_key")
	base := BaseFor(key)
	if s.Get("base_url") != "" {
		u, err := s.URL("base_url")
		if err != nil {
			return nil, err
		}
		base = u
	}
	return &client{http: t.http, base: strings.TrimRight(base, "/"), key: key}, nil
}

// CheckCredentials reads the account's usage (GET /v2/usage) and its
// target languages (GET /v2/languages?type=target); it translates nothing.
func (t *translator) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	c, err := t.client(req.Settings)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	var usage struct {
		CharacterCount int64 `json:"character_count"`
		CharacterLimit int64 `json:"character_limit"`
	}
	if err := c.do(ctx, http.MethodGet, "/v2/usage", nil, &usage); err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	var rep sdk.CheckCredentialsResponse
	plan := "Pro"
	if c.base == FreeBase || strings.HasSuffix(c.key, ":fx") {
		plan = "API Free"
	}
	quota := sdk.Check{Name: "quota", Status: sdk.CheckOK,
		Detail: fmt.Sprintf("%s key: %d of %d characters used this billing period", plan, usage.CharacterCount, usage.CharacterLimit)}
	switch {
	case usage.CharacterLimit > 0 && usage.CharacterCount >= usage.CharacterLimit:
		quota.Status = sdk.CheckFail
		quota.Detail += "; the quota is spent: reviews are delivered untranslated until it refills"
	case usage.CharacterLimit > 0 && usage.CharacterCount*10 >= usage.CharacterLimit*9:
		quota.Status = sdk.CheckWarn
		quota.Detail += "; over 90% spent"
	}
	rep.Checks = append(rep.Checks, quota)
	var langs []struct {
		Language string `json:"language"`
	}
	if err := c.do(ctx, http.MethodGet, "/v2/languages?type=target", nil, &langs); err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	rep.Checks = append(rep.Checks, sdk.Check{Name: "languages", Status: sdk.CheckOK, Detail: fmt.Sprintf("DeepL translates into %d languages", len(langs))})
	rep.Detail = "DeepL " + plan + " key accepted"
	return rep, nil
}

// Translate sends every text in one POST /v2/translate.
func (t *translator) Translate(ctx context.Context, req sdk.TranslateRequest) (sdk.TranslateResponse, error) {
	c, err := t.client(req.Settings)
	if err != nil {
		return sdk.TranslateResponse{}, err
	}
	body := map[string]any{"text": req.Texts, "target_lang": TargetCode(req.To)}
	if req.From != "" {
		body["source_lang"] = SourceCode(req.From)
	}
	var out struct {
		Translations []struct {
			DetectedSourceLanguage string `json:"detected_source_language"`
			Text                   string `json:"text"`
			BilledCharacters       int    `json:"billed_characters"`
		} `json:"translations"`
	}
	if err := c.do(ctx, http.MethodPost, "/v2/translate", body, &out); err != nil {
		return sdk.TranslateResponse{}, err
	}
	if len(out.Translations) != len(req.Texts) {
		return sdk.TranslateResponse{}, sdk.Errorf(sdk.ErrorKindUnavailable, "DeepL answered %d translations for %d texts", len(out.Translations), len(req.Texts))
	}
	res := sdk.TranslateResponse{Translations: make([]sdk.Translation, len(out.Translations))}
	for i, tr := range out.Translations {
		res.Translations[i] = sdk.Translation{Text: tr.Text, DetectedLanguage: strings.ToLower(tr.DetectedSourceLanguage),
			BilledCharacters: tr.BilledCharacters}
		if res.Translations[i].DetectedLanguage == "" {
			res.Translations[i].DetectedLanguage = req.From
		}
	}
	return res, nil
}

// SourceCode is DeepL's source_lang of a BCP 47 tag: the primary language
// in upper case (source languages have no variants).
func SourceCode(tag string) string { return strings.ToUpper(sdk.PrimaryLanguage(tag)) }

// TargetCode is DeepL's target_lang of a BCP 47 tag: a variant DeepL has
// ("EN-GB", "PT-BR", "ZH-HANT"), else the primary language, where English
// is "EN-US" and Portuguese "PT-BR" (DeepL deprecates bare "EN" and "PT" as
// targets; GUESS: American English and Brazilian Portuguese, the more
// common readers of app stores).
func TargetCode(tag string) string {
	t := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"))
	switch t {
	case "EN-GB", "EN-US", "PT-BR", "PT-PT", "ZH-HANS", "ZH-HANT":
		return t
	case "ZH-TW", "ZH-HK":
		return "ZH-HANT"
	}
	switch p := strings.ToUpper(sdk.PrimaryLanguage(t)); p {
	case "EN":
		return "EN-US"
	case "PT":
		return "PT-BR"
	default:
		return p
	}
}

func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindInvalid, "DeepL request %s: %v", path, err)
	}
	hr.Header.Set("Authorization", "DeepL-Auth-Key "+c.key)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "DeepL %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "DeepL %s %s: reading the answer: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return classify(resp.StatusCode, resp.Header, raw, path, c.base)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "DeepL %s answered what the plugin cannot read (%v): %s", path, err, sdk.ShapeOf(raw))
	}
	return nil
}

// classify turns DeepL's error answers ({"message": "…"}, developers.deepl.com
// "Error handling") into the SDK's kinds: 456 quota exceeded, 429 too many
// requests, 403 authorization failed (with DeepL's message: a wrong key or
// the wrong host), 400 "Value for 'target_lang' not supported", 413 too
// large, 5xx and 529 transient.
func classify(status int, h http.Header, raw []byte, path, base string) error {
	var body struct {
		Message string `json:"message"`
		Detail  string `json:"detail"`
	}
	jsonBody := json.Unmarshal(raw, &body) == nil
	msg := body.Message
	if body.Detail != "" {
		msg += " (" + body.Detail + ")"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	switch {
	case status == 456:
		return sdk.QuotaExceededError(quotaWait, "DeepL: quota exceeded (456): the account's characters for this billing period are spent (API Free: 500,000 a month; Pro: the Cost Control limit)")
	case status == http.StatusForbidden && jsonBody && body.Message != "":
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "DeepL refused the authentication key at %s (403): %s; API Free keys end in :fx and go to %s, Pro keys to %s",
			base, msg, FreeBase, ProBase)
	case status == http.StatusBadRequest && strings.Contains(msg, "not supported") && strings.Contains(msg, "lang"):
		return sdk.UnsupportedLanguageError("DeepL: %s", msg)
	case status == http.StatusRequestEntityTooLarge:
		return sdk.Errorf(sdk.ErrorKindInvalid, "DeepL: the request is too large (413): %s", msg)
	case status == 529:
		return sdk.Errorf(sdk.ErrorKindUnavailable, "DeepL is overloaded (529): %s", msg)
	}
	return sdk.HTTPError(status, h, "DeepL %s: %d %s", path, status, msg)
}

// Main serves the plugin to the hub until the hub stops it:
// cmd/hub-plugin-deepl and the plugins bundle run it.
func Main() {
	if err := sdk.ServeTranslator(New()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
