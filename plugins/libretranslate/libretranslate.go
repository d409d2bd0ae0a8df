// Package libretranslate is Reviewhub's LibreTranslate translator plugin:
// it translates reviews and answers through a LibreTranslate server's API
// (self-hosted, or libretranslate.com with an API key): POST /translate
// with q as an array, source "auto" to detect, POST /detect and GET
// /languages for the credentials check. See README.md.
package libretranslate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/reviewhub/reviewhub/sdk"
)

const (
	version     = "1.0.0"
	defaultBase = "https://libretranslate.com"
	// MaxCharacters is the most characters the plugin sends in one call.
	// LibreTranslate's own limit is the server's --char-limit (none by
	// default; GUESS for libretranslate.com): a server with a lower one
	// answers 400 "exceeds text limit", reported as Invalid.
	MaxCharacters = 5000
)

type translator struct{ http *http.Client }

var _ sdk.TranslatorPlugin = (*translator)(nil)

// New returns the plugin (what Main serves), for in-process tests.
func New() sdk.TranslatorPlugin {
	return &translator{http: sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: 8 << 20})}
}

func (*translator) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "libretranslate", DisplayName: "LibreTranslate", Version: version,
		Description: "LibreTranslate (self-hosted or libretranslate.com): machine translation of reviews and answers.",
		Settings: []sdk.SettingField{
			{Key: "base_url", Label: "LibreTranslate URL", Required: true, Endpoint: true, Default: defaultBase, Type: sdk.SettingURL,
				Description: "the server's address, e.g. http://127.0.0.1:5000 for a self-hosted one; default " + defaultBase},
			{Key: "api_key", Label: "API key", Secret: true,
				Description: "only when the server runs with --api-keys (libretranslate.com does)"},
		},
		Translator: &sdk.TranslatorCapabilities{DetectsLanguage: true, MaxCharactersPerCall: MaxCharacters},
	}, nil
}

// client is one account's API client.
type client struct {
	http *http.Client
	base string
	key  string
}

func (t *translator) client(s sdk.Settings) (*client, error) {
	base, err := s.URL("base_url")
	if err != nil {
		return nil, err
	}
	return &client{http: t.http, base: strings.TrimRight(base, "/"), key: s.Get("api_key")}, nil
}

// CheckCredentials reads the languages (GET /languages) and detects the
// language of a word (POST /detect), which needs the API key where the
// server wants one but translates nothing.
func (t *translator) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	c, err := t.client(req.Settings)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	langs, err := c.languages(ctx)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	var rep sdk.CheckCredentialsResponse
	codes := make([]string, 0, len(langs))
	for _, l := range langs {
		codes = append(codes, l.Code)
	}
	rep.Checks = append(rep.Checks, sdk.Check{Name: "languages", Status: sdk.CheckOK,
		Detail: fmt.Sprintf("the server translates %d languages: %s", len(codes), strings.Join(codes, ", "))})
	if _, err := c.detect(ctx, "Hello"); err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	what := "without an API key"
	if c.key != "" {
		what = "with the API key"
	}
	rep.Checks = append(rep.Checks, sdk.Check{Name: "access", Status: sdk.CheckOK, Detail: "the server detects languages " + what})
	rep.Detail = fmt.Sprintf("LibreTranslate at %s answers (%d languages)", c.base, len(codes))
	return rep, nil
}

// Translate sends every text in one POST /translate (q as an array).
func (t *translator) Translate(ctx context.Context, req sdk.TranslateRequest) (sdk.TranslateResponse, error) {
	c, err := t.client(req.Settings)
	if err != nil {
		return sdk.TranslateResponse{}, err
	}
	source := "auto"
	if req.From != "" {
		source = langCode(req.From)
	}
	body := map[string]any{"q": req.Texts, "source": source, "target": langCode(req.To), "format": "text"}
	var out struct {
		TranslatedText   []string `json:"translatedText"`
		DetectedLanguage []struct {
			Language   string  `json:"language"`
			Confidence float64 `json:"confidence"`
		} `json:"detectedLanguage"`
	}
	if err := c.post(ctx, "/translate", body, &out); err != nil {
		return sdk.TranslateResponse{}, err
	}
	if len(out.TranslatedText) != len(req.Texts) {
		return sdk.TranslateResponse{}, sdk.Errorf(sdk.ErrorKindUnavailable, "LibreTranslate answered %d translations for %d texts", len(out.TranslatedText), len(req.Texts))
	}
	res := sdk.TranslateResponse{Translations: make([]sdk.Translation, len(req.Texts))}
	for i, text := range out.TranslatedText {
		tr := sdk.Translation{Text: text, DetectedLanguage: req.From}
		if req.From == "" && i < len(out.DetectedLanguage) {
			tr.DetectedLanguage = out.DetectedLanguage[i].Language
		}
		res.Translations[i] = tr
	}
	return res, nil
}

