package sdktest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/reviewhub/reviewhub/sdk"
)

// NotifierSuite configures RunNotifier.
type NotifierSuite struct {
	// Settings are a working destination's (an account on your fake).
	Settings      sdk.Settings
	DestinationID string
	// NotSecret lists settings whose keys look like credentials but are none.
	NotSecret []string
	// NoThreads: these Settings make an account that cannot thread (a Slack
	// incoming webhook) although the plugin declares Threads. Its
	// MessageRef must then be empty, so the hub sends no ThreadRef.
	NoThreads bool
	// Vendor is the test's view of the destination (its fake). Nil skips
	// the checks of what the destination received: one message per event,
	// the thread, the text within the limit and cut between characters,
	// the rate limit's wait, the destination's errors classified.
	Vendor NotifierVendor
}

// NotifierVendor is a chat destination as the test sees it. It may also
// implement FaultInjector, RateLimiter and NotifierLimiter.
type NotifierVendor interface {
	// Messages are every message the destination holds, oldest first.
	Messages(ctx context.Context) ([]VendorMessage, error)
	// Calls is the number of requests the destination's API received
	// (faults.Faults counts them).
	Calls() int
}

// VendorMessage is one message at the destination.
type VendorMessage struct {
	// Ref is the destination's id of the message (Slack's ts, Telegram's
	// message_id): what NotifyResponse.MessageRef returns.
	Ref string
	// ThreadRef is the Ref of the message whose thread holds this one (a
	// reply); empty for a message in the channel itself.
	ThreadRef string
	// Texts are the message's texts as the destination limits and shows
	// them (markup parsed, escapes removed), each limited on its own:
	// Slack's section blocks, Telegram's one text.
	Texts []string
}

// RateLimiter is an optional side of a vendor view: the next n calls are
// answered with the destination's rate limit and retryAfter, in its own
// form. faults.Faults has it (the fake's handler answers Next's fault).
type RateLimiter interface {
	RateLimit(n int, retryAfter time.Duration)
}

// NotifierLimiter is an optional side of a NotifierVendor: the
// destination's own text limit, in code points. With it RunNotifier
// checks that the declared MaxTextLength is not larger.
type NotifierLimiter interface {
	MaxTextLength() int
}

// RunNotifier checks that a notifier plugin honours the contract. n is a
// launched plugin (LaunchNotifier) or one in the test's process.
func RunNotifier(t *testing.T, n sdk.NotifierPlugin, suite NotifierSuite) {
	runNotifier(goTest{t}, n, suite)
}

// LaunchNotifier starts a notifier plugin binary.
func LaunchNotifier(t testing.TB, bin string, env ...string) sdk.NotifierPlugin {
	t.Helper()
	n, err := Launch(t, bin, env...).Notifier()
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return n
}

// SampleEvent is an event of type typ the suite sends: a review (id
// reviewID, 2★, text text) for the review and reply events, a health
// change, a digest of two reviews, a spike with two examples.
func SampleEvent(typ sdk.EventType, reviewID, text string) sdk.Event {
	review := func(id, text string, rating int) *sdk.Review {
		return &sdk.Review{ID: id, AppID: "app", Author: "Tester", Rating: rating, Title: "Crashes", Text: text,
			Language: "en", Country: "US", AppVersion: "1.1", URL: "https://store.example/reviews/" + id,
			CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	}
	e := sdk.Event{ID: nonce("event"), Type: typ, At: time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC), IntegrationID: "sdktest",
		Store: "sdktest", StoreName: "Conformance Store", AppID: "app", AppName: "Conformance App"}
	switch typ {
	case sdk.EventReviewCreated:
		e.Review = review(reviewID, text, 2)
	case sdk.EventReviewUpdated:
		e.Review = review(reviewID, text, 4)
		e.History = []sdk.ReviewVersion{{Rating: 2, Title: "Crashes", Text: "It crashes on start."}}
	case sdk.EventReplyPublished, sdk.EventReplyRefused, sdk.EventReplyFailed:
		e.Review = review(reviewID, "It crashes on start.", 2)
		e.Reply = &sdk.EventReply{Text: text, Staff: "Ann"}
		if typ != sdk.EventReplyPublished {
			e.Reply.Detail = "the store refused it: " + typ
		}
	case sdk.EventAppHealthChanged:
		e.Health = &sdk.EventHealth{Health: "stalled", Previous: "ok", Reason: text}
	case sdk.EventDigest:
		a, b := SampleEvent(sdk.EventReviewCreated, reviewID+"-a", text+" (one)"), SampleEvent(sdk.EventReviewCreated, reviewID+"-b", text+" (two)")
		e.Events = []sdk.Event{a, b}
	case sdk.EventSpike:
		e.Spike = &sdk.EventSpikeInfo{Ratings: []int{1, 2}, Count: 14, Usual: 1.5, Window: time.Hour, AfterVersion: "1.1"}
		a, b := SampleEvent(sdk.EventReviewCreated, reviewID+"-a", text+" (one)"), SampleEvent(sdk.EventReviewCreated, reviewID+"-b", text+" (two)")
		e.Events = []sdk.Event{a, b}
	}
	return e
}

