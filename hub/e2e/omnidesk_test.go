package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
)

// The real Omnidesk plugin process against the fake Omnidesk, through the
// hub: a review becomes a case with labels and the case field, an edit lands
// in the same case, a staff answer comes back through the custom channel's
// webhook, is published in the store once, and its outcome is a note.
func TestThroughTheHubWithOmnidesk(t *testing.T) {
	od := odfake.New(odfake.Options{Subdomain: "acme", StaffEmail: "admin@acme.example", APIKey: "k"})
	e := startWithHelpdesk(t, "omnidesk", od, nil)

	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 2, Text: "Crashes on start", Language: "en"})
	var c odfake.Case
	eventually(t, "the case", func() bool { var ok bool; c, ok = od.CaseByReviewID("r1"); return ok })
	if c.CustomFields[odfake.FieldKey] != "r1" || !strings.Contains(strings.Join(c.Labels, ","), "rating:2") {
		t.Errorf("case fields %v labels %v", c.CustomFields, c.Labels)
	}
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 4, Text: "Fixed now", Language: "en"})
	eventually(t, "the edit in the same case", func() bool { c, _ = od.CaseByReviewID("r1"); return len(c.Messages) == 2 })
	if !strings.Contains(c.Messages[1].Content, "rating 2 → 4") || od.CaseCount() != 1 {
		t.Errorf("edit %q, %d cases", c.Messages[1].Content, od.CaseCount())
	}

	hook := "http://" + e.hub.Addr() + "/hooks/omnidesk/acme"
	od.SetWebhookURL(hook + "?secret=wrong")
	if _, err := od.Answer(context.Background(), c.ID, "nope"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong secret: %v, want 401", err)
	}
	od.SetWebhookURL(hook + "?secret=" + secret)
	if _, err := od.Answer(context.Background(), c.ID, "Thanks, Ann!"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the outcome note", func() bool { c, _ = od.CaseByReviewID("r1"); return len(c.Notes) == 1 })
	if !strings.Contains(c.Notes[0].Content, "published") {
		t.Errorf("note %q", c.Notes[0].Content)
	}
	posts, texts := e.backend.ReplyPosts()
	if posts["r1"] != 1 || texts["r1"] != "Thanks, Ann!" {
		t.Errorf("store replies %v %v", posts, texts)
	}
}
