package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
)

// The helpdesk is down for a while: the work waits durably, is retried with
// backoff, and is all delivered once, when the helpdesk is back.
func TestHelpdeskOutage(t *testing.T) {
	e := start(t)
	e.backend.FailTickets(true)
	for i := range 5 {
		e.backend.PutReview(testbackend.Review{ID: fmt.Sprintf("o%d", i), App: "app1", Rating: 2, Text: "down"})
	}
	// Long enough for several failed rounds with the test's short backoff.
	time.Sleep(1500 * time.Millisecond)
	if n := len(e.backend.Tickets()); n != 0 {
		t.Fatalf("%d tickets while the helpdesk was down", n)
	}
	e.backend.FailTickets(false)
	eventually(t, "all five tickets", func() bool { return len(e.backend.Tickets()) == 5 })
	time.Sleep(300 * time.Millisecond)
	if c := e.backend.TicketCreates(); c != 5 {
		t.Fatalf("%d ticket creates for 5 reviews", c)
	}
}

// The store is down (every call answers 503) while an answer is waiting to
// be published and a new review is waiting to be listed: both wait, are
// retried with backoff, and go through once, when the store is back.
func TestStoreOutage(t *testing.T) {
	e := start(t)
	e.backend.PutReview(testbackend.Review{ID: "s1", App: "app1", Rating: 2, Text: "before"})
	eventually(t, "the first ticket", func() bool { _, ok := ticketFor(e.backend, "s1"); return ok })
	tk, _ := ticketFor(e.backend, "s1")
	e.backend.FailNext(1 << 30) // everything down, the helpdesk too
	e.backend.PutReview(testbackend.Review{ID: "s2", App: "app1", Rating: 4, Text: "during"})
	body := fmt.Sprintf(`{"ticket_id":%q,"message_id":"out-1","text":"We are on it"}`, tk.ID)
	if code, resp := e.webhook(t, "acme", "secret="+secret, body); code != 200 {
		t.Fatalf("webhook: %d %s", code, resp)
	}
	time.Sleep(1500 * time.Millisecond)
	if posts, _ := e.backend.ReplyPosts(); posts["s1"] != 0 {
		t.Fatal("a reply was posted while the store was down")
	}
	e.backend.FailNext(0)
	eventually(t, "the answer published and the new review ticketed", func() bool {
		posts, _ := e.backend.ReplyPosts()
		_, ok := ticketFor(e.backend, "s2")
		return posts["s1"] == 1 && ok
	})
	eventually(t, "the outcome note", func() bool { tk, _ := ticketFor(e.backend, "s1"); return len(tk.Notes) == 1 })
}

// One integration's helpdesk being down does not hold back another's:
// integrations are delivered on separate partitions of the bus.
func TestOneHelpdeskDownDoesNotHoldBackAnother(t *testing.T) {
	other := ""
	for _, id := range []string{"beta", "gamma", "delta", "omega", "zeta", "theta"} {
		if bus.PartitionOf(id) != bus.PartitionOf("acme") {
			other = id
			break
		}
	}
	down, up := testbackend.New(), testbackend.New()
	e := &env{backend: down}
	e.srv = startBackendServer(t, down)
	upURL := startBackend(t, up)
	e.cfg = newConfig(t, e.srv.URL)
	second := e.cfg.Integrations[0]
	second.ID = other
	second.Helpdesk.Settings = map[string]string{"url": upURL, "secret": secret}
	second.Apps = []config.App{second.Apps[0]}
	second.Apps[0].StoreAppID = "app2"
	e.cfg.Integrations = append(e.cfg.Integrations, second)
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	down.FailTickets(true)
	e.startHub(t)
	down.PutReview(testbackend.Review{ID: "a1", App: "app1", Rating: 1, Text: "stuck"})
	down.PutReview(testbackend.Review{ID: "b1", App: "app2", Rating: 5, Text: "flows"}) // the store is shared; the helpdesks are not
	eventually(t, "the other integration's ticket", func() bool { _, ok := ticketFor(up, "b1"); return ok })
	if _, ok := ticketFor(down, "a1"); ok {
		t.Fatal("a ticket was created in the helpdesk that is down")
	}
	down.FailTickets(false)
	eventually(t, "the stuck ticket once the helpdesk is back", func() bool { _, ok := ticketFor(down, "a1"); return ok })
}
