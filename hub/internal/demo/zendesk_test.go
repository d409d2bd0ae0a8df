package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	zdfake "github.com/reviewhub/reviewhub/plugins/zendesk/fake"
	"github.com/reviewhub/reviewhub/sdk"
)

// The demo with Zendesk instead of Omnidesk, through the hub binary and the
// real store and Zendesk plugin processes: reviews from every store become
// Zendesk tickets, an edit is a further comment of the same ticket, the
// scripted answers come back through the signed event webhook (published in
// Google Play; refused as too long, or for want of a store account, with
// the reason in an internal note), and an answer given on the demo's page
// is published in the App Store with its outcome note.
func TestDemoEndToEndWithZendesk(t *testing.T) {
	d, ctx := startDemo(t, Zendesk)
	zd := d.Fakes.Zendesk
	if d.Config.Helpdesk != Zendesk || d.Config.HelpdeskSetup["base_url"] != d.Fakes.URL[Zendesk] {
		t.Fatalf("the integration's helpdesk is %s at %s", d.Config.Helpdesk, d.Config.HelpdeskSetup["base_url"])
	}
	if out := d.out.(*syncWriter).String(); !strings.Contains(out, "Fake Zendesk API:") || !strings.Contains(out, d.Fakes.URL[Zendesk]+"/api/v2/tickets.json") {
		t.Errorf("the banner does not say where the fake Zendesk is:\n%s", out)
	}
	steps := Script()
	for _, st := range steps[:6] { // reviews in every store
		if err := d.Play(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	ticketOf := func(store, id string) (zdfake.Ticket, bool) {
		if store == "rustore" { // the RuStore plugin's review id is RuStore's own
			for _, tk := range zd.Tickets() {
				if strings.HasPrefix(tk.ExternalID, "reviewhub:rustore:") {
					return tk, true
				}
			}
			return zdfake.Ticket{}, false
		}
		return zd.TicketByReview(store, id)
	}
	for _, w := range [][2]string{{"appstore", "as-1001"}, {"googleplay", "gp-2001"}, {"rustore", ""}, {"appstore", "asp-4001"}, {"googleplay", "gp-2002"}, {"googleplay", "gp-2003"}} {
		eventually(t, "a ticket for "+w[0]+" "+w[1], func() bool { _, ok := ticketOf(w[0], w[1]); return ok })
	}
	jp, _ := ticketOf("googleplay", "gp-2001")
	if !strings.Contains(jp.Comments[0].Body, "アプリが起動しません") || !strings.Contains(strings.Join(jp.Tags, ","), "language:ja") ||
		jp.CustomFields[zdfake.FieldReviewID] != "gp-2001" {
		t.Errorf("Japanese ticket: %q tags %v fields %v", jp.Comments[0].Body, jp.Tags, jp.CustomFields)
	}

	// Kenji edits his review: a further public comment of the same ticket.
	if err := d.Play(ctx, steps[6]); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the edit in the same ticket", func() bool { tk, _ := ticketOf("googleplay", "gp-2001"); return len(tk.Public()) == 2 })
	if tk, _ := ticketOf("googleplay", "gp-2001"); tk.ID != jp.ID || !strings.Contains(tk.Public()[1].Body, "rating 1 → 4") ||
		!strings.Contains(strings.Join(tk.Tags, ","), "rating:4") || strings.Contains(strings.Join(tk.Tags, ","), "rating:1") {
		t.Errorf("edit in ticket %d (first %d): %q tags %v", tk.ID, jp.ID, tk.Public()[1].Body, tk.Tags)
	}
	if n := zd.TicketCount(); n != 6 {
		t.Errorf("%d tickets after the edit, want 6", n)
	}

	// The script's answers, played as the demo plays them.
	noteOf := func(store, id string) string {
		t.Helper()
		var tk zdfake.Ticket
		eventually(t, "the outcome note of "+id, func() bool { tk, _ = ticketOf(store, id); return len(tk.Notes()) > 0 })
		return tk.Notes()[0].Body
	}
	for _, st := range steps[9:12] {
		if err := d.Play(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	// (The plugin trims the comment: the script's answer ends with a space.)
	want := fmt.Sprintf("Google Play replies are limited to 350 characters, this one has %d", len(strings.TrimSpace(steps[9].Answer)))
	if n := noteOf("googleplay", "gp-2003"); !strings.Contains(n, want) {
		t.Errorf("over-long answer note %q", n)
	}
	if n := noteOf("appstore", "asp-4001"); !strings.Contains(n, "connect the store account to reply") {
		t.Errorf("public-feed answer note %q", n)
	}
	if n := noteOf("googleplay", "gp-2001"); !strings.Contains(n, "published") {
		t.Errorf("Google Play answer note %q", n)
	}
	if txt, _ := d.StoreAnswer("gp-2001"); txt != steps[11].Answer {
		t.Errorf("Google Play shows %q, want %q", txt, steps[11].Answer)
	}

	// The page lists the tickets and answers one through the webhook.
	ann, _ := ticketOf("appstore", "as-1001")
	page := getPage(t, d.UIURL)
	if !strings.Contains(page, "fake Zendesk") || !strings.Contains(page, "6 tickets") || !strings.Contains(page, `id="ticket-`) ||
		!strings.Contains(page, "In the store now: "+steps[11].Answer) {
		t.Errorf("the page does not show the Zendesk tickets:\n%s", page)
	}
	if code := postAnswer(t, d.UIURL, ann, "We fixed the crash in 3.3."); code != http.StatusSeeOther {
		t.Fatalf("answer on the page: %d", code)
	}
	if n := noteOf("appstore", "as-1001"); !strings.Contains(n, "published") {
		t.Errorf("App Store answer note %q", n)
	}
	if txt, _ := d.StoreAnswer("as-1001"); txt != "We fixed the crash in 3.3." {
		t.Errorf("App Store shows %q", txt)
	}
	tk, _ := ticketOf("appstore", "as-1001")
	if pub := tk.Public(); len(pub) != 2 || pub[1].AuthorID != zdfake.StaffID || len(tk.Notes()) != 1 {
		t.Errorf("Ann's ticket: %d public comments (last by %d), %d notes", len(pub), pub[len(pub)-1].AuthorID, len(tk.Notes()))
	}
	eventually(t, "the run's counters on /metrics", func() bool {
		f := scrapeMetrics(t, "http://"+d.Config.Listen+"/metrics")
		return sum(f, "reviewhub_replies_total", "outcome", sdk.OutcomePublished) == 2 &&
			sum(f, "reviewhub_replies_total", "outcome", sdk.OutcomeRefused) == 2 &&
			sum(f, "reviewhub_webhook_requests_total", "result", "accepted") == 4
	})
}

func getPage(t *testing.T, base string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the page: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// postAnswer answers a ticket through the page's form and returns the
// status (a redirect back to the ticket when it went through).
func postAnswer(t *testing.T, base string, tk zdfake.Ticket, text string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := strconv.FormatInt(tk.ID, 10)
	form := url.Values{"ticket": {id}, "text": {text}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/answer", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil && !errors.Is(err, http.ErrUseLastResponse) {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusSeeOther && loc != "/#ticket-"+id {
		t.Errorf("the page sends back to %q, not to the ticket", loc)
	}
	return resp.StatusCode
}
