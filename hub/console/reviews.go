package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// The Reviews pages (issue 25): every review of every integration, or of
// one, with search, filters and pages by key; one review with its
// versions and its answers' timelines. They call the admin API's Reviews
// and Review, with the query read by the API's own ParseReviewQuery (one
// set of checks, the same words for a wrong parameter).

// ReviewsAdmin is what the Reviews pages read (*httpapi.Admin). Kept
// apart from Admin so that an Admin without it still serves the other
// pages.
type ReviewsAdmin interface {
	Reviews(ctx context.Context, q state.ReviewQuery) (httpapi.ReviewPageJSON, error)
	Review(ctx context.Context, integrationID, appID, reviewID string) (httpapi.ReviewDetailJSON, error)
}

var _ ReviewsAdmin = (*httpapi.Admin)(nil)

func (c *Console) reviewRoutes(s *mux.Router) {
	s.HandleFunc("/reviews", c.handle(c.reviews)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/{id}/reviews", c.handle(c.reviews)).Methods(http.MethodGet)
	s.HandleFunc("/reviews/{id}/{app}/{review}", c.handle(c.review)).Methods(http.MethodGet)
}

func (c *Console) reviewsAdmin() (ReviewsAdmin, error) {
	ra, ok := c.admin.(ReviewsAdmin)
	if !ok {
		return nil, &httpapi.Error{Status: http.StatusServiceUnavailable, Detail: "this hub does not list reviews"}
	}
	return ra, nil
}

// option is one choice of a filter's select.
type option struct {
	Value, Label string
	Selected     bool
}

// reviewsView is the Reviews page.
type reviewsView struct {
	// Integration is set on an integration's own page.
	Integration  string
	Action       string
	Q            state.ReviewQuery
	Search       string
	Integrations []option
	Apps         []option
	Stores       []option
	Replies      []option
	Ratings      []ratingChoice
	Language     string
	From, Until  string
	Reviews      []reviewRow
	// NextURL and PrevURL are the pages after and before ("" none).
	NextURL, PrevURL string
	// Filtered: some filter or search is set.
	Filtered bool
	// Problem is a wrong parameter's message (the page still renders the
	// form, so it can be corrected).
	Problem string
	// Bad names the wrong parameters (their fields are marked).
	Bad map[string]string
	// Export downloads every review the filters select as CSV.
	Export string
}

type ratingChoice struct {
	Value   int
	Checked bool
}

type reviewRow struct {
	httpapi.ReviewJSON
	// Link is the review's console page.
	Link string
	// Stars is the rating drawn as stars.
	Stars string
}

func stars(n int) string {
	n = max(0, min(n, 5))
	s := ""
	for i := range 5 {
		if i < n {
			s += "★"
		} else {
			s += "☆"
		}
	}
	return s
}

func reviewLink(in, app, review string) string {
	return "/console/reviews/" + url.PathEscape(in) + "/" + url.PathEscape(app) + "/" + url.PathEscape(review)
}

func (c *Console) reviews(w http.ResponseWriter, r *http.Request) error {
	ra, err := c.reviewsAdmin()
	if err != nil {
		return err
	}
	t := c.lang(r).T
	values := r.URL.Query()
	fixed := mux.Vars(r)["id"]
	if fixed != "" {
		values.Set("integration", fixed)
	}
	v := reviewsView{Integration: fixed, Action: r.URL.Path, Bad: map[string]string{}}
	ins, err := c.admin.Integrations(r.Context())
	if err != nil {
		return err
	}
	if fixed != "" && !slices.ContainsFunc(ins, func(in httpapi.IntegrationJSON) bool { return in.ID == fixed }) {
		return &httpapi.Error{Status: http.StatusNotFound, Detail: t["reviews_no_integration"] + " " + strconv.Quote(fixed)}
	}
	q, perr := httpapi.ParseReviewQuery(values)
	status := http.StatusOK
	var page httpapi.ReviewPageJSON
	if perr == nil {
		page, perr = ra.Reviews(r.Context(), q)
	}
	if perr != nil {
		e, ok := perr.(*httpapi.Error)
		if !ok || e.Status != http.StatusBadRequest {
			return perr
		}
		status = http.StatusBadRequest
		v.Problem = t["reviews_bad_query"]
		for _, f := range e.Fields {
			v.Bad[f.Field] = f.Reason
		}
	}
	v.Q = q
	v.Search = values.Get("q")
	v.Language = values.Get("language")
	v.From, v.Until = values.Get("from"), values.Get("until")
	v.Filtered = q.Search != "" || q.Store != "" || len(q.Ratings) > 0 || q.ReplyStatus != "" || q.Language != "" ||
		!q.From.IsZero() || !q.Until.IsZero() || (fixed == "" && q.IntegrationID != "") || q.AppID != ""
	stores := map[string]bool{}
	v.Integrations = append(v.Integrations, option{Value: "", Label: t["reviews_all_integrations"]})
	for _, in := range ins {
		label := in.Name
		if label == "" {
			label = in.ID
		}
		v.Integrations = append(v.Integrations, option{Value: in.ID, Label: label, Selected: in.ID == q.IntegrationID})
		for _, a := range in.Apps {
			if a.Store != "" {
				stores[a.Store] = true
			}
			if in.ID == q.IntegrationID {
				name := a.Name
				if name == "" {
					name = a.ID
				}
				v.Apps = append(v.Apps, option{Value: a.ID, Label: name, Selected: a.ID == q.AppID})
			}
		}
	}
	if len(v.Apps) > 0 {
		v.Apps = append([]option{{Value: "", Label: t["reviews_all_apps"]}}, v.Apps...)
	}
	names := make([]string, 0, len(stores))
	for s := range stores {
		names = append(names, s)
	}
	sort.Strings(names)
	v.Stores = append(v.Stores, option{Value: "", Label: t["reviews_all_stores"]})
	for _, s := range names {
		v.Stores = append(v.Stores, option{Value: s, Label: s, Selected: s == q.Store})
	}
	v.Replies = append(v.Replies, option{Value: "", Label: t["reviews_any_reply"]})
	for _, s := range httpapi.ReviewReplyStatuses {
		label := t["reply_"+s]
		if label == "" {
			label = s
		}
		v.Replies = append(v.Replies, option{Value: s, Label: label, Selected: s == q.ReplyStatus})
	}
	for n := 1; n <= 5; n++ {
		v.Ratings = append(v.Ratings, ratingChoice{Value: n, Checked: slices.Contains(q.Ratings, n)})
	}
	for _, rv := range page.Reviews {
		v.Reviews = append(v.Reviews, reviewRow{ReviewJSON: rv, Link: reviewLink(rv.IntegrationID, rv.AppID, rv.ReviewID), Stars: stars(rv.Rating)})
	}
	pager := func(key, val string) string {
		u := url.Values{}
		for k, vs := range r.URL.Query() {
			if k != "after" && k != "before" {
				u[k] = vs
			}
		}
		u.Set(key, val)
		return r.URL.Path + "?" + u.Encode()
	}
	export := url.Values{}
	for k, vs := range values {
		if k != "after" && k != "before" && k != "limit" {
			export[k] = vs
		}
	}
	v.Export = "/console/reviews/export?" + export.Encode()
	if page.Next != "" {
		v.NextURL = pager("after", page.Next)
	}
	if page.Prev != "" {
		v.PrevURL = pager("before", page.Prev)
	}
	title := t["reviews_title"]
	if fixed != "" {
		title = t["reviews_title"] + " · " + fixed
	}
	c.render(w, r, status, "reviews", navPage(title, "reviews", v))
	return nil
}

func navPage(title, nav string, data any) page { return page{Title: title, Nav: nav, Data: data} }

// reviewView is one review's page.
type reviewView struct {
	httpapi.ReviewDetailJSON
	Stars    string
	Versions []versionRow
	Back     string
}

type versionRow struct {
	httpapi.ReviewVersionJSON
	Stars string
}

func (c *Console) review(w http.ResponseWriter, r *http.Request) error {
	ra, err := c.reviewsAdmin()
	if err != nil {
		return err
	}
	vars := mux.Vars(r)
	d, err := ra.Review(r.Context(), vars["id"], vars["app"], vars["review"])
	if err != nil {
		return err
	}
	v := reviewView{ReviewDetailJSON: d, Stars: stars(d.Rating), Back: "/console/integrations/" + url.PathEscape(d.IntegrationID) + "/reviews"}
	for i := len(d.Versions) - 1; i >= 0; i-- { // newest first
		v.Versions = append(v.Versions, versionRow{ReviewVersionJSON: d.Versions[i], Stars: stars(d.Versions[i].Rating)})
	}
	t := c.lang(r).T
	title := t["review_title"] + " " + d.ReviewID
	c.render(w, r, http.StatusOK, "review", navPage(title, "reviews", v))
	return nil
}
