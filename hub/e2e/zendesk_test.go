package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	zdfake "github.com/reviewhub/reviewhub/plugins/zendesk/fake"
)

// The real Zendesk plugin process against the fake Zendesk, through the
// hub: a review becomes a ticket with its external_id, tags and the review
// id field; an edit is a further comment of the same ticket; an agent's
// public comment comes back through the signed event webhook (a wrong or
// stale signature is refused), is published in the store once (a replayed
// request publishes nothing more), and its outcome is an internal note; an
// over-long answer is refused with the store's reason in a note.
func TestThroughTheHubWithZendesk(t *testing.T) {
	zd := zdfake.New(zdfake.Options{Subdomain: "acme", Email: "agent@acme.example", Token: "k"})
	e := startWithHelpdesk(t, "zendesk", zd, nil)

	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 2, Text: "Crashes on start", Language: "en"})
	var tk zdfake.Ticket
	eventually(t, "the ticket", func() bool { var ok bool; tk, ok = zd.TicketByReview("teststore", "r1"); return ok })
	if tk.CustomFields[zdfake.FieldReviewID] != "r1" || !strings.Contains(strings.Join(tk.Tags, ","), "rating:2") {
		t.Errorf("ticket fields %v tags %v", tk.CustomFields, tk.Tags)
	}
	// The store is named as its plugin declares itself (Info.DisplayName),
	// which the hub carries in the change: no helpdesk plugin knows it.
	if !strings.Contains(tk.Subject, "Ann on test store") {
		t.Errorf("ticket subject %q, want the store plugin's display name", tk.Subject)
	}
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 4, Text: "Fixed now", Language: "en"})
	eventually(t, "the edit in the same ticket", func() bool { tk, _ = zd.TicketByReview("teststore", "r1"); return len(tk.Comments) == 2 })
	if !strings.Contains(tk.Comments[1].Body, "rating 2 → 4") || zd.TicketCount() != 1 {
		t.Errorf("edit %q, %d tickets", tk.Comments[1].Body, zd.TicketCount())
	}
	if tags := strings.Join(tk.Tags, ","); !strings.Contains(tags, "rating:4") || strings.Contains(tags, "rating:2") {
		t.Errorf("tags after the edit: %s", tags)
	}

	hook := "http://" + e.hub.Addr() + "/hooks/zendesk/acme"
	zd.SetWebhook(hook, "wrong-secret")
	if _, err := zd.Answer(context.Background(), tk.ID, "nope"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong signing secret: %v, want 401", err)
	}
	zd.SetWebhook(hook, secret)
	if _, err := zd.Answer(context.Background(), tk.ID, "Thanks, Ann!"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the outcome note", func() bool { tk, _ = zd.TicketByReview("teststore", "r1"); return len(tk.Notes()) == 1 })
	if !strings.Contains(tk.Notes()[0].Body, "published") {
		t.Errorf("note %q", tk.Notes()[0].Body)
	}
	// Zendesk retries the same request: nothing is published twice.
	if err := zd.Replay(context.Background()); err != nil {
		t.Fatal(err)
	}
	posts, texts := e.backend.ReplyPosts()
	if posts["r1"] != 1 || texts["r1"] != "Thanks, Ann!" {
		t.Errorf("store replies %v %v", posts, texts)
	}

	// An answer the store refuses: the reason comes back as a note.
	long := strings.Repeat("Thank you for the detailed feedback! ", 11)
	if _, err := zd.Answer(context.Background(), tk.ID, long); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refusal note", func() bool { tk, _ = zd.TicketByReview("teststore", "r1"); return len(tk.Notes()) == 2 })
	if n := tk.Notes()[1].Body; !strings.Contains(n, "NOT published") || !strings.Contains(n, fmt.Sprintf("limited to 350 characters, this one has %d", len(strings.TrimSpace(long)))) {
		t.Errorf("refusal note %q", n)
	}
	if posts, _ := e.backend.ReplyPosts(); posts["r1"] != 1 {
		t.Errorf("store replies after the refusal: %v", posts)
	}
}
