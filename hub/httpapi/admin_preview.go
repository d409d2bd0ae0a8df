package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// A rule tried on the reviews the hub already has (issue 25): which of the
// last N reviews of an integration it matches and what it would answer,
// decided by the hub's own rules.Compile and Engine.Evaluate (no second
// matcher). POST /integrations/{id}/automation/preview and the console's
// automation editor call PreviewRule.

// DefaultPreviewReviews is how many recent reviews a preview looks at
// unless told; at most state.MaxReviewPage.
const DefaultPreviewReviews = 100

// PreviewRequestJSON is the body of POST /integrations/{id}/automation/preview.
type PreviewRequestJSON struct {
	Rule rules.Rule `json:"rule"`
	// Limit is how many of the newest reviews to try (0: DefaultPreviewReviews).
	Limit int `json:"limit,omitempty"`
}

// PreviewMatchJSON is one review the rule matches and what it does there.
type PreviewMatchJSON struct {
	ReviewJSON
	// Tags the rule adds.
	Tags []string `json:"tags,omitempty"`
	// Reply is the text it would answer ("" none: a tag rule, or held).
	Reply string `json:"reply,omitempty"`
	// Mode of that answer (approval: a draft; auto: published).
	Mode string `json:"mode,omitempty"`
	// Held says why the rule matched but leaves the review to a person.
	Held string `json:"held,omitempty"`
}

// PreviewJSON is a rule's preview.
type PreviewJSON struct {
	// Tried is how many reviews it was tried on; Matched those it matches.
	Tried   int                `json:"tried"`
	Matched []PreviewMatchJSON `json:"matched"`
}

// PreviewRule tries rule, alone and switched on, with the integration's
// templates and exception keywords, on its limit newest reviews (0:
// DefaultPreviewReviews). A wrong rule is a 422 *Error whose Fields name
// the fields as "rule.when.ratings[0]". An edited review is tried as an
// update (better or worse are not known from the list).
func (a *Admin) PreviewRule(ctx context.Context, id string, rule rules.Rule, limit int) (PreviewJSON, error) {
	in, err := a.load(ctx, id)
	if err != nil {
		return PreviewJSON{}, err
	}
	if limit == 0 {
		limit = DefaultPreviewReviews
	}
	if limit < 1 || limit > state.MaxReviewPage {
		return PreviewJSON{}, invalid([]*config.FieldError{{Field: "limit", Reason: fmt.Sprintf("%d is outside 1..%d", limit, state.MaxReviewPage)}})
	}
	rule.Enabled = nil
	auto := rules.Automation{Exceptions: in.Automation.Exceptions, Templates: in.Automation.Templates, Rules: []rules.Rule{rule}}
	apps, stores := appsAndStores(in.Apps)
	eng, ferrs := rules.Compile(auto, apps, stores)
	if len(ferrs) > 0 {
		var errs []*config.FieldError
		for _, fe := range ferrs {
			field := fe.Field
			if rest, ok := strings.CutPrefix(field, "rules[0]"); ok {
				field = "rule" + rest
			}
			errs = append(errs, &config.FieldError{Field: field, Reason: fe.Reason})
		}
		return PreviewJSON{}, invalid(errs)
	}
	page, err := a.DB.Reviews(ctx, state.ReviewQuery{IntegrationID: in.ID, Limit: limit})
	if err != nil {
		return PreviewJSON{}, fmt.Errorf("reading the reviews of %q for a preview: %w", in.ID, err)
	}
	storeNames := map[string]string{}
	out := PreviewJSON{Tried: len(page.Reviews), Matched: []PreviewMatchJSON{}}
	for _, l := range page.Reviews {
		name, ok := storeNames[l.Store]
		if !ok {
			info := sdk.Info{}
			if a.Info != nil {
				info, _ = a.Info(l.Store)
			}
			name = rules.StoreName(l.Store, info)
			storeNames[l.Store] = name
		}
		kind := sdk.ChangeKindNew
		if l.Version > 1 {
			kind = sdk.ChangeKindUpdated
		}
		d := eng.Evaluate(rules.Input{AppID: l.AppID, AppName: l.AppName, Store: l.Store, StoreName: name, Kind: kind,
			Review: sdk.Review{ID: l.ReviewID, AppID: l.AppID, Author: l.Author, Rating: l.Rating, Title: l.Title, Text: l.Text,
				Language: l.Language, Country: l.Country, AppVersion: l.AppVersion},
			AnsweredByPerson: l.Reply.ByPerson(), AnswerPending: l.Reply.Status == state.ReplyPending})
		if len(d.Tags) == 0 && d.Reply == nil && d.HeldRule == "" {
			continue
		}
		m := PreviewMatchJSON{ReviewJSON: reviewJSON(l), Tags: d.Tags, Held: d.Held}
		if d.Reply != nil {
			m.Reply, m.Mode = d.Reply.Text, d.Reply.Mode
		}
		out.Matched = append(out.Matched, m)
	}
	return out, nil
}

