package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math"
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

// Review statistics and CSV exports (issue 25): the console's charts and
// their figures as JSON (GET /stats/reviews) and CSV (GET
// /stats/reviews/export), and the review list with the Reviews page's
// filters as CSV (GET /reviews/export).
//
// CSV: RFC 4180 (encoding/csv: fields with commas, quotes or line breaks
// quoted, quotes doubled, CRLF line ends), UTF-8 with a byte order mark by
// default, so that spreadsheets (Excel) read non-Latin text right; bom=0
// leaves it out for tools. Text from the stores (titles, texts, authors,
// answers) that begins with = + - @ or a tab is written with a leading
// apostrophe, so that a spreadsheet shows it as text and never runs it as
// a formula (CSV injection).

// StatsQueryParams are the parameters of GET /stats/reviews and its export.
var StatsQueryParams = []string{"integration", "app", "days", "until"}

// StatsRanges are the periods the console offers (any 1..MaxStatsDays
// is accepted).
var StatsRanges = []int{7, 30, 90}

// DefaultStatsDays is the period when days is not given.
const DefaultStatsDays = 30

// ParseStatsQuery reads a statistics query: integration (all when
// empty), app (within integration), days (1–366, default 30) ending with
// until (a date, inclusive; default today, UTC). Wrong parameters are
// named (a 400 *Error).
func ParseStatsQuery(v url.Values, now time.Time) (state.StatsQuery, int, error) {
	var q state.StatsQuery
	var bad []*config.FieldError
	q.IntegrationID = strings.TrimSpace(v.Get("integration"))
	q.AppID = strings.TrimSpace(v.Get("app"))
	if q.AppID != "" && q.IntegrationID == "" {
		bad = append(bad, &config.FieldError{Field: "app", Reason: "an app is chosen within an integration: give integration too"})
	}
	days := DefaultStatsDays
	if s := strings.TrimSpace(v.Get("days")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > state.MaxStatsDays {
			bad = append(bad, &config.FieldError{Field: "days", Reason: fmt.Sprintf("%q is not a number of days from 1 to %d", clip(s, 16), state.MaxStatsDays)})
		} else {
			days = n
		}
	}
	last := now.UTC().Truncate(24 * time.Hour)
	if s := strings.TrimSpace(v.Get("until")); s != "" {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			bad = append(bad, &config.FieldError{Field: "until", Reason: fmt.Sprintf("%q is not a date (YYYY-MM-DD)", clip(s, 40))})
		} else {
			last = d
		}
	}
	q.Until = last.AddDate(0, 0, 1)
	q.From = q.Until.AddDate(0, 0, -days)
	if len(bad) > 0 {
		return q, days, badParams(bad)
	}
	return q, days, nil
}

// StatsDayJSON is one day's figures (or a period's totals).
type StatsDayJSON struct {
	// Day is the day (YYYY-MM-DD, UTC); empty in totals.
	Day     string `json:"day,omitempty"`
	Reviews int    `json:"reviews"`
	// Ratings counts the reviews by rating: 1 star first, 5 stars last.
	Ratings []int `json:"ratings"`
	// AverageRating is the reviews' average rating (absent: no reviews).
	AverageRating *float64 `json:"average_rating,omitempty"`
	// Answered counts the reviews whose latest answer is published.
	Answered int `json:"answered"`
	// AnsweredShare is Answered / Reviews (absent: no reviews).
	AnsweredShare *float64 `json:"answered_share,omitempty"`
	// FirstAnswers counts the answered reviews whose first publication
	// the hub recorded; FirstAnswerHours is their average time from the
	// review's store date to it (absent: none).
	FirstAnswers     int      `json:"first_answers"`
	FirstAnswerHours *float64 `json:"first_answer_hours,omitempty"`
}

// ReviewStatsJSON is a period's figures per day, oldest first, and its
// totals.
type ReviewStatsJSON struct {
	Integration string         `json:"integration,omitempty"`
	App         string         `json:"app,omitempty"`
	From        string         `json:"from"`
	Until       string         `json:"until"`
	Days        []StatsDayJSON `json:"days"`
	Totals      StatsDayJSON   `json:"totals"`
}