// langCode is LibreTranslate's code of a BCP 47 tag: lower case, the
// primary language, but Chinese in traditional script ("zt") and
// Brazilian Portuguese ("pt-BR") (GUESS: the codes argos-translate models
// use on libretranslate.com).
func langCode(tag string) string {
	switch t := strings.ToLower(strings.ReplaceAll(tag, "_", "-")); {
	case t == "zh-hant" || t == "zh-tw" || t == "zh-hk":
		return "zt"
	case t == "pt-br":
		return "pt-BR"
	default:
		return sdk.PrimaryLanguage(t)
	}
}

type language struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Targets []string `json:"targets"`
}

func (c *client) languages(ctx context.Context) ([]language, error) {
	var out []language
	return out, c.do(ctx, http.MethodGet, "/languages", nil, &out)
}

func (c *client) detect(ctx context.Context, text string) (string, error) {
	var out []struct {
		Language   string  `json:"language"`
		Confidence float64 `json:"confidence"`
	}
	if err := c.post(ctx, "/detect", map[string]any{"q": text}, &out); err != nil {
		return "", err
	}
	if len(out) == 0 {
		return "", nil
	}
	return out[0].Language, nil
}

func (c *client) post(ctx context.Context, path string, body map[string]any, out any) error {
	if c.key != "" {
		body["api_key"] = c.key
	}
	return c.do(ctx, http.MethodPost, path, body, out)
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
		return sdk.Errorf(sdk.ErrorKindInvalid, "LibreTranslate request %s: %v", path, err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(hr)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "LibreTranslate %s %s: %v", method, path, redactKey(err.Error(), c.key))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "LibreTranslate %s %s: reading the answer: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return classify(resp.StatusCode, resp.Header, raw, path)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "LibreTranslate %s answered what the plugin cannot read (%v): %s", path, err, sdk.ShapeOf(raw))
	}
	return nil
}

// classify turns LibreTranslate's error answer ({"error": "…"}) into the
// SDK's kinds: a language it lacks ("zz is not supported"), a text over
// the server's --char-limit ("exceeds text limit"), a missing or wrong API
// key, "Slowdown" (429), everything else by its status.
func classify(status int, h http.Header, raw []byte, path string) error {
	var body struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(raw, &body)
	msg := body.Error
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
		if len(msg) > 200 || !json.Valid(raw) && strings.ContainsAny(msg, "<>") {
			msg = http.StatusText(status)
		}
	}
	switch {
	case status == http.StatusBadRequest && strings.HasSuffix(msg, "is not supported") && !strings.Contains(msg, "format"):
		return sdk.UnsupportedLanguageError("LibreTranslate: %s", msg)
	case status == http.StatusBadRequest && strings.Contains(msg, "exceeds text limit"):
		return sdk.Errorf(sdk.ErrorKindInvalid, "LibreTranslate: %s (the server's --char-limit is below the plugin's %d characters per call: raise it)", msg, MaxCharacters)
	case status == http.StatusBadRequest && strings.Contains(msg, "API key"):
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "LibreTranslate wants an API key: %s", msg)
	case status == http.StatusForbidden && msg == "Invalid API key":
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "LibreTranslate: the API key is not valid")
	}
	return sdk.HTTPError(status, h, "LibreTranslate %s: %d %s", path, status, msg)
}

func redactKey(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "REDACTED")
}

// Main serves the plugin to the hub until the hub stops it:
// cmd/hub-plugin-libretranslate and the plugins bundle run it.
func Main() {
	if err := sdk.ServeTranslator(New()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
