package deliver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
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
