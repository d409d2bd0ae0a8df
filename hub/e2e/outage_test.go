package e2e

import (
	"fmt"
	"testing"
	"time"

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
