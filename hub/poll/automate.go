package poll

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// autoEvent is what a rule did, counted in the metrics once the
// transaction committed.
type autoEvent struct{ rule, outcome string }

// Automation outcomes counted by the poller (the deliverer counts draft,
// published, refused and failed).
const (
	autoHeld   = "held"
	autoQueued = "queued"
)

// noteID names one of the hub's own notes: written once per id.
func noteID(kind, appID, reviewID string, version int) string {
	return fmt.Sprintf("%s:%s:%s:%d", kind, appID, reviewID, version)
}

func outdatedNote(appID, reviewID string, version int) sdk.ReplyResult {
	return sdk.ReplyResult{MessageID: noteID("outdated", appID, reviewID, version), ReviewID: reviewID,
		Outcome: sdk.OutcomeOutdated, Detail: state.DetailOutdated}
}

// automate applies the integration's automation to a change that passed
// the app's filters: it adds the rules' tags to m, its answer (a draft, or
// an automatic reply once the daily cap and the reviewer's cooldown allow
// it) and the hub's notes (outdated answer, a reply held back). It returns
// false when a ticketless automatic reply took the change: it is then
// recorded and queued here, and no ticket is made.
func (p *Poller) automate(ctx context.Context, tx *state.Tx, l listing, obs state.Observation, r sdk.Review, m *busmsg.Review,
	now time.Time, events *[]autoEvent) (bool, error) {
	in, app := l.in, l.app
	if obs.ReplyOutdated {
		m.Notes = append(m.Notes, outdatedNote(app.ID, r.ID, obs.Version))
	}
	if in.AutomationStopped {
		return true, nil
	}
	d := in.Rules.Evaluate(rules.Input{AppID: app.ID, AppName: cmp.Or(app.Name, app.ID), Store: app.StorePlugin,
		StoreName: rules.StoreName(app.StorePlugin, l.info), Kind: obs.Kind, Review: r,
		AnsweredByPerson: obs.Reply.ByPerson() || r.Reply != nil && obs.Reply.Rule == "",
		AnswerPending:    obs.Reply.Status == state.ReplyPending})
	for _, t := range d.Tags {
		if !slices.Contains(m.Tags, t) {
			m.Tags = append(m.Tags, t)
		}
	}
	hold := func(rule, why string) error {
		m.Notes = append(m.Notes, sdk.ReplyResult{MessageID: noteID("held", app.ID, r.ID, obs.Version), ReviewID: r.ID,
			Outcome: sdk.OutcomeHeld, Detail: fmt.Sprintf("no automatic reply (rule %q): %s", rule, why)})
		*events = append(*events, autoEvent{rule, autoHeld})
		return tx.Count(ctx, in.ID, app.ID, "auto_replies_"+autoHeld, 1)
	}
	if d.Held != "" {
		return true, hold(d.HeldRule, d.Held)
	}
	if d.Reply == nil {
		return true, nil
	}
	rr := busmsg.RuleReply{MessageID: busmsg.RuleReplyID(d.Reply.Rule, app.ID, r.ID, obs.Version), Rule: d.Reply.Rule,
		Mode: d.Reply.Mode, Text: d.Reply.Text}
	if d.Reply.Mode != rules.ModeAuto {
		m.Reply = &rr
		return true, nil
	}
	why, err := tx.ReserveAutoReply(ctx, in.ID, app.ID, strings.TrimSpace(r.Author), now, in.Automation.Cap(), in.Automation.Cooldown.D())
	if err != nil {
		return false, err
	}
	if why != "" {
		return true, hold(d.Reply.Rule, why)
	}
	if delay := in.Automation.Delay.D(); delay > 0 {
		rr.NotBefore = now.Add(delay)
	}
	*events = append(*events, autoEvent{rr.Rule, autoQueued})
	if err := tx.Count(ctx, in.ID, app.ID, "auto_replies_"+autoQueued, 1); err != nil {
		return false, err
	}
	if d.Reply.Ticket {
		m.Reply = &rr
		return true, nil
	}
	// Ticketless: should the reply be refused or fail, this message is
	// delivered after all (with the outcome as a note).
	deferred, err := json.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("encode the review of a ticketless reply: %w", err)
	}
	if _, err := busmsg.QueueRuleReply(ctx, p.Bus, tx, in.ID, app.ID, r.ID, obs.TicketID, rr, string(deferred), sdk.RequestID(ctx), now); err != nil {
		return false, err
	}
	// A review that has a ticket from before still gets the notes.
	for _, n := range m.Notes {
		if err := p.noteNow(ctx, tx, in.ID, obs.TicketID, n); err != nil {
			return false, err
		}
	}
	return false, nil
}

// noteNow queues one of the hub's notes for a ticket that exists (none:
// nothing), once.
func (p *Poller) noteNow(ctx context.Context, tx *state.Tx, integrationID, ticketID string, n sdk.ReplyResult) error {
	if ticketID == "" {
		return nil
	}
	first, err := tx.NoteOnce(ctx, integrationID, n.MessageID)
	if err != nil || !first {
		return err
	}
	n.TicketID = ticketID
	return busmsg.Publish(ctx, p.Bus, tx, bus.TopicReplyResults, integrationID, sdk.RequestID(ctx), busmsg.Result{IntegrationID: integrationID, Result: n})
}

// replyNotes queues the notes of a change that goes to no ticket (filtered
// out, or unchanged): an outdated or a deleted answer.
func (p *Poller) replyNotes(ctx context.Context, tx *state.Tx, in state.Integration, appID string, obs state.Observation, r sdk.Review) error {
	switch {
	case obs.ReplyDeleted:
		return p.noteNow(ctx, tx, in.ID, obs.TicketID, sdk.ReplyResult{MessageID: noteID("deleted", appID, r.ID, obs.Version) + ":" + obs.Reply.MessageID,
			ReviewID: r.ID, Outcome: sdk.OutcomeDeleted, Detail: state.DetailDeleted})
	case obs.ReplyOutdated:
		return p.noteNow(ctx, tx, in.ID, obs.TicketID, outdatedNote(appID, r.ID, obs.Version))
	}
	return nil
}
