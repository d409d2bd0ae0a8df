package poll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// historyStore is a store whose History pages through its reviews by
// offset, and fails once at failAt (a crash mid-import).
type historyStore struct {
	store
	reviews []sdk.Review
	failAt  int // page offset to fail at once (0: never)
	calls   int
	noHist  bool
	stuck   string // a cursor at which History answers an empty page and the same cursor
}

func (s *historyStore) History(_ context.Context, req sdk.HistoryRequest) (sdk.HistoryResponse, error) {
	if s.noHist {
		return sdk.HistoryResponse{}, sdk.Errorf(sdk.ErrorKindUnsupported, "no archive")
	}
	s.calls++
	if s.stuck != "" && req.Cursor == s.stuck {
		if s.calls > 1000 {
			return sdk.HistoryResponse{}, sdk.Errorf(sdk.ErrorKindUnavailable, "asked %d times", s.calls)
		}
		return sdk.HistoryResponse{NextCursor: s.stuck}, nil
	}
	off, _ := strconv.Atoi(req.Cursor)
	if s.failAt > 0 && off == s.failAt {
		s.failAt = 0
		return sdk.HistoryResponse{}, sdk.Errorf(sdk.ErrorKindUnavailable, "store down")
	}
	var in []sdk.Review
	for _, r := range s.reviews {
		if !r.UpdatedAt.Before(req.From) && r.UpdatedAt.Before(req.To) {
			in = append(in, r)
		}
	}
	end := min(off+10, len(in))
	out := sdk.HistoryResponse{Reviews: slices.Clone(in[off:end]), Done: int64(end), Total: int64(len(in)), RatingOnly: 1}
	if end < len(in) {
		out.NextCursor = strconv.Itoa(end)
	}
	return out, nil
}

type historyPlugins struct {
	st     *historyStore
	window time.Duration
}

func (p historyPlugins) Store(string) (sdk.StorePlugin, sdk.Info, error) {
	return p.st, sdk.Info{Name: "s", Store: &sdk.StoreCapabilities{ListingWindow: p.window, History: &sdk.HistoryCapabilities{}}}, nil
}

