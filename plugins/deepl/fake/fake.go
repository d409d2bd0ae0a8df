// Package fake is a fake DeepL API, written from DeepL's API documentation
// (developers.deepl.com: "Authentication", the text translation OpenAPI
// reference, "Error handling", "Retrieve usage & quota"; see
// ../testdata/vendor): requests carry "Authorization: DeepL-Auth-Key KEY"
// (403 otherwise), POST /v2/translate takes JSON {"text": [...],
// "target_lang", "source_lang"?} and answers {"translations":
// [{"detected_source_language", "text"}]} in the texts' order, an unknown
// target is 400 "Value for 'target_lang' not supported.", more than 50
// texts 413 (GUESS: DeepL documents the limit, not the status), a spent
// character quota 456 "Quota Exceeded", GET /v2/usage answers
// {character_count, character_limit} and GET /v2/languages the languages.
// Error bodies are {"message": "…"}. Translations come from faketranslate.
// Safe for concurrent use.
package fake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/plugins/internal/faketranslate"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// Server is the fake.
type Server struct {
	faults.Faults

	mu       sync.Mutex
	key      string
	count    int64
	limit    int64
	spent    bool
	received []sdktest.VendorTranslateRequest
}

// New returns a fake accepting key, with an API Free quota (500,000).
func New(key string) *Server { return &Server{key: key, limit: 500000} }

// Settings are plugin settings pointing at the fake at base.
func (s *Server) Settings(base string) map[string]string {
	return map[string]string{"auth_key": s.key, "base_url": base}
}

// SetLimit sets the account's character limit for the period.
func (s *Server) SetLimit(n int64) { s.mu.Lock(); s.limit = n; s.mu.Unlock() }

// Exhaust makes every translation answer 456 (sdktest.QuotaExhauster).
func (s *Server) Exhaust(spent bool) { s.mu.Lock(); s.spent = spent; s.mu.Unlock() }

// Characters are the characters billed so far.
func (s *Server) Characters() int64 { s.mu.Lock(); defer s.mu.Unlock(); return s.count }

// CharacterLimit is the most characters one request may carry: DeepL's
// 128 KiB body, at four bytes a character at worst (sdktest.CharacterLimiter).
func (s *Server) CharacterLimit() int { return 128 * 1024 / 4 }

// Received is every translation request read (sdktest.TranslatorVendor).
func (s *Server) Received() []sdktest.VendorTranslateRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Expect is the fake's translation of text (sdktest.TranslatorVendor).
func (s *Server) Expect(text, to string) (string, string) {
	return faketranslate.Translate(text, "", to)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

var targets = map[string]bool{"EN-US": true, "EN-GB": true, "PT-BR": true, "PT-PT": true, "ZH-HANS": true, "ZH-HANT": true}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.Next(); ok {
		if f.RateLimited {
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
			}
			fail(w, http.StatusTooManyRequests, "Too many requests")
			return
		}
		http.Error(w, "injected fault", f.Status)
		return
	}
	if r.Header.Get("Authorization") != "DeepL-Auth-Key "+s.key {
		fail(w, http.StatusForbidden, "Authorization failure, check auth_key")
		return
	}
	switch {
	case r.URL.Path == "/v2/usage" && r.Method == http.MethodGet:
		s.mu.Lock()
		writeJSON(w, http.StatusOK, map[string]int64{"character_count": s.count, "character_limit": s.limit})
		s.mu.Unlock()
	case r.URL.Path == "/v2/languages" && r.Method == http.MethodGet:
		var out []map[string]string
		for _, l := range faketranslate.Languages {
			out = append(out, map[string]string{"language": strings.ToUpper(l), "name": l})
		}
		writeJSON(w, http.StatusOK, out)
	case r.URL.Path == "/v2/translate" && r.Method == http.MethodPost:
		s.translate(w, r)
	default:
		fail(w, http.StatusNotFound, "Not found")
	}
}

func (s *Server) translate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text       []string `json:"text"`
		TargetLang string   `json:"target_lang"`
		SourceLang string   `json:"source_lang"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Bad request. Reason: invalid JSON")
		return
	}
	switch target := strings.ToUpper(req.TargetLang); {
	case len(req.Text) == 0:
		fail(w, http.StatusBadRequest, "Parameter 'text' not specified.")
		return
	case req.TargetLang == "":
		fail(w, http.StatusBadRequest, "Parameter 'target_lang' not specified.")
		return
	case target == "EN" || target == "PT" || !targets[target] && (strings.Contains(target, "-") || !faketranslate.Supported(target)):
		fail(w, http.StatusBadRequest, "Value for 'target_lang' not supported.")
		return
	case req.SourceLang != "" && (strings.Contains(req.SourceLang, "-") || !faketranslate.Supported(req.SourceLang)):
		fail(w, http.StatusBadRequest, "Value for 'source_lang' not supported.")
		return
	case len(req.Text) > 50:
		fail(w, http.StatusRequestEntityTooLarge, "Too many texts (at most 50 per request)")
		return
	}
	n := 0
	for _, t := range req.Text {
		n += utf8.RuneCountInString(t)
	}
	s.mu.Lock()
	s.received = append(s.received, sdktest.VendorTranslateRequest{Texts: slices.Clone(req.Text), From: strings.ToLower(req.SourceLang), To: req.TargetLang})
	if s.spent || s.limit > 0 && s.count+int64(n) > s.limit {
		s.mu.Unlock()
		fail(w, 456, "Quota Exceeded")
		return
	}
	s.count += int64(n)
	s.mu.Unlock()
	type translation struct {
		Detected string `json:"detected_source_language"`
		Text     string `json:"text"`
	}
	out := make([]translation, len(req.Text))
	for i, t := range req.Text {
		text, lang := faketranslate.Translate(t, strings.ToLower(req.SourceLang), req.TargetLang)
		out[i] = translation{Detected: strings.ToUpper(lang), Text: text}
	}
	writeJSON(w, http.StatusOK, map[string]any{"translations": out})
}
