package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
)

// Two hubs on one PostgreSQL database share the work: each app is polled
// by one hub at a time (advisory lock), each message is handled by one hub
// (watermill-sql consumer group), so every review becomes one ticket and
// every answer is posted once, whichever hub received the webhook.
func TestTwoHubsShareOnePostgres(t *testing.T) {
	e := startPostgres(t)
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	opts := testOptions()
	opts.Host.Env = []string{"TESTSTORE_PUBLIC_URL=" + e.srv.URL}
	second, err := app.New(ctx, e.cfg, log.With("hub", "second"), opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// Let the app connect first: reviews present at the first listing are
	// past reviews, of which only the backfill limit is imported.
	eventually(t, "the app connected", func() bool {
		c, err := e.hub.DB.Cursor(context.Background(), "acme", "ios")
		return err == nil && c.Connected
	})
	const n = 30
	for i := range n {
		e.backend.PutReview(testbackend.Review{ID: fmt.Sprintf("r%02d", i), App: "app1", Rating: 1 + i%5, Text: fmt.Sprintf("review %d", i)})
	}
	eventually(t, fmt.Sprintf("%d tickets", n), func() bool { return len(e.backend.Tickets()) == n })

	hubs := []string{e.hub.Addr(), second.Addr()}
	for i, tk := range e.backend.Tickets() {
		body := fmt.Sprintf(`{"ticket_id":%q,"message_id":"m-%s","text":"Thanks %d"}`, tk.ID, tk.ReviewID, i)
		for _, addr := range hubs { // the same answer delivered to both hubs
			url := fmt.Sprintf("http://%s/hooks/testdesk/acme?secret=%s", addr, secret)
			resp, err := http.Post(url, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("webhook to %s: %d", addr, resp.StatusCode)
			}
		}
	}
	eventually(t, "every answer's outcome note", func() bool {
		for _, tk := range e.backend.Tickets() {
			if len(tk.Notes) == 0 {
				return false
			}
		}
		return true
	})
	if c := e.backend.TicketCreates(); c != n {
		t.Errorf("%d tickets created for %d reviews", c, n)
	}
	posts, _ := e.backend.ReplyPosts()
	for id, p := range posts {
		if p != 1 {
			t.Errorf("review %s: reply posted %d times", id, p)
		}
	}
	if len(posts) != n {
		t.Errorf("%d reviews answered, want %d", len(posts), n)
	}
	for _, tk := range e.backend.Tickets() {
		if len(tk.Notes) != 1 {
			t.Errorf("ticket %s: %d outcome notes, want 1: %q", tk.ID, len(tk.Notes), tk.Notes)
		}
	}
}
