package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// memDesk is an in-memory helpdesk (the vendor) with its vendor view.
type memDesk struct {
	faults.Faults
	mu      sync.Mutex
	tickets map[string]*memTicket
	next    int
}

type memTicket struct {
	review   string
	comments []VendorComment
	tags     []string
}

func newMemDesk() *memDesk { return &memDesk{tickets: map[string]*memTicket{}} }

// vendorError is the in-memory vendor's HTTP answer.
type vendorError struct{ status int }

func (e vendorError) Error() string { return "vendor answered " + strconv.Itoa(e.status) }

// call is one API call: counted, and failed when a fault is asked for.
func (d *memDesk) call() error {
	if f, ok := d.Next(); ok {
		return vendorError{f.Status}
	}
	return nil
}

func (d *memDesk) Ticket(_ context.Context, id string) (VendorTicket, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	tk, ok := d.tickets[id]
	if !ok {
		return VendorTicket{}, false, nil
	}
	return VendorTicket{Comments: append([]VendorComment(nil), tk.comments...), Tags: append([]string(nil), tk.tags...)}, true, nil
}

func (d *memDesk) TagAsStaff(_ context.Context, id, tag string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	tk, ok := d.tickets[id]
	if !ok {
		return fmt.Errorf("no ticket %s", id)
	}
	tk.tags = append(tk.tags, tag)
	return nil
}

// SignedWebhook records a staff comment and returns the vendor's webhook
// for it: a JSON body, the secret in a header.
func (d *memDesk) SignedWebhook(_ context.Context, id, text string) (sdk.WebhookRequest, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	tk, ok := d.tickets[id]
	if !ok {
		return sdk.WebhookRequest{}, fmt.Errorf("no ticket %s", id)
	}
	tk.comments = append(tk.comments, VendorComment{Text: text})
	body, _ := json.Marshal(memHook{Ticket: id, Comment: len(tk.comments), Text: text})
	return sdk.WebhookRequest{Method: "POST", Path: "/hooks/memdesk/i", Body: body,
		Headers: []sdk.Header{{Name: "X-Secret", Values: []string{"hook-secret"}}}}, nil
}

type memHook struct {
	Ticket  string `json:"ticket"`
	Comment int    `json:"comment"`
	Text    string `json:"text"`
}

// deskPlugin is a helpdesk plugin over memDesk, correct unless bug names
// one mistake.
type deskPlugin struct {
	d   *memDesk
	bug string
}

func (p deskPlugin) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	info := sdk.Info{Kind: sdk.PluginKindHelpdesk, Name: "memdesk", Version: "1.0.0",
		Settings: []sdk.SettingField{{Key: "api_token", Label: "API token", Required: true, Secret: p.bug != "token not Secret"},
			{Key: "webhook_secret", Label: "Webhook secret", Secret: true}},
		Helpdesk: &sdk.HelpdeskCapabilities{SupportsTags: true}}
	switch p.bug {
	case "no HelpdeskCapabilities":
		info.Helpdesk = nil
	case "StoreCapabilities on a helpdesk":
		info.Store = &sdk.StoreCapabilities{}
	}
	return info, nil
}

// classify is the plugin's error for a failed vendor call.
func (p deskPlugin) classify(err error) error {
	var ve vendorError
	if p.bug == "unclassified errors" || !errors.As(err, &ve) {
		return fmt.Errorf("memdesk: %w", err)
	}
	if p.bug == "5xx is permanent" && ve.status >= 500 {
		return sdk.Errorf(sdk.ErrorKindInvalid, "memdesk answered %d", ve.status)
	}
	if p.bug == "401 retried as Unavailable" && ve.status == 401 {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "memdesk answered %d", ve.status)
	}
	return sdk.HTTPError(ve.status, nil, "memdesk answered %d", ve.status)
}

func (p deskPlugin) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	if err := p.d.call(); err != nil {
		return sdk.CheckCredentialsResponse{}, p.classify(err)
	}
	return sdk.CheckCredentialsResponse{}, nil
}

func marker(key string) string { return "[ref " + key + "]" }

