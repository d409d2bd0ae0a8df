package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/quota"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// ScheduleView is the poll schedule seen from this hub.
type ScheduleView struct {
	// Apps in the schedule (all hubs); Due: due and held by no hub;
	// Leased: being polled by some hub.
	Apps   int `json:"apps"`
	Due    int `json:"due"`
	Leased int `json:"leased"`
	// Polls this hub started since it started.
	Polls int64 `json:"polls"`
	// LagP50Ms and LagP99Ms: how late this hub's recent polls started
	// after their due time, in milliseconds.
	LagP50Ms float64 `json:"lag_p50_ms"`
	LagP99Ms float64 `json:"lag_p99_ms"`
}

// Schedule reads the poll schedule seen from this hub.
func (a *Admin) Schedule(ctx context.Context) (ScheduleView, error) {
	var v ScheduleView
	var err error
	if v.Apps, v.Due, v.Leased, err = a.DB.ScheduleCounts(ctx, time.Now()); err != nil {
		return v, fmt.Errorf("counting the schedule: %w", err)
	}
	if a.Scheduler != nil {
		st := a.Scheduler()
		v.Polls = st.Polls
		v.LagP50Ms, v.LagP99Ms = float64(st.LagP50.Microseconds())/1000, float64(st.LagP99.Microseconds())/1000
	}
	return v, nil
}

func (a *Admin) schedule(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Schedule(r.Context())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, v)
	return nil
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
	ledger := quota.Ledger{DB: a.DB, ReplyReserve: a.ReplyReserve}
	var out []QuotaStatus
	for _, b := range quota.Buckets(info, app, sdk.OpList) {
		use, err := ledger.Read(ctx, b, time.Now())
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

// IntegrationStatus is GET /api/integrations/{id}/status: each app's
// polls, schedule, quotas, health and reply counts, and the
// integration's waiting answers and recent traffic.
type IntegrationStatus struct {
	ID       string      `json:"id"`
	Complete bool        `json:"complete"`
	Missing  []string    `json:"missing"`
	Apps     []AppStatus `json:"apps"`
	// AnswersWaiting: answers parked until their ticket is linked.
	AnswersWaiting int `json:"answers_waiting_for_ticket"`
	// AutoRepliesDelayed: automatic replies waiting for their delay.
	AutoRepliesDelayed int `json:"auto_replies_waiting_for_delay"`
	// AnswersRetrying: answers waiting for their next attempt.
	AnswersRetrying int                  `json:"answers_retrying"`
	WebhooksIgnored int                  `json:"webhooks_ignored"`
	RecentReviews   []state.RecentReview `json:"recent_reviews"`
	RecentReplies   []RecentReply        `json:"recent_replies"`
	Automation      AutomationStatus     `json:"automation"`
}

// Status reads integration id's status.
func (a *Admin) Status(ctx context.Context, id string) (IntegrationStatus, error) {
	in, err := a.load(ctx, id)
	if err != nil {
		return IntegrationStatus{}, err
	}
	fail := func(what string, err error) (IntegrationStatus, error) {
		return IntegrationStatus{}, fmt.Errorf("status of integration %q: %s: %w", in.ID, what, err)
	}
	f, err := a.statusFacts(ctx, in.ID)
	if err != nil {
		return fail("reading its counters, schedule and health", err)
	}
	view := a.toJSON(in)
	st := IntegrationStatus{ID: in.ID, Complete: view.Complete, Missing: view.Missing, Apps: []AppStatus{},
		WebhooksIgnored: f.counters[""][state.CountWebhooksIgnored],
		Automation: AutomationStatus{On: in.Automation.On() && !in.AutomationStopped, Stopped: in.AutomationStopped,
			Rules: len(in.Automation.Rules)}}
	for i, app := range in.Apps {
		as, err := a.appStatus(ctx, in.ID, app, view.Apps[i], f)
		if err != nil {
			return fail("app "+app.ID, err)
		}
		st.Apps = append(st.Apps, as)
	}
	parked, err := a.DB.ParkedReplies(ctx, in.ID)
	if err != nil {
		return fail("parked answers", err)
	}
	for _, p := range parked {
		switch p.Reason {
		case state.ReasonDelayed:
			st.AutoRepliesDelayed++
		case state.ReasonRetrying:
			st.AnswersRetrying++
		default:
			st.AnswersWaiting++
		}
	}
	if st.RecentReviews, err = a.DB.RecentReviews(ctx, in.ID, recentLimit); err != nil {
		return fail("recent reviews", err)
	}
	if st.RecentReplies, err = a.recentReplies(ctx, in.ID); err != nil {
		return fail("recent answers", err)
	}
	return st, nil
}

func (a *Admin) status(w http.ResponseWriter, r *http.Request) error {
	st, err := a.Status(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, st)
	return nil
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