// expectedTexts are what a message of SampleEvent(typ, …, text) must show.
func expectedTexts(typ sdk.EventType, text string) []string {
	if typ == sdk.EventDigest || typ == sdk.EventSpike {
		return []string{text + " (one)", text + " (two)"}
	}
	return []string{text}
}

type notifierRun struct {
	n     sdk.NotifierPlugin
	suite NotifierSuite
	caps  sdk.NotifierCapabilities
}

func runNotifier(t tester, impl sdk.NotifierPlugin, suite NotifierSuite) {
	// As the hub reaches it: the kind set, settings checked (a launched
	// plugin's SDK did both already; doing them again changes nothing).
	n, err := sdk.CheckedNotifier(impl)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	r := &notifierRun{n: n, suite: suite}
	t.Run("info", func(t tester) {
		info, err := n.Info(ctx(t), sdk.InfoRequest{})
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		checkInfo(t, info, sdk.PluginKindNotifier, suite.NotSecret)
		if info.Notifier != nil {
			r.caps = *info.Notifier
			if r.caps.MaxTextLength <= 0 {
				t.Errorf("Info: NotifierCapabilities.MaxTextLength is %d: declare the destination's text limit", r.caps.MaxTextLength)
			}
			if lim, ok := suite.Vendor.(NotifierLimiter); ok && r.caps.MaxTextLength > lim.MaxTextLength() {
				t.Errorf("Info: MaxTextLength %d is larger than the destination's own limit %d", r.caps.MaxTextLength, lim.MaxTextLength())
			}
		}
	})
	t.Run("check settings", func(t tester) {
		if _, err := n.CheckSettings(ctx(t), sdk.CheckSettingsRequest{Settings: suite.Settings}); err != nil {
			t.Fatalf("CheckSettings with working settings: %v", err)
		}
	})
	t.Run("every event type is one message", r.everyType)
	t.Run("one thread per review", r.thread)
	t.Run("rate limit is returned with its wait", r.rateLimit)
	t.Run("long text is cut between characters within the limit", r.longText)
	t.Run("destination errors are classified", func(t tester) {
		checkFaults(t, suite.Vendor, func() error {
			_, err := n.Notify(ctx(t), r.request(SampleEvent(sdk.EventReviewCreated, nonce("review"), "It crashes."), "", ""))
			return err
		})
	})
}

func (r *notifierRun) request(e sdk.Event, key, ref string) sdk.NotifyRequest {
	return sdk.NotifyRequest{Settings: r.suite.Settings, DestinationID: r.suite.DestinationID, Event: e, ThreadKey: key, ThreadRef: ref}
}

func (r *notifierRun) messages(t tester) []VendorMessage {
	t.Helper()
	ms, err := r.suite.Vendor.Messages(ctx(t))
	if err != nil {
		t.Fatalf("vendor view: Messages: %v", err)
	}
	return ms
}

