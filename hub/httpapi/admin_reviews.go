package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/state"
)

// The reviews the hub keeps, listed, filtered and searched (issue 25):
// GET /reviews (every integration, or ?integration=ID) and one review with
// its versions and answers, GET /reviews/{integration}/{app}/{review}. The
// console's Reviews pages call the same methods.

// registerReviews mounts the reviews' routes.
func (a *Admin) registerReviews(r *mux.Router) {
	r.HandleFunc("/reviews", a.handle(a.listReviews)).Methods(http.MethodGet)
	r.HandleFunc("/reviews/{id}/{app}/{review}", a.handle(a.getReview)).Methods(http.MethodGet)
}

// ReviewQueryParams are the query parameters of GET /reviews (and the
// console's Reviews page): integration, app, store, rating (repeated or
// comma-separated, 1–5), reply (a reply status, or "none"), language,
// from and until (dates, YYYY-MM-DD, until inclusive, or RFC 3339
// times), q (the search), after and before (page keys), limit.
var ReviewQueryParams = []string{"integration", "app", "store", "rating", "reply", "language", "from", "until", "q", "after", "before", "limit"}

// ReviewReplyStatuses are the reply statuses a review can have ("none":
// never answered).
var ReviewReplyStatuses = []string{state.ReplyNone, state.ReplyPending, state.ReplyDraft, state.ReplyPublished, state.ReplyRefused,
	state.ReplyFailed, state.ReplyOutdated, state.ReplyDeleted, state.ReplyRejected}

// maxSearchLen bounds the search text.
const maxSearchLen = 200

// ParseReviewQuery reads a review query from URL parameters; every wrong
// parameter is named (a 400 *Error whose Fields name them).
func ParseReviewQuery(v url.Values) (state.ReviewQuery, error) {
	var q state.ReviewQuery
	var bad []*config.FieldError
	fail := func(field, format string, args ...any) {
		bad = append(bad, &config.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	q.IntegrationID = strings.TrimSpace(v.Get("integration"))
	q.AppID = strings.TrimSpace(v.Get("app"))
	if q.AppID != "" && q.IntegrationID == "" {
		fail("app", "an app is chosen within an integration: give integration too")
	}
	q.Store = strings.TrimSpace(v.Get("store"))
	if len(q.Store) > 64 || strings.ContainsAny(q.Store, " /") {
		fail("store", "%q is not a store plugin's name", clip(q.Store, 32))
	}
	for _, raw := range v["rating"] {
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 5 {
				fail("rating", "%q is not a rating from 1 to 5", clip(s, 16))
				continue
			}
			if !slices.Contains(q.Ratings, n) {
				q.Ratings = append(q.Ratings, n)
			}
		}
	}
	q.ReplyStatus = strings.TrimSpace(v.Get("reply"))
	if q.ReplyStatus != "" && !slices.Contains(ReviewReplyStatuses, q.ReplyStatus) {
		fail("reply", "%q is not one of %s", clip(q.ReplyStatus, 32), strings.Join(ReviewReplyStatuses, ", "))
	}
	q.Language = strings.TrimSpace(v.Get("language"))
	if q.Language != "" && !validLanguage(q.Language) {
		fail("language", "%q is not a language tag such as en, pt-BR or zh-Hans", clip(q.Language, 32))
	}
	var err error
	if q.From, err = parseDay(v.Get("from"), false); err != nil {
		fail("from", "%s", err)
	}
	if q.Until, err = parseDay(v.Get("until"), true); err != nil {
		fail("until", "%s", err)
	}
	if !q.From.IsZero() && !q.Until.IsZero() && !q.From.Before(q.Until) {
		fail("until", "the period ends before it begins (from %s)", q.From.Format(time.DateOnly))
	}
	q.Search = strings.TrimSpace(v.Get("q"))
	if n := len([]rune(q.Search)); n > maxSearchLen {
		fail("q", "the search is %d characters long; at most %d", n, maxSearchLen)
	}
	q.After, q.Before = v.Get("after"), v.Get("before")
	if q.After != "" && q.Before != "" {
		fail("before", "give after or before, not both")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > state.MaxReviewPage {
			fail("limit", "%q is not a number from 1 to %d", clip(s, 16), state.MaxReviewPage)
		}
		q.Limit = n
	}
	if len(bad) > 0 {
		return q, badParams(bad)
	}
	return q, nil
}

// parseDay reads a date (YYYY-MM-DD, UTC; as the end of a period, the day
// is included) or an RFC 3339 time.
func parseDay(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD) or an RFC 3339 time", clip(s, 40))
}

