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

// Normalize checks the template and canonicalises its language keys.
// Errors name the field (relative to the template).
func (t *Template) Normalize() error {
	if !validID(t.ID) {
		return &FieldError{"id", fmt.Sprintf("%q %s", clip(t.ID), idRule)}
	}
	if strings.TrimSpace(t.Text) == "" && len(t.Variants) == 0 {
		return &FieldError{"text", "a template needs a text or per-language variants"}
	}
	if t.Text != "" {
		if err := checkText(t.Text); err != nil {
			return &FieldError{"text", err.Error()}
		}
	}
	if len(t.Variants) > 0 {
		norm := make(map[string]string, len(t.Variants))
		for _, lang := range slices.Sorted(maps.Keys(t.Variants)) {
			text := t.Variants[lang]
			field := "variants." + clip(lang)
			l, err := filter.NormalizeLanguage(lang)
			if err != nil {
				return &FieldError{field, err.Error()}
			}
			if _, dup := norm[l]; dup {
				return &FieldError{field, fmt.Sprintf("is language %q, which another variant already gives", l)}
			}
			if strings.TrimSpace(text) == "" {
				return &FieldError{field, "is empty"}
			}
			if err := checkText(text); err != nil {
				return &FieldError{field, err.Error()}
			}
			norm[l] = text
		}
		t.Variants = norm
	}
	return nil
}

func checkText(s string) error {
	if n := len([]rune(s)); n > MaxTemplateLength {
		return fmt.Errorf("is %d characters long; at most %d", n, MaxTemplateLength)
	}
	_, err := parseText(s)
	return err
}

// TextFor is the template text for a review language: its variant, else
// the default text; ok is false when neither exists.
func (t Template) TextFor(language string) (string, bool) {
	if language != "" && len(t.Variants) > 0 {
		if l, err := filter.NormalizeLanguage(language); err == nil {
			if s, ok := t.Variants[l]; ok {
				return s, true
			}
		}
	}
	return t.Text, strings.TrimSpace(t.Text) != ""
}

// Render fills the template for a review: ok is false when the template
// has no text for the review's language.
func (t Template) Render(v Vars) (string, bool, error) {
	text, ok := t.TextFor(v.Language)
	if !ok {
		return "", false, nil
	}
	pieces, err := parseText(text)
	if err != nil {
		return "", false, fmt.Errorf("template %q: %w", t.ID, err)
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
	return strings.TrimSpace(b.String()), true, nil
}
