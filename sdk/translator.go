package sdk

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

// PluginKindTranslator is the kind of a translator plugin (SDK v0.3).
const PluginKindTranslator = "translator"

// TranslatorPlugin is what a translator plugin implements: it translates
// texts for the hub (reviews into the team's language, answers into the
// reviewer's). Like the other kinds, every method takes a request struct
// and returns a response struct, and every call carries the account's
// settings.
type TranslatorPlugin interface {
	// Info describes the plugin; Info.Translator carries its capabilities.
	// It must not call the vendor.
	Info(ctx context.Context, req InfoRequest) (Info, error)
	// CheckCredentials makes read-only calls with an account's settings
	// (the languages it offers, the quota left); it translates nothing.
	CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error)
	// Translate translates every text of req into req.To, answering one
	// Translation per text in the same order. Errors: QuotaExceededError
	// (the account's characters are spent), RetryAfterError (rate limited),
	// UnsupportedLanguageError, or any other classified error.
	Translate(ctx context.Context, req TranslateRequest) (TranslateResponse, error)
}

// TranslatorCapabilities say what a translator plugin can do. Languages
// are BCP 47 tags ("ja", "en", "pt-BR"), compared without regard to case.
type TranslatorCapabilities struct {
	// SourceLanguages texts can be translated from; empty: not known before
	// a call (an engine whose languages depend on its installation).
	SourceLanguages []string
	// TargetLanguages texts can be translated into; empty: not known
	// before a call.
	TargetLanguages []string
	// DetectsLanguage: TranslateRequest.From may be empty.
	DetectsLanguage bool
	// MaxCharactersPerCall is the most Unicode code points (all texts of a
	// call together) one Translate call takes; the SDK refuses a larger
	// call before the plugin is called, and the hub splits its batches
	// below it. 0: no known limit.
	MaxCharactersPerCall int
	// MaxTextsPerCall is the most texts one call takes; 0: no known limit.
	MaxTextsPerCall int
	// Quotas are the account's quotas, shown to operators.
	Quotas []TranslatorQuota
}

// QuotaUnit is what a TranslatorQuota counts.
type QuotaUnit = string

// Quota units.
const (
	QuotaUnitCharacters = "characters"
	QuotaUnitRequests   = "requests"
)

// TranslatorQuota is one quota of a translation account (DeepL API Free:
// 500,000 characters a month).
type TranslatorQuota struct {
	Name   string
	Unit   QuotaUnit
	Limit  int64
	Window time.Duration
}

// TranslateRequest asks for texts to be translated.
type TranslateRequest struct {
	Settings Settings
	// Texts to translate, none empty.
	Texts []string
	// From is the texts' language; empty: the engine detects it (per text).
	From string
	// To is the language to translate into.
	To string
}

// TranslateResponse carries one Translation per text, in order.
type TranslateResponse struct {
	Translations []Translation
}

// Translation is one translated text.
type Translation struct {
	Text string
	// DetectedLanguage is the source language the engine detected, or
	// the request's From.
	DetectedLanguage string
	// BilledCharacters are the characters the vendor counted for this text;
	// 0: not reported.
	BilledCharacters int
}

// Reasons of a translator's errors (Error.Reason).
const (
	// ReasonQuotaExceeded: the account's characters (or requests) for the
	// period are spent; kind ErrorKindRateLimited, RetryAfter until it
	// refills when known.
	ReasonQuotaExceeded = "QUOTA_EXCEEDED"
	// ReasonUnsupportedLanguage: the engine does not translate from or
	// into a language; kind ErrorKindInvalid.
	ReasonUnsupportedLanguage = "UNSUPPORTED_LANGUAGE"
)

// QuotaExceededError is the error of a spent quota: ErrorKindRateLimited
// with ReasonQuotaExceeded and the time until the quota refills (0 when
// the vendor does not say; the hub then tries again after its own wait).
func QuotaExceededError(retryAfter time.Duration, format string, args ...any) *Error {
	e := RetryAfterError(retryAfter, format, args...)
	e.Reason = ReasonQuotaExceeded
	return e
}

// UnsupportedLanguageError is the error of a language the engine does not
// translate: ErrorKindInvalid (permanent) with ReasonUnsupportedLanguage.
func UnsupportedLanguageError(format string, args ...any) *Error {
	e := Errorf(ErrorKindInvalid, format, args...)
	e.Reason = ReasonUnsupportedLanguage
	return e
}

// IsQuotaExceeded reports whether err is a QuotaExceededError.
func IsQuotaExceeded(err error) bool { return ReasonOf(err) == ReasonQuotaExceeded }

// IsUnsupportedLanguage reports whether err is an UnsupportedLanguageError.
func IsUnsupportedLanguage(err error) bool { return ReasonOf(err) == ReasonUnsupportedLanguage }

// PrimaryLanguage is the primary subtag of a BCP 47 tag, lower case
// ("pt-BR" → "pt", "EN_us" → "en").
func PrimaryLanguage(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}

// SameLanguage reports whether two tags name the same language, regions
// and scripts aside ("en-GB" and "en" do).
func SameLanguage(a, b string) bool {
	return a != "" && b != "" && PrimaryLanguage(a) == PrimaryLanguage(b)
}

// LanguageSupported reports whether tag is in list: the same tag (in any
// case), or the same primary language where one of the two has no region
// ("pt" in a list of "pt-BR", "pt-PT"; "en-US" in a list of "en"). An
// empty list supports everything (not known before a call).
func LanguageSupported(list []string, tag string) bool {
	if len(list) == 0 {
		return true
	}
	for _, l := range list {
		if strings.EqualFold(l, tag) {
			return true
		}
		if SameLanguage(l, tag) && (!strings.ContainsAny(l, "-_") || !strings.ContainsAny(tag, "-_")) {
			return true
		}
	}
	return false
}

