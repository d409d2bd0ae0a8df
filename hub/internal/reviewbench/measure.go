package reviewbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/reviewhub/reviewhub/hub/console"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Query is one page the benchmark renders.
type Query struct {
	Name string
	// Path is the console's URL path and query.
	Path string
	// Deep, when > 0: the page that many pages in (keys walked first).
	Deep int
}

// Queries are the pages measured: filtered and searched pages in every
// script the generator writes, short CJK terms, filters alone, a deep page.
var Queries = []Query{
	{Name: "first page, no filter", Path: "/console/reviews"},
	{Name: "en word + ratings 1-2", Path: "/console/reviews?q=crash&rating=1&rating=2"},
	{Name: "en two words, one integration", Path: "/console/reviews?integration=int3&q=" + url.QueryEscape("dark mode")},
	{Name: "ru word + store", Path: "/console/reviews?store=rustore&q=" + url.QueryEscape("вылетает")},
	{Name: "ja 4 chars + integration + app", Path: "/console/reviews?integration=int2&app=app1&q=" + url.QueryEscape("ログイン")},
	{Name: "zh 1 char", Path: "/console/reviews?q=" + url.QueryEscape("崩")},
	{Name: "zh 2 chars + rating 1 + reply none", Path: "/console/reviews?rating=1&reply=none&q=" + url.QueryEscape("崩溃")},
	{Name: "ko 2 chars + language", Path: "/console/reviews?language=ko&q=" + url.QueryEscape("멈춰")},
	{Name: "th + dates", Path: "/console/reviews?from=2026-01-01&until=2026-06-30&q=" + url.QueryEscape("แบต")},
	{Name: "filters only: integration, rating, reply, language, dates", Path: "/console/reviews?integration=int1&rating=5&reply=published&language=en&from=2025-06-01&until=2026-05-31"},
	{Name: "rare: en word, one app, refused", Path: "/console/reviews?integration=int4&app=app2&reply=refused&q=widget"},
	{Name: "no match (every index looked at)", Path: "/console/reviews?q=" + url.QueryEscape("zzzqqq")},
	{Name: "page 200, filtered", Path: "/console/reviews?rating=1&rating=2", Deep: 200},
	{Name: "page 50, searched", Path: "/console/reviews?q=" + url.QueryEscape("アプリ"), Deep: 50},
}

// Figure is one query's timings.
type Figure struct {
	Name string        `json:"name"`
	Path string        `json:"path"`
	Rows int           `json:"rows"`
	Runs int           `json:"runs"`
	P50  time.Duration `json:"p50_ns"`
	P95  time.Duration `json:"p95_ns"`
	Max  time.Duration `json:"max_ns"`
	// CPU50 and CPU95: the process's CPU time per render (user and
	// system), which other work on a busy machine does not inflate as
	// it does the wall-clock times.
	CPU50 time.Duration `json:"cpu_p50_ns"`
	CPU95 time.Duration `json:"cpu_p95_ns"`
}

func (f Figure) String() string {
	return fmt.Sprintf("%-58s rows %3d  p50 %7.1f ms  p95 %7.1f ms  max %7.1f ms  cpu p50 %6.1f ms  p95 %6.1f ms",
		f.Name, f.Rows, ms(f.P50), ms(f.P95), ms(f.Max), ms(f.CPU50), ms(f.CPU95))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

const benchToken = "reviews-benchmark-admin-token-0123456789"

// Console is the console over db as the hub serves it, signed in: its
// handler and a function that renders one page (status, body).
type Console struct {
	h      http.Handler
	cookie *http.Cookie
}

// NewConsole builds the console over db and signs in.
func NewConsole(db *state.DB) (*Console, error) {
	admin := &httpapi.Admin{DB: db, Token: benchToken, Info: func(string) (sdk.Info, bool) { return sdk.Info{}, false },
		Plugins: func() []string { return nil }}
	c, err := console.New(console.Options{Token: benchToken, Admin: admin, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/signin", nil))
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		return nil, fmt.Errorf("reviewbench: no sign-in form")
	}
	form := url.Values{"csrf": {m[1]}, "token": {benchToken}}
	req := httptest.NewRequest(http.MethodPost, "/console/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range rec.Result().Cookies() {
		req.AddCookie(ck)
	}
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "rh_session" && ck.Value != "" {
			return &Console{h: c, cookie: ck}, nil
		}
	}
	return nil, fmt.Errorf("reviewbench: sign-in failed (%d)", rec.Code)
}

// Get renders path.
func (c *Console) Get(path string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(c.cookie)
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

var nextLink = regexp.MustCompile(`href="([^"]+)" rel="next"`)

// Measure renders each query runs times (after one unmeasured render) and
// reports the figures.
func Measure(ctx context.Context, c *Console, queries []Query, runs int, report func(Figure)) ([]Figure, error) {
	var out []Figure
	for _, q := range queries {
		path := q.Path
		for range q.Deep {
			code, body := c.Get(path)
			m := nextLink.FindStringSubmatch(body)
			if code != http.StatusOK {
				return out, fmt.Errorf("reviewbench: %s: %s answered %d", q.Name, path, code)
			}
			if m == nil {
				break // fewer pages than Deep: the last one
			}
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		code, body := c.Get(path)
		if code != http.StatusOK {
			return out, fmt.Errorf("reviewbench: %s: %s answered %d", q.Name, path, code)
		}
		f := Figure{Name: q.Name, Path: path, Runs: runs, Rows: strings.Count(body, "<tr data-review=")}
		times, cpus := make([]time.Duration, 0, runs), make([]time.Duration, 0, runs)
		for range runs {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			cpu0 := cpuTime()
			start := time.Now()
			code, _ := c.Get(path)
			times = append(times, time.Since(start))
			cpus = append(cpus, cpuTime()-cpu0)
			if code != http.StatusOK {
				return out, fmt.Errorf("reviewbench: %s answered %d", path, code)
			}
		}
		slices.Sort(times)
		slices.Sort(cpus)
		f.P50, f.P95, f.Max = times[len(times)/2], times[(len(times)*95+99)/100-1], times[len(times)-1]
		f.CPU50, f.CPU95 = cpus[len(cpus)/2], cpus[(len(cpus)*95+99)/100-1]
		out = append(out, f)
		if report != nil {
			report(f)
		}
	}
	return out, nil
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
