// Package rules decides, for one new or edited review, what the hub's
// automation does: the tags rules add to the ticket, and the reply a rule
// drafts for approval or posts by itself. It is pure: the guardrails that
// need counts (the daily cap per app, the per-reviewer cooldown) and the
// delay before posting are applied by the caller with the state, from the
// values this package validated.
package rules

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/sdk"
)

// Modes of a reply rule.
const (
	// ModeApproval puts the draft in the ticket as a note; it is published
	// when staff answer with its text or with ApproveCommand.
	ModeApproval = "approval"
	// ModeAuto publishes the reply; the ticket gets the outcome (or no
	// ticket is made, when the rule says ticket: false).
	ModeAuto = "auto"
)

// ApproveCommand, at the start of a staff answer in a ticket with a draft,
// publishes the draft instead of the answer's text.
const ApproveCommand = "/approve"

// Text presence condition values.
const (
	TextAny     = "any"
	TextWith    = "with"
	TextWithout = "without"
)

// ChangeEdited in a rule's changes stands for every kind of edit.
const ChangeEdited = "edited"

// Guardrail defaults and bounds.
const (
	DefaultDailyCap = 100
	MaxDailyCap     = 100000
	MaxDelay        = 24 * time.Hour
	MaxCooldown     = 365 * 24 * time.Hour
	maxRules        = 200
	maxTemplates    = 200
	maxKeywords     = 200
)

// Automation is one integration's auto-replies: guardrails, templates and
// rules. The zero value does nothing.
type Automation struct {
	// Enabled is the declared switch (nil: on). The admin API's kill
	// switch stops automation too, whatever this says.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled"`
	// DailyCap bounds the replies posted automatically per app per UTC day
	// (0: DefaultDailyCap). Drafts for approval are not counted.
	DailyCap int `json:"daily_cap,omitempty" yaml:"daily_cap"`
	// Delay before an automatic reply is posted (0: at once).
	Delay Duration `json:"delay,omitzero" yaml:"delay,omitempty"`
	// Cooldown: a reviewer (by author name, per app) gets at most one
	// automatic reply within it (0: no cooldown).
	Cooldown Duration `json:"cooldown,omitzero" yaml:"cooldown,omitempty"`
	// Exceptions are keywords that always route a review to a person: no
	// rule replies to (or drafts for) a review that contains one.
	Exceptions []string   `json:"exceptions,omitempty" yaml:"exceptions"`
	Templates  []Template `json:"templates,omitempty" yaml:"templates"`
	// Rules are looked at in order: every matching tag rule adds its tags,
	// the first matching reply rule replies.
	Rules []Rule `json:"rules,omitempty" yaml:"rules"`
}

// Rule is a condition and an action.
type Rule struct {
	ID string `json:"id" yaml:"id"`
	// Enabled: nil means on.
	Enabled *bool      `json:"enabled,omitempty" yaml:"enabled"`
	When    Conditions `json:"when" yaml:"when"`
	// Reply names a template to reply with; a rule without it only tags.
	Reply string `json:"reply,omitempty" yaml:"reply"`
	// Tags are added to the ticket.
	Tags []string `json:"tags,omitempty" yaml:"tags"`
	// Mode of a reply rule: ModeApproval (default) or ModeAuto.
	Mode string `json:"mode,omitempty" yaml:"mode"`
	// Ticket (auto mode): false publishes the reply without making or
	// updating a ticket; should the reply be refused or fail, the review
	// is delivered to a person after all. Default true.
	Ticket *bool `json:"ticket,omitempty" yaml:"ticket"`
}

