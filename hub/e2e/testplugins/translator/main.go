// Command translator is a test translator plugin: it "translates" by
// tagging a text with the target language ("[en] text"), except a few
// phrases with real translations, and detects Japanese by its script,
// English otherwise. The setting "fail" makes every Translate fail:
// "quota" (a spent quota, an hour), "down" (Unavailable), "language"
// (an unsupported language).
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/reviewhub/reviewhub/sdk"
)

type translator struct{}

// Phrases are the texts with real translations (the end-to-end tests'
// Japanese review and English answer).
var phrases = map[string]map[string]string{
	"アプリが起動しません。":                                   {"en": "The app does not start."},
	"Thank you! We fixed the crash in version 2.1.": {"ja": "ありがとうございます！バージョン2.1でクラッシュを修正しました。"},
}

func (translator) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "testtranslator", DisplayName: "Test Translator", Version: "0.0.1", Description: "test translator",
		Settings: []sdk.SettingField{{Key: "fail", Label: "Fail every translation: quota, down or language"}},
		Translator: &sdk.TranslatorCapabilities{DetectsLanguage: true, MaxCharactersPerCall: 2000, MaxTextsPerCall: 10,
			Quotas: []sdk.TranslatorQuota{{Name: "test characters", Unit: sdk.QuotaUnitCharacters, Limit: 1000000, Window: 24 * time.Hour}}},
	}, nil
}

func (translator) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{Detail: "test translator"}, nil
}

func detect(text string) string {
	for _, r := range text {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana) {
			return "ja"
		}
	}
	return "en"
}

func (translator) Translate(_ context.Context, req sdk.TranslateRequest) (sdk.TranslateResponse, error) {
	switch req.Settings.Get("fail") {
	case "quota":
		return sdk.TranslateResponse{}, sdk.QuotaExceededError(time.Hour, "test translator: quota spent")
	case "down":
		return sdk.TranslateResponse{}, sdk.Errorf(sdk.ErrorKindUnavailable, "test translator: down")
	case "language":
		return sdk.TranslateResponse{}, sdk.UnsupportedLanguageError("test translator: no %s", req.To)
	}
	var res sdk.TranslateResponse
	for _, text := range req.Texts {
		from := req.From
		if from == "" {
			from = detect(text)
		}
		out := "[" + sdk.PrimaryLanguage(req.To) + "] " + text
		if sdk.SameLanguage(from, req.To) {
			out = text
		} else if t, ok := phrases[text][sdk.PrimaryLanguage(req.To)]; ok {
			out = t
		}
		res.Translations = append(res.Translations, sdk.Translation{Text: out, DetectedLanguage: strings.ToLower(from), BilledCharacters: len([]rune(text))})
	}
	return res, nil
}

func main() {
	if err := sdk.ServeTranslator(translator{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
