package sdk

import (
	"context"
	"time"
)

// Settings are the values of one account of a plugin (credentials included),
// keyed by SettingField.Key. The hub stores them encrypted and passes them
// with every call, so a plugin keeps no state of its own.
type Settings map[string]string

// Kind of a plugin.
const (
	KindStore    = "store"
	KindHelpdesk = "helpdesk"
)

// SettingField describes one setting a plugin's accounts take.
type SettingField struct {
	Key         string
	Label       string
	Description string
	Required    bool
	// Secret values are never returned by the hub's API nor logged.
	Secret bool
	// Multiline values such as PEM keys or JSON key files.
	Multiline bool
	Example   string
	// Endpoint: the plugin sends the account's credentials to this address
	// (a base URL, a token URI). When it changes, the hub requires every
	// secret setting to be given again, so stored credentials never follow
	// a changed address unasked.
	Endpoint bool
}

// Source filters a store plugin can apply itself.
const (
	FilterCountry  = "country"
	FilterLanguage = "language"
)

// StoreCapabilities say what a store plugin can do.
type StoreCapabilities struct {
	CanReply bool
	// ReplyMaxLength is the longest reply in Unicode code points; 0 means no known limit.
	ReplyMaxLength int
	// CanEditReply: replying again replaces the earlier reply.
	CanEditReply   bool
	CanDeleteReply bool
	// SourceFilters lists FilterCountry and/or FilterLanguage when the plugin
	// applies them in ListReviews; the hub filters the rest itself.
	SourceFilters []string
	// ListingWindow is how far back the listing reaches (Google Play: 7 days); 0: unlimited.
	ListingWindow time.Duration
	// PublicListing: reviews can be listed without credentials.
	PublicListing bool
	// MinPollInterval is the shortest sensible polling interval.
	MinPollInterval time.Duration
	// LocaleKind is FilterCountry or FilterLanguage: what the store's reviews carry.
	LocaleKind string
	// Quotas are the store's request quotas; the hub budgets polling inside
	// them. Count the requests each call makes with CountingTransport.
	Quotas []QuotaBucket
}

// HelpdeskCapabilities say what a helpdesk plugin can do.
type HelpdeskCapabilities struct {
	SupportsTags bool
}

// Info describes a plugin.
type Info struct {
	Kind        string // KindStore or KindHelpdesk; set by Serve*
	Name        string
	Version     string
	Description string
	Settings    []SettingField
	Store       *StoreCapabilities
	Helpdesk    *HelpdeskCapabilities
}

// CredentialsReport is the answer to a successful credentials check. A
// check makes read-only calls only: it never writes at the vendor.
type CredentialsReport struct {
	// CanReply (stores): these settings allow publishing replies.
	CanReply bool
	Detail   string
	// Checks lists what was looked at, one line each: rights, quota left,
	// clock skew, the helpdesk's channel.
	Checks []Check
	// WebhookURL (helpdesks): where the helpdesk sends its webhook calls for
	// this account, secrets replaced by "REDACTED"; empty if unknown. The
	// hub compares it with its own public webhook URL.
	WebhookURL string
}

// Check statuses.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Check is one line of a credentials report.
type Check struct {
	Name   string
	Status string // CheckOK, CheckWarn or CheckFail
	Detail string
}

// Unreadable is input a plugin received but could not use: a webhook of an
// unknown shape or event, a review it could not map. The hub keeps it
// (logged at WARN, counted, listed by the admin API), so nothing the vendor
// sends is dropped in silence. Never put secrets in it; Shape (see ShapeOf)
// carries the structure without the values.
type Unreadable struct {
	ID     string // the vendor's id of the item, if any
	Reason string
	Shape  string
}

// DeveloperReply is the developer's published response to a review.
type DeveloperReply struct {
	ID        string
	Text      string
	UpdatedAt time.Time
	State     string
}

// Review is one review as the store shows it now.
type Review struct {
	ID         string // stable across edits
	AppID      string
	Author     string
	Rating     int // 1..5
	Title      string
	Text       string
	Language   string // BCP 47
	Country    string // ISO 3166-1 alpha-2 or alpha-3
	AppVersion string
	Device     string
	OSVersion  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ThumbsUp   int
	ThumbsDown int
	URL        string
	Reply      *DeveloperReply
	Extra      map[string]string
	Status     string
}