// posted calls Notify and returns the response and, with a view, the
// messages the call added (the test fails unless it is exactly one).
func (r *notifierRun) posted(t tester, what string, req sdk.NotifyRequest) (sdk.NotifyResponse, *VendorMessage) {
	t.Helper()
	before := 0
	if r.suite.Vendor != nil {
		before = len(r.messages(t))
	}
	res, err := r.n.Notify(ctx(t), req)
	if err != nil {
		t.Fatalf("Notify (%s): %v", what, err)
	}
	if r.suite.Vendor == nil {
		return res, nil
	}
	ms := r.messages(t)
	if len(ms) != before+1 {
		t.Fatalf("Notify (%s): the destination holds %d new messages, want exactly one", what, len(ms)-before)
	}
	return res, &ms[len(ms)-1]
}

func (r *notifierRun) everyType(t tester) {
	for _, typ := range sdk.EventTypes {
		text := nonce("text-" + typ)
		key := ""
		if strings.HasPrefix(typ, "review.") || strings.HasPrefix(typ, "reply.") {
			key = "sdktest/app/" + text
		}
		_, m := r.posted(t, typ, r.request(SampleEvent(typ, nonce("review"), text), key, ""))
		if m == nil {
			continue
		}
		all := strings.Join(m.Texts, "\n")
		for _, want := range expectedTexts(typ, text) {
			if !strings.Contains(all, want) {
				t.Errorf("Notify (%s): the message does not show %q; it shows %q", typ, want, all)
			}
		}
	}
	if r.suite.Vendor == nil {
		t.Skip("no vendor view (the suite's Vendor): only the answers were checked, not what the destination received")
	}
}

func (r *notifierRun) thread(t tester) {
	key := "sdktest/app/" + nonce("review")
	id := nonce("review")
	first, m := r.posted(t, "review.created", r.request(SampleEvent(sdk.EventReviewCreated, id, "First version."), key, ""))
	if !r.caps.Threads || r.suite.NoThreads {
		if r.suite.NoThreads && first.MessageRef != "" {
			t.Errorf("Notify: MessageRef %q from an account without threads (NoThreads); it must be empty so the hub sends no ThreadRef", first.MessageRef)
		}
		t.Skip("the destination keeps no threads (Threads not declared, or NoThreads)")
	}
	if first.MessageRef == "" {
		t.Fatalf("Notify (review.created): empty MessageRef although Threads is declared: the review's later events cannot join its thread")
	}
	if m != nil && (m.Ref != first.MessageRef || m.ThreadRef != "") {
		t.Errorf("Notify (review.created): the destination's message has ref %q in thread %q; want ref %q (the MessageRef) in the channel itself",
			m.Ref, m.ThreadRef, first.MessageRef)
	}
	for _, typ := range []sdk.EventType{sdk.EventReviewUpdated, sdk.EventReplyPublished} {
		_, m := r.posted(t, typ, r.request(SampleEvent(typ, id, "Later: "+typ), key, first.MessageRef))
		if m != nil && m.ThreadRef != first.MessageRef {
			t.Errorf("Notify (%s with ThreadRef %q): the message is in thread %q, not in the review's thread", typ, first.MessageRef, m.ThreadRef)
		}
	}
	if r.suite.Vendor == nil {
		t.Skip("no vendor view: that later events land in the thread is not checked")
	}
}

