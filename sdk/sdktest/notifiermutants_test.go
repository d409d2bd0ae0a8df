package sdktest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// memChat is an in-memory chat destination with its vendor view: it
// holds messages (with their threads), limits each text to its own
// limit, and answers the faults asked for.
type memChat struct {
	faults.Faults
	limit int
	mu    sync.Mutex
	msgs  []VendorMessage
}

func (c *memChat) MaxTextLength() int { return c.limit }

func (c *memChat) Messages(context.Context) ([]VendorMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]VendorMessage(nil), c.msgs...), nil
}

// chatError is the destination's answer to a fault.
type chatError struct {
	status int
	retry  int // seconds, for 429
}

// post is the destination's API: it answers a fault, or stores the message.
// It does not refuse an over-long text, so the kit must measure it.
func (c *memChat) post(text, thread string) (string, *chatError) {
	if f, ok := c.Next(); ok {
		if f.RateLimited {
			return "", &chatError{status: http.StatusTooManyRequests, retry: int(f.RetryAfter.Seconds())}
		}
		return "", &chatError{status: f.Status}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ref := strconv.Itoa(len(c.msgs) + 1)
	if thread != "" {
		found := false
		for _, m := range c.msgs {
			found = found || m.Ref == thread
		}
		if !found {
			return "", &chatError{status: http.StatusBadRequest}
		}
	}
	c.msgs = append(c.msgs, VendorMessage{Ref: ref, ThreadRef: thread, Texts: []string{text}})
	return ref, nil
}

// memNotifier posts to a memChat, making the mistake bug names.
type memNotifier struct {
	c   *memChat
	bug string
}

func (n memNotifier) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	i := sdk.Info{Name: "memchat", Version: "1.0.0",
		Settings: []sdk.SettingField{{Key: "bot_token", Label: "Bot token", Required: true, Secret: true}},
		Notifier: &sdk.NotifierCapabilities{MaxTextLength: n.c.limit, Formatting: sdk.FormatPlain, Threads: true}}
	switch n.bug {
	case "no NotifierCapabilities":
		i.Notifier = nil
	case "token not Secret":
		i.Settings[0].Secret = false
	case "limit larger than the destination's":
		i.Notifier.MaxTextLength = n.c.limit * 2
	}
	return i, nil
}

func (n memNotifier) CheckSettings(context.Context, sdk.CheckSettingsRequest) (sdk.CheckSettingsResponse, error) {
	return sdk.CheckSettingsResponse{}, nil
}

func (n memNotifier) render(e sdk.Event) string {
	body := strings.Join(sdk.EventLines(e), "\n")
	title := sdk.EventTitle(e)
	budget := n.c.limit - utf8.RuneCountInString(title) - 1
	switch n.bug {
	case "exceeds the length limit":
	case "cuts by bytes":
		if len(body) > budget {
			body = body[:budget] + sdk.Ellipsis
		}
	case "cuts by code points":
		if r := []rune(body); len(r) > budget {
			body = string(r[:budget-1]) + sdk.Ellipsis
		}
	case "no ellipsis":
		if r := []rune(body); len(r) > budget {
			body = sdk.Truncate(body, budget+1)
			body = strings.TrimSuffix(body, sdk.Ellipsis)
		}
	default:
		body = sdk.Truncate(body, budget)
	}
	return title + "\n" + body
}

func (n memNotifier) Notify(_ context.Context, req sdk.NotifyRequest) (sdk.NotifyResponse, error) {
	thread := req.ThreadRef
	if n.bug == "drops threads" {
		thread = ""
	}
	if n.bug == "two messages per event" {
		_, _ = n.c.post("also: "+sdk.EventTitle(req.Event), "")
	}
	ref, cerr := n.c.post(n.render(req.Event), thread)
	if cerr != nil {
		switch {
		case cerr.status == http.StatusTooManyRequests && n.bug == "ignores rate limits":
			return sdk.NotifyResponse{}, sdk.Errorf(sdk.ErrorKindUnavailable, "the chat answered 429")
		case cerr.status == http.StatusTooManyRequests && n.bug == "rate limit swallowed":
			return sdk.NotifyResponse{}, nil
		case cerr.status == http.StatusTooManyRequests:
			return sdk.NotifyResponse{}, sdk.RetryAfterError(time.Duration(cerr.retry)*time.Second, "the chat is rate limited")
		case n.bug == "unclassified errors":
			return sdk.NotifyResponse{}, &sdk.Error{Message: "the chat answered " + strconv.Itoa(cerr.status)}
		}
		return sdk.NotifyResponse{}, sdk.HTTPError(cerr.status, nil, "the chat answered %d", cerr.status)
	}
	if n.bug == "no message ref" {
		ref = ""
	}
	return sdk.NotifyResponse{MessageRef: ref}, nil
}

func runNotifierSuite(t *testing.T, bug string, withVendor bool) []string {
	c := &memChat{limit: 1000}
	suite := NotifierSuite{Settings: sdk.Settings{"bot_token": "t"}, DestinationID: "d"}
	if withVendor {
		suite.Vendor = c
	}
	rec := newRecorder(t)
	runNotifier(rec, memNotifier{c: c, bug: bug}, suite)
	return *rec.findings
}

func TestNotifierCorrectPluginPasses(t *testing.T) {
	for _, withVendor := range []bool{true, false} {
		if f := runNotifierSuite(t, "", withVendor); len(f) > 0 {
			t.Errorf("notifier (vendor view %v): %q", withVendor, f)
		}
	}
}

func TestNotifierMutantsAreCaught(t *testing.T) {
	for _, tc := range []struct{ bug, subtest string }{
		{"drops threads", "one thread per review"},
		{"no message ref", "one thread per review"},
		{"ignores rate limits", "rate limit is returned with its wait"},
		{"rate limit swallowed", "rate limit is returned with its wait"},
		{"cuts by bytes", "long text is cut between characters"},
		{"cuts by code points", "long text is cut between characters"},
		{"exceeds the length limit", "long text is cut between characters"},
		{"no ellipsis", "long text is cut between characters"},
		{"limit larger than the destination's", "info"},
		{"two messages per event", "every event type is one message"},
		{"unclassified errors", "destination errors are classified"},
		{"no NotifierCapabilities", "info"},
		{"token not Secret", "info"},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			findings := runNotifierSuite(t, tc.bug, true)
			caught := false
			for _, f := range findings {
				caught = caught || strings.HasPrefix(f, tc.subtest)
			}
			if !caught {
				t.Errorf("mutant %q not caught by %q; findings: %q", tc.bug, tc.subtest, findings)
			}
			t.Logf("findings: %q", findings)
		})
	}
}