// validLanguage accepts BCP 47-like tags (letters, digits, hyphens).
func validLanguage(s string) bool {
	if len(s) > 35 {
		return false
	}
	for _, part := range strings.Split(strings.ReplaceAll(s, "_", "-"), "-") {
		if part == "" || len(part) > 8 {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// ReviewJSON is a review as the API and the console list it.
type ReviewJSON struct {
	IntegrationID string    `json:"integration"`
	AppID         string    `json:"app"`
	AppName       string    `json:"app_name,omitempty"`
	Store         string    `json:"store,omitempty"`
	ReviewID      string    `json:"review"`
	Version       int       `json:"version"`
	Rating        int       `json:"rating"`
	Title         string    `json:"title,omitempty"`
	Text          string    `json:"text"`
	Author        string    `json:"author,omitempty"`
	Country       string    `json:"country,omitempty"`
	Language      string    `json:"language,omitempty"`
	AppVersion    string    `json:"app_version,omitempty"`
	URL           string    `json:"url,omitempty"`
	TicketID      string    `json:"ticket_id,omitempty"`
	PostedAt      time.Time `json:"posted_at"`
	SeenAt        time.Time `json:"seen_at"`
	// ReplyStatus is the review's reply status ("" never answered).
	ReplyStatus string `json:"reply_status,omitempty"`
	ReplyDetail string `json:"reply_detail,omitempty"`
	// Answer is the text of the answer that decides ReplyStatus.
	Answer string `json:"answer,omitempty"`
	// AnswerBy is the rule that wrote it ("" a person).
	AnswerRule string `json:"answer_rule,omitempty"`
	// StoreReply is the developer reply the store shows now.
	StoreReply    string `json:"store_reply,omitempty"`
	DeliveryError string `json:"delivery_error,omitempty"`
	// Self is the review's own resource.
	Self string `json:"self"`
}

// ReviewPageJSON is one page of reviews, newest first; Next and Prev are
// the page keys to pass as after and before ("" none).
type ReviewPageJSON struct {
	Reviews []ReviewJSON `json:"reviews"`
	Next    string       `json:"next,omitempty"`
	Prev    string       `json:"prev,omitempty"`
}

// ReviewVersionJSON is one version of a review.
type ReviewVersionJSON struct {
	Version    int       `json:"version"`
	Rating     int       `json:"rating"`
	Title      string    `json:"title,omitempty"`
	Text       string    `json:"text"`
	AppVersion string    `json:"app_version,omitempty"`
	StoreReply string    `json:"store_reply,omitempty"`
	PostedAt   time.Time `json:"posted_at,omitzero"`
	SeenAt     time.Time `json:"seen_at"`
}

// ReplyEventJSON is one status an answer went through.
type ReplyEventJSON struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	// By is who moved it there, when recorded (the staff member who
	// approved a draft; "retry" for the admin API's retry).
	By string `json:"by,omitempty"`
}

// AnswerJSON is an answer to a review with its timeline.
type AnswerJSON struct {
	ReplyJSON
	Timeline []ReplyEventJSON `json:"timeline"`
}

// ReviewDetailJSON is one review with every version and every answer.
type ReviewDetailJSON struct {
	ReviewJSON
	Versions []ReviewVersionJSON `json:"versions"`
	Answers  []AnswerJSON        `json:"answers"`
}

func reviewJSON(l state.ListedReview) ReviewJSON {
	return ReviewJSON{IntegrationID: l.IntegrationID, AppID: l.AppID, AppName: l.AppName, Store: l.Store, ReviewID: l.ReviewID,
		Version: l.Version, Rating: l.Rating, Title: l.Title, Text: l.Text, Author: l.Author, Country: l.Country, Language: l.Language,
		AppVersion: l.AppVersion, URL: safeURL(l.URL), TicketID: l.TicketID, PostedAt: l.PostedAt, SeenAt: l.SeenAt,
		ReplyStatus: l.Reply.Status, ReplyDetail: l.Reply.Detail, Answer: l.AnswerText, AnswerRule: l.Reply.Rule,
		StoreReply: l.StoreReply, DeliveryError: l.DeliveryError,
		Self: "/api/reviews/" + url.PathEscape(l.IntegrationID) + "/" + url.PathEscape(l.AppID) + "/" + url.PathEscape(l.ReviewID)}
}

// safeURL keeps a store's link only when it is http(s): it is shown as a
// link, and a plugin's value must not become a javascript: one.
func safeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return s
}

// Reviews lists a page of the reviews q selects, newest first (by the
// store's date of their latest version). A wrong query is a 400 naming
// the parameter; an unknown integration or app a 404.
func (a *Admin) Reviews(ctx context.Context, q state.ReviewQuery) (ReviewPageJSON, error) {
	if err := a.checkScope(ctx, q.IntegrationID, q.AppID); err != nil {
		return ReviewPageJSON{}, err
	}
	page, err := a.DB.Reviews(ctx, q)
	switch {
	case errors.Is(err, state.ErrBadKey):
		field := "after"
		if q.Before != "" {
			field = "before"
		}
		return ReviewPageJSON{}, badParams([]*config.FieldError{{Field: field, Reason: "not a page key this list gave (use next or prev of a page)"}})
	case err != nil:
		return ReviewPageJSON{}, fmt.Errorf("listing reviews: %w", err)
	}
	out := ReviewPageJSON{Reviews: make([]ReviewJSON, 0, len(page.Reviews)), Next: page.Next, Prev: page.Prev}
	for _, l := range page.Reviews {
		out.Reviews = append(out.Reviews, reviewJSON(l))
	}
	return out, nil
}

// Review returns one review with every version and every answer and its
// timeline (404 when the hub never saw it).
func (a *Admin) Review(ctx context.Context, integrationID, appID, reviewID string) (ReviewDetailJSON, error) {
	in, err := a.load(ctx, integrationID)
	if err != nil {
		return ReviewDetailJSON{}, err
	}
	d, err := a.DB.ReviewDetail(ctx, in.ID, appID, reviewID)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return ReviewDetailJSON{}, errorf(http.StatusNotFound, "the hub has not seen review %q of app %q in integration %q",
			clip(reviewID, 128), clip(appID, 64), in.ID)
	case err != nil:
		return ReviewDetailJSON{}, fmt.Errorf("reading review %q of app %q: %w", clip(reviewID, 128), clip(appID, 64), err)
	}
	out := ReviewDetailJSON{ReviewJSON: reviewJSON(d.ListedReview), Versions: []ReviewVersionJSON{}, Answers: []AnswerJSON{}}
	for _, v := range d.Versions {
		out.Versions = append(out.Versions, ReviewVersionJSON{Version: v.Version, Rating: v.Rating, Title: v.Title, Text: v.Text,
			AppVersion: v.AppVersion, StoreReply: v.StoreReply, PostedAt: v.PostedAt, SeenAt: v.SeenAt})
	}
	for _, ans := range d.Answers {
		j := AnswerJSON{ReplyJSON: replyJSON(ans.Reply), Timeline: []ReplyEventJSON{}}
		for _, e := range ans.Events {
			j.Timeline = append(j.Timeline, ReplyEventJSON{At: e.At, Status: e.Status, Detail: e.Detail, By: e.Actor})
		}
		out.Answers = append(out.Answers, j)
	}
	return out, nil
}

