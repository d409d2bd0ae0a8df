package deliver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/hub/translate"
	"github.com/reviewhub/reviewhub/sdk"
)

// jaEngine translates the one Japanese sentence of the tests into
// English; with hang set it never answers (a stopped translator).
type jaEngine struct{ hang bool }

func (jaEngine) Name() string { return "Test Engine" }

func (e jaEngine) Translate(ctx context.Context, texts []string, _, _ string) ([]translate.Text, error) {
	if e.hang {
		<-ctx.Done()
		return nil, sdk.Errorf(sdk.ErrorKindUnavailable, "the translator did not answer: %v", ctx.Err())
	}
	out := make([]translate.Text, len(texts))
	for i, t := range texts {
		out[i] = translate.Text{Text: "[en] " + t, From: "ja"}
		if t == "アプリが起動しません。" {
			out[i].Text = "The app does not start."
		}
	}
	return out, nil
}

func translatingRig(t *testing.T, e jaEngine) *rig {
	r := newRig(t, time.Hour, time.Hour)
	r.d.Translator = translate.Reviews{Service: &translate.Service{Cache: &translate.MemoryCache{}}, Timeout: 200 * time.Millisecond,
		Integration: func(_ context.Context, id string) (translate.Config, translate.Engine, bool) {
			return translate.Config{On: true, Languages: []string{"en"}}, e, id == "acme"
		}}
	return r
}

func (r *rig) upserted(t *testing.T, reviewID string) (sdk.UpsertTicketRequest, bool) {
	t.Helper()
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	for _, u := range r.f.upserts {
		if u.Change.Review.ID == reviewID {
			return u, true
		}
	}
	return sdk.UpsertTicketRequest{}, false
}

// A Japanese review reaches the helpdesk with its original text and the
// English translation, marked as machine-translated with the engine's name.
func TestTranslationReviewReachesTheHelpdeskTranslated(t *testing.T) {
	r := translatingRig(t, jaEngine{})
	r.review(t, "j1", "")
	r.f.tickets["j1"] = "T1"
	r.publish(t, bus.TopicReviews, busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: 1,
		Change: sdk.ReviewChange{Kind: sdk.ChangeKindNew, Review: sdk.Review{ID: "j1", Rating: 1, Text: "アプリが起動しません。", Language: "ja"}}})
	eventually(t, "the delivery", func() bool { _, ok := r.upserted(t, "j1"); return ok })
	u, _ := r.upserted(t, "j1")
	if txt := u.Change.Review.Text; !strings.HasPrefix(txt, "アプリが起動しません。") || !strings.Contains(txt, "The app does not start.") ||
		!strings.Contains(txt, "Machine translation (ja → en, Test Engine)") {
		t.Errorf("ticket text %q", txt)
	}
}

// A translator that stops answering delays nothing for long: the review is
// delivered untranslated, with a note saying why.
func TestTranslationStoppedTranslatorDelaysNothing(t *testing.T) {
	r := translatingRig(t, jaEngine{hang: true})
	r.review(t, "j2", "")
	r.f.tickets["j2"] = "T2"
	r.publish(t, bus.TopicReviews, busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: 1,
		Change: sdk.ReviewChange{Kind: sdk.ChangeKindNew, Review: sdk.Review{ID: "j2", Rating: 1, Text: "アプリが起動しません。", Language: "ja"}}})
	eventually(t, "the delivery", func() bool { _, ok := r.upserted(t, "j2"); return ok })
	u, _ := r.upserted(t, "j2")
	if txt := u.Change.Review.Text; !strings.HasPrefix(txt, "アプリが起動しません。") || !strings.Contains(txt, "delivered untranslated") ||
		strings.Contains(txt, "The app does not start.") {
		t.Errorf("ticket text %q", txt)
	}
	eventually(t, "the ticket linked", func() bool {
		tk, _ := r.db.TicketOf(context.Background(), "acme", "ios", "j2")
		return tk == "T2"
	})
}

// enEngine translates the tests' English answer into Japanese.
type enEngine struct{}

func (enEngine) Name() string { return "Test Engine" }

func (enEngine) Translate(_ context.Context, texts []string, _, to string) ([]translate.Text, error) {
	out := make([]translate.Text, len(texts))
	for i, t := range texts {
		out[i] = translate.Text{Text: "[" + to + "] " + t, From: "en"}
		if t == "Thank you! We fixed the crash in version 2.1." {
			out[i].Text = "ありがとうございます！バージョン2.1でクラッシュを修正しました。"
		}
	}
	return out, nil
}

// An English answer to a Japanese review is published in Japanese, with
// both texts in the outcome note; a translation longer than the store
// takes is refused with the reason and never posted.
func TestTranslationAnswerPublishedInTheReviewersLanguage(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	r.d.AnswerTranslator = translate.Answers{Service: &translate.Service{Cache: &translate.MemoryCache{}},
		Integration: func(context.Context, string) (translate.Config, translate.Engine, bool) {
			return translate.Config{On: true, Languages: []string{"en"}}, enEngine{}, true
		},
		ReviewLanguage: func(context.Context, string, string, string) (string, error) { return "ja", nil }}
	r.review(t, "a1", "T1")
	r.accept(t, sdk.ReplyRequest{TicketID: "T1", MessageID: "m1", Text: "Thank you! We fixed the crash in version 2.1."})
	eventually(t, "the answer published", func() bool { return r.reply(t, "m1").Status == state.ReplyPublished })
	r.f.mu.Lock()
	posted := r.f.texts["a1"]
	r.f.mu.Unlock()
	if posted != "ありがとうございます！バージョン2.1でクラッシュを修正しました。" {
		t.Errorf("published %q", posted)
	}
	eventually(t, "the outcome note", func() bool { _, ok := r.result("m1", sdk.OutcomePublished); return ok })
	res, _ := r.result("m1", sdk.OutcomePublished)
	if !strings.Contains(res.Detail, "Thank you! We fixed the crash") || !strings.Contains(res.Detail, posted) || !strings.Contains(res.Detail, "Test Engine") {
		t.Errorf("outcome detail %q: want both texts and the engine", res.Detail)
	}

	r.f.mu.Lock()
	r.f.maxLen = 20
	r.f.mu.Unlock()
	r.review(t, "a2", "T2")
	r.accept(t, sdk.ReplyRequest{TicketID: "T2", MessageID: "m2", Text: "Thank you! We fixed the crash in version 2.1."})
	eventually(t, "the long answer refused", func() bool { return r.reply(t, "m2").Status == state.ReplyRefused })
	if rep := r.reply(t, "m2"); !strings.Contains(rep.Detail, "at most 20") {
		t.Errorf("refusal %+v", rep)
	}
	for _, p := range r.f.posted() {
		if p == "a2" {
			t.Error("the over-long translation was posted")
		}
	}
}