func (a *Admin) previewRule(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeBody[PreviewRequestJSON](w, r)
	if err != nil {
		return err
	}
	p, err := a.PreviewRule(r.Context(), mux.Vars(r)["id"], req.Rule, req.Limit)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, p)
	return nil
}

// The drafts waiting for approval (issue 25): listed over every
// integration, approved as they are or edited, or rejected, by a person
// (an agent or admin). The console's approvals page calls the same
// methods.

// DraftOps approve and reject drafts (the deliverer).
type DraftOps interface {
	// ApproveDraft publishes a draft as by's answer with text (the
	// draft's own when ""); state.ErrNotFound, state.ErrNotDraft.
	ApproveDraft(ctx context.Context, integrationID, messageID, text, by string) (state.Reply, error)
	// RejectDraft closes a draft; nothing is published.
	RejectDraft(ctx context.Context, integrationID, messageID, by string) (state.Reply, error)
}

// DraftJSON is a draft waiting: its review, the rule that wrote it and
// its text (Answer, AnswerRule), its message id and where to approve or
// reject it.
type DraftJSON struct {
	ReviewJSON
	MessageID string `json:"message_id"`
	Approve   string `json:"approve"`
	Reject    string `json:"reject"`
}

// DraftPageJSON is one page of drafts, newest review first.
type DraftPageJSON struct {
	Drafts []DraftJSON `json:"drafts"`
	Next   string      `json:"next,omitempty"`
	Prev   string      `json:"prev,omitempty"`
}

// ApproveJSON is the body of POST .../replies/{message}/approve: the
// text to publish ("" or absent: the draft's).
type ApproveJSON struct {
	Text string `json:"text,omitempty"`
}

// DraftQueryParams are the query parameters of GET /approvals.
var DraftQueryParams = []string{"integration", "app", "after", "before", "limit"}

func (a *Admin) registerApprovals(r *mux.Router) {
	r.HandleFunc("/approvals", a.handle(a.listDrafts)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/replies/{message}/approve", a.handle(a.approveDraft)).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}/replies/{message}/reject", a.handle(a.rejectDraft)).Methods(http.MethodPost)
}

// Drafts lists the reviews whose latest answer is a draft waiting for
// approval, q selecting (its ReplyStatus is set here).
func (a *Admin) Drafts(ctx context.Context, q state.ReviewQuery) (DraftPageJSON, error) {
	q.ReplyStatus = state.ReplyDraft
	if q.IntegrationID != "" {
		if _, err := a.load(ctx, q.IntegrationID); err != nil {
			return DraftPageJSON{}, err
		}
	}
	page, err := a.DB.Reviews(ctx, q)
	switch {
	case errors.Is(err, state.ErrBadKey):
		return DraftPageJSON{}, badParams([]*config.FieldError{{Field: "after", Reason: "not a page key this list gave (use next or prev of a page)"}})
	case err != nil:
		return DraftPageJSON{}, fmt.Errorf("listing drafts: %w", err)
	}
	out := DraftPageJSON{Drafts: make([]DraftJSON, 0, len(page.Reviews)), Next: page.Next, Prev: page.Prev}
	for _, l := range page.Reviews {
		base := "/api/integrations/" + l.IntegrationID + "/replies/" + l.Reply.MessageID
		out.Drafts = append(out.Drafts, DraftJSON{ReviewJSON: reviewJSON(l), MessageID: l.Reply.MessageID,
			Approve: base + "/approve", Reject: base + "/reject"})
	}
	return out, nil
}

// CountDrafts is how many drafts wait for approval, over every integration.
func (a *Admin) CountDrafts(ctx context.Context) (int, error) {
	n, err := a.DB.CountDrafts(ctx)
	if err != nil {
		return 0, fmt.Errorf("counting drafts: %w", err)
	}
	return n, nil
}

// approver is who approves or rejects, for the answer and its timeline.
func approver(ctx context.Context) string {
	if p, ok := auth.From(ctx); ok && p.Name != "" {
		return p.Name
	}
	return "unknown"
}