// Conditions of a rule; every given one must hold (empty: any).
type Conditions struct {
	// Apps are app ids of the integration; Stores store plugin names.
	Apps   []string `json:"apps,omitempty" yaml:"apps"`
	Stores []string `json:"stores,omitempty" yaml:"stores"`
	// Ratings the review has now.
	Ratings []int `json:"ratings,omitempty" yaml:"ratings"`
	// Languages (BCP 47, matched by base language) and countries (ISO
	// 3166-1). A review without a language or country does not match them.
	Languages []string `json:"languages,omitempty" yaml:"languages"`
	Countries []string `json:"countries,omitempty" yaml:"countries"`
	// MinWords and MaxWords bound the length of title and text, counted
	// as the app filters count them (CJK and Thai included).
	MinWords *int `json:"min_words,omitempty" yaml:"min_words"`
	MaxWords *int `json:"max_words,omitempty" yaml:"max_words"`
	// Text: TextWith (a title or text), TextWithout (a rating only) or TextAny.
	Text string `json:"text,omitempty" yaml:"text"`
	// Keywords: at least one must appear; ExcludeKeywords: none may.
	Keywords        []string `json:"keywords,omitempty" yaml:"keywords"`
	ExcludeKeywords []string `json:"exclude_keywords,omitempty" yaml:"exclude_keywords"`
	// Changes: new, edited (any edit), updated, better, worse (empty: all).
	Changes []string `json:"changes,omitempty" yaml:"changes"`
}

// Duration is a time.Duration written as "10m" in YAML and JSON. A value
// that does not parse is kept and reported by Compile, naming its field.
type Duration struct {
	d   time.Duration
	bad string
}

// Dur makes a Duration.
func Dur(d time.Duration) Duration { return Duration{d: d} }

// D is the time.Duration.
func (d Duration) D() time.Duration { return d.d }

// IsZero reports a zero (or unset) duration.
func (d Duration) IsZero() bool { return d.d == 0 && d.bad == "" }

// MarshalJSON writes "10m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.d.String()) }

// UnmarshalJSON reads "10m" (or 0).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if json.Unmarshal(b, &n) == nil && n == 0 {
			*d = Duration{}
			return nil
		}
		*d = Duration{bad: string(b)}
		return nil
	}
	d.parse(s)
	return nil
}

// MarshalYAML writes "10m0s".
func (d Duration) MarshalYAML() (any, error) { return d.d.String(), nil }

// UnmarshalYAML reads "10m".
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		*d = Duration{bad: "a non-string value"}
		return nil
	}
	d.parse(s)
	return nil
}

func (d *Duration) parse(s string) {
	if strings.TrimSpace(s) == "" || s == "0" {
		*d = Duration{}
		return
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		*d = Duration{bad: s}
		return
	}
	*d = Duration{d: v}
}

// check reports a value that did not parse, or one outside 0..maxD.
func (d Duration) check(field string, maxD time.Duration, add func(field, format string, args ...any)) {
	switch {
	case d.bad != "":
		add(field, "%q is not a duration such as \"10m\" or \"24h\"", clip(d.bad))
	case d.d < 0 || d.d > maxD:
		add(field, "%s is outside 0..%s", d.d, maxD)
	}
}

// FieldError names the field that is wrong, as a path inside Automation
// ("rules[2].when.ratings").
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

const idRule = "must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit"

func validID(s string) bool { return idPattern.MatchString(s) }

func clip(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}

// On reports whether the declared switch lets rules run.
func (a Automation) On() bool { return (a.Enabled == nil || *a.Enabled) && len(a.Rules) > 0 }

// Cap is the effective daily cap per app.
func (a Automation) Cap() int {
	if a.DailyCap == 0 {
		return DefaultDailyCap
	}
	return a.DailyCap
}

