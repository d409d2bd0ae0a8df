package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// fakes is an in-process helpdesk ("desk") and store ("st").
type fakes struct {
	mu      sync.Mutex
	tickets map[string]string    // review id → ticket id the helpdesk gives
	posts   []string             // review ids answered, in order
	texts   map[string]string    // review id → text answered last
	changed map[string]time.Time // review id → the ReviewUpdatedAt it was answered with
	results []sdk.ReplyResult
	upserts []sdk.UpsertTicketRequest
	postErr error // PostReply fails with it while set
	// goneTickets: WriteReplyResult answers NotFound for these tickets.
	goneTickets map[string]bool
	// upsertErr fails UpsertTicket while set; maxLen is the store's reply
	// length (0: none).
	upsertErr error
	maxLen    int
}

func (f *fakes) Store(name string) (sdk.StorePlugin, sdk.Info, error) {
	if name != "st" {
		return nil, sdk.Info{}, fmt.Errorf("no store %q", name)
	}
	return fakeStore{f}, sdk.Info{Kind: sdk.PluginKindStore, Settings: []sdk.SettingField{{Key: "key", Secret: true}},
		Store: &sdk.StoreCapabilities{CanReply: true, ReplyMaxLength: f.maxLen}}, nil
}

func (f *fakes) Helpdesk(name string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	if name != "desk" {
		return nil, sdk.Info{}, fmt.Errorf("no helpdesk %q", name)
	}
	return fakeDesk{f}, sdk.Info{Kind: sdk.PluginKindHelpdesk}, nil
}

func (f *fakes) posted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.posts...)
}

type fakeStore struct{ f *fakes }

func (fakeStore) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) { return sdk.Info{}, nil }
func (fakeStore) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{}, nil
}
func (fakeStore) ListReviews(context.Context, sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	return sdk.ListReviewsResponse{}, nil
}
func (s fakeStore) PostReply(_ context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.postErr != nil {
		return sdk.PostReplyResponse{}, s.f.postErr
	}
	s.f.posts = append(s.f.posts, req.ReviewID)
	if s.f.texts == nil {
		s.f.texts = map[string]string{}
	}
	s.f.texts[req.ReviewID] = req.Text
	if s.f.changed == nil {
		s.f.changed = map[string]time.Time{}
	}
	s.f.changed[req.ReviewID] = req.ReviewUpdatedAt
	return sdk.PostReplyResponse{Reply: sdk.DeveloperReply{ID: "reply-" + req.ReviewID, Text: req.Text}}, nil
}
func (fakeStore) DeleteReply(context.Context, sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return sdk.DeleteReplyResponse{}, nil
}

type fakeDesk struct{ f *fakes }

func (fakeDesk) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) { return sdk.Info{}, nil }
func (fakeDesk) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{}, nil
}
func (d fakeDesk) UpsertTicket(_ context.Context, req sdk.UpsertTicketRequest) (sdk.UpsertTicketResponse, error) {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	d.f.upserts = append(d.f.upserts, req)
	if d.f.upsertErr != nil {
		return sdk.UpsertTicketResponse{}, d.f.upsertErr
	}
	id, ok := d.f.tickets[req.Change.Review.ID]
	if !ok {
		return sdk.UpsertTicketResponse{}, errors.New("test: no ticket id for this review")
	}
	return sdk.UpsertTicketResponse{ID: id, Created: req.TicketID == ""}, nil
}
func (fakeDesk) HandleWebhook(context.Context, sdk.HandleWebhookRequest) (sdk.HandleWebhookResponse, error) {
	return sdk.HandleWebhookResponse{}, nil
}
func (d fakeDesk) WriteReplyResult(_ context.Context, req sdk.WriteReplyResultRequest) (sdk.WriteReplyResultResponse, error) {
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	d.f.results = append(d.f.results, req.Result)
	if d.f.goneTickets[req.Result.TicketID] {
		return sdk.WriteReplyResultResponse{}, &sdk.Error{Kind: sdk.ErrorKindNotFound, Message: "case_not_found"}
	}
	return sdk.WriteReplyResultResponse{}, nil
}

