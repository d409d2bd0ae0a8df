package console

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// The Charts page (issue 25): per integration and app, over 7, 30 or 90
// days, reviews per day by rating (stacked), the average rating, the
// answered share and the time to the first answer. The charts are SVG
// drawn on the server (no script; the numbers laid out here, the page's
// template writes the elements), each with a title and a description,
// and a table of the same figures; the CSV export downloads them. The
// figures are the admin API's (ReviewStats, GET /api/stats/reviews).

// StatsAdmin is what the Charts page reads (*httpapi.Admin).
type StatsAdmin interface {
	ReviewStats(ctx context.Context, q state.StatsQuery) (httpapi.ReviewStatsJSON, error)
}

var _ StatsAdmin = (*httpapi.Admin)(nil)

func (c *Console) chartRoutes(s *mux.Router) {
	s.HandleFunc("/charts", c.handle(c.charts)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/{id}/charts", c.handle(c.charts)).Methods(http.MethodGet)
	s.HandleFunc("/charts/export", c.handle(c.chartsExport)).Methods(http.MethodGet)
	s.HandleFunc("/reviews/export", c.handle(c.reviewsExport)).Methods(http.MethodGet)
}

func (c *Console) statsAdmin() (StatsAdmin, error) {
	sa, ok := c.admin.(StatsAdmin)
	if !ok {
		return nil, &httpapi.Error{Status: http.StatusServiceUnavailable, Detail: "this hub does not count reviews"}
	}
	return sa, nil
}

// Chart geometry (SVG user units; the SVG scales to the page's width).
const (
	chartW, chartH         = 720.0, 200.0
	chartLeft, chartRight  = 44.0, 8.0
	chartTop, chartBottom  = 10.0, 24.0
	plotW                  = chartW - chartLeft - chartRight
	plotH                  = chartH - chartTop - chartBottom
	chartBarGap            = 0.15 // of a day's width
	chartMinLabelSpacing   = 80.0
	chartGridLines         = 4
	chartAverageMin        = 1.0
	chartAverageMax        = 5.0
	chartShareMax          = 100.0
	chartLabelBaselineDrop = 16.0
)

type chartRect struct {
	X, Y, W, H float64
	Class      string
	// Title is the bar's tooltip (its day and value).
	Title string
}

type chartText struct {
	X, Y float64
	Text string
}

type chartLine struct{ X1, Y1, X2, Y2 float64 }

type chartDot struct {
	X, Y  float64
	Title string
}

// chartSVG is one chart laid out.
type chartSVG struct {
	ID          string
	Title, Desc string
	W, H        float64
	Grid        []chartLine
	YLabels     []chartText
	XLabels     []chartText
	Bars        []chartRect
	// Lines are the segments of a line chart (a day without reviews
	// breaks it); Dots its points.
	Lines []string
	Dots  []chartDot
	// Empty: nothing to draw (the chart says so).
	Empty bool
}

// chartsView is the Charts page.
type chartsView struct {
	Integration  string
	Action       string
	Integrations []option
	Apps         []option
	Days         int
	Ranges       []rangeLink
	Stats        httpapi.ReviewStatsJSON
	Rows         []chartRow
	Charts       []chartSVG
	Legend       []legendItem
	Export       string
	ReviewsLink  string
	// Totals in words.
	Average, Share, FirstHours string
}

type rangeLink struct {
	Days    int
	URL     string
	Current bool
}

type legendItem struct{ Class, Label string }

type chartRow struct {
	httpapi.StatsDayJSON
	Label                      string
	Average, Share, FirstHours string
}

func fmtFloat(f *float64, digits int, suffix string) string {
	if f == nil {
		return "—"
	}
	return strconv.FormatFloat(*f, 'f', digits, 64) + suffix
}

// dayLabel is a short date in the reader's language.
func dayLabel(l lang, day string) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	if l.Code == "ru" {
		return d.Format("02.01")
	}
	return d.Format("Jan 2")
}

