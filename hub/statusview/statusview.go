// Package statusview is the terminal view of the apps' health (`hub
// status`): it reads a running hub's admin API, so it shows exactly what
// GET /api/integrations/{id}/status shows.
package statusview

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/reviewhub/reviewhub/hub/httpapi"
)

// Row is one app.
type Row struct {
	Integration string    `json:"integration"`
	App         string    `json:"app"`
	Store       string    `json:"store"`
	Health      string    `json:"health"`
	Since       time.Time `json:"since"`
	LastSuccess time.Time `json:"last_success,omitempty"`
	NextPoll    time.Time `json:"next_poll,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	LastAlert   string    `json:"last_alert,omitempty"`
	// History: what a history import recovered and what is still missing.
	History string `json:"history,omitempty"`
}

// Fetch reads every app's health (of one integration when only is set)
// from the hub's admin API at base (http://HOST:PORT).
func Fetch(ctx context.Context, client *http.Client, base, token, only string) ([]Row, error) {
	var ins []httpapi.IntegrationJSON
	if only != "" {
		var in httpapi.IntegrationJSON
		if err := get(ctx, client, base, token, "/api/integrations/"+url.PathEscape(only), &in); err != nil {
			return nil, err
		}
		ins = append(ins, in)
	} else if err := get(ctx, client, base, token, "/api/integrations", &ins); err != nil {
		return nil, err
	}
	var rows []Row
	for _, in := range ins {
		var st struct {
			Apps []httpapi.AppStatus `json:"apps"`
		}
		if err := get(ctx, client, base, token, "/api/integrations/"+url.PathEscape(in.ID)+"/status", &st); err != nil {
			return nil, err
		}
		stores := map[string]string{}
		for _, a := range in.Apps {
			stores[a.ID] = a.Store
		}
		for _, a := range st.Apps {
			r := Row{Integration: in.ID, App: a.ID, Store: stores[a.ID], Health: "unknown"}
			if h := a.Health; h != nil {
				r.Health, r.Since, r.Reason, r.LastAlert, r.History = h.State, h.Since, h.Reason, h.LastAlert, h.History
				if h.LastSuccessAt != nil {
					r.LastSuccess = *h.LastSuccessAt
				}
			}
			if a.Schedule != nil {
				r.NextPoll = a.Schedule.NextPollAt
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

func get(ctx context.Context, client *http.Client, base, token, path string, out any) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("status: is the hub running? %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("status: reading %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct { // an RFC 9457 problem document
			Detail string `json:"detail"`
		}
		if json.Unmarshal(body, &e) != nil || e.Detail == "" {
			e.Detail = strings.TrimSpace(string(body[:min(len(body), 500)]))
		}
		return fmt.Errorf("status: GET %s: %s: %s", path, resp.Status, e.Detail)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("status: GET %s: %w", path, err)
	}
	return nil
}

// Render prints the rows as a table; times are shown as ages at now.
func Render(w io.Writer, rows []Row, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INTEGRATION\tAPP\tSTORE\tHEALTH\tSINCE\tLAST SUCCESS\tNEXT POLL\tREASON")
	for _, r := range rows {
		reason := r.Reason
		if rs := []rune(reason); len(rs) > 120 {
			reason = string(rs[:117]) + "..."
		}
		if r.History != "" {
			reason += " [history: " + r.History + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Integration, r.App, r.Store, r.Health,
			ago(r.Since, now), ago(r.LastSuccess, now), until(r.NextPoll, now), reason)
	}
	_ = tw.Flush()
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return short(now.Sub(t)) + " ago"
}

func until(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if d := t.Sub(now); d > 0 {
		return "in " + short(d)
	}
	return "due"
}

func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1fh", d.Hours())
	}
	return fmt.Sprintf("%.1fd", d.Hours()/24)
}