type rig struct {
	d  *Deliverer
	db *state.DB
	f  *fakes
	in state.Integration
}

// newRig runs the handlers on a SQLite state and bus, with integration
// "acme" (helpdesk "desk", app "ios" on store "st").
func newRig(t *testing.T, grace, recheck time.Duration) *rig {
	t.Helper()
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	b, err := bus.NewSQLite(ctx, db.SQL(), log, bus.SubscriberConfig{PollInterval: 20 * time.Millisecond,
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	router, err := bus.NewRouter(b, log, bus.RouterConfig{Retries: 1, RetryInitial: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakes{tickets: map[string]string{}}
	in := state.Integration{ID: "acme", HelpdeskPlugin: "desk", Source: "api",
		Apps: []state.App{{ID: "ios", StorePlugin: "st", StoreAppID: "1", StoreSettings: sdk.Settings{"key": "k"}}}}
	if err := db.InTx(ctx, func(tx *state.Tx) error { return tx.CreateIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	d := &Deliverer{DB: db, Bus: b, Plugins: f, Logger: log, UnknownTicketGrace: grace, ParkedRecheck: recheck}
	d.Register(router)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = router.Run(runCtx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = b.Close()
	})
	<-router.Running()
	return &rig{d: d, db: db, f: f, in: in}
}

// review records a review of app "ios", linked to ticket when not "".
func (r *rig) review(t *testing.T, id, ticket string) {
	t.Helper()
	ctx := context.Background()
	err := r.db.InTx(ctx, func(tx *state.Tx) error {
		if _, err := tx.ObserveReview(ctx, "acme", "ios", sdk.Review{ID: id, Rating: 3, Text: "text of " + id}); err != nil {
			return err
		}
		if ticket == "" {
			return nil
		}
		return tx.LinkTicket(ctx, "acme", "ios", id, ticket)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *rig) accept(t *testing.T, reqs ...sdk.ReplyRequest) {
	t.Helper()
	if _, err := r.d.AcceptReplies(context.Background(), r.in, reqs, "test"); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) parked(t *testing.T) []state.ParkedReply {
	t.Helper()
	p, err := r.db.ParkedReplies(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (r *rig) reply(t *testing.T, id string) state.Reply {
	t.Helper()
	rep, err := r.db.Reply(context.Background(), "acme", id)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Answers in tickets the hub cannot link are parked in the state, not slept
// on in the handler: an answer queued behind many of them is published
// while they all still wait, and none of them is retried meanwhile.
func TestUnknownTicketsAreParkedAndHoldNothingUp(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	r.review(t, "k1", "T1")
	const unknown = 50
	var reqs []sdk.ReplyRequest
	for i := range unknown {
		reqs = append(reqs, sdk.ReplyRequest{TicketID: fmt.Sprintf("T-unknown-%d", i), MessageID: fmt.Sprintf("u%d", i), Text: "to nowhere"})
	}
	r.accept(t, reqs...)
	r.accept(t, sdk.ReplyRequest{TicketID: "T1", MessageID: "known", Text: "Thanks"})

	eventually(t, "the known answer published", func() bool { return r.reply(t, "known").Status == state.ReplyPublished })
	// Same partition, queued after them: the unknown ones were all looked
	// at first, and every one of them is parked, none refused or posted.
	if got := r.parked(t); len(got) != unknown {
		t.Fatalf("%d answers parked, want %d", len(got), unknown)
	}
	for i := range unknown {
		if rep := r.reply(t, fmt.Sprintf("u%d", i)); rep.Status != state.ReplyPending {
			t.Fatalf("u%d: status %q, want still pending", i, rep.Status)
		}
	}
	if posts := r.f.posted(); len(posts) != 1 || posts[0] != "k1" {
		t.Fatalf("store posts %v, want only k1", posts)
	}
	p := r.parked(t)[0]
	if p.Reason != ReasonUnknownTicket || !p.Until.After(time.Now().Add(50*time.Minute)) || p.TicketID == "" {
		t.Errorf("parked answer %+v: want the reason, its ticket and the end of the grace", p)
	}
}

// An answer that arrives before its ticket is linked is published as soon
// as the review's delivery records the link (the timer is far away).
func TestParkedAnswerReleasedByTheLink(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	r.review(t, "late", "")
	r.accept(t, sdk.ReplyRequest{TicketID: "T9", MessageID: "early", Text: "Thanks for waiting"})
	eventually(t, "the early answer parked", func() bool { return len(r.parked(t)) == 1 })

	r.f.mu.Lock()
	r.f.tickets["late"] = "T9"
	r.f.mu.Unlock()
	err := r.db.InTx(context.Background(), func(tx *state.Tx) error {
		return busmsg.Publish(context.Background(), r.d.Bus, tx, bus.TopicReviews, "acme", "test", busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: 1,
			Change: sdk.ReviewChange{Kind: sdk.ChangeKindNew, Review: sdk.Review{ID: "late", Rating: 3}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	r.d.Bus.Committed()
	eventually(t, "the early answer published", func() bool { return r.reply(t, "early").Status == state.ReplyPublished })
	if got := r.parked(t); len(got) != 0 {
		t.Errorf("still parked: %+v", got)
	}
	if rep := r.reply(t, "early"); rep.AppID != "ios" || rep.ReviewID != "late" {
		t.Errorf("published to %s/%s, want ios/late", rep.AppID, rep.ReviewID)
	}
}

// The timer finds links made without a delivery (the review named by the
// helpdesk was only seen by the poller later) and ends the grace period
// with a refusal written back to the ticket.
func TestParkedAnswersTimer(t *testing.T) {
	r := newRig(t, 2*time.Second, 20*time.Millisecond)
	r.accept(t,
		sdk.ReplyRequest{TicketID: "T5", ReviewID: "seen-later", MessageID: "by-review", Text: "hello"},
		sdk.ReplyRequest{TicketID: "T404", MessageID: "lost", Text: "to nowhere"})
	eventually(t, "both parked", func() bool { return len(r.parked(t)) == 2 })
	r.review(t, "seen-later", "")
	eventually(t, "the answer naming its review published", func() bool { return r.reply(t, "by-review").Status == state.ReplyPublished })
	eventually(t, "the unknown answer refused after the grace", func() bool {
		rep := r.reply(t, "lost")
		return rep.Status == state.ReplyRefused && rep.Detail == ReasonUnknownTicket
	})
	eventually(t, "its refusal written to the ticket", func() bool {
		r.f.mu.Lock()
		defer r.f.mu.Unlock()
		for _, res := range r.f.results {
			if res.MessageID == "lost" && res.TicketID == "T404" && res.Outcome == sdk.OutcomeRefused {
				return true
			}
		}
		return false
	})
	if got := r.parked(t); len(got) != 0 {
		t.Errorf("still parked: %+v", got)
	}
}

// L7: a review id named by the helpdesk never moves an answer into a review
// that is linked to another ticket; for an unlinked review it still works.
func TestReviewIDFallbackNeverOverridesALink(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	r.review(t, "gp-2001", "T1013")
	r.review(t, "free", "")
	r.accept(t,
		sdk.ReplyRequest{TicketID: "T999999", ReviewID: "gp-2001", MessageID: "cross", Text: "cross"},
		sdk.ReplyRequest{TicketID: "T7", ReviewID: "free", MessageID: "fallback", Text: "ok"})
	eventually(t, "the fallback answer published", func() bool { return r.reply(t, "fallback").Status == state.ReplyPublished })
	if rep := r.reply(t, "cross"); rep.Status != state.ReplyRefused || rep.Detail != ReasonOtherTicket {
		t.Errorf("cross-ticket answer: %q %q, want refused: %s", rep.Status, rep.Detail, ReasonOtherTicket)
	}
	eventually(t, "the refusal written to the ticket", func() bool {
		r.f.mu.Lock()
		defer r.f.mu.Unlock()
		for _, res := range r.f.results {
			if res.MessageID == "cross" && res.TicketID == "T999999" && res.Detail == ReasonOtherTicket {
				return true
			}
		}
		return false
	})
	if posts := r.f.posted(); len(posts) != 1 || posts[0] != "free" {
		t.Errorf("store posts %v, want only free", posts)
	}
}

// N6: an answer in a ticket the helpdesk does not have is refused once,
// its refusal note is tried once and, the ticket not existing, leaves no
// dead letter.
func TestAnswerToAMissingTicketLeavesNoDeadLetter(t *testing.T) {
	r := newRig(t, 200*time.Millisecond, 20*time.Millisecond)
	r.f.mu.Lock()
	r.f.goneTickets = map[string]bool{"T-gone": true}
	r.f.mu.Unlock()
	r.accept(t, sdk.ReplyRequest{TicketID: "T-gone", MessageID: "bogus", Text: "to nowhere"})
	r.accept(t, sdk.ReplyRequest{TicketID: "T-gone", MessageID: "bogus", Text: "to nowhere, again"})
	eventually(t, "the answer refused", func() bool { return r.reply(t, "bogus").Status == state.ReplyRefused })
	notes := func() int {
		r.f.mu.Lock()
		defer r.f.mu.Unlock()
		n := 0
		for _, res := range r.f.results {
			if res.MessageID == "bogus" {
				n++
			}
		}
		return n
	}
	eventually(t, "its refusal note tried", func() bool { return notes() > 0 })
	// A later message of the same partition is handled after it: once it
	// is, the note's message is done.
	r.review(t, "k1", "T1")
	r.accept(t, sdk.ReplyRequest{TicketID: "T1", MessageID: "known", Text: "Thanks"})
	eventually(t, "a later answer published", func() bool { return r.reply(t, "known").Status == state.ReplyPublished })
	eventually(t, "the later answer's note", func() bool {
		r.f.mu.Lock()
		defer r.f.mu.Unlock()
		return slices.ContainsFunc(r.f.results, func(res sdk.ReplyResult) bool { return res.MessageID == "known" })
	})
	if n := notes(); n != 1 {
		t.Errorf("the refusal note was tried %d times, want once", n)
	}
	dls, err := bus.DeadLetters{DB: r.db.SQL()}.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 0 {
		t.Errorf("dead letters: %+v, want none", dls)
	}
}

// TestAnswerToAnOlderReviewCarriesItsDate: the store is told when the
// answered review was last changed (its stored date in the store), so a
// store whose API lists only recent reviews can read an older one first
// (an imported review, issue 27).
func TestAnswerToAnOlderReviewCarriesItsDate(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	ctx := context.Background()
	old := time.Now().Add(-40 * 24 * time.Hour).UTC().Truncate(time.Millisecond)
	err := r.db.InTx(ctx, func(tx *state.Tx) error {
		if _, err := tx.ObserveArchivedReview(ctx, "acme", "ios", sdk.Review{ID: "imp", Rating: 2, Text: "slow", UpdatedAt: old}); err != nil {
			return err
		}
		return tx.LinkTicket(ctx, "acme", "ios", "imp", "T9")
	})
	if err != nil {
		t.Fatal(err)
	}
	r.accept(t, sdk.ReplyRequest{TicketID: "T9", MessageID: "m-imp", Text: "Fixed"})
	eventually(t, "the answer published", func() bool { return r.reply(t, "m-imp").Status == state.ReplyPublished })
	r.f.mu.Lock()
	got := r.f.changed["imp"]
	r.f.mu.Unlock()
	if !got.Equal(old) {
		t.Errorf("ReviewUpdatedAt %v, want the review's date %v", got, old)
	}
}
