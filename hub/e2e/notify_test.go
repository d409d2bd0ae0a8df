package e2e

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/rules"
	slackfake "github.com/reviewhub/reviewhub/plugins/slack/fake"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// A hub with a Slack destination (the fake workspace) that takes every
// review but 5★: a 1★ review reaches the channel, its edit and the
// published answer land in its thread, a 5★ review sends nothing.
func TestNotifierEndToEndSlackThreadAndRoute(t *testing.T) {
	f := slackfake.New()
	slack := httptest.NewServer(f)
	t.Cleanup(slack.Close)
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	e.cfg.Plugins.Paths["slack"] = sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/slack/cmd/hub-plugin-slack")
	e.cfg.Notify.Destinations = []config.NotifyDestination{{Name: "support", Plugin: "slack",
		Settings: map[string]string(f.BotSettings(slack.URL)), When: rules.Conditions{Ratings: []int{1, 2, 3, 4}}}}
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e.startHub(t)

	text := func(m slackfake.Message) string {
		s := m.Text
		for _, b := range m.Blocks {
			if b.Text != nil {
				s += "\n" + b.Text.Text
			}
		}
		return s
	}
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 1, Text: "Crashes on start", Language: "en"})
	eventually(t, "the 1★ review in the channel", func() bool { return len(f.Messages()) == 1 })
	first := f.Messages()[0]
	if first.Channel != slackfake.Channel || first.ThreadTS != "" || !strings.Contains(text(first), "Crashes on start") {
		t.Fatalf("first message %+v", first)
	}
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 1, Text: "Crashes on start, every time", Language: "en"})
	eventually(t, "the edit", func() bool { return len(f.Messages()) == 2 })
	tk, _ := ticketFor(e.backend, "r1")
	body := fmt.Sprintf(`{"ticket_id":%q,"message_id":"m1","text":"Fixed in 2.1, Ann!","staff":"Sam"}`, tk.ID)
	if code, resp := e.webhook(t, "acme", "secret="+secret, body); code != 200 {
		t.Fatalf("helpdesk webhook: %d %s", code, resp)
	}
	eventually(t, "the answer", func() bool { return len(f.Messages()) == 3 })
	ms := f.Messages()
	if ms[1].ThreadTS != first.TS || ms[2].ThreadTS != first.TS {
		t.Errorf("the edit (thread %q) and the answer (thread %q) are not in the review's thread %q", ms[1].ThreadTS, ms[2].ThreadTS, first.TS)
	}
	if !strings.Contains(text(ms[2]), "Fixed in 2.1") {
		t.Errorf("the answer's message %q", text(ms[2]))
	}
	e.backend.PutReview(testbackend.Review{ID: "r5", App: "app1", Author: "Bo", Rating: 5, Text: "Love it", Language: "en"})
	eventually(t, "the 5★ review's ticket", func() bool { _, ok := ticketFor(e.backend, "r5"); return ok })
	// Its event is before the 2★ review's in the stream: when the 2★ one
	// is sent, the 5★ one was passed over.
	e.backend.PutReview(testbackend.Review{ID: "r2", App: "app1", Author: "Cy", Rating: 2, Text: "Slow", Language: "en"})
	eventually(t, "the 2★ review", func() bool { return len(f.Messages()) == 4 })
	for _, m := range f.Messages() {
		if strings.Contains(text(m), "Love it") {
			t.Errorf("a 5★ review was sent: %q", text(m))
		}
	}
}
