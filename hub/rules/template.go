package rules

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/reviewhub/reviewhub/hub/filter"
)

// Template is a reply text with variables, in one default text and/or
// per-language variants. A review gets the variant of its language
// ("pt-BR" and "pt" both pick "pt"), else the default text; a template
// without a default text and without the review's language does not
// apply (the rule then leaves the review to a person).
//
// Variables are written {{name}} or {{name|fallback}}: the fallback is
// used when the value is empty (a store that gives no author name).
type Template struct {
	ID       string            `json:"id" yaml:"id"`
	Text     string            `json:"text,omitempty" yaml:"text"`
	Variants map[string]string `json:"variants,omitempty" yaml:"variants"`
}

// Template variables.
const (
	VarReviewer = "reviewer_name"
	VarApp      = "app_name"
	VarRating   = "rating"
	VarStore    = "store"
	VarLanguage = "language"
)

// Variables lists the variables templates may use.
var Variables = []string{VarReviewer, VarApp, VarRating, VarStore, VarLanguage}

// MaxTemplateLength bounds a template text (in characters; a store's own
// reply limit still applies to the rendered text).
const MaxTemplateLength = 5000

// Vars are the values of one review.
type Vars struct {
	Reviewer string
	App      string
	Rating   int
	Store    string
	Language string
}

func (v Vars) value(name string) string {
	switch name {
	case VarReviewer:
		return v.Reviewer
	case VarApp:
		return v.App
	case VarRating:
		if v.Rating == 0 {
			return ""
		}
		return strconv.Itoa(v.Rating)
	case VarStore:
		return v.Store
	case VarLanguage:
		return v.Language
	}
	return ""
}

// piece of a parsed text: a literal, or a variable with its fallback.
type piece struct {
	lit      string
	variable string
	fallback string
}

// parseText splits a template text into pieces; errors say what is wrong
// and where.
func parseText(s string) ([]piece, error) {
	var out []piece
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if strings.Contains(rest, "}}") {
				return nil, fmt.Errorf("has \"}}\" without \"{{\" before it")
			}
			if rest != "" {
				out = append(out, piece{lit: rest})
			}
			return out, nil
		}
		if strings.Contains(rest[:i], "}}") {
			return nil, fmt.Errorf("has \"}}\" without \"{{\" before it")
		}
		if i > 0 {
			out = append(out, piece{lit: rest[:i]})
		}
		rest = rest[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return nil, fmt.Errorf("has \"{{\" without a closing \"}}\"")
		}
		name, fallback, _ := strings.Cut(rest[:j], "|")
		name = strings.TrimSpace(name)
		if !slices.Contains(Variables, name) {
			return nil, fmt.Errorf("uses {{%s}}, which is not a variable (variables: %s)", clip(name), strings.Join(Variables, ", "))
		}
		out = append(out, piece{variable: name, fallback: strings.TrimSpace(fallback)})
		rest = rest[j+2:]
	}
}

// compiledTemplate is a template's texts parsed once: the default text and
// each language's variant (keys canonical).
type compiledTemplate struct {
	text     []piece
	hasText  bool
	variants map[string][]piece
}

// compileTemplate checks t, canonicalises its language keys (t is the
// Engine's copy) and parses its texts. Errors name the field (relative
// to the template).
func compileTemplate(t *Template) (compiledTemplate, *FieldError) {
	var ct compiledTemplate
	if !validID(t.ID) {
		return ct, &FieldError{"id", fmt.Sprintf("%q %s", clip(t.ID), idRule)}
	}
	if strings.TrimSpace(t.Text) == "" && len(t.Variants) == 0 {
		return ct, &FieldError{"text", "a template needs a text or per-language variants"}
	}
	if t.Text != "" {
		pieces, err := parseChecked(t.Text)
		if err != nil {
			return ct, &FieldError{"text", err.Error()}
		}
		ct.text, ct.hasText = pieces, strings.TrimSpace(t.Text) != ""
	}
	if len(t.Variants) > 0 {
		norm := make(map[string]string, len(t.Variants))
		ct.variants = make(map[string][]piece, len(t.Variants))
		for _, lang := range slices.Sorted(maps.Keys(t.Variants)) {
			text := t.Variants[lang]
			field := "variants." + clip(lang)
			l, err := filter.NormalizeLanguage(lang)
			if err != nil {
				return ct, &FieldError{field, err.Error()}
			}
			if _, dup := norm[l]; dup {
				return ct, &FieldError{field, fmt.Sprintf("is language %q, which another variant already gives", l)}
			}
			if strings.TrimSpace(text) == "" {
				return ct, &FieldError{field, "is empty"}
			}
			pieces, err := parseChecked(text)
			if err != nil {
				return ct, &FieldError{field, err.Error()}
			}
			norm[l], ct.variants[l] = text, pieces
		}
		t.Variants = norm
	}
	return ct, nil
}

// parseChecked parses a template text no longer than MaxTemplateLength.
func parseChecked(s string) ([]piece, error) {
	if n := len([]rune(s)); n > MaxTemplateLength {
		return nil, fmt.Errorf("is %d characters long; at most %d", n, MaxTemplateLength)
	}
	return parseText(s)
}

// render fills the template for a review: ok is false when the template
// has no text for the review's language.
func (ct compiledTemplate) render(v Vars) (string, bool) {
	pieces, ok := ct.text, ct.hasText
	if v.Language != "" && len(ct.variants) > 0 {
		if l, err := filter.NormalizeLanguage(v.Language); err == nil {
			if p, found := ct.variants[l]; found {
				pieces, ok = p, true
			}
		}
	}
	if !ok {
		return "", false
	}
	var b strings.Builder
	for _, p := range pieces {
		if p.variable == "" {
			b.WriteString(p.lit)
			continue
		}
		val := strings.TrimSpace(v.value(p.variable))
		if val == "" {
			val = p.fallback
		}
		b.WriteString(val)
	}
	return strings.TrimSpace(b.String()), true
}
