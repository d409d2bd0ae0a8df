package poll

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// store answers every listing with err (nil: an empty page), counting them.
type store struct {
	err   error
	calls atomic.Int32
}

func (s *store) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) { return sdk.Info{}, nil }
func (s *store) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{}, nil
}
func (s *store) ListReviews(ctx context.Context, _ sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	s.calls.Add(1)
	sdk.AddCalls(ctx, 2) // two vendor requests per listing
	return sdk.ListReviewsResponse{Cursor: "c"}, s.err
}
func (s *store) PostReply(context.Context, sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	return sdk.PostReplyResponse{}, nil
}
func (s *store) DeleteReply(context.Context, sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return sdk.DeleteReplyResponse{}, nil
}

type plugins struct {
	st   *store
	info sdk.Info
}

func (p plugins) Store(string) (sdk.StorePlugin, sdk.Info, error) { return p.st, p.info, nil }
func (p plugins) Helpdesk(string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	return nil, sdk.Info{}, errors.New("no helpdesk")
}

type rig struct {
	db *state.DB
	p  *Poller
	st *store
}

func newRig(t *testing.T, quotas []sdk.QuotaBucket, apps ...string) *rig {
	t.Helper()
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	in := state.Integration{ID: "acme", Source: "config", HelpdeskPlugin: "desk"}
	for _, a := range apps {
		in.Apps = append(in.Apps, state.App{ID: a, StorePlugin: "s", StoreAppID: "store-" + a,
			StoreSettings: sdk.Settings{"key": "K"}, PollInterval: time.Minute})
	}
	if err := db.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	st := &store{}
	info := sdk.Info{Name: "s", Settings: []sdk.SettingField{{Key: "key"}},
		Store: &sdk.StoreCapabilities{Quotas: quotas}}
	p := &Poller{DB: db, Plugins: plugins{st: st, info: info}, Logger: slog.New(slog.DiscardHandler)}
	p.Schedule.setDefaults()
	p.sync(ctx)
	return &rig{db: db, p: p, st: st}
}

// pollDue claims every app due at now and polls it; it returns the rows
// written.
func (r *rig) pollDue(t *testing.T, now time.Time) map[string]state.Slot {
	t.Helper()
	ctx := context.Background()
	r.p.now = func() time.Time { return now }
	slots, err := r.db.Claim(ctx, r.p.Schedule.owner, now, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		r.p.pollSlot(ctx, s)
	}
	sched, err := r.db.ScheduleOf(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

func within(t *testing.T, what string, got, lo, hi time.Time) {
	t.Helper()
	if got.Before(lo.Truncate(time.Millisecond)) || got.After(hi) {
		t.Errorf("%s: %v, want between %v and %v", what, got.Format(time.StampMilli), lo.Format(time.StampMilli), hi.Format(time.StampMilli))
	}
}

// After a poll the next is an interval (±10%) on; a store's "retry after"
// is honoured; transient failures back off; the outcome is in the row.
func TestPollWritesTheNextTime(t *testing.T) {
	r := newRig(t, nil, "ios")
	at := time.Now().Add(time.Hour) // everything is due by then
	s := r.pollDue(t, at)["ios"]
	within(t, "after a poll", s.NextAt, at.Add(54*time.Second), at.Add(66*time.Second))
	if s.Failures != 0 || s.Note != "" || s.Wait != "" || s.CallsPerPoll != 2 || s.Interval != time.Minute || s.LastPoll.IsZero() {
		t.Errorf("after a poll: %+v", s)
	}
	if st := r.p.Stats(); st.Polls != 1 {
		t.Errorf("stats: %+v", st)
	}

	r.st.err = sdk.RetryAfterError(2*time.Hour, "slow down")
	at = at.Add(2 * time.Hour)
	s = r.pollDue(t, at)["ios"]
	within(t, "after a retry-after", s.NextAt, at.Add(108*time.Minute), at.Add(132*time.Minute))
	if s.Failures != 1 || !strings.Contains(s.Note, "the store asked to wait 2h0m0s") || s.Wait != state.WaitRetryAfter {
		t.Errorf("after a retry-after: %+v", s)
	}

	r.st.err = sdk.Errorf(sdk.ErrorKindUnavailable, "down")
	at = at.Add(3 * time.Hour)
	s = r.pollDue(t, at)["ios"]
	// Second failure in a row: 4 s (1 s << 2), jittered.
	within(t, "after an outage", s.NextAt, at.Add(3600*time.Millisecond), at.Add(4400*time.Millisecond))
	if s.Failures != 2 {
		t.Errorf("failures %d, want 2", s.Failures)
	}
	if cur, _ := r.db.Cursor(context.Background(), "acme", "ios"); !strings.Contains(cur.LastError, "down") {
		t.Errorf("last error %q", cur.LastError)
	}
}

// An app that cannot run is looked at again later with the reason; it is
// not listed.
func TestPollSkipsAnAppThatCannotRun(t *testing.T) {
	r := newRig(t, nil, "ios")
	r.p.Runnable = func(state.Integration, state.App) bool { return false }
	at := time.Now().Add(time.Hour)
	s := r.pollDue(t, at)["ios"]
	within(t, "not runnable", s.NextAt, at.Add(notRunnableWait), at.Add(notRunnableWait))
	if r.st.calls.Load() != 0 || !strings.Contains(s.Note, "not polled") {
		t.Errorf("listed %d times, note %q", r.st.calls.Load(), s.Note)
	}
}

// Apps sharing a credential's quota: a poll that would overspend waits
// for the window (and is not listed), and the apps' intervals are
// lengthened to fit the budget, saying why.
func TestPollStaysInsideTheQuota(t *testing.T) {
	quota := []sdk.QuotaBucket{{Name: "key", Per: []string{"key"}, Limit: 8, Window: time.Hour, Ops: []string{sdk.OpList}}}
	r := newRig(t, quota, "a", "b", "c", "d", "e")
	// The first listing of an app reserves 1 request (its cost is not known
	// yet) and spends 2: four fit in 8, the fifth waits for the window.
	at := time.Now().Add(time.Hour)
	sched := r.pollDue(t, at)
	if n := r.st.calls.Load(); n != 4 {
		t.Fatalf("listed %d times, want 4", n)
	}
	waiting, longest := 0, state.Slot{}
	for _, s := range sched {
		if strings.Contains(s.Note, "waiting for quota: key (key K) spent 8 of its polling budget 8 in the last 1h0m0s") {
			if s.Wait != state.WaitQuota {
				t.Errorf("waiting for quota with the typed wait %q", s.Wait)
			}
			waiting++
			if !s.NextAt.After(at) {
				t.Errorf("a deferred poll is due at %v", s.NextAt)
			}
		}
		if s.Interval > longest.Interval {
			longest = s
		}
	}
	if waiting != 1 {
		t.Errorf("%d polls deferred, want 1: %+v", waiting, sched)
	}
	// 4 apps × 2 requests × 60/h = 480/h asked of a budget of 8/h.
	if longest.Interval != time.Hour || !strings.Contains(longest.Note,
		"interval lengthened from 1m0s to 1h0m0s: key (key K) is shared by 4 apps asking 480 requests/h, the polling budget is 8/h") {
		t.Errorf("longest interval %v: %q", longest.Interval, longest.Note)
	}
	// Hours later every app is due and the window is free: the budget
	// still bounds the round.
	r.pollDue(t, at.Add(3*time.Hour))
	if n := r.st.calls.Load() - 4; n < 3 || n > 4 {
		t.Errorf("listed %d times in a round with a budget of 8 requests, want 3 or 4", n)
	}
}
