package telegram

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/telegram/fake"
	"github.com/reviewhub/reviewhub/plugins/telegram/telegram"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

const docToken = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11" // the Bot API documentation's example token

func client(url, token string) *telegram.Client {
	return &telegram.Client{HTTP: http.DefaultClient, Base: url, Token: token}
}

// clientChecks call the client against evidence.Serve and check what it made of the answer.
var clientChecks = map[string]func(t *testing.T, url string){
	"sendMessage": func(t *testing.T, url string) {
		m, err := client(url, docToken).SendMessage(sdktest.Context(t), "-1001234567890", "*New review*", 0)
		if err != nil || m.MessageID != 101 || m.Chat.Type != "supergroup" || m.Text != "New review" {
			t.Errorf("SendMessage: %+v %v", m, err)
		}
	},
	"sendMessage_reply": func(t *testing.T, url string) {
		m, err := client(url, docToken).SendMessage(sdktest.Context(t), "-1001234567890", "Reply published", 101)
		if err != nil || m.MessageID != 102 || m.ReplyTo == nil || m.ReplyTo.MessageID != 101 {
			t.Errorf("SendMessage as a reply: %+v %v", m, err)
		}
	},
	"error_flood": func(t *testing.T, url string) {
		_, err := client(url, docToken).SendMessage(sdktest.Context(t), "-1001234567890", "Hello", 0)
		if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 5*time.Second {
			t.Errorf("flood control: %v (kind %v, retry after %s)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
		}
	},
	"error_parse_entities": func(t *testing.T, url string) {
		_, err := client(url, docToken).SendMessage(sdktest.Context(t), "-1001234567890", "Version 1.5", 0)
		if sdk.KindOf(err) != sdk.ErrorKindInvalid {
			t.Errorf("unparsable text: %v (kind %v), want Invalid", err, sdk.KindOf(err))
		}
	},
	"error_chat_not_found": func(t *testing.T, url string) {
		_, err := client(url, docToken).SendMessage(sdktest.Context(t), "-100999", "Hello", 0)
		if sdk.KindOf(err) != sdk.ErrorKindNotFound {
			t.Errorf("unknown chat: %v (kind %v), want NotFound", err, sdk.KindOf(err))
		}
	},
	"error_unauthorized": func(t *testing.T, url string) {
		_, err := client(url, "1:wrong").GetMe(sdktest.Context(t))
		if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated {
			t.Errorf("wrong token: %v (kind %v), want Unauthenticated", err, sdk.KindOf(err))
		}
	},
	"getMe": func(t *testing.T, url string) {
		u, err := client(url, docToken).GetMe(sdktest.Context(t))
		if err != nil || u.ID != 123456 || !u.IsBot || u.Username != "reviewhub_bot" {
			t.Errorf("GetMe: %+v %v", u, err)
		}
	},
	"getChatMember": func(t *testing.T, url string) {
		m, err := client(url, docToken).GetChatMember(sdktest.Context(t), "-1001234567890", 123456)
		if err != nil || m.Status != "member" {
			t.Errorf("GetChatMember: %+v %v", m, err)
		}
	},
}

// The Bot API's documented requests and answers, against the client and the fake.
func TestNotifierTelegramVendorExamples(t *testing.T) {
	examples := evidence.Load(t, "testdata/vendor")
	if len(examples) != len(clientChecks) {
		t.Fatalf("%d examples, %d client checks", len(examples), len(clientChecks))
	}
	for _, ex := range examples {
		t.Run(ex.Name+"/client", func(t *testing.T) {
			check, ok := clientChecks[ex.Name]
			if !ok {
				t.Fatalf("no client check for %s", ex.Name)
			}
			check(t, evidence.Serve(t, ex).URL)
		})
		t.Run(ex.Name+"/fake", func(t *testing.T) {
			f := fake.New()
			if f.Token() != docToken {
				t.Fatalf("the fake's token is not the documentation's")
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			evidence.Replay(t, srv.Client(), srv.URL, ex, func(*http.Request) {
				switch ex.Name {
				case "error_flood":
					f.RateLimit(1, 5*time.Second)
				case "sendMessage_reply":
					f.Seed("New review") // message 101
				}
			})
		})
	}
}
