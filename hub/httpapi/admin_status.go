package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/hub/quota"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// ScheduleView is the poll schedule seen from this hub.
type ScheduleView struct {
	// Apps in the schedule (all hubs); Due: due and held by no hub;
	// Leased: being polled by some hub.
	Apps, Due, Leased int
	// Polls this hub started since it started.
	Polls int64 `json:"polls"`
	// LagP50Ms and LagP99Ms: how late this hub's recent polls started
	// after their due time, in milliseconds.
	LagP50Ms float64 `json:"lag_p50_ms"`
	LagP99Ms float64 `json:"lag_p99_ms"`
}

func (a *Admin) schedule(w http.ResponseWriter, r *http.Request) {
	var v ScheduleView
	var err error
	if v.Apps, v.Due, v.Leased, err = a.DB.ScheduleCounts(r.Context(), time.Now()); err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if a.Scheduler != nil {
		st := a.Scheduler()
		v.Polls = st.Polls
		v.LagP50Ms, v.LagP99Ms = float64(st.LagP50.Microseconds())/1000, float64(st.LagP99.Microseconds())/1000
	}
	WriteJSON(w, http.StatusOK, map[string]any{"apps": v.Apps, "due": v.Due, "leased": v.Leased, "polls": v.Polls,
		"lag_p50_ms": v.LagP50Ms, "lag_p99_ms": v.LagP99Ms})
}

// AppStatus is one app in the status view.
type AppStatus struct {
	ID         string     `json:"id"`
	Running    bool       `json:"running"`
	Missing    []string   `json:"missing,omitempty"`
	LastPollAt *time.Time `json:"last_poll_at,omitempty"`
	LastError  string     `json:"last_error,omitempty"`
	Connected  bool       `json:"connected"`
	// ReadOnly: the app cannot publish answers (no store account to reply
	// with, or a store that takes no replies): its reviews are read only.
	ReadOnly bool           `json:"read_only"`
	Counters map[string]int `json:"counters"`
	// Skipped counts what each filter skipped.
	Skipped map[string]int `json:"skipped"`
	// Schedule is the app's place in the poll schedule.
	Schedule *ScheduleStatus `json:"schedule,omitempty"`
	// Quotas are the store quotas the app's polling spends from.
	Quotas []QuotaStatus `json:"quotas,omitempty"`
	// Health is the app's health, computed by the hub from the state.
	Health *HealthStatus `json:"health,omitempty"`
	// ReplyStatuses counts the app's reviews by reply status (pending,
	// draft, published, refused, failed, outdated, deleted).
	ReplyStatuses map[string]int `json:"reply_statuses"`
	// AutoRepliesToday counts automatic replies of the UTC day (daily cap).
	AutoRepliesToday int `json:"auto_replies_today"`
}

// ScheduleStatus is an app's row in the poll schedule.
type ScheduleStatus struct {
	NextPollAt time.Time `json:"next_poll_at"`
	// Interval the last poll scheduled with (after quota budgets).
	Interval string `json:"interval,omitempty"`
	// Note says why the next poll is later than the app's interval.
	Note         string  `json:"note,omitempty"`
	Failures     int     `json:"failures,omitempty"`
	CallsPerPoll float64 `json:"calls_per_poll,omitempty"`
	// PolledBy is the hub holding the app's lease right now, if any.
	PolledBy string `json:"polled_by,omitempty"`
}

// QuotaStatus is one store quota bucket of one credential.
type QuotaStatus struct {
	Name    string `json:"name"`
	Account string `json:"account"`
	Limit   int    `json:"limit"`
	Window  string `json:"window"`
	// Used is what was spent in the window ending now (all hubs, all apps).
	Used int `json:"used"`
	// Budget is what polling may spend per window (the rest is kept for replies).
	Budget int `json:"budget"`
	// Apps polling through it, and the requests per hour they would ask
	// for at their own intervals.
	Apps         int     `json:"apps"`
	AskedPerHour float64 `json:"asked_per_hour"`
}

// quotaStatus reads the use of the quota buckets an app's polling spends from.
func (a *Admin) quotaStatus(ctx context.Context, app state.App) ([]QuotaStatus, error) {
	info, ok := a.Info(app.StorePlugin)
	if !ok {
		return nil, nil
	}
	reserve := a.ReplyReserve
	if reserve <= 0 {
		reserve = quota.DefaultReplyReserve
	}
	var out []QuotaStatus
	for _, b := range quota.Buckets(info, app, sdk.OpList) {
		use, err := quota.Read(ctx, a.DB, b, time.Now(), reserve)
		if err != nil {
			return nil, err
		}
		apps, asked, err := a.DB.QuotaDemand(ctx, b.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, QuotaStatus{Name: b.Name, Account: b.Account, Limit: b.Limit, Window: b.Window.String(),
			Used: use.Used, Budget: use.Budget, Apps: apps, AskedPerHour: asked})
	}
	return out, nil
}