// ListRequest asks a store for one page of reviews.
type ListRequest struct {
	Settings  Settings
	AppID     string
	Cursor    string // from the previous listing's ReviewPage.Cursor; empty at first
	PageToken string // from the previous page's NextPageToken; empty for page one
	Countries []string
	Languages []string
	PageSize  int
}

// ReviewPage is one page of reviews.
type ReviewPage struct {
	Reviews []Review
	// NextPageToken is empty on the last page.
	NextPageToken string
	// Cursor is what the hub passes as ListRequest.Cursor on the next poll.
	Cursor string
	// Unreadable lists items of this page that could not be mapped to a
	// Review; the hub keeps them for the operator.
	Unreadable []Unreadable
}

// PostReplyRequest asks a store to publish a developer response.
type PostReplyRequest struct {
	Settings        Settings
	AppID           string
	ReviewID        string
	Text            string
	ExistingReplyID string
}

// DeleteReplyRequest asks a store to remove a developer response.
type DeleteReplyRequest struct {
	Settings Settings
	AppID    string
	ReviewID string
	ReplyID  string
}

// Store is what a store plugin implements.
type Store interface {
	Info(ctx context.Context) (Info, error)
	CheckCredentials(ctx context.Context, settings Settings, appID string) (CredentialsReport, error)
	ListReviews(ctx context.Context, req ListRequest) (ReviewPage, error)
	PostReply(ctx context.Context, req PostReplyRequest) (DeveloperReply, error)
	// DeleteReply returns an Unsupported error where the store has no such operation.
	DeleteReply(ctx context.Context, req DeleteReplyRequest) error
}

// Change kinds.
const (
	ChangeNew     = "new"     // first seen
	ChangeUpdated = "updated" // text or title edited, rating unchanged
	ChangeBetter  = "better"  // rating raised
	ChangeWorse   = "worse"   // rating lowered
)

// ReviewVersion is an earlier version of a review.
type ReviewVersion struct {
	Rating int
	Title  string
	Text   string
	SeenAt time.Time
	Reply  *DeveloperReply
}

// ReviewChange is what the hub hands a helpdesk: a review and how it changed.
type ReviewChange struct {
	Store   string // store plugin name
	AppName string
	Kind    string // Change*
	Review  Review
	// History holds earlier versions, oldest first.
	History []ReviewVersion
	// CanReply tells staff whether an answer can be published.
	CanReply       bool
	ReplyMaxLength int
}

// PreviousRating is the rating of the latest earlier version, or 0.
func (c ReviewChange) PreviousRating() int {
	if len(c.History) == 0 {
		return 0
	}
	return c.History[len(c.History)-1].Rating
}

// TicketRequest asks a helpdesk to create or update the ticket for a review.
type TicketRequest struct {
	Settings      Settings
	IntegrationID string
	// TicketID is the ticket the hub linked to this review before, if any.
	TicketID string
	Change   ReviewChange
	// Tags is empty when tags are off for the integration.
	Tags []string
	// DeliveryKey is unique per review version: delivering the same key twice
	// must change the ticket once.
	DeliveryKey string
	// FirstAttempt is true only when the hub is certain that no ticket can
	// exist for this review: it has linked none and recorded, before this
	// call, that this is its first attempt to deliver the review. The plugin
	// may then create the ticket without looking it up first (one vendor
	// call instead of two). False (the zero value, and every retry, crash
	// recovery or older hub) means a ticket may exist from an attempt whose
	// outcome the hub never learnt: look it up before creating one. A
	// RateLimited error (sdk.RetryAfterError) from UpsertTicket promises that
	// the vendor refused the call and nothing was created: the hub then keeps
	// the next attempt a first one. When unsure, return Unavailable instead.
	FirstAttempt bool
}

// TicketRef identifies the ticket a review lives in.
type TicketRef struct {
	ID      string
	Created bool
}

// Header is one HTTP header with its values.
type Header struct {
	Name   string
	Values []string
}

