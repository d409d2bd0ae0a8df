package deliver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/events"
	"github.com/reviewhub/reviewhub/hub/quota"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Refusal reasons the hub itself gives.
const (
	ReasonNoStoreAccount = "connect the store account to reply"
	ReasonUnknownTicket  = "this ticket is not linked to any review the hub knows"
	ReasonAppGone        = "the app of this review is no longer part of the integration"
	ReasonCannotReply    = "this store does not accept developer replies"
	ReasonEmptyReply     = "the answer is empty"
	ReasonOtherTicket    = "the review this answer names is linked to another ticket"
	ReasonNewerAnswer    = "a newer answer to this review was given; this one was not published over it"
	ReasonPersonAnswered = "a person answered this review; the automatic reply was not published"
)

// handleReply publishes a stored reply to the store, or refuses it, and
// queues the outcome for the ticket (topic "replies"). Transient failures
// are retried until ReplyAttempts; then the answer is failed (retry it from
// the admin API).
func (d *Deliverer) handleReply(ctx context.Context, m busmsg.Reply, msg *message.Message) error {
	r, err := d.DB.Reply(ctx, m.IntegrationID, m.MessageID)
	if errors.Is(err, state.ErrNotFound) {
		return bus.Permanent(fmt.Errorf("reply %s not found", m.MessageID))
	}
	if err != nil {
		return err
	}
	if r.Status != state.ReplyPending {
		return nil // already handled (redelivery)
	}
	in, err := d.integration(ctx, m.IntegrationID)
	if err != nil {
		return err
	}
	var outcome, detail, refusal string
	var posted *sdk.DeveloperReply
	linked := r.AppID != ""
	if !linked {
		appID, reviewID, err := d.DB.ReviewOfTicket(ctx, in.ID, r.TicketID, r.ReviewID)
		switch {
		case err == nil:
			r.AppID, r.ReviewID, linked = appID, reviewID, true
		case errors.Is(err, state.ErrLinkedElsewhere):
			outcome, detail = sdk.OutcomeRefused, ReasonOtherTicket
		case !errors.Is(err, state.ErrNotFound):
			return err
		case time.Since(r.CreatedAt) < d.grace():
			// Not a failure: park it in the state until its ticket is
			// linked (or the grace ends), so it holds up no other answer.
			return d.park(ctx, m, msg, r)
		default:
			outcome, detail = sdk.OutcomeRefused, ReasonUnknownTicket
		}
	}
	var newer string
	if linked {
		if newer, err = d.DB.NewerAnswer(ctx, r); err != nil {
			return err
		}
	}
	switch {
	case linked && r.Rule != "" && automationOff(in):
		outcome, detail = sdk.OutcomeRefused, ReasonAutomationOff
	case newer != "" && r.Rule != "":
		outcome, detail = sdk.OutcomeRefused, ReasonPersonAnswered
	case newer != "":
		outcome, detail = sdk.OutcomeRefused, ReasonNewerAnswer
	case linked:
		if outcome, detail, refusal, posted, err = d.publishReply(ctx, in, r); err != nil {
			if outcome, detail, err = d.attemptFailed(ctx, r, err); errors.Is(err, errRetryLater) {
				return nil
			} else if err != nil {
				return err
			}
		}
	}
	switch {
	case r.Rule != "" && outcome == sdk.OutcomePublished:
		detail = fmt.Sprintf("automatic reply (rule %q): %s", r.Rule, r.Text)
	case r.Rule != "":
		detail = fmt.Sprintf("automatic reply (rule %q): %s", r.Rule, detail)
	}
	result := sdk.ReplyResult{TicketID: r.TicketID, MessageID: r.NoteID(), ReviewID: r.ReviewID,
		Outcome: outcome, Detail: detail, Reply: posted}
	status := outcome
	if newer != "" {
		// Refused for the ticket, but not the review's answer: the newer
		// one stays the review's reply status.
		status = state.ReplySuperseded
	}
	r.Refusal = refusal
	return d.recordOutcome(ctx, in, r, result, status, msg)
}