// Template returns a template by id.
func (a Automation) Template(id string) (Template, bool) {
	for _, t := range a.Templates {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}

// Engine is an Automation compiled by Compile: validated, its codes made
// canonical, its keywords and templates parsed once. It is never changed
// after Compile, so one Engine serves concurrent evaluations.
type Engine struct {
	auto       Automation // the canonical declaration, the engine's own copy
	exceptions []filter.Keyword
	rules      []compiledRule
	templates  map[string]compiledTemplate
}

// compiledRule is a rule with its keywords parsed.
type compiledRule struct {
	Rule
	keywords, exclude []filter.Keyword
}

// Compile validates the automation and compiles it. apps and stores, when
// not nil, are the integration's app ids and store plugin names that
// rules may name. Every wrong field is reported (and no Engine returned).
// a is not changed: the Engine works on its own copy, whose canonical
// form (language and country codes, default modes) Automation returns.
func Compile(a Automation, apps, stores []string) (*Engine, []*FieldError) {
	var errs []*FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, args...)})
	}
	e := &Engine{auto: a.clone(), templates: map[string]compiledTemplate{}}
	c := &e.auto
	if c.DailyCap < 0 || c.DailyCap > MaxDailyCap {
		add("daily_cap", "%d is outside 1..%d (0: the default, %d)", c.DailyCap, MaxDailyCap, DefaultDailyCap)
	}
	c.Delay.check("delay", MaxDelay, add)
	c.Cooldown.check("cooldown", MaxCooldown, add)
	e.exceptions = parseKeywords("exceptions", c.Exceptions, add)
	if len(c.Templates) > maxTemplates {
		add("templates", "has %d templates; at most %d", len(c.Templates), maxTemplates)
	}
	for i := range c.Templates {
		t := &c.Templates[i]
		p := fmt.Sprintf("templates[%d]", i)
		ct, fe := compileTemplate(t)
		if fe != nil {
			add(p+"."+fe.Field, "%s", fe.Reason)
			continue
		}
		if _, dup := e.templates[t.ID]; dup {
			add(p+".id", "%q is used twice", t.ID)
		}
		e.templates[t.ID] = ct
	}
	if len(c.Rules) > maxRules {
		add("rules", "has %d rules; at most %d", len(c.Rules), maxRules)
	}
	ruleIDs := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		p := fmt.Sprintf("rules[%d]", i)
		if !validID(r.ID) {
			add(p+".id", "%q %s", clip(r.ID), idRule)
		} else if ruleIDs[r.ID] {
			add(p+".id", "%q is used twice", r.ID)
		}
		ruleIDs[r.ID] = true
		if r.Reply == "" && len(r.Tags) == 0 {
			add(p, "a rule needs an action: reply (a template id) and/or tags")
		}
		if _, ok := e.templates[r.Reply]; r.Reply != "" && !ok {
			add(p+".reply", "no template %q (templates: %s)", clip(r.Reply), strings.Join(slices.Sorted(maps.Keys(e.templates)), ", "))
		}
		switch r.Mode {
		case "":
			if r.Reply != "" {
				r.Mode = ModeApproval
			}
		case ModeApproval, ModeAuto:
			if r.Reply == "" {
				add(p+".mode", "is for reply rules; this rule only tags")
			}
		default:
			add(p+".mode", "%q is not one of %s, %s", clip(r.Mode), ModeApproval, ModeAuto)
		}
		if r.Ticket != nil && !*r.Ticket && r.Mode != ModeAuto {
			add(p+".ticket", "false is for mode %s only: a draft for approval and tags live in the ticket", ModeAuto)
		}
		for j, tag := range r.Tags {
			if strings.TrimSpace(tag) == "" || len(tag) > 100 || strings.ContainsAny(tag, ",\n") {
				add(fmt.Sprintf("%s.tags[%d]", p, j), "%q is not a tag (1-100 characters, no comma or line break)", clip(tag))
			}
		}
		cr := compiledRule{}
		cr.keywords, cr.exclude = r.When.compile(p+".when", apps, stores, add)
		cr.Rule = *r
		e.rules = append(e.rules, cr)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return e, nil
}

// Automation is the compiled automation's declaration in canonical form
// (a copy: changing it changes nothing in the Engine). A nil Engine's is
// the zero Automation.
func (e *Engine) Automation() Automation {
	if e == nil {
		return Automation{}
	}
	return e.auto.clone()
}

