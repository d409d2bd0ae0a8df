package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
)

// ReplyOps publish a stored answer again (the deliverer).
type ReplyOps interface {
	// RetryReply queues a failed or refused answer again, as it is
	// (state.ErrNotFound, state.ErrNotRetryable).
	RetryReply(ctx context.Context, integrationID, messageID string) (state.Reply, error)
}

// registerReplies mounts the reply status, retry and automation routes.
func (a *Admin) registerReplies(r *mux.Router) {
	r.HandleFunc("/integrations/{id}/replies", a.handle(a.listReplies)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/replies/{message}/retry", a.handle(a.retryReply)).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}/reviews/{app}/{review}", a.handle(a.reviewStatus)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/automation", a.handle(a.getAutomation)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/automation", a.handle(a.putAutomation)).Methods(http.MethodPut)
	r.HandleFunc("/integrations/{id}/automation/stop", a.handle(a.switchAutomation(true))).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}/automation/start", a.handle(a.switchAutomation(false))).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}/automation/preview", a.handle(a.previewRule)).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}/templates", a.handle(a.listTemplates)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/rules", a.handle(a.listRules)).Methods(http.MethodGet)
}

// ReplyJSON is a stored answer in the API (its text included: staff may
// need to see what is retried).
type ReplyJSON struct {
	MessageID string    `json:"message_id"`
	TicketID  string    `json:"ticket_id,omitempty"`
	AppID     string    `json:"app_id,omitempty"`
	ReviewID  string    `json:"review_id,omitempty"`
	Text      string    `json:"text"`
	Staff     string    `json:"staff,omitempty"`
	Rule      string    `json:"rule,omitempty"`
	Status    string    `json:"status"`
	Detail    string    `json:"detail,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Refusal is what a refused answer needs: "text" (a new text) or
	// "account" (a store account that may reply); such an answer offers
	// no retry.
	Refusal string `json:"refusal,omitempty"`
	// Retry is where to POST to publish it again (failed answers, and
	// refused ones that need neither a new text nor a store account).
	Retry string `json:"retry,omitempty"`
}

func replyJSON(r state.Reply) ReplyJSON {
	out := ReplyJSON{MessageID: r.MessageID, TicketID: r.TicketID, AppID: r.AppID, ReviewID: r.ReviewID, Text: r.Text,
		Staff: r.Staff, Rule: r.Rule, Status: r.Status, Detail: r.Detail, Attempts: r.Attempts, Refusal: r.Refusal,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Retryable() {
		out.Retry = "/api/integrations/" + r.IntegrationID + "/replies/" + r.MessageID + "/retry"
	}
	return out
}

// maxListedReplies bounds GET /integrations/{id}/replies.
const maxListedReplies = 500

var replyStatuses = []string{state.ReplyPending, state.ReplyDraft, state.ReplyPublished, state.ReplyRefused, state.ReplyFailed,
	state.ReplyApproved, state.ReplySuperseded, state.ReplyRejected}

func (a *Admin) listReplies(w http.ResponseWriter, r *http.Request) error {
	in, err := a.load(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(replyStatuses, status) {
		return errorf(http.StatusBadRequest, "status %q is not one of %v", clip(status, 32), replyStatuses)
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListedReplies {
			return errorf(http.StatusBadRequest, "limit %q is not a number between 1 and %d", clip(s, 32), maxListedReplies)
		}
		limit = n
	}
	list, err := a.DB.RepliesWithStatus(r.Context(), in.ID, status, limit)
	if err != nil {
		return fmt.Errorf("listing the answers of %q: %w", in.ID, err)
	}
	out := make([]ReplyJSON, 0, len(list))
	for _, rp := range list {
		out = append(out, replyJSON(rp))
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// RetryReply queues a failed or refused answer of an integration again,
// as it is (404 when there is no such answer, 409 when it cannot be
// retried).
func (a *Admin) RetryReply(ctx context.Context, integrationID, messageID string) (ReplyJSON, error) {
	in, err := a.load(ctx, integrationID)
	if err != nil {
		return ReplyJSON{}, err
	}
	if a.Replies == nil {
		return ReplyJSON{}, errorf(http.StatusServiceUnavailable, "this hub cannot publish answers")
	}
	rp, err := a.Replies.RetryReply(ctx, in.ID, messageID)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return ReplyJSON{}, errorf(http.StatusNotFound, "integration %q has no answer %q", in.ID, clip(messageID, 128))
	case errors.Is(err, state.ErrNotRetryable):
		return ReplyJSON{}, errorf(http.StatusConflict, "%s", err.Error())
	case err != nil:
		return ReplyJSON{}, fmt.Errorf("retrying answer %q of %q: %w", clip(messageID, 128), in.ID, err)
	}
	a.record(ctx, state.AuditEntry{Kind: KindReply, Action: "retry", IntegrationID: in.ID, Target: messageID})
	return replyJSON(rp), nil
}

func (a *Admin) retryReply(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	rp, err := a.RetryReply(r.Context(), v["id"], v["message"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusAccepted, rp)
	return nil
}

func (a *Admin) reviewStatus(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	in, err := a.load(r.Context(), v["id"])
	if err != nil {
		return err
	}
	st, err := a.DB.ReviewOf(r.Context(), in.ID, v["app"], v["review"])
	switch {
	case errors.Is(err, state.ErrNotFound):
		return errorf(http.StatusNotFound, "the hub has not seen review %q of app %q", clip(v["review"], 128), clip(v["app"], 64))
	case err != nil:
		return fmt.Errorf("reading review %q of app %q: %w", clip(v["review"], 128), clip(v["app"], 64), err)
	}
	WriteJSON(w, http.StatusOK, st)
	return nil
}

// AutomationJSON is an integration's automation with its switch and today's figures.
type AutomationJSON struct {
	rules.Automation
	// On: rules run (declared on, not stopped, at least one rule).
	On      bool `json:"on"`
	Stopped bool `json:"stopped"`
	// AutoRepliesToday per app (the daily cap counts them; UTC day).
	AutoRepliesToday map[string]int `json:"auto_replies_today"`
	DailyCapInEffect int            `json:"daily_cap_in_effect"`
	// ApproveCommand approves a draft when an answer starts with it.
	ApproveCommand string `json:"approve_command"`
	// Version is the integration's version (If-Match of the PUT).
	Version int `json:"version"`
}

// automation is an integration's automation as the API shows it.
func (a *Admin) automation(ctx context.Context, in state.Integration) (AutomationJSON, error) {
	today, err := a.DB.AutoRepliesToday(ctx, in.ID)
	if err != nil {
		return AutomationJSON{}, fmt.Errorf("counting the automatic replies of %q today: %w", in.ID, err)
	}
	return AutomationJSON{Automation: in.Automation, On: in.Automation.On() && !in.AutomationStopped,
		Stopped: in.AutomationStopped, AutoRepliesToday: today, DailyCapInEffect: in.Automation.Cap(), ApproveCommand: rules.ApproveCommand,
		Version: in.Version}, nil
}

// answerAutomation answers integration id's automation as stored now.
func (a *Admin) answerAutomation(w http.ResponseWriter, r *http.Request, id string) error {
	j, err := a.Automation(r.Context(), id)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, j)
	return nil
}

func (a *Admin) getAutomation(w http.ResponseWriter, r *http.Request) error {
	return a.answerAutomation(w, r, mux.Vars(r)["id"])
}

func (a *Admin) listTemplates(w http.ResponseWriter, r *http.Request) error {
	in, err := a.load(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, append([]rules.Template{}, in.Automation.Templates...))
	return nil
}

func (a *Admin) listRules(w http.ResponseWriter, r *http.Request) error {
	in, err := a.load(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, append([]rules.Rule{}, in.Automation.Rules...))
	return nil
}

// putAutomation replaces the automation of an integration made through
// the API (validated; errors name the field), if it did not change
// meanwhile (If-Match, or 409 on a race).
func (a *Admin) putAutomation(w http.ResponseWriter, r *http.Request) error {
	want, err := ifMatch(r)
	if err != nil {
		return err
	}
	auto, err := decodeBody[rules.Automation](w, r)
	if err != nil {
		return err
	}
	j, err := a.SetAutomation(r.Context(), mux.Vars(r)["id"], want, auto)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, j)
	return nil
}

// Automation is integration id's automation as stored now, with its
// switch, today's figures and the integration's version (for
// SetAutomation's want).
func (a *Admin) Automation(ctx context.Context, id string) (AutomationJSON, error) {
	in, err := a.load(ctx, id)
	if err != nil {
		return AutomationJSON{}, err
	}
	return a.automation(ctx, in)
}

// SetAutomation replaces the automation of an integration made through
// the API, if its version is still want (0: whatever it is): validated
// and compiled by rules.Compile (a 422 *Error whose Fields name every
// wrong field, as "rules[2].when.ratings[0]"), saved and audited. The
// API's PUT and the console's automation editor both call it.
func (a *Admin) SetAutomation(ctx context.Context, id string, want int, auto rules.Automation) (AutomationJSON, error) {
	old, err := a.loadWritable(ctx, id, "edit its automation there (the kill switch, POST .../automation/stop, works for it)")
	if err != nil {
		return AutomationJSON{}, err
	}
	if want != 0 && want != old.Version {
		return AutomationJSON{}, preconditionFailed(old.ID, want, old.Version)
	}
	apps, stores := appsAndStores(old.Apps)
	eng, autoErrs := rules.Compile(auto, apps, stores)
	if len(autoErrs) > 0 {
		var errs []*config.FieldError
		for _, fe := range autoErrs {
			errs = append(errs, &config.FieldError{Field: fe.Field, Reason: fe.Reason})
		}
		return AutomationJSON{}, invalid(errs)
	}
	in := old
	in.Automation = eng.Automation()
	err = a.DB.InTx(ctx, func(tx *state.Tx) error { return tx.UpdateIntegration(ctx, in) })
	switch {
	case errors.Is(err, state.ErrNotFound):
		return AutomationJSON{}, errorf(http.StatusNotFound, "integration %q was deleted (or declared in the config file) meanwhile", old.ID)
	case errors.Is(err, state.ErrVersion):
		return AutomationJSON{}, errorf(http.StatusConflict, "integration %q changed meanwhile; read it again and retry", old.ID)
	case err != nil:
		return AutomationJSON{}, fmt.Errorf("saving the automation of %q: %w", old.ID, err)
	}
	a.auditIntegration(ctx, "update", &old, &in)
	if a.Changed != nil {
		a.Changed()
	}
	return a.Automation(ctx, old.ID)
}

// SwitchAutomation is the kill switch (stop true) and its undoing, for
// the API and the console: every rule of the integration stops at once,
// config integrations included, until switched back.
func (a *Admin) SwitchAutomation(ctx context.Context, id string, stop bool, reason string) (AutomationJSON, error) {
	in, err := a.load(ctx, id)
	if err != nil {
		return AutomationJSON{}, err
	}
	err = a.DB.SetAutomationStopped(ctx, in.ID, stop, clip(reason, 500))
	if errors.Is(err, state.ErrNotFound) {
		return AutomationJSON{}, errorf(http.StatusNotFound, "integration %q was deleted meanwhile", in.ID)
	}
	if err != nil {
		return AutomationJSON{}, fmt.Errorf("switching the automation of %q: %w", in.ID, err)
	}
	act := map[bool]string{true: "stop", false: "start"}[stop]
	a.record(ctx, state.AuditEntry{Kind: KindAutomation, Action: act, IntegrationID: in.ID,
		Changes: []state.AuditChange{{Field: "stopped", From: strconv.FormatBool(in.AutomationStopped), To: strconv.FormatBool(stop)},
			{Field: "reason", To: clip(reason, 500)}}})
	if a.Changed != nil {
		a.Changed()
	}
	return a.Automation(ctx, in.ID)
}

// switchAutomation is the kill switch's routes (SwitchAutomation); the
// body, optional, gives a reason.
func (a *Admin) switchAutomation(stop bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<14))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
				return errorf(http.StatusBadRequest, "malformed JSON body (optional: {\"reason\": \"…\"}): %s", clip(err.Error(), 200))
			}
		}
		j, err := a.SwitchAutomation(r.Context(), mux.Vars(r)["id"], stop, body.Reason)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, j)
		return nil
	}
}
