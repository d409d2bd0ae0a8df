// Package events is the hub's event stream: what happened to reviews,
// answers and apps, as documented JSON payloads (docs/events.md, their
// JSON Schemas in docs/events/). Events are written into the state's
// outbox (state.Tx.AddEvent) with the change they report, or with an id
// derived from it, so none is lost in a crash and none means twice;
// consumers read them from there: the outbound webhooks (hub/webhooks)
// get each one queued per endpoint, others page through the outbox
// (state.DB.Events).
package events

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// The event types.
const (
	ReviewCreated     = "review.created"
	ReviewUpdated     = "review.updated"
	ReplyPublished    = "reply.published"
	ReplyRefused      = "reply.refused"
	ReplyFailed       = "reply.failed"
	AppHealthChanged  = "app.health_changed"
	idPrefix          = "evt_"
	maxEventIDEntropy = 16
)

// Types are every event type, in the order of the documentation.
var Types = []string{ReviewCreated, ReviewUpdated, ReplyPublished, ReplyRefused, ReplyFailed, AppHealthChanged}

// Known reports whether t is an event type.
func Known(t string) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// Envelope is every event's JSON: its type, when it happened, and its
// data (ReviewData, ReplyData or HealthData). The event's id travels as
// the webhook-id header.
type Envelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// Review is a review as events carry it.
type Review struct {
	ID         string    `json:"id"`
	Author     string    `json:"author,omitempty"`
	Rating     int       `json:"rating"`
	Title      string    `json:"title,omitempty"`
	Text       string    `json:"text,omitempty"`
	Language   string    `json:"language,omitempty"`
	Country    string    `json:"country,omitempty"`
	AppVersion string    `json:"app_version,omitempty"`
	URL        string    `json:"url,omitempty"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}

// ReviewData is the data of review.created and review.updated: a review
// (its version) delivered into its helpdesk ticket.
type ReviewData struct {
	Integration string `json:"integration"`
	App         string `json:"app"`
	AppName     string `json:"app_name,omitempty"`
	Store       string `json:"store"`
	StoreName   string `json:"store_name,omitempty"`
	// Change: new, updated (text edited), better or worse (rating).
	Change         string `json:"change"`
	Version        int    `json:"version"`
	PreviousRating int    `json:"previous_rating,omitempty"`
	TicketID       string `json:"ticket_id"`
	Review         Review `json:"review"`
}

// ReplyData is the data of reply.published, reply.refused and
// reply.failed: an answer's outcome in the store.
type ReplyData struct {
	Integration string `json:"integration"`
	App         string `json:"app,omitempty"`
	ReviewID    string `json:"review_id,omitempty"`
	TicketID    string `json:"ticket_id,omitempty"`
	MessageID   string `json:"message_id"`
	Outcome     string `json:"outcome"`
	// Detail: the store's or the hub's reason of a refusal or failure.
	Detail string `json:"detail,omitempty"`
	Text   string `json:"text,omitempty"`
	// Staff is who answered in the helpdesk, as it names them.
	Staff string `json:"staff,omitempty"`
	// Rule names the automation rule of an automatic reply.
	Rule string `json:"rule,omitempty"`
}

// HealthData is the data of app.health_changed.
type HealthData struct {
	Integration string    `json:"integration"`
	App         string    `json:"app"`
	AppName     string    `json:"app_name,omitempty"`
	Store       string    `json:"store"`
	Health      string    `json:"health"`
	Previous    string    `json:"previous"`
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since"`
}

// New makes the outbox entry of an event of type typ with data, at at,
// with id (DerivedID or RandomID).
func New(id, typ, integrationID string, at time.Time, data any) (state.Event, error) {
	at = at.UTC().Truncate(time.Millisecond)
	b, err := json.Marshal(Envelope{Type: typ, Timestamp: at, Data: data})
	if err != nil {
		return state.Event{}, fmt.Errorf("events: encode %s: %w", typ, err)
	}
	return state.Event{ID: id, Type: typ, IntegrationID: integrationID, OccurredAt: at, Payload: b}, nil
}

// DerivedID is an event id derived from what identifies the change: the
// same change gives the same id (written again after a crash, it adds
// nothing; receivers dedupe by it).
func DerivedID(typ string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(typ))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return idPrefix + hex.EncodeToString(h.Sum(nil)[:maxEventIDEntropy])
}

// RandomID is a new event id, for an event written in the transaction of
// its change (once, with it).
func RandomID() string {
	b := make([]byte, maxEventIDEntropy)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return idPrefix + hex.EncodeToString(b)
}

// ReviewDelivered is the event of a review's version delivered into
// ticketID: review.created for a new review, review.updated for an edit.
// Its id is derived from the version, so a redelivery means nothing new.
func ReviewDelivered(m busmsg.Review, ticketID string, at time.Time) (state.Event, error) {
	typ := ReviewUpdated
	if m.Change.Kind == sdk.ChangeKindNew {
		typ = ReviewCreated
	}
	r := m.Change.Review
	data := ReviewData{Integration: m.IntegrationID, App: m.AppID, AppName: m.Change.AppName, Store: m.Change.Store,
		StoreName: m.Change.StoreName, Change: string(m.Change.Kind), Version: m.Version, PreviousRating: m.Change.PreviousRating(),
		TicketID: ticketID, Review: Review{ID: r.ID, Author: r.Author, Rating: r.Rating, Title: r.Title, Text: r.Text,
			Language: r.Language, Country: r.Country, AppVersion: r.AppVersion, URL: r.URL, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}}
	return New(DerivedID(typ, m.DeliveryKey()), typ, m.IntegrationID, at, data)
}

// ReplyOutcome is the event of an answer's outcome (published, refused,
// failed); "" for another outcome.
func ReplyOutcome(r state.Reply, outcome, detail string, at time.Time) (state.Event, bool, error) {
	var typ string
	switch outcome {
	case sdk.OutcomePublished:
		typ = ReplyPublished
	case sdk.OutcomeRefused:
		typ = ReplyRefused
	case sdk.OutcomeFailed:
		typ = ReplyFailed
	default:
		return state.Event{}, false, nil
	}
	data := ReplyData{Integration: r.IntegrationID, App: r.AppID, ReviewID: r.ReviewID, TicketID: r.TicketID, MessageID: r.MessageID,
		Outcome: outcome, Detail: detail, Text: r.Text, Staff: r.Staff, Rule: r.Rule}
	e, err := New(RandomID(), typ, r.IntegrationID, at, data)
	return e, err == nil, err
}

// HealthChanged is the event of an app's health changing.
func HealthChanged(d HealthData, at time.Time) (state.Event, error) {
	d.Since = d.Since.UTC()
	return New(RandomID(), AppHealthChanged, d.Integration, at, d)
}
