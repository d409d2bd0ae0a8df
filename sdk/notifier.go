package sdk

import (
	"context"
	"time"
)

// PluginKindNotifier is the kind of a notifier plugin (SDK v0.3): it posts
// the hub's events (a new review, a published reply, a spike of bad
// reviews) to a chat destination such as Slack or Telegram.
const PluginKindNotifier = "notifier"

// NotifierPlugin is what a notifier plugin implements: an event in, the
// destination's reference of the message out. ServeNotifier serves it.
type NotifierPlugin interface {
	// Info describes the plugin; Info.Notifier holds its capabilities. It
	// is called at start and must not call the destination.
	Info(ctx context.Context, req InfoRequest) (Info, error)
	// CheckSettings makes read-only calls with a destination's settings
	// (the bot may post to the channel) and reports what it saw.
	CheckSettings(ctx context.Context, req CheckSettingsRequest) (CheckSettingsResponse, error)
	// Notify posts one event. It is called at least once per event: a
	// chat offers no idempotency key, so a retry after an answer that was
	// lost may post again (say so in your README where the destination
	// can do better).
	Notify(ctx context.Context, req NotifyRequest) (NotifyResponse, error)
}

// TextFormat names the markup a destination reads (NotifierCapabilities.Formatting).
type TextFormat = string

// Text formats.
const (
	FormatPlain       = "plain"
	FormatMarkdown    = "markdown"   // CommonMark-like (Microsoft Teams, Discord)
	FormatSlackMrkdwn = "mrkdwn"     // Slack's own
	FormatMarkdownV2  = "markdownv2" // Telegram's
	FormatHTML        = "html"
)

// NotifierCapabilities say what a destination takes.
type NotifierCapabilities struct {
	// MaxTextLength is the longest text the destination takes in one
	// message (each text it limits separately: Slack's section block, a
	// Telegram message), in Unicode code points as the destination shows
	// them (after its markup is parsed). The plugin fits every event into
	// it (Truncate, FitText); the conformance kit checks that it does.
	MaxTextLength int
	// Formatting is the markup the plugin writes (FormatSlackMrkdwn …).
	Formatting TextFormat
	// Threads: the destination can keep one thread per review; the plugin
	// posts an event with a NotifyRequest.ThreadRef into that thread and
	// returns a MessageRef for the first message of a thread. Some
	// accounts of such a plugin may still have none (a Slack incoming
	// webhook): their NotifyResponse.MessageRef is empty.
	Threads bool
}

// EventType is what happened (NotifyRequest.Event.Type); an alias of string.
type EventType = string

// Event types. The first six are the hub's own events (also sent to its
// outbound webhooks); EventDigest and EventSpike are made by its routing.
const (
	EventReviewCreated    = "review.created"
	EventReviewUpdated    = "review.updated"
	EventReplyPublished   = "reply.published"
	EventReplyRefused     = "reply.refused"
	EventReplyFailed      = "reply.failed"
	EventAppHealthChanged = "app.health_changed"
	// EventDigest gathers several events held back by throttling or
	// quiet hours (Event.Events) into one message.
	EventDigest = "digest"
	// EventSpike: an app's 1★ and 2★ reviews are well above their usual
	// rate (Event.Spike), with examples in Event.Events.
	EventSpike = "spike"
)

// EventTypes lists every event type, in the order above.
var EventTypes = []EventType{EventReviewCreated, EventReviewUpdated, EventReplyPublished, EventReplyRefused,
	EventReplyFailed, EventAppHealthChanged, EventDigest, EventSpike}

// Event is one thing that happened at the hub, ready to show.
type Event struct {
	// ID is unique per event (the hub's outbox id).
	ID   string
	Type EventType
	At   time.Time
	// IntegrationID, Store (the store plugin's name), StoreName (how people
	// call it; see DisplayStore), AppID and AppName say where.
	IntegrationID string
	Store         string
	StoreName     string
	AppID         string
	AppName       string
	// Review is the review as it is now (review.*, reply.*): rating,
	// title, text, language, author, URL (the link to it), AppVersion.
	Review *Review
	// History holds the review's earlier versions, oldest first
	// (review.updated: the last one is what changed).
	History []ReviewVersion
	// Reply is the developer reply of a reply.* event.
	Reply *EventReply
	// Health is an app.health_changed event's news.
	Health *EventHealth
	// Spike describes a spike event.
	Spike *EventSpikeInfo
	// Events are a digest's events, or a spike's example reviews (each a
	// review.created event), oldest first.
	Events []Event
}

// DisplayStore is how to name the store to people: StoreName, else Store.
func (e Event) DisplayStore() string { return firstNonEmpty(e.StoreName, e.Store) }

// EventReply is the reply of a reply.* event.
type EventReply struct {
	Text string
	// Staff is who wrote it in the helpdesk, when known.
	Staff string
	// Detail says why a reply was refused or failed (the store's words).
	Detail string
}

// EventHealth is the news of an app.health_changed event.
type EventHealth struct {
	Health    Health
	Previous  Health
	Recovered bool
	Reason    string
}

// EventSpikeInfo describes a spike of bad reviews.
type EventSpikeInfo struct {
	// Ratings are the ratings counted (1 and 2).
	Ratings []int
	// Count reviews with those ratings arrived in Window; Usual is how many
	// a window of that length usually holds.
	Count  int
	Usual  float64
	Window time.Duration
	// AfterVersion is the app version released right before, if any.
	AfterVersion string
}

// NotifyRequest asks a notifier to post one event.
type NotifyRequest struct {
	Settings Settings
	// DestinationID is the hub's id of the destination (an account of the
	// plugin).
	DestinationID string
	Event         Event
	// ThreadKey is the same for every event of one review (its store, app
	// and id), empty for events of no review (health, digest, spike).
	ThreadKey string
	// ThreadRef is the MessageRef the plugin returned for the first
	// message of ThreadKey at this destination; empty: none yet (post a
	// message that starts a thread) or the destination has no threads.
	ThreadRef string
}

// NotifyResponse is the destination's reference of the posted message.
type NotifyResponse struct {
	// MessageRef identifies the message at the destination (Slack's ts,
	// Telegram's message_id). The hub keeps the first one of each
	// ThreadKey and sends it as ThreadRef with the review's later events.
	// Empty: the destination cannot thread this account's messages.
	MessageRef string
}

// CheckSettingsRequest asks a notifier to check a destination's settings.
type CheckSettingsRequest struct {
	Settings Settings
}

// CheckSettingsResponse reports a settings check: read-only calls only,
// one Check line each (the token, the channel, the bot's rights).
type CheckSettingsResponse struct {
	Detail string
	Checks []Check
}

// RefusedError is the error of a destination that refused a message for a
// reason a person must fix (the channel archived, the bot removed from the
// chat): ErrorKindRefused, never retried. Rate limits are RetryAfterError.
func RefusedError(format string, args ...any) *Error {
	return Errorf(ErrorKindRefused, format, args...)
}