func historyRig(t testing.TB) (*Poller, *historyStore, state.Integration) {
	t.Helper()
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	b, err := bus.NewSQLite(ctx, db.SQL(), log, bus.SubscriberConfig{WriteGate: db.WriteGate()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	in := state.Integration{ID: "acme", Source: "config", HelpdeskPlugin: "desk",
		Apps: []state.App{{ID: "gp", StorePlugin: "s", StoreAppID: "com.x", StoreSettings: sdk.Settings{"key": "K"}, PollInterval: time.Minute}}}
	if err := db.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	st := &historyStore{}
	return &Poller{DB: db, Bus: b, Plugins: historyPlugins{st: st}, Logger: log}, st, in
}

// TestHistoryImportResumesAfterFailureAndIsIdempotent: 45 reviews of 40
// days, one already delivered by a live poll; the import fails on its third
// page, is run again and resumes there; every review is queued exactly once,
// the live one not again; a third run changes nothing.
func TestHistoryImportResumesAfterFailureAndIsIdempotent(t *testing.T) {
	p, st, in := historyRig(t)
	ctx := context.Background()
	app := in.Apps[0]
	now := time.Now().UTC().Truncate(time.Second)
	for i := range 45 {
		at := now.Add(-time.Duration(40*24*60-i*60) * time.Minute)
		st.reviews = append(st.reviews, sdk.Review{ID: fmt.Sprintf("gp:%02d", i), Rating: 1 + i%5, Text: fmt.Sprintf("text %d", i), UpdatedAt: at})
	}
	// A live poll delivered review 44 already (the same version).
	if err := p.apply(ctx, listing{in: in, app: app}, batch{reviews: st.reviews[44:]}, &Result{Skipped: map[string]int{}}); err != nil {
		t.Fatal(err)
	}
	from, to := now.Add(-41*24*time.Hour), now
	st.failAt = 20
	var seen []state.HistoryImport
	h, err := p.ImportHistory(ctx, in, app, from, to, func(h state.HistoryImport) { seen = append(seen, h) })
	if err == nil || h.Cursor != "20" || h.Pages != 2 || h.Queued != 20 || h.LastError == "" || !h.Running() {
		t.Fatalf("first run: %+v, %v; want it stopped at page 3 with its cursor saved", h, err)
	}
	stored, found, err := p.DB.HistoryImport(ctx, in.ID, app.ID, from, to)
	if err != nil || !found || stored.Cursor != "20" || stored.Queued != 20 || stored.Done != 20 || stored.Total != 45 || stored.LastError == "" {
		t.Fatalf("stored after the failure: %+v %v", stored, err)
	}
	// Run again (after a crash, or by hand): it resumes from page 3.
	calls := st.calls
	h, err = p.ImportHistory(ctx, in, app, from, to, func(h state.HistoryImport) { seen = append(seen, h) })
	if err != nil || h.Finished.IsZero() || h.Reviews != 45 || h.Queued != 44 || h.Pages != 5 || h.RatingOnly != 5 || h.LastError != "" {
		t.Fatalf("second run: %+v %v; want 45 reviews, 44 queued (one delivered live), 5 pages", h, err)
	}
	if st.calls-calls != 3 {
		t.Errorf("the second run asked %d pages, want the 3 left", st.calls-calls)
	}
	if last := seen[len(seen)-1]; last.Done != 45 || last.Total != 45 {
		t.Errorf("progress %d/%d", last.Done, last.Total)
	}
	counters, err := p.DB.Counters(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q := counters[app.ID][state.CountQueued]; q != 45 { // 1 live + 44 imported
		t.Errorf("queued counter %d, want 45", q)
	}
	// Once finished, the same import is its record: nothing asked, nothing queued.
	calls = st.calls
	h2, err := p.ImportHistory(ctx, in, app, from, to, nil)
	if err != nil || st.calls != calls || h2.Queued != h.Queued || h2.Finished.UnixMilli() != h.Finished.UnixMilli() {
		t.Errorf("third run: %+v %v, %d calls", h2, err, st.calls-calls)
	}
	// A new, overlapping range: the reviews are known and unchanged.
	h3, err := p.ImportHistory(ctx, in, app, from.Add(time.Hour), to, nil)
	if err != nil || h3.Queued != 0 || h3.Reviews == 0 {
		t.Errorf("overlapping import: %+v %v; want nothing queued again", h3, err)
	}
	list, err := p.DB.HistoryImports(ctx, in.ID, app.ID)
	if err != nil || len(list) != 2 {
		t.Errorf("imports %+v %v", list, err)
	}
}

func TestHistoryImportUnsupportedAndBadRange(t *testing.T) {
	p, st, in := historyRig(t)
	ctx := context.Background()
	now := time.Now()
	st.noHist = true
	if _, err := p.ImportHistory(ctx, in, in.Apps[0], now.Add(-time.Hour), now, nil); !errors.Is(err, ErrHistoryUnsupported) {
		t.Errorf("unsupported: %v", err)
	}
	if _, err := p.ImportHistory(ctx, in, in.Apps[0], now, now.Add(-time.Hour), nil); err == nil {
		t.Error("a range the wrong way round was accepted")
	}
}

// TestHistoryGapRecoveredAfterOutage: the hub was down 30 days; at the
// first poll after, the gap is imported from the last successful poll on,
// before the listing, every review of it queued once; an interrupted
// recovery is resumed at the next poll.
func TestHistoryGapRecoveredAfterOutage(t *testing.T) {
	p, st, in := historyRig(t)
	ctx := context.Background()
	app := in.Apps[0]
	p.Plugins = historyPlugins{st: st, window: 7 * 24 * time.Hour}
	// The last successful poll 30 days ago, then none.
	down := time.Now().UTC().Add(-30 * 24 * time.Hour)
	if err := p.DB.InTx(ctx, func(tx *state.Tx) error { return tx.SaveCursor(ctx, in.ID, app.ID, "c") }); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DB.SQL().Exec(`UPDATE cursors SET last_poll_at = ?, last_success_ms = ?`, down.Format(time.RFC3339Nano), down.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		at := down.Add(time.Duration(i+1) * 24 * time.Hour)
		st.reviews = append(st.reviews, sdk.Review{ID: fmt.Sprintf("gp:gap-%02d", i), Rating: 3, Text: "during the outage", UpdatedAt: at})
	}
	st.reviews = append(st.reviews, sdk.Review{ID: "gp:before", Rating: 3, Text: "before the outage", UpdatedAt: down.Add(-48 * time.Hour)})
	st.failAt = 20 // the recovery breaks off at its third page
	if _, err := p.PollOnce(ctx, in, app); err != nil {
		t.Fatal(err)
	}
	imports, err := p.DB.HistoryImports(ctx, in.ID, app.ID)
	if err != nil || len(imports) != 1 || !imports[0].Running() || imports[0].Queued != 20 || !imports[0].From.Before(down) {
		t.Fatalf("after the first poll: %+v %v", imports, err)
	}
	// The next poll resumes it (even though the listing succeeded since).
	if _, err := p.PollOnce(ctx, in, app); err != nil {
		t.Fatal(err)
	}
	imports, _ = p.DB.HistoryImports(ctx, in.ID, app.ID)
	if len(imports) != 1 || imports[0].Running() || imports[0].Queued != 25 || imports[0].Reviews != 25 {
		t.Fatalf("after the second poll: %+v", imports)
	}
	counters, _ := p.DB.Counters(ctx, in.ID)
	if q := counters[app.ID][state.CountQueued]; q != 25 {
		t.Errorf("queued %d, want the 25 reviews of the outage once", q)
	}
	// A third poll: no gap, nothing imported again.
	calls := st.calls
	if _, err := p.PollOnce(ctx, in, app); err != nil || st.calls != calls {
		t.Errorf("third poll: %v, %d history calls", err, st.calls-calls)
	}
}

// TestHistoryGapRecoveredAfterFailingPolls: the app's last successful
// listing was 10 days ago (longer than the store's 7-day window); its polls
// failed since (each recording its error, which moves the last poll's
// time, as the scheduler does). Once polls succeed again, the gap from the
// last SUCCESSFUL listing on is imported: its reviews arrive.
func TestHistoryGapRecoveredAfterFailingPolls(t *testing.T) {
	p, st, in := historyRig(t)
	ctx := context.Background()
	app := in.Apps[0]
	p.Plugins = historyPlugins{st: st, window: 7 * 24 * time.Hour}
	ok := time.Now().UTC().Add(-10 * 24 * time.Hour)
	if err := p.DB.InTx(ctx, func(tx *state.Tx) error { return tx.SaveCursor(ctx, in.ID, app.ID, "c") }); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DB.SQL().Exec(`UPDATE cursors SET last_poll_at = ?, last_success_ms = ?`, ok.Format(time.RFC3339Nano), ok.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	// Ten days of failed polls: the last of them just now.
	if err := p.DB.SetPollError(ctx, in.ID, app.ID, "store down"); err != nil {
		t.Fatal(err)
	}
	for i := range 9 {
		at := ok.Add(time.Duration(i+1) * 24 * time.Hour)
		st.reviews = append(st.reviews, sdk.Review{ID: fmt.Sprintf("gp:fail-%02d", i), Rating: 2, Text: "while polls failed", UpdatedAt: at})
	}
	if _, err := p.PollOnce(ctx, in, app); err != nil {
		t.Fatal(err)
	}
	imports, err := p.DB.HistoryImports(ctx, in.ID, app.ID)
	if err != nil || len(imports) != 1 || imports[0].Running() || !imports[0].From.Before(ok) {
		t.Fatalf("no gap import after the failing polls: %+v %v", imports, err)
	}
	counters, _ := p.DB.Counters(ctx, in.ID)
	if q := counters[app.ID][state.CountQueued]; q != 9 {
		t.Errorf("queued %d, want the 9 reviews of the failing days", q)
	}
	cur, err := p.DB.Cursor(ctx, in.ID, app.ID)
	if err != nil || time.Since(cur.LastSuccessAt) > time.Hour {
		t.Errorf("the successful poll did not move the last success: %+v %v", cur, err)
	}
}

// TestHistoryImportStopsWhenThePluginMakesNoProgress: a plugin answering
// an empty page with the cursor it was asked with would be asked forever;
// the import stops with an error naming the plugin, recorded in the
// import, after the pages before were applied.
func TestHistoryImportStopsWhenThePluginMakesNoProgress(t *testing.T) {
	p, st, in := historyRig(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for i := range 15 {
		st.reviews = append(st.reviews, sdk.Review{ID: fmt.Sprintf("gp:%02d", i), Rating: 4, Text: "ok", UpdatedAt: now.Add(-time.Duration(i+1) * time.Hour)})
	}
	st.stuck = "10"
	h, err := p.ImportHistory(ctx, in, in.Apps[0], now.Add(-48*time.Hour), now, nil)
	if err == nil || !strings.Contains(err.Error(), `store plugin "s"`) || !strings.Contains(err.Error(), "no progress") {
		t.Fatalf("err %v", err)
	}
	if st.calls != 2 || h.Reviews != 10 || h.Cursor != "10" || !h.Running() || h.LastError != err.Error() {
		t.Errorf("after %d calls: %+v", st.calls, h)
	}
	saved, found, serr := p.DB.HistoryImport(ctx, in.ID, in.Apps[0].ID, h.From, h.To)
	if serr != nil || !found || saved.LastError != err.Error() {
		t.Errorf("not recorded: %+v %v", saved, serr)
	}
}

// TestHistoryImportSkipsRowsOlderThanTheStoredVersion: a review edited
// since (its second version delivered by a live poll); the store's
// history holds its first version: importing it queues nothing and keeps
// the edit.
func TestHistoryImportSkipsRowsOlderThanTheStoredVersion(t *testing.T) {
	p, st, in := historyRig(t)
	ctx := context.Background()
	app := in.Apps[0]
	now := time.Now().UTC().Truncate(time.Second)
	v1 := sdk.Review{ID: "gp:e", Rating: 1, Text: "crashes", UpdatedAt: now.Add(-72 * time.Hour)}
	v2 := sdk.Review{ID: "gp:e", Rating: 5, Text: "fixed", UpdatedAt: now.Add(-24 * time.Hour)}
	for _, r := range []sdk.Review{v1, v2} {
		if err := p.apply(ctx, listing{in: in, app: app}, batch{reviews: []sdk.Review{r}}, &Result{Skipped: map[string]int{}}); err != nil {
			t.Fatal(err)
		}
	}
	st.reviews = []sdk.Review{v1}
	h, err := p.ImportHistory(ctx, in, app, now.Add(-96*time.Hour), now, nil)
	if err != nil || h.Reviews != 1 || h.Queued != 0 {
		t.Fatalf("import: %+v %v", h, err)
	}
	var rating int
	var body string
	if err := p.DB.SQL().QueryRow(`SELECT rating, body FROM reviews WHERE review_id = 'gp:e'`).Scan(&rating, &body); err != nil || rating != 5 || body != "fixed" {
		t.Errorf("stored %d %q %v, want the edit kept", rating, body, err)
	}
}

// TestHistoryImportRunsInOnePlace: while another importer (another hub,
// `hub import-history`) holds an import's lease, asking for the same
// import — on demand or by the gap recovery — does not run it; once the
// lease is released it runs.
func TestHistoryImportRunsInOnePlace(t *testing.T) {
	p, st, in := historyRig(t)
	ctx := context.Background()
	app := in.Apps[0]
	now := time.Now().UTC().Truncate(time.Second)
	for i := range 5 {
		st.reviews = append(st.reviews, sdk.Review{ID: fmt.Sprintf("gp:%02d", i), Rating: 3, Text: "x", UpdatedAt: now.Add(-time.Duration(i+1) * time.Hour)})
	}
	from, to := now.Add(-48*time.Hour), now
	h := state.HistoryImport{IntegrationID: in.ID, AppID: app.ID, From: from, To: to}
	if err := p.DB.CreateHistoryImport(ctx, h); err != nil {
		t.Fatal(err)
	}
	other := p.DB.HistoryImportLeases(state.NewOwner("other-hub"))
	lease, ok, err := other.Take(ctx, time.Now(), time.Hour, state.HistoryImportKey(h)...)
	if err != nil || !ok {
		t.Fatalf("take: %v %v", ok, err)
	}
	if _, err := p.ImportHistory(ctx, in, app, from, to, nil); !errors.Is(err, ErrHistoryImportBusy) || st.calls != 0 {
		t.Fatalf("ran beside its holder: %v, %d history calls", err, st.calls)
	}
	if _, err := other.Release(ctx, lease, state.HistoryImportKey(h)...); err != nil {
		t.Fatal(err)
	}
	got, err := p.ImportHistory(ctx, in, app, from, to, nil)
	if err != nil || got.Finished.IsZero() || got.Queued != 5 {
		t.Fatalf("after the release: %+v %v", got, err)
	}
}

// TestGapRecoverySkipsAnImportRunningElsewhere: the gap's import is
// running (unfinished) and leased by another hub: a poll here neither runs
// nor resumes it.
func TestGapRecoverySkipsAnImportRunningElsewhere(t *testing.T) {
	p, st, in := historyRig(t)
	ctx := context.Background()
	app := in.Apps[0]
	p.Plugins = historyPlugins{st: st, window: 7 * 24 * time.Hour}
	if err := p.DB.InTx(ctx, func(tx *state.Tx) error { return tx.SaveCursor(ctx, in.ID, app.ID, "c") }); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	h := state.HistoryImport{IntegrationID: in.ID, AppID: app.ID, From: now.Add(-20 * 24 * time.Hour), To: now.Add(24 * time.Hour), Cursor: "10", Started: now, Pages: 1}
	if err := p.DB.SaveHistoryImport(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.DB.HistoryImportLeases(state.NewOwner("other-hub")).Take(ctx, time.Now(), time.Hour, state.HistoryImportKey(h)...); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PollOnce(ctx, in, app); err != nil {
		t.Fatal(err)
	}
	got, _, err := p.DB.HistoryImport(ctx, in.ID, app.ID, h.From, h.To)
	if err != nil || st.calls != 0 || got.Cursor != "10" || got.Pages != 1 || !got.Running() {
		t.Fatalf("resumed beside its holder: %d history calls, %+v %v", st.calls, got, err)
	}
}

// TestHistoryImportTakesOverAKilledRunOfItsName: an earlier run of the
// same name (a `hub import-history` killed mid-import, a hub restarted)
// left the import leased; the next run takes it over at once and
// finishes it.
func TestHistoryImportTakesOverAKilledRunOfItsName(t *testing.T) {
	p, st, in := historyRig(t)
	ctx := context.Background()
	app := in.Apps[0]
	now := time.Now().UTC().Truncate(time.Second)
	for i := range 3 {
		st.reviews = append(st.reviews, sdk.Review{ID: fmt.Sprintf("gp:%02d", i), Rating: 3, Text: "x", UpdatedAt: now.Add(-time.Duration(i+1) * time.Hour)})
	}
	from, to := now.Add(-48*time.Hour), now
	h := state.HistoryImport{IntegrationID: in.ID, AppID: app.ID, From: from, To: to}
	if err := p.DB.CreateHistoryImport(ctx, h); err != nil {
		t.Fatal(err)
	}
	killed := p.DB.HistoryImportLeases(state.NewOwner(p.Schedule.Owner))
	if _, ok, err := killed.Take(ctx, time.Now(), time.Hour, state.HistoryImportKey(h)...); err != nil || !ok {
		t.Fatalf("take: %v %v", ok, err)
	}
	got, err := p.ImportHistory(ctx, in, app, from, to, nil)
	if err != nil || got.Finished.IsZero() || got.Queued != 3 {
		t.Fatalf("not taken over: %+v %v", got, err)
	}
}
