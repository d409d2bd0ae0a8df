package omnidesk_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/helpdesktest"
	"github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	"github.com/reviewhub/reviewhub/plugins/omnidesk/omnidesk"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

const vendorDir = "../testdata/vendor"

// clientChecks call the client against evidence.Serve and check what it parsed.
var clientChecks = map[string]func(t *testing.T, c *omnidesk.Client){
	"create_case": func(t *testing.T, c *omnidesk.Client) {
		got, err := c.CreateCase(sdktest.Context(t), omnidesk.NewCase{UserCustomID: "googleplay:gp-1", UserFullName: "User's full name",
			Subject: "I need help", Content: "I need help", Channel: "cch101", Labels: []int64{101, 102},
			CustomFields: map[string]any{"cf_25": "some text", "cf_30": "another field"}})
		if err != nil || got.CaseID != 2000 || got.UserID != 123 || got.CaseNumber != "664-245651" ||
			len(got.Labels) != 2 || got.CustomFields["cf_25"] != "some text" {
			t.Errorf("CreateCase: %+v, %v", got, err)
		}
	},
	"list_cases_filtered": func(t *testing.T, c *omnidesk.Client) {
		got, err := c.FindCases(sdktest.Context(t), "googleplay:gp-1", "cch101")
		if err != nil || len(got) != 1 || got[0].CaseID != 2000 || got[0].UserID != 123 || got[0].CustomFields["cf_30"] != "another field" {
			t.Errorf("FindCases: %+v, %v", got, err)
		}
	},
	"message_post_user": func(t *testing.T, c *omnidesk.Client) {
		got, err := c.AddMessage(sdktest.Context(t), 123, 321, "I need help!")
		if err != nil || got.MessageID != 2000 || got.Note {
			t.Errorf("AddMessage: %+v, %v", got, err)
		}
	},
	"note_post": func(t *testing.T, c *omnidesk.Client) {
		if err := c.AddNote(sdktest.Context(t), 123, "This is a note"); err != nil {
			t.Errorf("AddNote: %v", err)
		}
	},
	"labels_list": func(t *testing.T, c *omnidesk.Client) {
		got, err := c.ListLabels(sdktest.Context(t))
		if err != nil || len(got) != 2 || got[1].LabelID != 210 || got[1].LabelTitle != "Test title 2" {
			t.Errorf("ListLabels: %+v, %v", got, err)
		}
	},
	"label_create": func(t *testing.T, c *omnidesk.Client) {
		got, err := c.CreateLabel(sdktest.Context(t), "Test title")
		if err != nil || got.LabelID != 200 {
			t.Errorf("CreateLabel: %+v, %v", got, err)
		}
	},
	"custom_channels_list": func(t *testing.T, c *omnidesk.Client) {
		got, err := c.CustomChannels(sdktest.Context(t))
		if err != nil || len(got) != 2 || got[1].Code() != "cch3" || got[1].ChannelType != "sync" ||
			got[0].WebhookURL != "http://example.ru/wh/omni_wh/" || !got[0].Active {
			t.Errorf("CustomChannels: %+v, %v", got, err)
		}
	},
	"staff_list": func(t *testing.T, c *omnidesk.Client) {
		got, err := c.Staff(sdktest.Context(t))
		if err != nil || len(got) != 2 || got[0].Active || !got[1].Active || got[1].StaffEmail != "staff2@domain.ru" {
			t.Errorf("Staff: %+v, %v", got, err)
		}
	},
	"error_case_not_found": func(t *testing.T, c *omnidesk.Client) {
		_, err := c.AddMessage(sdktest.Context(t), 999999, 321, "I need help!")
		var apiErr *omnidesk.APIError
		if sdk.KindOf(err) != sdk.ErrorKindNotFound || !errors.As(err, &apiErr) || apiErr.Code != "case_not_found" {
			t.Errorf("AddMessage to a missing case: %v (kind %v)", err, sdk.KindOf(err))
		}
	},
	"rate_limit": func(t *testing.T, c *omnidesk.Client) {
		_, err := c.Staff(sdktest.Context(t))
		if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) != 23*time.Second {
			t.Errorf("rate limit: %v (kind %v, retry after %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
		}
		if l := c.Limits(); !l.Known || l.PerMinute != 50 || l.Left != 0 {
			t.Errorf("limits %+v, want 50 per minute, 0 left", l)
		}
	},
}