func (r *notifierRun) rateLimit(t tester) {
	rl, ok := r.suite.Vendor.(RateLimiter)
	if !ok {
		t.Skip("no vendor view with RateLimit (RateLimiter, faults.Faults has it): the rate limit is not checked")
	}
	const wait = 37 * time.Second
	rl.RateLimit(1, wait)
	defer rl.RateLimit(0, 0)
	_, err := r.n.Notify(ctx(t), r.request(SampleEvent(sdk.EventReviewCreated, nonce("review"), "Rate limited."), "", ""))
	switch {
	case err == nil:
		t.Errorf("the destination answered its rate limit (retry after %s); Notify answered no error: the hub must hold the destination back, so return sdk.RetryAfterError", wait)
	case sdk.KindOf(err) != sdk.ErrorKindRateLimited:
		t.Errorf("the destination answered its rate limit (retry after %s); Notify's error is %v, want RateLimited (sdk.RetryAfterError): %v", wait, sdk.KindOf(err), err)
	case sdk.RetryAfterOf(err) < wait || sdk.RetryAfterOf(err) > 24*time.Hour:
		t.Errorf("the destination asked to retry after %s; Notify's RetryAfter is %s: pass the destination's own wait", wait, sdk.RetryAfterOf(err))
	}
}

// The clusters of the kit's long text: each more than one code point
// (an accent, a flag, an emoji sequence) or more than three bytes, so a
// cut by bytes or by code points breaks one of them.
var longClusters = []string{"е\u0308", "🇺🇦", "👩\u200d👩\u200d👧", "😀", "ю\u0301"}

// kitRunes are the code points only the kit's clusters use.
var kitRunes = func() map[rune]bool {
	m := map[rune]bool{}
	for _, c := range longClusters {
		for _, r := range c {
			m[r] = true
		}
	}
	return m
}()

func longText(offset, runes int) string {
	var b strings.Builder
	b.WriteString(strings.Repeat("a", offset))
	for n := 0; n < runes; {
		for _, c := range longClusters {
			b.WriteString(c)
			b.WriteByte(' ')
			n += utf8.RuneCountInString(c) + 1
		}
	}
	return b.String()
}

func (r *notifierRun) longText(t tester) {
	if r.caps.MaxTextLength <= 0 {
		t.Skip("no MaxTextLength declared (reported by info)")
	}
	limit := r.caps.MaxTextLength
	if lim, ok := r.suite.Vendor.(NotifierLimiter); ok {
		limit = min(limit, lim.MaxTextLength())
	}
	// Four offsets: wherever the plugin's framing puts the cut, one of
	// them lands inside a cluster for a plugin that cuts by code points.
	for offset := range 4 {
		text := longText(offset, 2*r.caps.MaxTextLength+50)
		_, m := r.posted(t, fmt.Sprintf("a review of %d characters", utf8.RuneCountInString(text)),
			r.request(SampleEvent(sdk.EventReviewCreated, nonce("review"), text), "", ""))
		if m == nil {
			continue
		}
		ellipsis := false
		for _, s := range m.Texts {
			ellipsis = ellipsis || strings.Contains(s, sdk.Ellipsis)
			if n := utf8.RuneCountInString(s); n > limit {
				t.Fatalf("a text of the message has %d characters; the limit is %d", n, limit)
			}
			if !utf8.ValidString(s) {
				t.Fatalf("a text of the message is not valid UTF-8: it was cut inside a character (by bytes)")
			}
			g := uniseg.NewGraphemes(s)
			for g.Next() {
				c := g.Str()
				if !usesKitRunes(c) || isKitCluster(c) {
					continue
				}
				t.Fatalf("the message holds %q (%U), a character of the review broken apart: cut by code points instead of between grapheme clusters (sdk.Truncate)", c, []rune(c))
			}
		}
		all := strings.Join(m.Texts, "\n")
		if !strings.Contains(all, text[:offset+len(strings.Join(longClusters[:3], " "))]) {
			t.Errorf("the message does not show the review's beginning")
		}
		if !ellipsis {
			t.Errorf("the message shows no %q where the review's text was cut", sdk.Ellipsis)
		}
	}
	if r.suite.Vendor == nil {
		t.Skip("no vendor view: only that the long review was posted was checked, not its length or its cut")
	}
}

func usesKitRunes(c string) bool {
	for _, r := range c {
		if kitRunes[r] {
			return true
		}
	}
	return false
}

func isKitCluster(c string) bool {
	for _, k := range longClusters {
		if c == k {
			return true
		}
	}
	return false
}