// WebhookRequest is an HTTP call the helpdesk made to the hub.
type WebhookRequest struct {
	Settings      Settings
	IntegrationID string
	Method        string
	Path          string
	Query         string
	Headers       []Header
	Body          []byte
	RemoteAddr    string
}

// Header returns the first value of the named header (case-insensitive).
func (r WebhookRequest) Header(name string) string {
	for _, h := range r.Headers {
		if equalFold(h.Name, name) && len(h.Values) > 0 {
			return h.Values[0]
		}
	}
	return ""
}

// ReplyRequest is a staff answer to be published in the store.
type ReplyRequest struct {
	TicketID  string
	MessageID string // replies are idempotent by it
	ReviewID  string // if the helpdesk knows it
	Text      string
	Staff     string
	SentAt    time.Time
}

// WebhookResult is the parsed webhook and the HTTP answer to give.
type WebhookResult struct {
	Status  int
	Headers []Header
	Body    []byte
	Replies []ReplyRequest
	// Ignored is set when the call was authentic but could not be read (an
	// unknown shape or event). Answer it 2xx or 4xx as the helpdesk needs;
	// the hub keeps it for the operator either way.
	Ignored *Unreadable
}

// Reply outcomes.
const (
	OutcomePublished = "published"
	OutcomeRefused   = "refused"
	OutcomeFailed    = "failed"
	// The hub also writes notes of its own through WriteReplyResult; their
	// Detail is a complete text for people, to be shown as it is:
	// OutcomeDraft is a rule's answer waiting for staff approval,
	// OutcomeOutdated says the review changed after the answer was
	// published, OutcomeDeleted that the store no longer shows it, and
	// OutcomeHeld that an automatic reply was held back for a person. A
	// helpdesk shows any outcome it does not know the same way.
	OutcomeDraft    = "draft"
	OutcomeOutdated = "outdated"
	OutcomeDeleted  = "deleted"
	OutcomeHeld     = "held"
)

// ReplyResult is the outcome of a reply, written back into the ticket.
// MessageID is unique per note: writing the same one twice must add one
// note. Detail of a published answer, when set, says more (an automatic
// reply: which rule, and the text published).
type ReplyResult struct {
	TicketID  string
	MessageID string
	ReviewID  string
	Outcome   string
	Detail    string
	Reply     *DeveloperReply
}

// ReplyResultRequest asks a helpdesk to note a reply's outcome in the ticket.
type ReplyResultRequest struct {
	Settings      Settings
	IntegrationID string
	Result        ReplyResult
}

// Helpdesk is what a helpdesk plugin implements.
type Helpdesk interface {
	Info(ctx context.Context) (Info, error)
	CheckCredentials(ctx context.Context, settings Settings) (CredentialsReport, error)
	UpsertTicket(ctx context.Context, req TicketRequest) (TicketRef, error)
	HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResult, error)
	WriteReplyResult(ctx context.Context, req ReplyResultRequest) error
}

// Health states of an app, as the hub computes them.
const (
	HealthOK          = "ok"
	HealthDegraded    = "degraded"
	HealthStalled     = "stalled"
	HealthCredentials = "credentials"
	HealthQuota       = "quota"
	HealthAtRisk      = "at risk of loss"
)

// Alert is the hub's notice to people about an app's health: reviews
// stopped flowing (Recovered false) or flow again (Recovered true).
type Alert struct {
	IntegrationID string
	AppID         string
	AppName       string
	Store         string
	Health        string // Health*
	Previous      string
	Recovered     bool
	Reason        string
	Since         time.Time
	// Key is unique per alert: posting the same key twice must post once.
	Key string
	// Title and Text are ready to show to people (plain text).
	Title string
	Text  string
}

// AlertRequest asks a helpdesk to post an alert (a note or a ticket).
type AlertRequest struct {
	Settings      Settings
	IntegrationID string
	Alert         Alert
}

// Alerter is optional for helpdesk plugins: posting the hub's health
// alerts into the helpdesk. A plugin without it answers Unsupported, and
// the hub uses its other alert channels (the outgoing webhook).
type Alerter interface {
	PostAlert(ctx context.Context, req AlertRequest) error
}