// Every documented example is played against the client: it sends the
// documented request and reads the documented answer.
func TestVendorExamplesAgainstClient(t *testing.T) {
	helpdesktest.CheckClient(t, vendorDir, clientChecks, func(url string) *omnidesk.Client {
		return &omnidesk.Client{BaseURL: url, Email: "admin@acme.example", APIKey: "k"}
	})
}

// fakeSetup prepares the fake's account for an example (its ids are the
// documentation's) and returns the path to send the example to.
func fakeSetup(t *testing.T, f *fake.Server, base string, ex evidence.Example) string {
	t.Helper()
	path := ex.Request.Path
	replayCase := func() string {
		create := evidence.Find(t, evidence.Load(t, vendorDir), "create_case")
		body := evidence.Replay(t, nil, base, create, auth)
		var out struct {
			Case struct {
				CaseID int64 `json:"case_id"`
			} `json:"case"`
		}
		if err := json.Unmarshal(body, &out); err != nil || out.Case.CaseID == 0 {
			t.Fatalf("creating the example's case: %s %v", body, err)
		}
		return strconv.FormatInt(out.Case.CaseID, 10)
	}
	switch ex.Name {
	case "create_case", "list_cases_filtered":
		f.AddLabel(101, "Label 101")
		f.AddLabel(102, "Label 102")
		f.AddCaseField(25, "Field 25")
		f.AddCaseField(30, "Field 30")
		if ex.Name == "list_cases_filtered" {
			replayCase()
		}
	case "message_post_user", "note_post":
		f.AddLabel(101, "Label 101")
		f.AddLabel(102, "Label 102")
		f.AddCaseField(25, "Field 25")
		f.AddCaseField(30, "Field 30")
		path = strings.Replace(path, "/123/", "/"+replayCase()+"/", 1)
	case "labels_list":
		f.AddLabel(200, "Test title")
		f.AddLabel(210, "Test title 2")
	case "rate_limit":
		f.RateLimit(1, 23*time.Second)
	}
	return path
}

func auth(r *http.Request) { r.SetBasicAuth("admin@acme.example", "key-1") }

// Every documented example is played against the fake: it accepts the
// documented request and answers the documented status, headers and shape.
func TestVendorExamplesAgainstFake(t *testing.T) {
	helpdesktest.EachAPIExample(t, vendorDir, func(t *testing.T, ex evidence.Example) {
		f := fake.New(fake.Options{Subdomain: "acme", StaffEmail: "admin@acme.example", APIKey: "key-1"})
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		ex.Request.Path = fakeSetup(t, f, srv.URL, ex)
		evidence.Replay(t, srv.Client(), srv.URL, ex, auth)
	})
}

// The documented webhook bodies (JSON and form) are read as staff answers.
func TestVendorWebhookExamplesAreParsed(t *testing.T) {
	// The JSON and the form one.
	for _, ex := range helpdesktest.WebhookExamples(t, vendorDir, 2) {
		body := []byte(ex.Request.BodyText)
		if len(body) == 0 {
			body = ex.Request.Body
		}
		got, err := omnidesk.ParseWebhook(body)
		want := omnidesk.StaffAnswer{CaseID: "985687", MessageID: "42577887", UserCustomID: "googleplay:gp-1",
			Text: "Help is coming!", Staff: "Omnidesk staff #7235"}
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", ex.Name, got, err, want)
		}
	}
}
