package slack

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/slack/fake"
	"github.com/reviewhub/reviewhub/plugins/slack/slack"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

const vendorDir = "testdata/vendor"

// clientChecks call the client against evidence.Serve (the documented
// answer) and check what it made of it.
var clientChecks = map[string]func(t *testing.T, url string){
	"webhook_post": func(t *testing.T, url string) {
		c := &slack.Client{HTTP: http.DefaultClient, WebhookURL: url + "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"}
		if err := c.PostWebhook(sdktest.Context(t), slack.Message{Text: "Hello, world."}); err != nil {
			t.Errorf("PostWebhook: %v", err)
		}
	},
	"webhook_invalid_payload": nil, // the client never sends a body that is not JSON
	"webhook_channel_archived": func(t *testing.T, url string) {
		c := &slack.Client{HTTP: http.DefaultClient, WebhookURL: url + "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"}
		err := c.PostWebhook(sdktest.Context(t), slack.Message{Text: "Hello, world."})
		if sdk.KindOf(err) != sdk.ErrorKindRefused {
			t.Errorf("PostWebhook to an archived channel: %v (kind %v), want Refused", err, sdk.KindOf(err))
		}
	},
	"chat_postMessage": func(t *testing.T, url string) {
		c := &slack.Client{HTTP: http.DefaultClient, APIBase: url + "/api", Token: "xoxb-1"}
		ts, err := c.PostMessage(sdktest.Context(t), slack.Message{Channel: "C123ABC456", Text: "Here's a message for you"})
		if err != nil || ts != "1503435956.000247" {
			t.Errorf("PostMessage: %q %v", ts, err)
		}
	},
	"chat_postMessage_error": func(t *testing.T, url string) {
		c := &slack.Client{HTTP: http.DefaultClient, APIBase: url + "/api", Token: "xoxb-1"}
		_, err := c.PostMessage(sdktest.Context(t), slack.Message{Channel: "C0NOTHERE9", Text: "Hello"})
		if sdk.KindOf(err) != sdk.ErrorKindNotFound {
			t.Errorf("PostMessage to no channel: %v (kind %v), want NotFound", err, sdk.KindOf(err))
		}
	},
	"ratelimited": func(t *testing.T, url string) {
		c := &slack.Client{HTTP: http.DefaultClient, APIBase: url + "/api", Token: "xoxb-1"}
		_, err := c.PostMessage(sdktest.Context(t), slack.Message{Channel: "C123ABC456", Text: "Hello"})
		if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 30*time.Second {
			t.Errorf("PostMessage rate limited: %v (kind %v, retry after %s)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
		}
	},
	"auth_test": func(t *testing.T, url string) {
		c := &slack.Client{HTTP: http.DefaultClient, APIBase: url + "/api", Token: "xoxb-1"}
		r, err := c.AuthTest(sdktest.Context(t))
		if err != nil || r.Team != "Subarachnoid Workspace" || r.User != "bot" || r.BotID != "BZYBOTHED" {
			t.Errorf("AuthTest: %+v %v", r, err)
		}
	},
	"auth_test_invalid": func(t *testing.T, url string) {
		c := &slack.Client{HTTP: http.DefaultClient, APIBase: url + "/api", Token: "xoxb-revoked"}
		if _, err := c.AuthTest(sdktest.Context(t)); sdk.KindOf(err) != sdk.ErrorKindUnauthenticated {
			t.Errorf("AuthTest with an invalid token: %v (kind %v), want Unauthenticated", err, sdk.KindOf(err))
		}
	},
	"conversations_info": func(t *testing.T, url string) {
		c := &slack.Client{HTTP: http.DefaultClient, APIBase: url + "/api", Token: "xoxb-1"}
		ch, err := c.ChannelInfo(sdktest.Context(t), "C012AB3CD")
		if err != nil || ch.Name != "general" || !ch.IsMember || ch.IsArchived {
			t.Errorf("ChannelInfo: %+v %v", ch, err)
		}
	},
}

// Slack's documented examples, against the client and against the fake.
func TestNotifierSlackVendorExamples(t *testing.T) {
	examples := evidence.Load(t, vendorDir)
	if len(examples) != len(clientChecks) {
		t.Fatalf("%d examples, %d client checks: each example needs one (nil: not the client's)", len(examples), len(clientChecks))
	}
	for _, ex := range examples {
		t.Run(ex.Name+"/client", func(t *testing.T) {
			check, ok := clientChecks[ex.Name]
			if !ok {
				t.Fatalf("no client check for %s", ex.Name)
			}
			if check == nil {
				t.Skip("the client never sends this request")
			}
			check(t, evidence.Serve(t, ex).URL)
		})
		t.Run(ex.Name+"/fake", func(t *testing.T) {
			f := fake.New()
			f.AddChannel("C123ABC456", "general")
			f.AddChannel("C012AB3CD", "general")
			srv := httptest.NewServer(f)
			defer srv.Close()
			prepare := func(r *http.Request) {
				if r.URL.Path == "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX" {
					r.URL.Path = f.HookPath()
				} else if ex.Name == "auth_test_invalid" {
					r.Header.Set("Authorization", "Bearer xoxb-revoked")
				} else {
					r.Header.Set("Authorization", "Bearer "+f.Token())
				}
				switch ex.Name {
				case "webhook_channel_archived":
					f.Archive(fake.Channel)
				case "ratelimited":
					f.RateLimit(1, 30*time.Second)
				}
			}
			got := evidence.Replay(t, srv.Client(), srv.URL, ex, prepare)
			if want := ex.Response.BodyText; want != "" && strings.TrimSpace(string(got)) != want {
				t.Errorf("the fake answered %q, Slack documents %q", got, want)
			}
		})
	}
}
