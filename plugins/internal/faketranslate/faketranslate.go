// Package faketranslate is the translation "engine" behind the project's
// fakes of translation APIs (LibreTranslate, DeepL): deterministic, so a
// test knows every answer. A few phrases have real translations (the
// end-to-end tests' Japanese review and English answer); any other text
// comes back tagged with the target language, "[en] text". Languages are
// detected by script (Japanese, Korean, Chinese, Cyrillic) and by a few
// words (German, Spanish, French), English otherwise.
package faketranslate

import (
	"strings"
	"unicode"
)

// phrases are the texts with real translations: language → text → target
// language → translation.
var phrases = map[string]map[string]string{
	"アプリが起動しません。":                                   {"en": "The app does not start."},
	"起動するとすぐに落ちます。星一つ。":                             {"en": "It crashes as soon as it starts. One star."},
	"Thank you! We fixed the crash in version 2.1.": {"ja": "ありがとうございます！バージョン2.1でクラッシュを修正しました。"},
	"Die App stürzt beim Start ab.":                 {"en": "The app crashes on start."},
	"La aplicación es muy lenta.":                   {"en": "The application is very slow."},
}

// Translate is the engine's translation of text into to, and the language
// it detects in text (from when given).
func Translate(text, from, to string) (translation, detected string) {
	detected = Detect(text)
	if from != "" {
		detected = strings.ToLower(from)
	}
	if SameLanguage(detected, to) {
		return text, detected
	}
	if t, ok := phrases[text][primary(to)]; ok {
		return t, detected
	}
	return "[" + primary(to) + "] " + text, detected
}

// Detect is the language the engine sees in text.
func Detect(text string) string {
	for _, r := range text {
		switch {
		case unicode.In(r, unicode.Hiragana, unicode.Katakana):
			return "ja"
		case unicode.Is(unicode.Hangul, r):
			return "ko"
		case unicode.Is(unicode.Cyrillic, r):
			return "ru"
		}
	}
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return "zh"
		}
	}
	words := " " + strings.ToLower(text) + " "
	for lang, hints := range map[string][]string{
		"de": {" die ", " der ", " und ", " nicht ", " ist "},
		"es": {" la ", " el ", " es ", " muy ", " aplicación "},
		"fr": {" le ", " les ", " est ", " très "},
	} {
		for _, h := range hints {
			if strings.Contains(words, h) {
				return lang
			}
		}
	}
	return "en"
}

// Languages are the languages the engine translates between.
var Languages = []string{"en", "de", "es", "fr", "ja", "ko", "ru", "zh", "pt", "it"}

// Supported reports whether the engine translates lang (its primary tag).
func Supported(lang string) bool {
	for _, l := range Languages {
		if l == primary(lang) {
			return true
		}
	}
	return false
}

// SameLanguage compares primary tags.
func SameLanguage(a, b string) bool { return primary(a) == primary(b) }

func primary(tag string) string {
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}
