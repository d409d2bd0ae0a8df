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
	r.HandleFunc("/integrations/{id}/replies", a.listReplies).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/replies/{message}/retry", a.retryReply).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}/reviews/{app}/{review}", a.reviewStatus).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/automation", a.getAutomation).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/automation", a.putAutomation).Methods(http.MethodPut)
	r.HandleFunc("/integrations/{id}/automation/stop", a.switchAutomation(true)).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}/automation/start", a.switchAutomation(false)).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}/templates", a.listTemplates).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/rules", a.listRules).Methods(http.MethodGet)
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
	state.ReplyApproved, state.ReplySuperseded}

func (a *Admin) listReplies(w http.ResponseWriter, r *http.Request) {
	in, ok := a.load(w, r)
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(replyStatuses, status) {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("status %q is not one of %v", clip(status, 32), replyStatuses))
		return
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListedReplies {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("limit %q is not a number between 1 and %d", clip(s, 32), maxListedReplies))
			return
		}
		limit = n
	}
	list, err := a.DB.RepliesWithStatus(r.Context(), in.ID, status, limit)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := make([]ReplyJSON, 0, len(list))
	for _, rp := range list {
		out = append(out, replyJSON(rp))
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *Admin) retryReply(w http.ResponseWriter, r *http.Request) {
	in, ok := a.load(w, r)
	if !ok {
		return
	}
	if a.Replies == nil {
		WriteError(w, http.StatusServiceUnavailable, "this hub cannot publish answers")
		return
	}
	msg := mux.Vars(r)["message"]
	rp, err := a.Replies.RetryReply(r.Context(), in.ID, msg)
	switch {
	case errors.Is(err, state.ErrNotFound):
		WriteError(w, http.StatusNotFound, fmt.Sprintf("integration %q has no answer %q", in.ID, clip(msg, 128)))
	case errors.Is(err, state.ErrNotRetryable):
		WriteError(w, http.StatusConflict, err.Error())
	case err != nil:
		WriteError(w, http.StatusInternalServerError, err.Error())
	default:
		WriteJSON(w, http.StatusAccepted, replyJSON(rp))
	}
}

func (a *Admin) reviewStatus(w http.ResponseWriter, r *http.Request) {
	in, ok := a.load(w, r)
	if !ok {
		return
	}
	v := mux.Vars(r)
	st, err := a.DB.ReviewOf(r.Context(), in.ID, v["app"], v["review"])
	switch {
	case errors.Is(err, state.ErrNotFound):
		WriteError(w, http.StatusNotFound, fmt.Sprintf("the hub has not seen review %q of app %q", clip(v["review"], 128), clip(v["app"], 64)))
	case err != nil:
		WriteError(w, http.StatusInternalServerError, err.Error())
	default:
		WriteJSON(w, http.StatusOK, st)
	}
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
}

func (a *Admin) getAutomation(w http.ResponseWriter, r *http.Request) {
	in, ok := a.load(w, r)
	if !ok {
		return
	}
	today, err := a.DB.AutoRepliesToday(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, AutomationJSON{Automation: in.Automation, On: in.Automation.On() && !in.AutomationStopped,
		Stopped: in.AutomationStopped, AutoRepliesToday: today, DailyCapInEffect: in.Automation.Cap(), ApproveCommand: rules.ApproveCommand})
}

func (a *Admin) listTemplates(w http.ResponseWriter, r *http.Request) {
	if in, ok := a.load(w, r); ok {
		WriteJSON(w, http.StatusOK, append([]rules.Template{}, in.Automation.Templates...))
	}
}

func (a *Admin) listRules(w http.ResponseWriter, r *http.Request) {
	if in, ok := a.load(w, r); ok {
		WriteJSON(w, http.StatusOK, append([]rules.Rule{}, in.Automation.Rules...))
	}
}

// putAutomation replaces the automation of an integration made through
// the API (validated; errors name the field), if it did not change
// meanwhile (If-Match, or 409 on a race).
func (a *Admin) putAutomation(w http.ResponseWriter, r *http.Request) {
	want, ok := ifMatch(w, r)
	if !ok {
		return
	}
	old, ok := a.loadWritable(w, r, "edit its automation there (the kill switch, POST .../automation/stop, works for it)")
	if !ok {
		return
	}
	if want != 0 && want != old.Version {
		preconditionFailed(w, old.ID, want, old.Version)
		return
	}
	auto, ok := decodeBody[rules.Automation](w, r)
	if !ok {
		return
	}
	var errs []*config.FieldError
	for _, fe := range auto.Normalize(appsAndStores(old.Apps)) {
		errs = append(errs, &config.FieldError{Field: fe.Field, Reason: fe.Reason})
	}
	if len(errs) > 0 {
		fieldErrors(w, errs)
		return
	}
	in := old
	in.Automation = auto
	err := a.DB.InTx(r.Context(), func(tx *state.Tx) error { return tx.UpdateIntegration(r.Context(), in) })
	switch {
	case errors.Is(err, state.ErrNotFound):
		WriteError(w, http.StatusNotFound, fmt.Sprintf("integration %q was deleted (or declared in the config file) meanwhile", old.ID))
		return
	case errors.Is(err, state.ErrVersion):
		WriteError(w, http.StatusConflict, fmt.Sprintf("integration %q changed meanwhile; read it again and retry", old.ID))
		return
	case err != nil:
		WriteError(w, http.StatusInternalServerError, "saving the automation failed: "+err.Error())
		return
	}
	if a.Changed != nil {
		a.Changed()
	}
	a.getAutomation(w, r)
}

// switchAutomation is the kill switch: it stops (or starts again) every
// rule of an integration at once, config integrations included, until
// switched back; automatic replies still waiting for their delay are
// refused while it is off.
func (a *Admin) switchAutomation(stop bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in, ok := a.load(w, r)
		if !ok {
			return
		}
		var body struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<14))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
				WriteError(w, http.StatusBadRequest, "malformed JSON body (optional: {\"reason\": \"…\"}): "+err.Error())
				return
			}
		}
		err := a.DB.SetAutomationStopped(r.Context(), in.ID, stop, clip(body.Reason, 500))
		if errors.Is(err, state.ErrNotFound) {
			WriteError(w, http.StatusNotFound, fmt.Sprintf("integration %q was deleted meanwhile", in.ID))
			return
		}
		if err != nil {
			WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if a.Changed != nil {
			a.Changed()
		}
		a.getAutomation(w, r)
	}
}