func round(x float64, places int) *float64 {
	p := math.Pow(10, float64(places))
	v := math.Round(x*p) / p
	return &v
}

func dayJSON(s state.DayStats, day string) StatsDayJSON {
	j := StatsDayJSON{Day: day, Reviews: s.Reviews(), Ratings: s.Ratings[:], Answered: s.Answered, FirstAnswers: s.FirstAnswers}
	if j.Reviews > 0 {
		j.AverageRating = round(float64(s.RatingSum())/float64(j.Reviews), 2)
		j.AnsweredShare = round(float64(s.Answered)/float64(j.Reviews), 4)
	}
	if s.FirstAnswers > 0 {
		j.FirstAnswerHours = round(s.FirstAnswerSeconds/float64(s.FirstAnswers)/3600, 2)
	}
	return j
}

// ReviewStats counts q's reviews per day. An unknown integration or app
// is a 404 or 400.
func (a *Admin) ReviewStats(ctx context.Context, q state.StatsQuery) (ReviewStatsJSON, error) {
	if err := a.checkScope(ctx, q.IntegrationID, q.AppID); err != nil {
		return ReviewStatsJSON{}, err
	}
	days, err := a.DB.ReviewStats(ctx, q)
	if err != nil {
		return ReviewStatsJSON{}, fmt.Errorf("counting reviews: %w", err)
	}
	out := ReviewStatsJSON{Integration: q.IntegrationID, App: q.AppID, From: q.From.Format(time.DateOnly),
		Until: q.Until.AddDate(0, 0, -1).Format(time.DateOnly), Days: make([]StatsDayJSON, 0, len(days))}
	var total state.DayStats
	for _, d := range days {
		out.Days = append(out.Days, dayJSON(d, d.Day.Format(time.DateOnly)))
		for i := range total.Ratings {
			total.Ratings[i] += d.Ratings[i]
		}
		total.Answered += d.Answered
		total.FirstAnswers += d.FirstAnswers
		total.FirstAnswerSeconds += d.FirstAnswerSeconds
	}
	out.Totals = dayJSON(total, "")
	return out, nil
}

func (a *Admin) registerStats(r *mux.Router) {
	r.HandleFunc("/stats/reviews", a.handle(a.statsReviews)).Methods(http.MethodGet)
	r.HandleFunc("/stats/reviews/export", a.handle(a.statsExport)).Methods(http.MethodGet)
	r.HandleFunc("/reviews/export", a.handle(a.reviewsExport)).Methods(http.MethodGet)
}

func (a *Admin) statsReviews(w http.ResponseWriter, r *http.Request) error {
	if err := unknownParams(r.URL.Query(), StatsQueryParams); err != nil {
		return err
	}
	q, _, err := ParseStatsQuery(r.URL.Query(), time.Now())
	if err != nil {
		return err
	}
	s, err := a.ReviewStats(r.Context(), q)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, s)
	return nil
}

func (a *Admin) statsExport(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	if err := unknownParams(v, append(slices.Clone(StatsQueryParams), "bom")); err != nil {
		return err
	}
	q, _, err := ParseStatsQuery(v, time.Now())
	if err != nil {
		return err
	}
	s, err := a.ReviewStats(r.Context(), q)
	if err != nil {
		return err
	}
	WriteStatsCSV(w, s, v.Get("bom") != "0")
	return nil
}

func (a *Admin) reviewsExport(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	if err := unknownParams(v, append(slices.Clone(ReviewQueryParams), "bom")); err != nil {
		return err
	}
	q, err := ParseReviewQuery(v)
	if err != nil {
		return err
	}
	WriteReviewsCSV(w, r, a.logger(), a.Reviews, q, v.Get("bom") != "0")
	return nil
}

// csvMedia is the exports' media type.
const csvMedia = "text/csv; charset=utf-8; header=present"

// utf8BOM starts an export read by spreadsheets.
const utf8BOM = "\ufeff"