func (p deskPlugin) UpsertTicket(_ context.Context, req sdk.TicketRequest) (sdk.TicketRef, error) {
	if err := p.d.call(); err != nil {
		return sdk.TicketRef{}, p.classify(err)
	}
	d := p.d
	d.mu.Lock()
	defer d.mu.Unlock()
	id := req.TicketID
	if id == "" {
		for tid, tk := range d.tickets {
			if tk.review == req.Change.Review.ID {
				id = tid
			}
		}
	}
	if id == "" {
		d.next++
		id = strconv.Itoa(d.next)
		d.tickets[id] = &memTicket{review: req.Change.Review.ID, tags: req.Tags,
			comments: []VendorComment{{Text: req.Change.Review.Text + " " + marker(req.DeliveryKey)}}}
		return sdk.TicketRef{ID: id, Created: true}, nil
	}
	tk, ok := d.tickets[id]
	if !ok {
		if p.bug == "unknown ticket unclassified" {
			return sdk.TicketRef{}, fmt.Errorf("no ticket %s", id)
		}
		return sdk.TicketRef{}, sdk.Errorf(sdk.ErrorKindNotFound, "ticket %s does not exist", id)
	}
	if p.bug != "DeliveryKey ignored" && hasText(texts(tk.comments), marker(req.DeliveryKey)) {
		if p.bug == "staff tags dropped on redelivery" {
			tk.tags = req.Tags // only the hub's tags, on a delivery seen before
		}
		return sdk.TicketRef{ID: id}, nil
	}
	if p.bug != "edit not written" {
		tk.comments = append(tk.comments, VendorComment{Text: req.Change.Review.Text + " " + marker(req.DeliveryKey)})
	}
	tk.tags = p.mergeTags(tk.tags, req.Tags)
	return sdk.TicketRef{ID: id}, nil
}

// mergeTags replaces the hub's tags (a prefix before ':' it sends now, or
// a plain tag it sent) and keeps the others.
func (p deskPlugin) mergeTags(have, hub []string) []string {
	switch p.bug {
	case "tags only added":
		return append(have, hub...)
	case "staff tags dropped":
		return hub
	}
	prefixes := map[string]bool{}
	for _, t := range hub {
		if k, _, ok := strings.Cut(t, ":"); ok {
			prefixes[k] = true
		}
	}
	var out []string
	for _, t := range have {
		k, _, ok := strings.Cut(t, ":")
		if !(ok && prefixes[k]) && !slices.Contains(hub, t) {
			out = append(out, t)
		}
	}
	return append(out, hub...)
}

func (p deskPlugin) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	if p.bug != "webhook not authenticated" && req.Header("X-Secret") != req.Settings["webhook_secret"] {
		return sdk.WebhookResult{Status: http.StatusUnauthorized, Body: []byte("wrong secret")}, nil
	}
	var h memHook
	if err := json.Unmarshal(req.Body, &h); err != nil {
		return sdk.WebhookResult{Status: http.StatusBadRequest, Body: []byte("not JSON")}, nil
	}
	msgID := "memdesk-" + h.Ticket + "-" + strconv.Itoa(h.Comment)
	switch p.bug {
	case "message id unstable":
		msgID += "-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	case "message id not unique":
		msgID = "memdesk-" + h.Ticket
	case "webhook answers nothing":
		return sdk.WebhookResult{Status: http.StatusOK}, nil
	}
	return sdk.WebhookResult{Status: http.StatusOK, Replies: []sdk.ReplyRequest{{TicketID: h.Ticket, MessageID: msgID, Text: h.Text}}}, nil
}

func (p deskPlugin) WriteReplyResult(ctx context.Context, req sdk.WriteReplyResultRequest) (sdk.WriteReplyResultResponse, error) {
	return sdk.WriteReplyResultResponse{}, p.writeResult(ctx, req)
}

func (p deskPlugin) writeResult(_ context.Context, req sdk.WriteReplyResultRequest) error {
	if err := p.d.call(); err != nil {
		return p.classify(err)
	}
	d := p.d
	d.mu.Lock()
	defer d.mu.Unlock()
	tk, ok := d.tickets[req.Result.TicketID]
	switch {
	case !ok:
		return sdk.Errorf(sdk.ErrorKindNotFound, "ticket %s does not exist", req.Result.TicketID)
	case p.bug == "WriteReplyResult does nothing":
		return nil
	case p.bug != "outcome written twice" && hasText(texts(tk.comments), marker("result:"+req.Result.MessageID)):
		return nil
	}
	tk.comments = append(tk.comments, VendorComment{Text: req.Result.Outcome + ": " + req.Result.Detail + " " + marker("result:"+req.Result.MessageID),
		Internal: p.bug != "outcome note public"})
	return nil
}