func (a *Admin) listReviews(w http.ResponseWriter, r *http.Request) error {
	if err := unknownParams(r.URL.Query(), ReviewQueryParams); err != nil {
		return err
	}
	q, err := ParseReviewQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := a.Reviews(r.Context(), q)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, page)
	return nil
}

// unknownParams refuses parameters the endpoint does not take (a typo
// would otherwise select everything in silence).
func unknownParams(v url.Values, known []string) error {
	var bad []*config.FieldError
	for k := range v {
		if !slices.Contains(known, k) {
			bad = append(bad, &config.FieldError{Field: clip(k, 32), Reason: "not a parameter of this endpoint (known: " + strings.Join(known, ", ") + ")"})
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b *config.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return badParams(bad)
	}
	return nil
}

func (a *Admin) getReview(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	d, err := a.Review(r.Context(), v["id"], v["app"], v["review"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, d)
	return nil
}

// badParams is a 400 naming each wrong parameter, in its detail too.
func badParams(bad []*config.FieldError) *Error {
	msgs := make([]string, len(bad))
	for i, f := range bad {
		msgs[i] = "parameter " + f.Field + ": " + f.Reason
	}
	return &Error{Status: http.StatusBadRequest, Detail: strings.Join(msgs, "; "), Fields: bad}
}

// checkScope checks a query's integration and app: an unknown integration
// is a 404, an app it does not have a 400 naming the parameter; empty
// means every one.
func (a *Admin) checkScope(ctx context.Context, integrationID, appID string) error {
	if integrationID == "" {
		return nil
	}
	in, err := a.load(ctx, integrationID)
	if err != nil {
		return err
	}
	if appID != "" && !slices.ContainsFunc(in.Apps, func(app state.App) bool { return app.ID == appID }) {
		return badParams([]*config.FieldError{{Field: "app", Reason: fmt.Sprintf("integration %q has no app %q", in.ID, clip(appID, 64))}})
	}
	return nil
}
