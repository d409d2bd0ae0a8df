package sdk

import (
	"strings"
	"testing"
	"time"
)

// A translator's typed errors keep their reason and wait across the wire.
func TestTranslationErrorsCrossTheWire(t *testing.T) {
	q := fromStatus("translate", toStatus(QuotaExceededError(2*time.Hour, "spent")))
	if !IsQuotaExceeded(q) || KindOf(q) != ErrorKindRateLimited || RetryAfterOf(q) != 2*time.Hour {
		t.Errorf("quota: %v (reason %q, kind %v, wait %v)", q, ReasonOf(q), KindOf(q), RetryAfterOf(q))
	}
	u := fromStatus("translate", toStatus(UnsupportedLanguageError("no %s", "tlh")))
	if !IsUnsupportedLanguage(u) || KindOf(u) != ErrorKindInvalid || !strings.Contains(u.Error(), "no tlh") {
		t.Errorf("language: %v (reason %q)", u, ReasonOf(u))
	}
	if r := ReasonOf(fromStatus("x", toStatus(Errorf(ErrorKindInvalid, "plain")))); r != "" {
		t.Errorf("a plain error has reason %q", r)
	}
}

func TestTranslationRequestChecks(t *testing.T) {
	info := Info{DisplayName: "Engine", Translator: &TranslatorCapabilities{TargetLanguages: []string{"en", "pt-BR", "ja"},
		SourceLanguages: []string{"en", "ja"}, MaxCharactersPerCall: 10, MaxTextsPerCall: 2}}
	for _, tc := range []struct {
		req  TranslateRequest
		want string // "" passes
	}{
		{TranslateRequest{Texts: []string{"こんにちは"}, From: "ja", To: "en-US"}, ""},
		{TranslateRequest{Texts: []string{"hi"}, From: "en", To: "pt"}, ""},
		{TranslateRequest{To: "en", From: "ja"}, "no texts"},
		{TranslateRequest{Texts: []string{"a", " "}, From: "ja", To: "en"}, "text 2 of 2 is empty"},
		{TranslateRequest{Texts: []string{"a"}, From: "ja"}, "no target language"},
		{TranslateRequest{Texts: []string{"あいうえおかきくけこさ"}, From: "ja", To: "en"}, "at most 10 characters per call, this one has 11"},
		{TranslateRequest{Texts: []string{"a", "b", "c"}, From: "ja", To: "en"}, "at most 2 texts per call"},
		{TranslateRequest{Texts: []string{"a"}, From: "ja", To: "pt-PT"}, `does not translate into "pt-PT"`},
		{TranslateRequest{Texts: []string{"a"}, From: "de", To: "en"}, `does not translate from "de"`},
		{TranslateRequest{Texts: []string{"a"}, To: "en"}, "does not detect languages"},
	} {
		err := CheckTranslateRequest(info, tc.req)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.req, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || KindOf(err) != ErrorKindInvalid):
			t.Errorf("%+v: %v, want Invalid with %q", tc.req, err, tc.want)
		}
	}
	if err := CheckTranslateRequest(info, TranslateRequest{Texts: []string{"a"}, From: "ja", To: "ko"}); !IsUnsupportedLanguage(err) {
		t.Errorf("an unlisted target is not an unsupported language: %v", err)
	}
}

func TestTranslationLanguageHelpers(t *testing.T) {
	if !SameLanguage("en-GB", "EN") || SameLanguage("en", "") || SameLanguage("pt", "es") {
		t.Error("SameLanguage")
	}
	if PrimaryLanguage("zh_Hant") != "zh" || PrimaryLanguage(" JA ") != "ja" {
		t.Error("PrimaryLanguage")
	}
	if !LanguageSupported(nil, "xx") || !LanguageSupported([]string{"en"}, "en-US") || LanguageSupported([]string{"en-GB"}, "en-US") {
		t.Error("LanguageSupported")
	}
	if TranslateCharacters([]string{"日本", "ab"}) != 4 {
		t.Error("TranslateCharacters")
	}
}
