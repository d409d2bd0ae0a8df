// Package fake is a fake LibreTranslate server, written from LibreTranslate's
// API documentation (docs.libretranslate.com/guides/api_usage) and the
// behaviour its own API tests pin (LibreTranslate/LibreTranslate
// libretranslate/tests/test_api; see ../testdata/vendor): POST /translate
// takes q as a string or an array (JSON or form), source "auto" detects and
// answers detectedLanguage ({confidence, language}, one per text for an
// array), an unknown language is 400 "xx is not supported", a missing q
// 400 "Invalid request: missing q parameter", a text over the char limit
// 400 "… exceeds text limit …", a wrong api_key 403 "Invalid API key", a
// missing one (when keys are required) 400 "Please contact the server
// operator to get an API key"; POST /detect answers [{confidence,
// language}]; GET /languages [{code, name, targets}]. Translations come
// from faketranslate. Safe for concurrent use.
package fake

import (
	"encoding/json"
	"fmt"
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

	mu        sync.Mutex
	key       string // "": no key required
	charLimit int
	received  []sdktest.VendorTranslateRequest
	chars     int
}

// New returns a fake that wants no API key and takes 5000 characters per
// request (its --char-limit).
func New() *Server { return &Server{charLimit: 5000} }

// RequireKey makes the server want api_key (as with --api-keys).
func (s *Server) RequireKey(key string) { s.mu.Lock(); s.key = key; s.mu.Unlock() }

// SetCharLimit sets the server's --char-limit.
func (s *Server) SetCharLimit(n int) { s.mu.Lock(); s.charLimit = n; s.mu.Unlock() }

// CharacterLimit is the server's --char-limit (sdktest.CharacterLimiter).
func (s *Server) CharacterLimit() int { s.mu.Lock(); defer s.mu.Unlock(); return s.charLimit }

// Received is every translation request read (sdktest.TranslatorVendor).
func (s *Server) Received() []sdktest.VendorTranslateRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Characters are the characters translated so far.
func (s *Server) Characters() int { s.mu.Lock(); defer s.mu.Unlock(); return s.chars }

// Expect is the fake's translation of text (sdktest.TranslatorVendor).
func (s *Server) Expect(text, to string) (string, string) {
	return faketranslate.Translate(text, "", to)
}

// Settings are plugin settings pointing at the fake at base.
func (s *Server) Settings(base string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]string{"base_url": base, "api_key": s.key}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// request is a request's parameters, from a JSON or a form body.
type request struct {
	q                      []string
	qGiven, qArray         bool
	source, target, apiKey string
}

// parse reads a request; a non-empty problem is LibreTranslate's message
// for a request it cannot read.
func parse(r *http.Request) (out request, problem string) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return out, "Invalid JSON format"
		}
		if raw, ok := body["q"]; ok {
			out.qGiven = true
			var one string
			if json.Unmarshal(raw, &one) == nil {
				out.q = []string{one}
			} else if json.Unmarshal(raw, &out.q) == nil {
				out.qArray = true
			} else {
				return out, "Invalid request: q must be a string or an array of strings"
			}
		}
		str := func(k string) string { var v string; _ = json.Unmarshal(body[k], &v); return v }
		out.source, out.target, out.apiKey = str("source"), str("target"), str("api_key")
		return out, ""
	}
	if err := r.ParseForm(); err != nil {
		return out, "Invalid request: " + err.Error()
	}
	if v, ok := r.PostForm["q"]; ok {
		out.qGiven, out.q = true, v[:1]
	}
	out.source, out.target, out.apiKey = r.PostForm.Get("source"), r.PostForm.Get("target"), r.PostForm.Get("api_key")
	return out, ""
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.Next(); ok {
		if f.RateLimited {
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
			}
			fail(w, http.StatusTooManyRequests, "Slowdown: 1 per 1 minute")
			return
		}
		http.Error(w, "injected fault", f.Status)
		return
	}
	switch {
	case r.URL.Path == "/languages" && r.Method == http.MethodGet:
		var out []map[string]any
		for _, l := range faketranslate.Languages {
			out = append(out, map[string]any{"code": l, "name": l, "targets": faketranslate.Languages})
		}
		writeJSON(w, http.StatusOK, out)
	case r.URL.Path == "/translate" || r.URL.Path == "/detect":
		if r.Method != http.MethodPost {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		req, problem := parse(r)
		if problem != "" {
			fail(w, http.StatusBadRequest, problem)
			return
		}
		if !s.authorized(w, req) {
			return
		}
		if r.URL.Path == "/detect" {
			s.detect(w, req)
			return
		}
		s.translate(w, req)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) authorized(w http.ResponseWriter, req request) bool {
	s.mu.Lock()
	key := s.key
	s.mu.Unlock()
	switch {
	case key == "":
		return true
	case req.apiKey == "":
		fail(w, http.StatusBadRequest, "Please contact the server operator to get an API key")
		return false
	case req.apiKey != key:
		fail(w, http.StatusForbidden, "Invalid API key")
		return false
	}
	return true
}

func (s *Server) detect(w http.ResponseWriter, req request) {
	if !req.qGiven || len(req.q) == 0 {
		fail(w, http.StatusBadRequest, "Invalid request: missing q parameter")
		return
	}
	writeJSON(w, http.StatusOK, []map[string]any{{"confidence": 90.0, "language": faketranslate.Detect(req.q[0])}})
}

func (s *Server) translate(w http.ResponseWriter, req request) {
	switch {
	case !req.qGiven || len(req.q) == 0:
		fail(w, http.StatusBadRequest, "Invalid request: missing q parameter")
		return
	case req.source == "":
		fail(w, http.StatusBadRequest, "Invalid request: missing source parameter")
		return
	case req.target == "":
		fail(w, http.StatusBadRequest, "Invalid request: missing target parameter")
		return
	case req.source != "auto" && !faketranslate.Supported(req.source):
		fail(w, http.StatusBadRequest, req.source+" is not supported")
		return
	case !faketranslate.Supported(req.target):
		fail(w, http.StatusBadRequest, req.target+" is not supported")
		return
	}
	n := 0
	for _, q := range req.q {
		n += utf8.RuneCountInString(q)
	}
	from := req.source
	if from == "auto" {
		from = ""
	}
	s.mu.Lock()
	s.received = append(s.received, sdktest.VendorTranslateRequest{Texts: slices.Clone(req.q), From: from, To: req.target})
	limit := s.charLimit
	if limit <= 0 || n <= limit {
		s.chars += n
	}
	s.mu.Unlock()
	if limit > 0 && n > limit {
		fail(w, http.StatusBadRequest, fmt.Sprintf("Invalid request: request (%d) exceeds text limit (%d)", n, limit))
		return
	}
	texts := make([]string, len(req.q))
	detected := make([]map[string]any, len(req.q))
	for i, q := range req.q {
		var lang string
		texts[i], lang = faketranslate.Translate(q, from, req.target)
		detected[i] = map[string]any{"confidence": 90.0, "language": lang}
	}
	out := map[string]any{}
	if req.qArray {
		out["translatedText"] = texts
		if from == "" {
			out["detectedLanguage"] = detected
		}
	} else {
		out["translatedText"] = texts[0]
		if from == "" {
			out["detectedLanguage"] = detected[0]
		}
	}
	writeJSON(w, http.StatusOK, out)
}