// clone is a deep copy: the copy shares no slice, map or pointer with a.
func (a Automation) clone() Automation {
	out := a
	out.Enabled = clonePtr(a.Enabled)
	out.Exceptions = slices.Clone(a.Exceptions)
	out.Templates = slices.Clone(a.Templates)
	for i, t := range out.Templates {
		out.Templates[i].Variants = maps.Clone(t.Variants)
	}
	out.Rules = slices.Clone(a.Rules)
	for i, r := range out.Rules {
		out.Rules[i].Enabled, out.Rules[i].Ticket = clonePtr(r.Enabled), clonePtr(r.Ticket)
		out.Rules[i].Tags = slices.Clone(r.Tags)
		w := &out.Rules[i].When
		w.Apps, w.Stores, w.Ratings = slices.Clone(w.Apps), slices.Clone(w.Stores), slices.Clone(w.Ratings)
		w.Languages, w.Countries = slices.Clone(w.Languages), slices.Clone(w.Countries)
		w.MinWords, w.MaxWords = clonePtr(w.MinWords), clonePtr(w.MaxWords)
		w.Keywords, w.ExcludeKeywords, w.Changes = slices.Clone(w.Keywords), slices.Clone(w.ExcludeKeywords), slices.Clone(w.Changes)
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func parseKeywords(field string, in []string, add func(field, format string, args ...any)) []filter.Keyword {
	if len(in) > maxKeywords {
		add(field, "has %d keywords; at most %d", len(in), maxKeywords)
		return nil
	}
	out := make([]filter.Keyword, 0, len(in))
	for i, s := range in {
		k, err := filter.ParseKeyword(s)
		if err != nil {
			add(fmt.Sprintf("%s[%d]", field, i), "%s", err.Error())
			continue
		}
		out = append(out, k)
	}
	return out
}

// compile checks the conditions of the rule at p, makes their codes
// canonical (on the Engine's copy) and parses their keywords.
func (c *Conditions) compile(p string, apps, stores []string, add func(field, format string, args ...any)) (keywords, exclude []filter.Keyword) {
	for i, id := range c.Apps {
		if apps != nil && !slices.Contains(apps, id) {
			add(fmt.Sprintf("%s.apps[%d]", p, i), "no app %q in this integration (apps: %s)", clip(id), strings.Join(apps, ", "))
		}
	}
	for i, s := range c.Stores {
		if stores != nil && !slices.Contains(stores, s) {
			add(fmt.Sprintf("%s.stores[%d]", p, i), "no app of this integration is in store %q (stores: %s)", clip(s), strings.Join(stores, ", "))
		}
	}
	for i, r := range c.Ratings {
		if r < 1 || r > 5 {
			add(fmt.Sprintf("%s.ratings[%d]", p, i), "%d is outside 1..5", r)
		}
	}
	for i, l := range c.Languages {
		n, err := filter.NormalizeLanguage(l)
		if err != nil {
			add(fmt.Sprintf("%s.languages[%d]", p, i), "%s", err.Error())
			continue
		}
		c.Languages[i] = n
	}
	for i, cc := range c.Countries {
		n, err := filter.NormalizeCountry(cc)
		if err != nil {
			add(fmt.Sprintf("%s.countries[%d]", p, i), "%s", err.Error())
			continue
		}
		c.Countries[i] = n
	}
	if c.MinWords != nil && *c.MinWords < 0 {
		add(p+".min_words", "%d is negative", *c.MinWords)
	}
	if c.MaxWords != nil && *c.MaxWords < 0 {
		add(p+".max_words", "%d is negative", *c.MaxWords)
	}
	if c.MinWords != nil && c.MaxWords != nil && *c.MinWords > *c.MaxWords {
		add(p+".max_words", "%d is less than min_words %d", *c.MaxWords, *c.MinWords)
	}
	switch c.Text {
	case "":
		c.Text = TextAny
	case TextAny, TextWith, TextWithout:
	default:
		add(p+".text", "%q is not one of %s, %s, %s", clip(c.Text), TextAny, TextWith, TextWithout)
	}
	for i, ch := range c.Changes {
		switch ch {
		case sdk.ChangeKindNew, ChangeEdited, sdk.ChangeKindUpdated, sdk.ChangeKindBetter, sdk.ChangeKindWorse:
		default:
			add(fmt.Sprintf("%s.changes[%d]", p, i), "%q is not one of new, edited, updated, better, worse", clip(ch))
		}
	}
	return parseKeywords(p+".keywords", c.Keywords, add), parseKeywords(p+".exclude_keywords", c.ExcludeKeywords, add)
}

// Input is one review change as the rules see it.
type Input struct {
	AppID     string
	AppName   string
	Store     string // store plugin name
	StoreName string // how people call the store
	Kind      string // sdk.Change*
	Review    sdk.Review
	// AnsweredByPerson: the review's last published or pending answer
	// came from staff; automation never replaces it.
	AnsweredByPerson bool
	// AnswerPending: an answer is on its way already.
	AnswerPending bool
	// Translated is the review's machine translation into the team's
	// language ("": none): keywords and exception keywords match it as
	// well as the review's own title and text (issue 28).
	Translated string
}

// Decision is what the automation does with one review change.
type Decision struct {
	// Tags of every matching rule.
	Tags []string
	// Reply asked for by the first matching reply rule; nil: none.
	Reply *Reply
	// Held, when a reply rule matched but the review goes to a person
	// instead, says why (for the ticket); HeldRule is that rule.
	Held     string
	HeldRule string
}

// Reply is a rule's reply to one review.
type Reply struct {
	Rule   string
	Mode   string
	Ticket bool
	Text   string
}

// Evaluate decides for one review change. A nil Engine (no automation)
// and automation switched off decide nothing.
func (e *Engine) Evaluate(in Input) Decision {
	var d Decision
	if e == nil || !e.auto.On() {
		return d
	}
	body := strings.TrimSpace(in.Review.Title + "\n" + in.Review.Text)
	text := filter.PrepareText(strings.TrimSpace(body + "\n" + in.Translated))
	words := -1 // counted when a rule needs it
	replyDecided := false
	for _, r := range e.rules {
		if r.Enabled != nil && !*r.Enabled {
			continue
		}
		if r.Reply != "" && replyDecided && len(r.Tags) == 0 {
			continue
		}
		if !r.match(in, body, text, &words) {
			continue
		}
		d.Tags = appendNew(d.Tags, r.Tags...)
		if r.Reply == "" || replyDecided {
			continue
		}
		replyDecided = true
		if held := e.hold(in, text); held != "" {
			d.Held, d.HeldRule = held, r.ID
			continue
		}
		out, ok := e.templates[r.Reply].render(VarsOf(in))
		if !ok || out == "" {
			d.Held, d.HeldRule = fmt.Sprintf("template %q has no text for language %q and no default text", r.Reply, in.Review.Language), r.ID
			continue
		}
		d.Reply = &Reply{Rule: r.ID, Mode: r.Mode, Ticket: r.Mode != ModeAuto || r.Ticket == nil || *r.Ticket, Text: out}
	}
	return d
}

// hold says why a matching reply rule leaves the review to a person ("":
// it does not).
func (e *Engine) hold(in Input, text filter.Text) string {
	for _, k := range e.exceptions {
		if k.In(text) {
			return fmt.Sprintf("the review mentions %q, an exception keyword: a person answers it", k.String())
		}
	}
	if in.AnsweredByPerson {
		return "staff answered this review; automation does not replace a person's answer"
	}
	if in.AnswerPending {
		return "an answer to this review is on its way already"
	}
	return ""
}

// VarsOf are the template variables of a review.
func VarsOf(in Input) Vars {
	lang := in.Review.Language
	if l, err := filter.NormalizeLanguage(lang); err == nil && lang != "" {
		lang = l
	}
	store := in.StoreName
	if store == "" {
		store = in.Store
	}
	return Vars{Reviewer: in.Review.Author, App: in.AppName, Rating: in.Review.Rating, Store: store, Language: lang}
}

func (cr compiledRule) match(in Input, body string, text filter.Text, words *int) bool {
	c, r := cr.When, in.Review
	if len(c.Apps) > 0 && !slices.Contains(c.Apps, in.AppID) {
		return false
	}
	if len(c.Stores) > 0 && !slices.Contains(c.Stores, in.Store) {
		return false
	}
	if len(c.Ratings) > 0 && !slices.Contains(c.Ratings, r.Rating) {
		return false
	}
	if len(c.Languages) > 0 {
		l, err := filter.NormalizeLanguage(r.Language)
		if r.Language == "" || err != nil || !slices.Contains(c.Languages, l) {
			return false
		}
	}
	if len(c.Countries) > 0 {
		cc, err := filter.NormalizeCountry(r.Country)
		if err != nil || !slices.Contains(c.Countries, cc) {
			return false
		}
	}
	if len(c.Changes) > 0 && !c.changeMatches(in.Kind) {
		return false
	}
	switch c.Text {
	case TextWith:
		if body == "" {
			return false
		}
	case TextWithout:
		if body != "" {
			return false
		}
	}
	if c.MinWords != nil || c.MaxWords != nil {
		if *words < 0 {
			*words = filter.CountWords(body)
		}
		if c.MinWords != nil && *words < *c.MinWords || c.MaxWords != nil && *words > *c.MaxWords {
			return false
		}
	}
	if len(cr.keywords) > 0 {
		found := false
		for _, k := range cr.keywords {
			if k.In(text) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	for _, k := range cr.exclude {
		if k.In(text) {
			return false
		}
	}
	return true
}

func (c Conditions) changeMatches(kind string) bool {
	for _, ch := range c.Changes {
		if ch == kind || ch == ChangeEdited && kind != sdk.ChangeKindNew {
			return true
		}
	}
	return false
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// StoreName is how people call a store: its plugin's Info.DisplayName.
// A plugin that declares none (built before the field existed) is called
// by its plugin name, the hub's name for it: the neutral fallback. No
// name is ever guessed from the plugin's description or a list of
// stores: a store's name is the store plugin's to give.
func StoreName(plugin string, info sdk.Info) string {
	if name := strings.TrimSpace(info.DisplayName); name != "" {
		return name
	}
	return plugin
}

// IsApprove reports whether a staff answer is the approve command: it
// starts with ApproveCommand (any case) followed by nothing, a space or
// punctuation. The draft is then published as it is; whatever follows
// the command is not published.
func IsApprove(answer string) bool {
	s := strings.TrimSpace(answer)
	if len(s) < len(ApproveCommand) || !strings.EqualFold(s[:len(ApproveCommand)], ApproveCommand) {
		return false
	}
	rest := s[len(ApproveCommand):]
	if rest == "" {
		return true
	}
	r := []rune(rest)[0]
	return unicode.IsSpace(r) || unicode.IsPunct(r)
}

// SameText reports whether a staff answer is a draft's text, up to
// white space (a helpdesk may rewrap it): answering with the draft
// approves it.
func SameText(answer, draft string) bool {
	return strings.Join(strings.Fields(answer), " ") == strings.Join(strings.Fields(draft), " ")
}

// Matcher is a set of Conditions compiled on their own: the automation's
// matching, for other routes of reviews (issue 29's notification routes).
type Matcher struct{ r compiledRule }

// CompileConditions checks c (fields named under p, every app and store
// allowed) and compiles it; c is not changed.
func CompileConditions(c Conditions, p string) (*Matcher, []*FieldError) {
	var errs []*FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, args...)})
	}
	c.Languages, c.Countries = slices.Clone(c.Languages), slices.Clone(c.Countries)
	kw, ex := c.compile(p, nil, nil, add)
	if len(errs) > 0 {
		return nil, errs
	}
	return &Matcher{r: compiledRule{Rule: Rule{When: c}, keywords: kw, exclude: ex}}, nil
}

// Match reports whether the review change in holds every condition.
func (m *Matcher) Match(in Input) bool {
	body := strings.TrimSpace(in.Review.Title + "\n" + in.Review.Text)
	text := filter.PrepareText(strings.TrimSpace(body + "\n" + in.Translated))
	words := -1
	return m.r.match(in, body, text, &words)
}