// niceMax rounds a chart's top value up to 1, 2 or 5 times a power of 10
// (at least 1) so that its grid lines fall on round numbers.
func niceMax(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// frame draws a chart's grid, its value labels (lo..hi) and its day labels.
func frame(l lang, id, title, desc string, days []httpapi.StatsDayJSON, lo, hi float64, unit string) chartSVG {
	s := chartSVG{ID: id, Title: title, Desc: desc, W: chartW, H: chartH}
	for i := 0; i <= chartGridLines; i++ {
		v := lo + (hi-lo)*float64(i)/chartGridLines
		y := chartTop + plotH - plotH*float64(i)/chartGridLines
		s.Grid = append(s.Grid, chartLine{X1: chartLeft, Y1: y, X2: chartW - chartRight, Y2: y})
		s.YLabels = append(s.YLabels, chartText{X: chartLeft - 6, Y: y + 4, Text: trimFloat(math.Round(v*100)/100) + unit})
	}
	n := len(days)
	if n == 0 {
		return s
	}
	step := max(1, int(math.Ceil(chartMinLabelSpacing/(plotW/float64(n)))))
	for i := 0; i < n; i += step {
		s.XLabels = append(s.XLabels, chartText{X: chartLeft + plotW*(float64(i)+0.5)/float64(n), Y: chartTop + plotH + chartLabelBaselineDrop,
			Text: dayLabel(l, days[i].Day)})
	}
	return s
}

// bar is day i's bar from value v0 to v1 on a scale lo..hi.
func bar(n, i int, v0, v1, lo, hi float64, class, title string) chartRect {
	w := plotW / float64(n)
	y := func(v float64) float64 { return chartTop + plotH - plotH*(v-lo)/(hi-lo) }
	return chartRect{X: chartLeft + w*float64(i) + w*chartBarGap/2, Y: y(v1), W: w * (1 - chartBarGap), H: y(v0) - y(v1), Class: class, Title: title}
}

// layoutCharts lays the four charts out.
func layoutCharts(l lang, s httpapi.ReviewStatsJSON) []chartSVG {
	t := l.T
	days := s.Days
	n := len(days)
	period := fmt.Sprintf(t["charts_period"], s.From, s.Until)
	var out []chartSVG

	// Reviews per day by rating, stacked: 1 star at the bottom.
	top := 0
	for _, d := range days {
		top = max(top, d.Reviews)
	}
	hi := float64(max(chartGridLines, (top+chartGridLines-1)/chartGridLines*chartGridLines)) // whole reviews on every grid line
	c := frame(l, "chart-ratings", t["charts_ratings"], fmt.Sprintf(t["charts_ratings_desc"], period, s.Totals.Reviews), days, 0, hi, "")
	for i, d := range days {
		base := 0
		for r, k := range d.Ratings {
			if k == 0 {
				continue
			}
			c.Bars = append(c.Bars, bar(n, i, float64(base), float64(base+k), 0, hi, fmt.Sprintf("r%d", r+1),
				fmt.Sprintf("%s: %d★ × %d", d.Day, r+1, k)))
			base += k
		}
	}
	c.Empty = s.Totals.Reviews == 0
	out = append(out, c)

	// The average rating: a line through the days with reviews.
	c = frame(l, "chart-average", t["charts_average"], fmt.Sprintf(t["charts_average_desc"], period, fmtFloat(s.Totals.AverageRating, 2, "")),
		days, chartAverageMin, chartAverageMax, "★")
	var seg []string
	flush := func() {
		if len(seg) > 1 {
			c.Lines = append(c.Lines, strings.Join(seg, " "))
		}
		seg = nil
	}
	for i, d := range days {
		if d.AverageRating == nil {
			flush()
			continue
		}
		x := chartLeft + plotW*(float64(i)+0.5)/float64(n)
		y := chartTop + plotH - plotH*(*d.AverageRating-chartAverageMin)/(chartAverageMax-chartAverageMin)
		seg = append(seg, trimFloat(math.Round(x*10)/10)+","+trimFloat(math.Round(y*10)/10))
		c.Dots = append(c.Dots, chartDot{X: x, Y: y, Title: fmt.Sprintf("%s: %.2f★", d.Day, *d.AverageRating)})
	}
	flush()
	c.Empty = s.Totals.Reviews == 0
	out = append(out, c)

	// The answered share, per cent.
	c = frame(l, "chart-answered", t["charts_answered"], fmt.Sprintf(t["charts_answered_desc"], period, fmtShare(s.Totals.AnsweredShare)),
		days, 0, chartShareMax, "%")
	for i, d := range days {
		if d.AnsweredShare != nil && *d.AnsweredShare > 0 {
			c.Bars = append(c.Bars, bar(n, i, 0, *d.AnsweredShare*100, 0, chartShareMax, "answered", d.Day+": "+fmtShare(d.AnsweredShare)))
		}
	}
	c.Empty = s.Totals.Reviews == 0
	out = append(out, c)

	// The time to the first answer, hours (the day's average).
	topH := 0.0
	for _, d := range days {
		if d.FirstAnswerHours != nil {
			topH = max(topH, *d.FirstAnswerHours)
		}
	}
	hi = niceMax(topH)
	c = frame(l, "chart-first", t["charts_first"], fmt.Sprintf(t["charts_first_desc"], period, fmtFloat(s.Totals.FirstAnswerHours, 1, " "+t["charts_hours"])),
		days, 0, hi, t["charts_h"])
	for i, d := range days {
		if d.FirstAnswerHours != nil {
			c.Bars = append(c.Bars, bar(n, i, 0, *d.FirstAnswerHours, 0, hi, "first", d.Day+": "+fmtFloat(d.FirstAnswerHours, 1, " "+t["charts_hours"])))
		}
	}
	c.Empty = s.Totals.FirstAnswers == 0
	out = append(out, c)
	return out
}

func fmtShare(f *float64) string {
	if f == nil {
		return "—"
	}
	return strconv.FormatFloat(math.Round(*f*1000)/10, 'f', -1, 64) + "%"
}

func (c *Console) charts(w http.ResponseWriter, r *http.Request) error {
	sa, err := c.statsAdmin()
	if err != nil {
		return err
	}
	l := c.lang(r)
	t := l.T
	values := r.URL.Query()
	fixed := mux.Vars(r)["id"]
	if fixed != "" {
		values.Set("integration", fixed)
	}
	ins, err := c.admin.Integrations(r.Context())
	if err != nil {
		return err
	}
	if fixed != "" && !slices.ContainsFunc(ins, func(in httpapi.IntegrationJSON) bool { return in.ID == fixed }) {
		return &httpapi.Error{Status: http.StatusNotFound, Detail: t["reviews_no_integration"] + " " + strconv.Quote(fixed)}
	}
	q, days, err := httpapi.ParseStatsQuery(values, c.opts.Now())
	if err != nil {
		return err
	}
	s, err := sa.ReviewStats(r.Context(), q)
	if err != nil {
		return err
	}
	v := chartsView{Integration: fixed, Action: r.URL.Path, Days: days, Stats: s, Charts: layoutCharts(l, s),
		Average: fmtFloat(s.Totals.AverageRating, 2, "★"), Share: fmtShare(s.Totals.AnsweredShare),
		FirstHours: fmtFloat(s.Totals.FirstAnswerHours, 1, " "+t["charts_hours"])}
	v.Integrations = append(v.Integrations, option{Value: "", Label: t["reviews_all_integrations"]})
	for _, in := range ins {
		label := in.Name
		if label == "" {
			label = in.ID
		}
		v.Integrations = append(v.Integrations, option{Value: in.ID, Label: label, Selected: in.ID == q.IntegrationID})
		if in.ID != q.IntegrationID {
			continue
		}
		for _, a := range in.Apps {
			name := a.Name
			if name == "" {
				name = a.ID
			}
			v.Apps = append(v.Apps, option{Value: a.ID, Label: name, Selected: a.ID == q.AppID})
		}
	}
	if len(v.Apps) > 0 {
		v.Apps = append([]option{{Value: "", Label: t["reviews_all_apps"]}}, v.Apps...)
	}
	keep := url.Values{}
	if q.IntegrationID != "" && fixed == "" {
		keep.Set("integration", q.IntegrationID)
	}
	if q.AppID != "" {
		keep.Set("app", q.AppID)
	}
	for _, n := range httpapi.StatsRanges {
		u := url.Values{}
		for k, vs := range keep {
			u[k] = vs
		}
		u.Set("days", strconv.Itoa(n))
		v.Ranges = append(v.Ranges, rangeLink{Days: n, URL: r.URL.Path + "?" + u.Encode(), Current: n == days})
	}
	export := url.Values{"days": {strconv.Itoa(days)}, "until": {s.Until}}
	reviews := url.Values{"from": {s.From}, "until": {s.Until}}
	if q.IntegrationID != "" {
		export.Set("integration", q.IntegrationID)
		reviews.Set("integration", q.IntegrationID)
	}
	if q.AppID != "" {
		export.Set("app", q.AppID)
		reviews.Set("app", q.AppID)
	}
	v.Export = "/console/charts/export?" + export.Encode()
	v.ReviewsLink = "/console/reviews?" + reviews.Encode()
	for r := 1; r <= 5; r++ {
		v.Legend = append(v.Legend, legendItem{Class: fmt.Sprintf("r%d", r), Label: fmt.Sprintf("%d★", r)})
	}
	for i := len(s.Days) - 1; i >= 0; i-- { // the table: newest first
		d := s.Days[i]
		v.Rows = append(v.Rows, chartRow{StatsDayJSON: d, Label: d.Day, Average: fmtFloat(d.AverageRating, 2, ""), Share: fmtShare(d.AnsweredShare),
			FirstHours: fmtFloat(d.FirstAnswerHours, 1, "")})
	}
	title := t["charts_title"]
	if q.IntegrationID != "" {
		title += " · " + q.IntegrationID
		if q.AppID != "" {
			title += " · " + q.AppID
		}
	}
	c.render(w, r, http.StatusOK, "charts", navPage(title, "charts", v))
	return nil
}

// chartsExport downloads the Charts page's figures as CSV (the API's
// export: one format, one path).
func (c *Console) chartsExport(w http.ResponseWriter, r *http.Request) error {
	sa, err := c.statsAdmin()
	if err != nil {
		return err
	}
	q, _, err := httpapi.ParseStatsQuery(r.URL.Query(), c.opts.Now())
	if err != nil {
		return err
	}
	s, err := sa.ReviewStats(r.Context(), q)
	if err != nil {
		return err
	}
	httpapi.WriteStatsCSV(w, s, r.URL.Query().Get("bom") != "0")
	return nil
}

// reviewsExport downloads the reviews the Reviews page's filters select
// as CSV, every page of them (the API's export).
func (c *Console) reviewsExport(w http.ResponseWriter, r *http.Request) error {
	ra, err := c.reviewsAdmin()
	if err != nil {
		return err
	}
	q, err := httpapi.ParseReviewQuery(r.URL.Query())
	if err != nil {
		return err
	}
	httpapi.WriteReviewsCSV(w, r, c.opts.Logger, ra.Reviews, q, r.URL.Query().Get("bom") != "0")
	return nil
}