// recordOutcome records a reply's outcome (its target, status — the
// outcome's, or superseded — and counters) and queues the note for the ticket in one transaction, then
// counts it in the metrics and logs it.
func (d *Deliverer) recordOutcome(ctx context.Context, in state.Integration, r state.Reply, result sdk.ReplyResult, status string, msg *message.Message) error {
	outcome, detail := result.Outcome, result.Detail
	err := d.DB.InTx(ctx, func(tx *state.Tx) error {
		if err := tx.SetReplyTarget(ctx, r.IntegrationID, r.MessageID, r.AppID, r.ReviewID); err != nil {
			return err
		}
		if err := tx.SetReplyStatus(ctx, r.IntegrationID, r.MessageID, status, detail); err != nil {
			return err
		}
		if err := tx.SetReplyRefusal(ctx, r.IntegrationID, r.MessageID, r.Refusal); err != nil {
			return err
		}
		counter := state.CountRefused
		switch outcome {
		case sdk.OutcomePublished:
			counter = state.CountPublished
		case sdk.OutcomeFailed:
			counter = CountFailed
		}
		if err := tx.Count(ctx, r.IntegrationID, r.AppID, counter, 1); err != nil {
			return err
		}
		if r.Rule != "" {
			if err := tx.Count(ctx, r.IntegrationID, r.AppID, CountAutoPrefix+outcome, 1); err != nil {
				return err
			}
			if outcome != sdk.OutcomePublished {
				// The daily cap counts published replies only.
				if err := tx.ReleaseAutoReply(ctx, r.IntegrationID, r.AppID, r.CreatedAt); err != nil {
					return err
				}
			}
		}
		if ev, ok, err := events.ReplyOutcome(r, outcome, detail, time.Now()); err != nil {
			return err
		} else if ok {
			if _, err := tx.AddEvent(ctx, ev); err != nil {
				return err
			}
		}
		return d.queueOutcome(ctx, tx, r, result, bus.CorrelationID(msg))
	})
	if err != nil {
		return err
	}
	d.recordAnswer(ctx, r, outcome, detail)
	d.Metrics.Reply(in.ID, replyStore(in, r.AppID), outcome)
	if r.Rule != "" {
		d.Metrics.AutoReply(in.ID, r.Rule, outcome)
	}
	d.Logger.Info("reply handled", "integration", in.ID, "app", r.AppID, "review", r.ReviewID, "message", r.MessageID,
		"rule", r.Rule, "outcome", outcome, "detail", detail, "correlation_id", bus.CorrelationID(msg))
	return nil
}

// recordAnswer writes an answer's outcome for its app's health: published,
// or failed (gave up) or refused for the store account the store refused
// (the app cannot answer until a person acts). Other refusals are the
// answer's own, and an app with no store account is read-only by choice:
// its refusal (ReasonNoStoreAccount, which this package alone writes) is in
// the ticket, and the app's status says read-only, not failing.
func (d *Deliverer) recordAnswer(ctx context.Context, r state.Reply, outcome, detail string) {
	failure := ""
	switch {
	case r.AppID == "", detail == ReasonNoStoreAccount:
		return
	case outcome == sdk.OutcomePublished:
	case outcome == sdk.OutcomeFailed, outcome == sdk.OutcomeRefused && r.Refusal == state.RefusalAccount:
		failure = detail
	default:
		return
	}
	ref := state.AppRef{IntegrationID: r.IntegrationID, AppID: r.AppID}
	if err := d.DB.RecordAnswer(ctx, ref, time.Now(), failure); err != nil && ctx.Err() == nil {
		d.Logger.Error("recording an answer for the app's health failed", "integration", r.IntegrationID, "app", r.AppID,
			"review", r.ReviewID, "error", err)
	}
}

// Counters of answers (per app) besides the journeys' own.
const (
	CountFailed = "replies_failed"
	// CountAutoPrefix + outcome counts automatic replies.
	CountAutoPrefix = "auto_replies_"
)

// ReasonAutomationOff refuses an automatic reply whose integration's
// automation was stopped (kill switch) while it waited.
const ReasonAutomationOff = "automatic replies are stopped for this integration (kill switch): answer in the ticket, or retry once automation runs again"