func (a *Admin) draftOps(ctx context.Context, integrationID string) (state.Integration, error) {
	in, err := a.load(ctx, integrationID)
	if err != nil {
		return in, err
	}
	if a.DraftOps == nil {
		return in, errorf(http.StatusServiceUnavailable, "this hub cannot publish answers")
	}
	return in, nil
}

func draftError(err error, in state.Integration, messageID string) error {
	switch {
	case errors.Is(err, state.ErrNotFound):
		return errorf(http.StatusNotFound, "integration %q has no answer %q", in.ID, clip(messageID, 128))
	case errors.Is(err, state.ErrNotDraft):
		return errorf(http.StatusConflict, "%s", err.Error())
	}
	return fmt.Errorf("answer %q of %q: %w", clip(messageID, 128), in.ID, err)
}

// ApproveDraft publishes draft messageID of an integration as the signed-in
// person's answer: with text when given (edited, then approved), else the
// draft's own. 404 no such answer, 409 not waiting any more, 422 a text
// too long. Audited (kind approval).
func (a *Admin) ApproveDraft(ctx context.Context, integrationID, messageID, text string) (ReplyJSON, error) {
	in, err := a.draftOps(ctx, integrationID)
	if err != nil {
		return ReplyJSON{}, err
	}
	text = strings.TrimSpace(text)
	if n := len([]rune(text)); n > rules.MaxTemplateLength {
		return ReplyJSON{}, invalid([]*config.FieldError{{Field: "text", Reason: fmt.Sprintf("is %d characters long; at most %d", n, rules.MaxTemplateLength)}})
	}
	draft, err := a.DB.Reply(ctx, in.ID, messageID)
	if err != nil {
		return ReplyJSON{}, draftError(err, in, messageID)
	}
	edited := text != "" && !rules.SameText(text, draft.Text)
	if !edited {
		text = ""
	}
	rp, err := a.DraftOps.ApproveDraft(ctx, in.ID, messageID, text, approver(ctx))
	if err != nil {
		return ReplyJSON{}, draftError(err, in, messageID)
	}
	changes := []state.AuditChange{{Field: "message_id", To: rp.MessageID}, {Field: "draft", To: messageID}, {Field: "rule", To: draft.Rule}}
	action := "approve"
	if edited {
		action = "edit_approve"
		changes = append(changes, state.AuditChange{Field: "text", From: clip(draft.Text, 500), To: clip(rp.Text, 500)})
	}
	a.record(ctx, state.AuditEntry{Kind: KindApproval, Action: action, IntegrationID: in.ID, Target: draft.AppID + "/" + draft.ReviewID,
		Changes: changes})
	return replyJSON(rp), nil
}

// RejectDraft rejects draft messageID of an integration: nothing is
// published. 404, 409 as ApproveDraft. Audited (kind approval).
func (a *Admin) RejectDraft(ctx context.Context, integrationID, messageID string) (ReplyJSON, error) {
	in, err := a.draftOps(ctx, integrationID)
	if err != nil {
		return ReplyJSON{}, err
	}
	rp, err := a.DraftOps.RejectDraft(ctx, in.ID, messageID, approver(ctx))
	if err != nil {
		return ReplyJSON{}, draftError(err, in, messageID)
	}
	a.record(ctx, state.AuditEntry{Kind: KindApproval, Action: "reject", IntegrationID: in.ID, Target: rp.AppID + "/" + rp.ReviewID,
		Changes: []state.AuditChange{{Field: "draft", To: messageID}, {Field: "rule", To: rp.Rule}}})
	return replyJSON(rp), nil
}

func (a *Admin) listDrafts(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	if err := unknownParams(v, DraftQueryParams); err != nil {
		return err
	}
	q, err := ParseReviewQuery(v)
	if err != nil {
		return err
	}
	page, err := a.Drafts(r.Context(), q)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, page)
	return nil
}

func (a *Admin) approveDraft(w http.ResponseWriter, r *http.Request) error {
	var body ApproveJSON // optional: without one, the draft is approved as it is
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "malformed JSON body (optional: {\"text\": \"…\"}): %s", clip(err.Error(), 200))
	}
	v := mux.Vars(r)
	rp, err := a.ApproveDraft(r.Context(), v["id"], v["message"], body.Text)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusAccepted, rp)
	return nil
}

func (a *Admin) rejectDraft(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	rp, err := a.RejectDraft(r.Context(), v["id"], v["message"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, rp)
	return nil
}
