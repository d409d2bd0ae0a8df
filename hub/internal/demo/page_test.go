package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/internal/stack"
	zdfake "github.com/reviewhub/reviewhub/plugins/zendesk/fake"
)

// The fake helpdesk page does not reload itself (a reload wiped the answer
// being typed): its script replaces each ticket's live part (messages,
// notes, store answer), and the answer form is outside it.
func TestPageRefreshKeepsTheAnswerForm(t *testing.T) {
	fakes, err := stack.StartFakes(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fakes.Close)
	d, err := newDemo(Options{Helpdesk: Zendesk, DataDir: t.TempDir()}, fakes)
	if err != nil {
		t.Fatal(err)
	}
	id := fakes.Zendesk.AddTicket(zdfake.Ticket{Subject: "★★☆☆☆ Crashes", Status: "open", ExternalID: "reviewhub:googleplay:gp-1",
		Comments: []zdfake.Comment{{Body: "The app crashes on start.", Public: true, AuthorID: zdfake.AgentID}}})
	srv := httptest.NewServer(d.page())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the page: %d %v", resp.StatusCode, err)
	}
	page := string(raw)
	if strings.Contains(strings.ToLower(page), `http-equiv="refresh"`) {
		t.Error("the page reloads itself, wiping an answer being typed")
	}
	_, ticket, ok := strings.Cut(page, `id="ticket-`+strconv.FormatInt(id, 10)+`"`)
	if !ok {
		t.Fatalf("no ticket %d on the page:\n%s", id, page)
	}
	_, rest, ok := strings.Cut(ticket, `<div class="live">`)
	live := rest[:closingDiv(rest)]
	if !ok || !strings.Contains(live, "The app crashes on start.") || strings.Contains(live, "<textarea") || !strings.Contains(rest[len(live):], "<textarea") {
		t.Errorf("the ticket's live part must hold its messages and not its answer form:\n%s", ticket)
	}
	if !strings.Contains(page, `fetch(location.pathname`) || !strings.Contains(page, `querySelector(".live")`) {
		t.Errorf("the page has no script refreshing the tickets' live parts:\n%s", page)
	}
}

// closingDiv is where the <div> whose content html starts with ends (its
// "</div>"), or len(html).
func closingDiv(html string) int {
	depth := 1
	for i := 0; i < len(html); i++ {
		switch {
		case strings.HasPrefix(html[i:], "<div"):
			depth++
		case strings.HasPrefix(html[i:], "</div>"):
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return len(html)
}