// automationOff reports whether automatic replies may not be posted now.
func automationOff(in state.Integration) bool {
	return in.AutomationStopped || in.Automation.Enabled != nil && !*in.Automation.Enabled
}

// Defaults of Deliverer.ReplyAttempts and ReplyRetryMin; retries of one
// answer wait at most maxReplyRetry (12 attempts: about 40 minutes).
const (
	DefaultReplyAttempts = 12
	DefaultReplyRetryMin = 2 * time.Second
	maxReplyRetry        = 10 * time.Minute
)

// errRetryLater: the answer is parked for its next attempt.
var errRetryLater = errors.New("retry later")

// attemptFailed counts a transient failure of an answer. Until
// ReplyAttempts it parks the answer for its next attempt, with a doubling
// wait, in the state (errRetryLater): the message is acknowledged, so the
// other answers of its partition go on meanwhile. Then it gives the failed
// outcome. A rate limit is not counted: the bus waits and retries it.
func (d *Deliverer) attemptFailed(ctx context.Context, r state.Reply, perr error) (outcome, detail string, err error) {
	if sdk.KindOf(perr) == sdk.ErrorKindRateLimited {
		return "", "", perr
	}
	n, err := d.DB.ReplyAttempt(ctx, r.IntegrationID, r.MessageID)
	if err != nil {
		d.Logger.Error("counting a reply attempt failed", "integration", r.IntegrationID, "message", r.MessageID, "error", err)
		return "", "", perr
	}
	if n >= cmp.Or(d.ReplyAttempts, DefaultReplyAttempts) {
		return sdk.OutcomeFailed, fmt.Sprintf("gave up after %d attempts (retry it from the admin API or the console): %s", n, sdk.MessageOf(perr)), nil
	}
	wait := min(cmp.Or(d.ReplyRetryMin, DefaultReplyRetryMin)<<min(n-1, 20), maxReplyRetry)
	next := time.Now().Add(wait)
	last := fmt.Sprintf("attempt %d failed (%s); next at %s", n, sdk.MessageOf(perr), next.UTC().Format(time.RFC3339))
	err = d.DB.InTx(ctx, func(tx *state.Tx) error {
		if err := tx.SetReplyStatus(ctx, r.IntegrationID, r.MessageID, state.ReplyPending, last); err != nil {
			return err
		}
		// Without ticket and review: no link releases it early.
		return tx.ParkReply(ctx, state.ParkedReply{IntegrationID: r.IntegrationID, MessageID: r.MessageID,
			Reason: state.ReasonRetrying, NextAt: next, Until: next})
	})
	if err != nil {
		return "", "", errors.Join(perr, err)
	}
	d.Logger.Warn("publishing an answer failed; retrying later", "integration", r.IntegrationID, "message", r.MessageID,
		"attempt", n, "next", next, "error", perr)
	return "", "", errRetryLater
}

// queueOutcome queues an answer's outcome for its ticket. A ticketless
// automatic reply that was not published delivers its review after all,
// with the outcome as a note, so that a person sees it.
func (d *Deliverer) queueOutcome(ctx context.Context, tx *state.Tx, r state.Reply, result sdk.ReplyResult, correlationID string) error {
	if r.TicketID != "" {
		return busmsg.Publish(ctx, d.Bus, tx, bus.TopicReplyResults, r.IntegrationID, correlationID, busmsg.Result{IntegrationID: r.IntegrationID, Result: result})
	}
	if r.Deferred == "" || result.Outcome == sdk.OutcomePublished {
		return nil
	}
	var rm busmsg.Review
	if err := json.Unmarshal([]byte(r.Deferred), &rm); err != nil {
		d.Logger.Error("the review of a ticketless automatic reply cannot be read; it is not delivered", "integration", r.IntegrationID,
			"message", r.MessageID, "error", err)
		return nil
	}
	rm.Reply = nil
	rm.Notes = append(rm.Notes, result)
	return busmsg.Publish(ctx, d.Bus, tx, bus.TopicReviews, r.IntegrationID, correlationID, rm)
}