func (a *Admin) status(w http.ResponseWriter, r *http.Request) {
	in, ok := a.load(w, r)
	if !ok {
		return
	}
	f, err := a.statusFacts(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	view := a.toJSON(in)
	apps := []AppStatus{}
	for i, app := range in.Apps {
		st, err := a.appStatus(r.Context(), in.ID, app, view.Apps[i], f)
		if err != nil {
			WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		apps = append(apps, st)
	}
	parked, err := a.DB.ParkedReplies(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	waiting, delayed, retrying := 0, 0, 0
	for _, p := range parked {
		switch p.Reason {
		case state.ReasonDelayed:
			delayed++
		case state.ReasonRetrying:
			retrying++
		default:
			waiting++
		}
	}
	reviews, err := a.DB.RecentReviews(r.Context(), in.ID, recentLimit)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	replies, err := a.recentReplies(r.Context(), in.ID)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": in.ID, "complete": view.Complete, "missing": view.Missing, "apps": apps,
		"answers_waiting_for_ticket": waiting, "auto_replies_waiting_for_delay": delayed,
		"answers_retrying": retrying,
		"webhooks_ignored": f.counters[""][state.CountWebhooksIgnored],
		"recent_reviews":   reviews, "recent_replies": replies,
		"automation": AutomationStatus{On: in.Automation.On() && !in.AutomationStopped, Stopped: in.AutomationStopped,
			Rules: len(in.Automation.Rules)}})
}

// statusFacts is what the status view reads once for all of an
// integration's apps, by app id.
type statusFacts struct {
	counters      map[string]map[string]int // "" holds the integration's own
	sched         map[string]state.Slot
	healths       map[string]*HealthStatus
	replyStatuses map[string]map[string]int
	autoToday     map[string]int
}

func (a *Admin) statusFacts(ctx context.Context, integrationID string) (statusFacts, error) {
	var f statusFacts
	var err error
	if f.counters, err = a.DB.Counters(ctx, integrationID); err != nil {
		return f, err
	}
	if f.sched, err = a.DB.ScheduleOf(ctx, integrationID); err != nil {
		return f, err
	}
	if f.healths, err = a.healthOf(ctx, integrationID); err != nil {
		return f, err
	}
	if f.replyStatuses, err = a.DB.ReplyStatusCounts(ctx, integrationID); err != nil {
		return f, err
	}
	f.autoToday, err = a.DB.AutoRepliesToday(ctx, integrationID)
	return f, err
}

// appStatus is one app's part of the status view; view is the app as
// the admin API shows it.
func (a *Admin) appStatus(ctx context.Context, integrationID string, app state.App, view AppJSON, f statusFacts) (AppStatus, error) {
	cur, err := a.DB.Cursor(ctx, integrationID, app.ID)
	if err != nil {
		return AppStatus{}, err
	}
	st := AppStatus{ID: app.ID, Running: view.Running, Missing: view.Missing,
		LastError: cur.LastError, Connected: cur.Connected, ReadOnly: !view.CanReply, Counters: map[string]int{}, Skipped: map[string]int{},
		Health: f.healths[app.ID], ReplyStatuses: map[string]int{}, AutoRepliesToday: f.autoToday[app.ID]}
	for k, v := range f.replyStatuses[app.ID] {
		st.ReplyStatuses[k] = v
	}
	if !cur.LastPollAt.IsZero() {
		t := cur.LastPollAt
		st.LastPollAt = &t
	}
	if sl, ok := f.sched[app.ID]; ok {
		st.Schedule = &ScheduleStatus{NextPollAt: sl.NextAt, Note: sl.Note, Failures: sl.Failures,
			CallsPerPoll: sl.CallsPerPoll, PolledBy: sl.LeaseOwner}
		if sl.Interval > 0 {
			st.Schedule.Interval = sl.Interval.String()
		}
	}
	if st.Quotas, err = a.quotaStatus(ctx, app); err != nil {
		return AppStatus{}, err
	}
	for name, v := range f.counters[app.ID] {
		if why, ok := strings.CutPrefix(name, state.CountSkipped); ok {
			st.Skipped[why] = v
		} else {
			st.Counters[name] = v
		}
	}
	return st, nil
}

// recentReplies are the integration's latest answers, with how to retry
// those that failed or were refused.
func (a *Admin) recentReplies(ctx context.Context, integrationID string) ([]RecentReply, error) {
	stored, err := a.DB.RecentReplies(ctx, integrationID, recentLimit)
	if err != nil {
		return nil, err
	}
	replies := make([]RecentReply, 0, len(stored))
	for _, rp := range stored {
		rr := RecentReply{MessageID: rp.MessageID, AppID: rp.AppID, ReviewID: rp.ReviewID, TicketID: rp.TicketID,
			Staff: rp.Staff, Rule: rp.Rule, Status: rp.Status, Detail: rp.Detail, Attempts: rp.Attempts, Refusal: rp.Refusal,
			UpdatedAt: rp.UpdatedAt, Retry: replyJSON(rp).Retry}
		replies = append(replies, rr)
	}
	return replies, nil
}

// AutomationStatus is the automation's part of the status view.
type AutomationStatus struct {
	// On: rules run (declared on, not stopped, at least one rule).
	On      bool `json:"on"`
	Stopped bool `json:"stopped"`
	Rules   int  `json:"rules"`
}

// recentLimit is how many recent reviews and replies the status view lists.
const recentLimit = 20

// RecentReply is a staff answer and its outcome in the status view (the
// answer's text stays out: it is in the ticket).
type RecentReply struct {
	MessageID string `json:"message_id"`
	AppID     string `json:"app_id,omitempty"`
	ReviewID  string `json:"review_id,omitempty"`
	TicketID  string `json:"ticket_id,omitempty"`
	Staff     string `json:"staff,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Status    string `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Attempts  int    `json:"attempts,omitempty"`
	// Refusal: what a refused answer needs ("text", "account"; no retry).
	Refusal   string    `json:"refusal,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// Retry is where to POST to publish a failed or refused answer again
	// (none when it needs a new text or a store account).
	Retry string `json:"retry,omitempty"`
}
