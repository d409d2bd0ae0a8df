package deliver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// facts are app ios's delivery facts.
func (r *rig) facts(t *testing.T) state.DeliveryFacts {
	t.Helper()
	rows, err := r.db.HealthRows(context.Background(), "acme")
	if err != nil || len(rows) != 1 {
		t.Fatalf("health rows %+v %v", rows, err)
	}
	return rows[0].Delivery
}

func (r *rig) deadLetters(t *testing.T) []bus.DeadLetter {
	t.Helper()
	list, err := bus.DeadLetters{DB: r.db.SQL()}.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// A review the helpdesk refuses for good is a dead letter: the app's
// delivery facts say so with the helpdesk's reason and since when, the
// review says why it has no ticket, and the dead letter names its app;
// once retried after the fix, it is delivered and all of it clears.
func TestRefusedDeliveryIsRecordedUntilDelivered(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	ctx := context.Background()
	r.review(t, "d1", "")
	r.f.tickets["d1"] = "T1"
	r.f.upsertErr = sdk.Errorf(sdk.ErrorKindInvalid, "omnidesk answered 400: channel_not_found")
	r.publish(t, bus.TopicReviews, busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: 1,
		Change: sdk.ReviewChange{Kind: sdk.ChangeKindNew, Review: sdk.Review{ID: "d1", Rating: 3}}})
	eventually(t, "the dead letter", func() bool { return len(r.deadLetters(t)) == 1 })
	f := r.facts(t)
	if !f.Failing() || f.Failures != 1 || f.FailingSince.IsZero() || !strings.Contains(f.Error, "channel_not_found") {
		t.Errorf("facts after the refusal %+v", f)
	}
	counts, err := bus.DeadLetters{DB: r.db.SQL()}.CountByApp(ctx)
	if err != nil || counts[bus.AppRef{Integration: "acme", App: "ios"}] != 1 {
		t.Errorf("dead letters by app %v %v, want one of acme/ios", counts, err)
	}
	recent, err := r.db.RecentReviews(ctx, "acme", 10)
	if err != nil || len(recent) != 1 || !strings.Contains(recent[0].DeliveryError, "channel_not_found") {
		t.Errorf("recent reviews %+v %v, want d1 saying why it has no ticket", recent, err)
	}

	r.f.mu.Lock()
	r.f.upsertErr = nil
	r.f.mu.Unlock()
	dl := r.deadLetters(t)[0]
	if err := (bus.DeadLetters{DB: r.db.SQL()}).Retry(ctx, r.d.Bus, dl.Offset); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retried review delivered", func() bool {
		tk, _ := r.db.TicketOf(ctx, "acme", "ios", "d1")
		return tk == "T1"
	})
	eventually(t, "the delivery recorded", func() bool { return !r.facts(t).Failing() })
	if f := r.facts(t); f.Failures != 0 || f.Error != "" {
		t.Errorf("facts after the delivery %+v", f)
	}
	if recent, _ := r.db.RecentReviews(ctx, "acme", 10); recent[0].DeliveryError != "" {
		t.Errorf("a delivered review still says %q", recent[0].DeliveryError)
	}
}

// A refusal that needs a new text (longer than the store takes) or a store
// account (the store refused the account's rights) offers no retry, and the
// retry is refused; the account's refusal makes the app's answers fail
// until one is published. A refusal for another reason can be retried.
func TestRefusalsNeedingNewTextOrAccountAreNotRetried(t *testing.T) {
	r := newRig(t, time.Hour, time.Hour)
	ctx := context.Background()
	r.f.maxLen = 10
	for i, c := range []struct {
		err       error
		text      string
		refusal   string
		retryable bool
	}{
		{sdk.Errorf(sdk.ErrorKindRefused, "replies are limited to 10 characters"), "far too long an answer", state.RefusalText, false},
		{sdk.Errorf(sdk.ErrorKindPermissionDenied, "the account may not reply"), "Thanks", state.RefusalAccount, false},
		{sdk.Errorf(sdk.ErrorKindRefused, "the review was removed"), "Thanks", "", true},
	} {
		id, ticket, review := "m"+string(rune('a'+i)), "T"+string(rune('a'+i)), "r"+string(rune('a'+i))
		r.review(t, review, ticket)
		r.f.mu.Lock()
		r.f.postErr = c.err
		r.f.mu.Unlock()
		r.accept(t, sdk.ReplyRequest{TicketID: ticket, MessageID: id, Text: c.text})
		eventually(t, "the refusal of "+id, func() bool { return r.reply(t, id).Status == state.ReplyRefused })
		rep := r.reply(t, id)
		if rep.Refusal != c.refusal || rep.Retryable() != c.retryable {
			t.Errorf("%s: refusal %q retryable %v, want %q %v", id, rep.Refusal, rep.Retryable(), c.refusal, c.retryable)
		}
		if _, err := r.d.RetryReply(ctx, "acme", id); errors.Is(err, state.ErrNotRetryable) == c.retryable {
			t.Errorf("%s: retry %v, want refused: %v", id, err, !c.retryable)
		}
		if c.refusal == state.RefusalAccount {
			if f := r.facts(t); !f.AnswersFailing() || !strings.Contains(f.AnswerError, "may not reply") {
				t.Errorf("after the account's refusal: %+v", f)
			}
		}
	}
	r.f.mu.Lock()
	r.f.postErr = nil
	r.f.mu.Unlock()
	r.review(t, "ok", "Tok")
	r.accept(t, sdk.ReplyRequest{TicketID: "Tok", MessageID: "mok", Text: "Thanks"})
	eventually(t, "the answer published", func() bool { return r.reply(t, "mok").Status == state.ReplyPublished })
	if f := r.facts(t); f.AnswersFailing() {
		t.Errorf("a published answer leaves the answers failing: %+v", f)
	}
}