// publishReply posts the reply; a refusal is an outcome, not an error,
// with what it needs (refusal: state.RefusalText, RefusalAccount, "").
// Transient errors are returned so the message is retried.
func (d *Deliverer) publishReply(ctx context.Context, in state.Integration, r state.Reply) (outcome, detail, refusal string, posted *sdk.DeveloperReply, err error) {
	app, ok := in.App(r.AppID)
	if !ok {
		return sdk.OutcomeRefused, ReasonAppGone, "", nil, nil
	}
	if strings.TrimSpace(r.Text) == "" {
		return sdk.OutcomeRefused, ReasonEmptyReply, state.RefusalText, nil, nil
	}
	st, info, err := d.Plugins.Store(app.StorePlugin)
	if err != nil {
		return "", "", "", nil, err
	}
	if !setup.HasStoreAccount(app, info) {
		return sdk.OutcomeRefused, ReasonNoStoreAccount, state.RefusalAccount, nil, nil
	}
	if info.Store != nil && !info.Store.CanReply {
		return sdk.OutcomeRefused, ReasonCannotReply, "", nil, nil
	}
	text, note := r.Text, ""
	if d.AnswerTranslator != nil {
		maxLen := 0
		if info.Store != nil {
			maxLen = info.Store.ReplyMaxLength
		}
		if text, note, err = d.AnswerTranslator.TranslateAnswer(ctx, in.ID, r.AppID, r.ReviewID, r.Text, maxLen); err != nil {
			if bus.IsPermanent(err) {
				return sdk.OutcomeRefused, sdk.MessageOf(err), state.RefusalText, nil, nil
			}
			return "", "", "", nil, fmt.Errorf("reply %s: %w", r.MessageID, err)
		}
	}
	// The review's date lets a store whose API serves only recent reviews
	// read an older one first (an imported review, issue 27).
	changed, err := d.DB.ReviewChangedAt(ctx, in.ID, app.ID, r.ReviewID)
	if err != nil {
		return "", "", "", nil, fmt.Errorf("reply %s: the review's date: %w", r.MessageID, err)
	}
	cctx, calls := sdk.CountCalls(ctx)
	res, err := st.PostReply(cctx, sdk.PostReplyRequest{
		Settings: app.StoreSettings, AppID: app.StoreAppID, ReviewID: r.ReviewID, Text: text, ReviewUpdatedAt: changed,
	})
	// Replies spend from the store's quotas too; polling keeps room for them.
	if serr := (quota.Ledger{DB: d.DB}).Spend(ctx, quota.Buckets(info, app, sdk.OpReply), time.Now(), max(calls.Count(), 1)); serr != nil {
		d.Logger.Error("recording quota use failed", "integration", in.ID, "app", app.ID, "error", serr)
	}
	if err != nil {
		if bus.IsPermanent(err) {
			return sdk.OutcomeRefused, sdk.MessageOf(err), refusalOf(err, text, info), nil, nil
		}
		return "", "", "", nil, fmt.Errorf("reply %s to %s: %w", r.MessageID, app.StorePlugin, err)
	}
	return sdk.OutcomePublished, note, "", &res.Reply, nil
}

// refusalOf says what a store's refusal of text needs, from its kind and
// the store's declared reply length (never from the plugin's words): the
// store account for credentials or rights refused; a new text for a
// refusal of a text longer than the store takes (counted in characters,
// which no store's own measure undercounts).
func refusalOf(err error, text string, info sdk.Info) string {
	switch sdk.KindOf(err) {
	case sdk.ErrorKindUnauthenticated, sdk.ErrorKindPermissionDenied:
		return state.RefusalAccount
	case sdk.ErrorKindRefused, sdk.ErrorKindInvalid:
		if info.Store != nil && info.Store.ReplyMaxLength > 0 && utf8.RuneCountInString(text) > info.Store.ReplyMaxLength {
			return state.RefusalText
		}
	}
	return ""
}

// replyStore is the store plugin of an integration's app (a bounded label).
func replyStore(in state.Integration, appID string) string {
	if a, ok := in.App(appID); ok {
		return a.StorePlugin
	}
	return ""
}