// TranslateCharacters is the size of texts as MaxCharactersPerCall counts
// it: Unicode code points, all texts together.
func TranslateCharacters(texts []string) int {
	n := 0
	for _, t := range texts {
		n += utf8.RuneCountInString(t)
	}
	return n
}

// AsTranslatorPlugin returns impl as a TranslatorPlugin, or an error naming
// the methods it lacks. It adds no checks (CheckedTranslator does).
func AsTranslatorPlugin(impl any) (TranslatorPlugin, error) {
	if t, ok := impl.(TranslatorPlugin); ok {
		return t, nil
	}
	return nil, fmt.Errorf("sdk: %s is not a translator plugin: for sdk.TranslatorPlugin, %s", describe(impl),
		lacking(impl, reflect.TypeFor[TranslatorPlugin]()))
}

// lacking names the methods impl lacks (or has with another signature) for
// the interface want.
func lacking(impl any, want reflect.Type) string {
	t := reflect.TypeOf(impl)
	if t == nil {
		return "it is nil"
	}
	var out []string
	for i := range want.NumMethod() {
		m := want.Method(i)
		got, ok := t.MethodByName(m.Name)
		switch {
		case !ok:
			out = append(out, m.Name+" is missing")
		case !methodMatches(got.Type, m.Type):
			out = append(out, fmt.Sprintf("%s has the form %s, want %s", m.Name, got.Type, m.Type))
		}
	}
	return strings.Join(out, "; ")
}

// CheckedTranslator returns impl with the checks ServeTranslator runs
// around every call: settings against the schema; before Translate, a
// request with texts, none empty, a target language, at most
// MaxCharactersPerCall characters and MaxTextsPerCall texts, languages the
// capabilities list (UnsupportedLanguageError) and a source language when
// the engine does not detect; after it, one translation per text.
func CheckedTranslator(impl TranslatorPlugin) (TranslatorPlugin, error) {
	if impl == nil {
		return nil, fmt.Errorf("sdk: the translator plugin is nil")
	}
	g := newGuard(func(ctx context.Context) (Info, error) { return impl.Info(ctx, InfoRequest{}) })
	return checkedTranslator{impl, g}, nil
}

type checkedTranslator struct {
	impl TranslatorPlugin
	g    *guard
}

func (c checkedTranslator) Info(ctx context.Context, _ InfoRequest) (Info, error) {
	return c.g.info(ctx)
}

func (c checkedTranslator) CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return CheckCredentialsResponse{}, err
	}
	return c.impl.CheckCredentials(ctx, req)
}

func (c checkedTranslator) Translate(ctx context.Context, req TranslateRequest) (TranslateResponse, error) {
	info, err := c.g.info(ctx)
	if err != nil {
		return TranslateResponse{}, err
	}
	if err := CheckTranslateRequest(info, req); err != nil {
		return TranslateResponse{}, err
	}
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return TranslateResponse{}, err
	}
	res, err := c.impl.Translate(ctx, req)
	if err != nil {
		return TranslateResponse{}, err
	}
	if len(res.Translations) != len(req.Texts) {
		return TranslateResponse{}, Errorf(ErrorKindUnknown, "%s answered %d translations for %d texts", nameOf(info), len(res.Translations), len(req.Texts))
	}
	return res, nil
}

// CheckTranslateRequest is the check CheckedTranslator makes before
// Translate is called: the error names what is wrong, for people.
func CheckTranslateRequest(info Info, req TranslateRequest) error {
	name := nameOf(info)
	if len(req.Texts) == 0 {
		return Errorf(ErrorKindInvalid, "nothing to translate: the request has no texts")
	}
	for i, t := range req.Texts {
		if strings.TrimSpace(t) == "" {
			return Errorf(ErrorKindInvalid, "text %d of %d is empty", i+1, len(req.Texts))
		}
	}
	if strings.TrimSpace(req.To) == "" {
		return Errorf(ErrorKindInvalid, "no target language (TranslateRequest.To)")
	}
	caps := info.Translator
	if caps == nil {
		return nil
	}
	if n := TranslateCharacters(req.Texts); caps.MaxCharactersPerCall > 0 && n > caps.MaxCharactersPerCall {
		return Errorf(ErrorKindInvalid, "%s translates at most %d characters per call, this one has %d; split it",
			name, caps.MaxCharactersPerCall, n)
	}
	if caps.MaxTextsPerCall > 0 && len(req.Texts) > caps.MaxTextsPerCall {
		return Errorf(ErrorKindInvalid, "%s translates at most %d texts per call, this one has %d; split it",
			name, caps.MaxTextsPerCall, len(req.Texts))
	}
	if !LanguageSupported(caps.TargetLanguages, req.To) {
		return UnsupportedLanguageError("%s does not translate into %q", name, req.To)
	}
	if req.From == "" && !caps.DetectsLanguage {
		return Errorf(ErrorKindInvalid, "%s does not detect languages: name the texts' language (TranslateRequest.From)", name)
	}
	if req.From != "" && !LanguageSupported(caps.SourceLanguages, req.From) {
		return UnsupportedLanguageError("%s does not translate from %q", name, req.From)
	}
	return nil
}

func nameOf(info Info) string {
	if info.DisplayName != "" {
		return info.DisplayName
	}
	if info.Name != "" {
		return info.Name
	}
	return "the translator"
}