func csvHeaders(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", csvMedia)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

// csvText makes store text safe to open in a spreadsheet: a leading
// apostrophe before = + - @ tab or carriage return (a formula otherwise).
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func optFloat(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// StatsCSVHeader is the statistics export's first line.
var StatsCSVHeader = []string{"day", "reviews", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5", "average_rating",
	"answered", "answered_share", "first_answers", "first_answer_hours"}

// WriteStatsCSV writes s's days as CSV (the API's and the console's export).
func WriteStatsCSV(w http.ResponseWriter, s ReviewStatsJSON, bom bool) {
	name := "reviewhub-stats"
	if s.Integration != "" {
		name += "-" + fileSafe(s.Integration)
	}
	if s.App != "" {
		name += "-" + fileSafe(s.App)
	}
	csvHeaders(w, name+"-"+s.From+"-"+s.Until+".csv")
	w.WriteHeader(http.StatusOK)
	if bom {
		_, _ = io.WriteString(w, utf8BOM)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	_ = cw.Write(StatsCSVHeader)
	for _, d := range s.Days {
		row := []string{d.Day, strconv.Itoa(d.Reviews)}
		for _, n := range d.Ratings {
			row = append(row, strconv.Itoa(n))
		}
		row = append(row, optFloat(d.AverageRating), strconv.Itoa(d.Answered), optFloat(d.AnsweredShare),
			strconv.Itoa(d.FirstAnswers), optFloat(d.FirstAnswerHours))
		_ = cw.Write(row)
	}
	cw.Flush()
}

// fileSafe keeps letters, digits, dots, dashes and underscores of an id
// for a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, clip(s, 64))
}

// ReviewsCSVHeader is the review export's first line.
var ReviewsCSVHeader = []string{"integration", "app", "app_name", "store", "review", "version", "posted_at", "rating", "title", "text",
	"author", "country", "language", "app_version", "url", "ticket_id", "reply_status", "answer", "answer_rule", "store_reply"}

// WriteReviewsCSV streams every review q selects (its page keys and limit
// ignored), newest first, read page by page through list: memory stays one
// page whatever the export's size. A failure before the first row is
// answered as a problem; one midway ends the export with a row whose
// first field says so.
func WriteReviewsCSV(w http.ResponseWriter, r *http.Request, log *slog.Logger,
	list func(context.Context, state.ReviewQuery) (ReviewPageJSON, error), q state.ReviewQuery, bom bool) {
	q.After, q.Before, q.Limit = "", "", state.MaxReviewPage
	page, err := list(r.Context(), q)
	if err != nil {
		writeProblem(w, r, log, err)
		return
	}
	csvHeaders(w, "reviewhub-reviews.csv")
	w.WriteHeader(http.StatusOK)
	if bom {
		_, _ = io.WriteString(w, utf8BOM)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	_ = cw.Write(ReviewsCSVHeader)
	flusher, _ := w.(http.Flusher)
	for {
		for _, v := range page.Reviews {
			_ = cw.Write([]string{v.IntegrationID, v.AppID, csvText(v.AppName), v.Store, csvText(v.ReviewID), strconv.Itoa(v.Version),
				v.PostedAt.UTC().Format(time.RFC3339), strconv.Itoa(v.Rating), csvText(v.Title), csvText(v.Text), csvText(v.Author),
				v.Country, v.Language, csvText(v.AppVersion), v.URL, csvText(v.TicketID), v.ReplyStatus, csvText(v.Answer),
				csvText(v.AnswerRule), csvText(v.StoreReply)})
		}
		cw.Flush()
		if cw.Error() != nil {
			return // the client went away
		}
		if flusher != nil {
			flusher.Flush()
		}
		if page.Next == "" {
			return
		}
		q.After = page.Next
		if page, err = list(r.Context(), q); err != nil {
			id := requestID(r)
			log.Error("review export failed midway (the answer is cut short)", "request_id", id, "error", err)
			_ = cw.Write([]string{"# the export stopped here: reading the reviews failed; the hub's log has the cause under request id " + id})
			cw.Flush()
			return
		}
	}
}
