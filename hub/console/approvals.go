package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// The approvals page (issue 25): the drafts automatic rules wrote in
// approval mode, waiting for a person, with the review they answer;
// approved as they are, edited then approved, or rejected, by an agent
// or admin (viewers read). It calls the admin API's Drafts, ApproveDraft
// and RejectDraft; the navigation shows CountDrafts.

// ApprovalsAdmin is what the approvals page calls (*httpapi.Admin).
type ApprovalsAdmin interface {
	Drafts(ctx context.Context, q state.ReviewQuery) (httpapi.DraftPageJSON, error)
	CountDrafts(ctx context.Context) (int, error)
	ApproveDraft(ctx context.Context, integrationID, messageID, text string) (httpapi.ReplyJSON, error)
	RejectDraft(ctx context.Context, integrationID, messageID string) (httpapi.ReplyJSON, error)
}

var _ ApprovalsAdmin = (*httpapi.Admin)(nil)

func (c *Console) approvalRoutes(s *mux.Router) {
	s.HandleFunc("/approvals", c.handle(c.approvals)).Methods(http.MethodGet)
	s.HandleFunc("/approvals/approve", c.handle(c.decideDraft(true))).Methods(http.MethodPost)
	s.HandleFunc("/approvals/reject", c.handle(c.decideDraft(false))).Methods(http.MethodPost)
}

func (c *Console) approvalsAdmin() (ApprovalsAdmin, error) {
	aa, ok := c.admin.(ApprovalsAdmin)
	if !ok {
		return nil, &httpapi.Error{Status: http.StatusServiceUnavailable, Detail: "this hub has no approvals"}
	}
	return aa, nil
}

// waitingDrafts is the navigation's count of drafts waiting (0 when the
// admin has no approvals, or the count failed: logged).
func (c *Console) waitingDrafts(r *http.Request) int {
	aa, ok := c.admin.(ApprovalsAdmin)
	if !ok {
		return 0
	}
	n, err := aa.CountDrafts(r.Context())
	if err != nil {
		c.opts.Logger.Warn("console: counting the drafts waiting failed", "error", err)
		return 0
	}
	return n
}

// approvalsView is the approvals page.
type approvalsView struct {
	Drafts           []draftRow
	NextURL, PrevURL string
	Integration      string
}

type draftRow struct {
	httpapi.DraftJSON
	Stars, Link string
	// Edit is the draft as shown in the editor: as typed when a decision
	// failed, else the draft's.
	Edit string
	// Problem is why the last decision on it failed.
	Problem string
}

func (c *Console) approvals(w http.ResponseWriter, r *http.Request) error {
	return c.renderApprovals(w, r, http.StatusOK, "", "", "")
}

// renderApprovals shows the page; failed, when set, is the draft whose
// decision failed for problem, with text as typed.
func (c *Console) renderApprovals(w http.ResponseWriter, r *http.Request, status int, failed, text, problem string) error {
	aa, err := c.approvalsAdmin()
	if err != nil {
		return err
	}
	values := r.URL.Query()
	values.Del("reply")
	q, err := httpapi.ParseReviewQuery(values)
	if err != nil {
		return err
	}
	page, err := aa.Drafts(r.Context(), q)
	if err != nil {
		return err
	}
	t := c.lang(r).T
	v := approvalsView{Integration: q.IntegrationID}
	shown := false
	for _, d := range page.Drafts {
		row := draftRow{DraftJSON: d, Stars: stars(d.Rating), Link: reviewLink(d.IntegrationID, d.AppID, d.ReviewID), Edit: d.Answer}
		if d.IntegrationID+"/"+d.MessageID == failed {
			row.Edit, row.Problem, shown = text, problem, true
		}
		v.Drafts = append(v.Drafts, row)
	}
	pager := func(key, val string) string {
		u := url.Values{}
		if q.IntegrationID != "" {
			u.Set("integration", q.IntegrationID)
		}
		u.Set(key, val)
		return "/console/approvals?" + u.Encode()
	}
	if page.Next != "" {
		v.NextURL = pager("after", page.Next)
	}
	if page.Prev != "" {
		v.PrevURL = pager("before", page.Prev)
	}
	p := navPage(t["approvals_title"], "approvals", v)
	switch {
	case problem != "" && shown:
		p.Error = t["approvals_failed"]
	case problem != "":
		p.Error = problem // the draft is not listed (any more): say why here
	}
	if done := r.URL.Query().Get("done"); done != "" && problem == "" {
		p.Notice = t["approvals_done_"+done]
	}
	c.render(w, r, status, "approvals", p)
	return nil
}

// decideDraft approves (with the text as edited) or rejects the draft the
// form names, then shows the page again; a decision that fails keeps the
// text typed and says why beside the draft.
func (c *Console) decideDraft(approve bool) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		aa, err := c.approvalsAdmin()
		if err != nil {
			return err
		}
		in, msg, text := r.PostForm.Get("integration"), r.PostForm.Get("message"), r.PostForm.Get("text")
		if approve {
			_, err = aa.ApproveDraft(r.Context(), in, msg, text)
		} else {
			_, err = aa.RejectDraft(r.Context(), in, msg)
		}
		var e *httpapi.Error
		if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 {
			return c.renderApprovals(w, r, e.Status, in+"/"+msg, text, e.Error())
		}
		if err != nil {
			return err
		}
		done := "rejected"
		if approve {
			done = "approved"
		}
		http.Redirect(w, r, "/console/approvals?done="+done, http.StatusSeeOther)
		return nil
	}
}
