package rules

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/reviewhub/reviewhub/sdk"
)

const example = `
daily_cap: 10
delay: 10m
cooldown: 24h
exceptions: [refund, crash*, 退款]
templates:
  - id: thanks
    text: "Thank you, {{reviewer_name|friend}}, for rating {{app_name}} {{rating}} stars on {{store}}!"
    variants:
      ru: "Спасибо, {{reviewer_name|друг}}!"
      pt-BR: "Obrigado!"
  - id: sorry-en
    variants: {en: "Sorry to hear that, {{reviewer_name}}."}
rules:
  - id: tag-bugs
    when: {keywords: [bug, 不好用, ไม่ดี]}
    tags: [bug]
  - id: five-stars
    when: {ratings: [5], text: without}
    reply: thanks
    mode: auto
    ticket: false
  - id: praise
    when: {ratings: [4, 5], changes: [new], exclude_keywords: [but]}
    reply: thanks
    mode: auto
  - id: low
    when: {ratings: [1, 2], languages: [en], min_words: 3}
    reply: sorry-en
    tags: [low]
`

func load(t *testing.T, src string) Automation {
	t.Helper()
	var a Automation
	if err := yaml.Unmarshal([]byte(src), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func compile(t *testing.T, a Automation) *Engine {
	t.Helper()
	e, errs := Compile(a, []string{"ios", "android"}, []string{"appstore", "googleplay"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return e
}

func TestEvaluate(t *testing.T) {
	a := load(t, example)
	e := compile(t, a)
	if a.Cap() != 10 || a.Delay.D().String() != "10m0s" || a.Cooldown.D().String() != "24h0m0s" {
		t.Fatalf("guardrails %d %s %s", a.Cap(), a.Delay.D(), a.Cooldown.D())
	}
	in := func(rating int, text, lang, kind string) Input {
		return Input{AppID: "ios", AppName: "ACME", Store: "appstore", StoreName: "App Store", Kind: kind,
			Review: sdk.Review{Author: "Ann", Rating: rating, Text: text, Language: lang}}
	}
	for _, tc := range []struct {
		name   string
		in     Input
		rule   string // "" no reply
		mode   string
		ticket bool
		text   string
		tags   string
		held   string
	}{
		{name: "five stars without text: auto, no ticket", in: in(5, "", "en", sdk.ChangeKindNew),
			rule: "five-stars", mode: ModeAuto, text: "Thank you, Ann, for rating ACME 5 stars on App Store!"},
		{name: "russian variant", in: in(5, "", "ru-RU", sdk.ChangeKindNew), rule: "five-stars", mode: ModeAuto,
			text: "Спасибо, Ann!"},
		{name: "pt-BR picks pt", in: in(5, "", "pt-PT", sdk.ChangeKindNew), rule: "five-stars", mode: ModeAuto, text: "Obrigado!"},
		{name: "five stars with text: praise, ticket", in: in(5, "Love it", "en", sdk.ChangeKindNew), rule: "praise",
			mode: ModeAuto, ticket: true, text: "Thank you, Ann, for rating ACME 5 stars on App Store!"},
		{name: "excluded keyword", in: in(4, "Good but slow", "en", sdk.ChangeKindNew)},
		{name: "praise only for new reviews", in: in(4, "Good now", "en", sdk.ChangeKindBetter)},
		{name: "exception keyword holds the reply", in: in(5, "I want a refund", "en", sdk.ChangeKindNew),
			held: `the review mentions "refund"`},
		{name: "exception with a prefix", in: in(1, "It crashes all the time", "en", sdk.ChangeKindNew),
			tags: "low", held: `"crash*"`},
		{name: "CJK exception", in: in(5, "我要退款", "zh", sdk.ChangeKindNew), held: `"退款"`},
		{name: "CJK tag", in: in(3, "这个应用不好用", "zh", sdk.ChangeKindNew), tags: "bug"},
		{name: "Thai tag", in: in(3, "แอปนี้ไม่ดีเลย", "th", sdk.ChangeKindNew), tags: "bug"},
		{name: "tags and reply", in: in(1, "This has a bug everywhere", "en", sdk.ChangeKindNew), rule: "low",
			mode: ModeApproval, ticket: true, text: "Sorry to hear that, Ann.", tags: "bug,low"},
		{name: "too short for low", in: in(1, "Bad", "en", sdk.ChangeKindNew)},
		{name: "no variant and no default text", in: in(1, "Very bad app", "de", sdk.ChangeKindNew)},
		{name: "no variant: held", in: func() Input {
			i := in(2, "Very bad app", "en", sdk.ChangeKindNew)
			i.Review.Language = "en"
			return i
		}(), rule: "low", mode: ModeApproval, ticket: true, text: "Sorry to hear that, Ann.", tags: "low"},
		{name: "a person's answer is never replaced", in: func() Input {
			i := in(5, "", "en", sdk.ChangeKindUpdated)
			i.AnsweredByPerson = true
			return i
		}(), held: "staff answered"},
		{name: "name fallback", in: func() Input { i := in(5, "", "en", sdk.ChangeKindNew); i.Review.Author = " "; return i }(),
			rule: "five-stars", mode: ModeAuto, text: "Thank you, friend, for rating ACME 5 stars on App Store!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Evaluate(tc.in)
			if tc.rule == "" && d.Reply != nil {
				t.Fatalf("reply %+v, want none", d.Reply)
			}
			if tc.rule != "" {
				if d.Reply == nil {
					t.Fatalf("no reply (held %q), want rule %s", d.Held, tc.rule)
				}
				if d.Reply.Rule != tc.rule || d.Reply.Mode != tc.mode || d.Reply.Ticket != tc.ticket || d.Reply.Text != tc.text {
					t.Errorf("reply %+v, want %s %s ticket=%v %q", d.Reply, tc.rule, tc.mode, tc.ticket, tc.text)
				}
			}
			if got := strings.Join(d.Tags, ","); got != tc.tags {
				t.Errorf("tags %q, want %q", got, tc.tags)
			}
			if tc.held == "" && d.Held != "" || !strings.Contains(d.Held, tc.held) {
				t.Errorf("held %q, want %q", d.Held, tc.held)
			}
		})
	}
}

func TestNoTemplateTextHoldsTheRule(t *testing.T) {
	a := load(t, example)
	d := compile(t, a).Evaluate(Input{AppID: "ios", Kind: sdk.ChangeKindNew, Review: sdk.Review{Rating: 2, Text: "Very bad app indeed", Language: "de"}})
	if d.Reply != nil {
		t.Fatalf("reply %+v", d.Reply)
	}
	// languages: [en] does not match "de": no rule matched, nothing held.
	if d.Held != "" {
		t.Errorf("held %q", d.Held)
	}
	a.Rules[3].When.Languages = nil
	d = compile(t, a).Evaluate(Input{AppID: "ios", Kind: sdk.ChangeKindNew, Review: sdk.Review{Rating: 2, Text: "Very bad app indeed", Language: "de"}})
	if d.Reply != nil || d.HeldRule != "low" || !strings.Contains(d.Held, `no text for language "de"`) {
		t.Errorf("reply %+v held %q by %q", d.Reply, d.Held, d.HeldRule)
	}
}

func TestSwitchedOff(t *testing.T) {
	a := load(t, example)
	off := false
	a.Enabled = &off
	if d := compile(t, a).Evaluate(Input{Kind: sdk.ChangeKindNew, Review: sdk.Review{Rating: 5}}); d.Reply != nil || len(d.Tags) > 0 {
		t.Errorf("switched off: %+v", d)
	}
	if d := compile(t, Automation{}).Evaluate(Input{Kind: sdk.ChangeKindNew, Review: sdk.Review{Rating: 5}}); d.Reply != nil {
		t.Errorf("zero: %+v", d)
	}
	var none *Engine
	if d := none.Evaluate(Input{Kind: sdk.ChangeKindNew, Review: sdk.Review{Rating: 5}}); d.Reply != nil {
		t.Errorf("nil engine: %+v", d)
	}
}

// Compile leaves the declaration as it was (the Engine works on its own
// copy); the canonical form it returns round-trips through JSON (as the
// state stores it) and compiles to the same decisions, exceptions
// included.
func TestCompileKeepsTheDeclarationAndRoundTrips(t *testing.T) {
	a := load(t, example)
	before, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	e := compile(t, a)
	if after, _ := json.Marshal(a); string(after) != string(before) {
		t.Fatalf("Compile changed the declaration:\n%s\n%s", before, after)
	}
	canon := e.Automation()
	if canon.Rules[3].Mode != ModeApproval || canon.Rules[0].When.Text != TextAny || canon.Templates[0].Variants["pt"] == "" {
		t.Errorf("not canonical: %+v", canon)
	}
	canon.Rules[0].Tags[0] = "changed" // a copy: the engine keeps its own
	if d := e.Evaluate(Input{AppID: "ios", Kind: sdk.ChangeKindNew, Review: sdk.Review{Rating: 3, Text: "a bug here"}}); strings.Join(d.Tags, ",") != "bug" {
		t.Errorf("the engine follows a change to what Automation returned: %v", d.Tags)
	}
	b, err := json.Marshal(e.Automation())
	if err != nil {
		t.Fatal(err)
	}
	var back Automation
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Delay.D() != a.Delay.D() || back.Cooldown.D() != a.Cooldown.D() {
		t.Errorf("durations %v %v", back.Delay, back.Cooldown)
	}
	d := compile(t, back).Evaluate(Input{AppID: "ios", Kind: sdk.ChangeKindNew, Review: sdk.Review{Rating: 5, Text: "refund please"}})
	if d.Reply != nil || !strings.Contains(d.Held, "refund") {
		t.Errorf("%+v", d)
	}
}

func TestCompileNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		src, field, reason string
	}{
		{`daily_cap: -1`, "daily_cap", "outside"},
		{`delay: 48h`, "delay", "outside"},
		{`exceptions: ["", ok]`, "exceptions[0]", "no letters"},
		{`templates: [{id: Bad ID, text: x}]`, "templates[0].id", "lower-case"},
		{`templates: [{id: t}]`, "templates[0].text", "needs a text"},
		{`templates: [{id: t, text: "Hi {{name}}"}]`, "templates[0].text", "{{name}}, which is not a variable"},
		{`templates: [{id: t, text: "Hi {{reviewer_name"}]`, "templates[0].text", "without a closing"},
		{`templates: [{id: t, variants: {xx-!!: hi}}]`, "templates[0].variants.xx-!!", "BCP 47"},
		{`templates: [{id: t, variants: {pt-BR: a, pt: b}}]`, "templates[0].variants.pt-BR", "another variant"},
		{`templates: [{id: t, text: a}, {id: t, text: b}]`, "templates[1].id", "used twice"},
		{`rules: [{id: r, reply: nope}]`, "rules[0].reply", `no template "nope"`},
		{`rules: [{id: r}]`, "rules[0]", "needs an action"},
		{`rules: [{id: r, tags: [x], mode: auto}]`, "rules[0].mode", "only tags"},
		{`{templates: [{id: t, text: a}], rules: [{id: r, reply: t, mode: sometimes}]}`, "rules[0].mode", "not one of"},
		{`{templates: [{id: t, text: a}], rules: [{id: r, reply: t, ticket: false}]}`, "rules[0].ticket", "mode auto only"},
		{`rules: [{id: r, tags: [x], when: {ratings: [6]}}]`, "rules[0].when.ratings[0]", "outside 1..5"},
		{`rules: [{id: r, tags: [x], when: {apps: [web]}}]`, "rules[0].when.apps[0]", `no app "web"`},
		{`rules: [{id: r, tags: [x], when: {stores: [rustore]}}]`, "rules[0].when.stores[0]", "rustore"},
		{`rules: [{id: r, tags: [x], when: {languages: ["??"]}}]`, "rules[0].when.languages[0]", "BCP 47"},
		{`rules: [{id: r, tags: [x], when: {countries: [XX]}}]`, "rules[0].when.countries[0]", "ISO 3166"},
		{`rules: [{id: r, tags: [x], when: {min_words: 5, max_words: 2}}]`, "rules[0].when.max_words", "less than"},
		{`rules: [{id: r, tags: [x], when: {text: maybe}}]`, "rules[0].when.text", "not one of"},
		{`rules: [{id: r, tags: [x], when: {changes: [deleted]}}]`, "rules[0].when.changes[0]", "not one of"},
		{`rules: [{id: r, tags: [x], when: {keywords: ["!"]}}]`, "rules[0].when.keywords[0]", "no letters"},
		{`rules: [{id: r, tags: [x]}, {id: r, tags: [y]}]`, "rules[1].id", "used twice"},
		{`rules: [{id: r, tags: ["a,b"]}]`, "rules[0].tags[0]", "not a tag"},
	} {
		var a Automation
		if err := yaml.Unmarshal([]byte(tc.src), &a); err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		e, errs := Compile(a, []string{"ios"}, []string{"appstore"})
		if e != nil {
			t.Errorf("%s: an engine despite the errors", tc.src)
		}
		found := false
		for _, e := range errs {
			if e.Field == tc.field && strings.Contains(e.Reason, tc.reason) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: errors %v, want %s: …%s…", tc.src, errs, tc.field, tc.reason)
		}
	}
}

func TestDurationForms(t *testing.T) {
	var a Automation
	if err := yaml.Unmarshal([]byte("delay: soon"), &a); err != nil {
		t.Fatal(err)
	}
	if _, errs := Compile(a, nil, nil); len(errs) != 1 || errs[0].Field != "delay" || !strings.Contains(errs[0].Reason, `"soon" is not a duration`) {
		t.Errorf("yaml: %v", errs)
	}
	a = Automation{}
	if err := json.Unmarshal([]byte(`{"delay":"90s","cooldown":0}`), &a); err != nil || a.Delay.D().Seconds() != 90 || !a.Cooldown.IsZero() {
		t.Errorf("json: %v %v", err, a.Delay)
	}
	if err := json.Unmarshal([]byte(`{"cooldown":5}`), &a); err != nil {
		t.Fatal(err)
	}
	if _, errs := Compile(a, nil, nil); len(errs) != 1 || errs[0].Field != "cooldown" {
		t.Errorf("a bare number of nanoseconds: %v", errs)
	}
	b, _ := json.Marshal(Automation{})
	if string(b) != "{}" {
		t.Errorf("zero automation: %s", b)
	}
}

func TestStoreName(t *testing.T) {
	if got := StoreName("googleplay", sdk.Info{DisplayName: "Google Play", Description: "Play: reviews"}); got != "Google Play" {
		t.Errorf("DisplayName: %q", got)
	}
	// A plugin without a DisplayName is called by its plugin name; its
	// description is text for people, never parsed for a name.
	for _, info := range []sdk.Info{{Description: "Google Play: reviews and replies"}, {Description: "no colon here"},
		{DisplayName: "  "}, {}} {
		if got := StoreName("googleplay", info); got != "googleplay" {
			t.Errorf("StoreName(%+v) = %q, want the plugin name", info, got)
		}
	}
}

func TestApproval(t *testing.T) {
	for s, want := range map[string]bool{"/approve": true, " /Approve ": true, "/approve.": true, "/approve\nthanks": true,
		"/approved": false, "approve": false, "Please /approve": false, "": false, "/appr": false} {
		if got := IsApprove(s); got != want {
			t.Errorf("IsApprove(%q) = %v", s, got)
		}
	}
	if !SameText("Thank you,\n  Ann!", "Thank you, Ann!") || SameText("Thank you, Ann", "Thank you, Ann!") {
		t.Error("SameText")
	}
}

// The documented example (docs/admin-api.md) is valid and does what it says.
func TestReadmeExample(t *testing.T) {
	raw, err := os.ReadFile("../../docs/admin-api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "### Templates and auto-reply rules")
	if !ok {
		t.Fatal("no section \"Templates and auto-reply rules\" in docs/admin-api.md")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	block, _, _ := strings.Cut(rest, "```")
	var doc struct {
		Integrations []struct {
			Automation Automation `yaml:"automation"`
		} `yaml:"integrations"`
	}
	if err := yaml.Unmarshal([]byte(block), &doc); err != nil || len(doc.Integrations) != 1 {
		t.Fatalf("%v %d", err, len(doc.Integrations))
	}
	a := compile(t, doc.Integrations[0].Automation)
	in := func(rating int, text, lang string) Input {
		return Input{AppID: "ios", AppName: "ACME", Store: "googleplay", StoreName: "Google Play", Kind: sdk.ChangeKindNew,
			Review: sdk.Review{Author: "Ann", Rating: rating, Text: text, Language: lang}}
	}
	if d := a.Evaluate(in(5, "", "ru")); d.Reply == nil || d.Reply.Ticket || d.Reply.Text != "Спасибо, Ann, за оценку ACME!" {
		t.Errorf("five stars: %+v", d.Reply)
	}
	if d := a.Evaluate(in(4, "Great app", "en")); d.Reply == nil || d.Reply.Rule != "praise" || !d.Reply.Ticket ||
		d.Reply.Text != "Thank you, Ann, for rating ACME 4 stars on Google Play!" {
		t.Errorf("praise: %+v", d.Reply)
	}
	if d := a.Evaluate(in(1, "Payment failed twice", "en")); d.Reply == nil || d.Reply.Mode != ModeApproval ||
		strings.Join(d.Tags, ",") != "unhappy,payments" {
		t.Errorf("low: %+v %v", d.Reply, d.Tags)
	}
	if d := a.Evaluate(in(5, "ขอคืนเงิน", "th")); d.Reply != nil || !strings.Contains(d.Held, "คืนเงิน") {
		t.Errorf("Thai refund: %+v %q", d.Reply, d.Held)
	}
}

// Keywords match the review's machine translation too (issue 28): a
// Japanese review translated as "a bug" is tagged, and one whose
// translation asks for a refund is held for a person.
func TestTranslationKeywordsMatchTheTranslation(t *testing.T) {
	e := compile(t, load(t, example))
	in := Input{AppID: "ios", Store: "appstore", Kind: sdk.ChangeKindNew,
		Review: sdk.Review{Author: "Ken", Rating: 3, Text: "バグがあります", Language: "ja"}}
	if d := e.Evaluate(in); len(d.Tags) != 0 {
		t.Fatalf("untranslated: tags %v", d.Tags)
	}
	in.Translated = "There is a bug"
	if d := e.Evaluate(in); strings.Join(d.Tags, ",") != "bug" {
		t.Errorf("translated: tags %v, want bug", d.Tags)
	}
	in.Review.Rating, in.Review.Text, in.Translated = 5, "返金してほしい", "I want a refund"
	if d := e.Evaluate(in); d.Reply != nil || !strings.Contains(d.Held, `"refund"`) {
		t.Errorf("translated exception: %+v", d)
	}
}
