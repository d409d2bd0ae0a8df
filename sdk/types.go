package sdk

import (
	"context"
	"time"
)

// Settings are the values of one account of a plugin (credentials included),
// keyed by SettingField.Key. The hub stores them encrypted and passes them
// with every call, so a plugin keeps no state of its own.
type Settings map[string]string

// PluginKind says whether a plugin is a store or a helpdesk (Info.Kind).
// It is an alias of string, so code written when these were plain strings
// keeps compiling.
type PluginKind = string

// Plugin kinds.
const (
	PluginKindStore    = "store"
	PluginKindHelpdesk = "helpdesk"
)

// Older names of the plugin kinds.
const (
	// Deprecated: use PluginKindStore.
	KindStore = PluginKindStore
	// Deprecated: use PluginKindHelpdesk.
	KindHelpdesk = PluginKindHelpdesk
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
	// Default is the value the SDK fills in before calling the plugin when
	// the account leaves the setting empty (a vendor's base URL).
	Default string
	// Endpoint: the plugin sends the account's credentials to this address
	// (a base URL, a token URI). When it changes, the hub requires every
	// secret setting to be given again, so stored credentials never follow
	// a changed address unasked.
	Endpoint bool
	// Type is what the value is (empty: any text). The SDK refuses a value
	// of another form, or outside Min..Max, before the plugin is called
	// (and the hub when the account is saved), so the plugin reads it
	// with Settings.Int, Float, Bool, Duration or URL and parses nothing.
	// A plugin declaring a type its SDK does not know is refused when it
	// serves; a receiver (the hub, SettingField.CheckValue) that meets a
	// type it does not know, declared by a plugin on a later SDK, takes
	// the value as text.
	Type SettingType
	// Min and Max bound an int, number or duration setting, written as
	// values of its type ("10s", "24h"); empty: unbounded.
	Min, Max string
}

// Filter is a kind of locale a store's reviews carry and a listing can be
// filtered by (StoreCapabilities.SourceFilters and LocaleKind). An alias
// of string, and its constants untyped, so code written when these were
// plain strings keeps compiling (the same holds for PluginKind,
// CheckStatus, ChangeKind, Outcome and Health).
type Filter = string

// Filters.
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
	SourceFilters []Filter
	// ListingWindow is how far back the listing reaches (Google Play: 7 days); 0: unlimited.
	ListingWindow time.Duration
	// PublicListing: reviews can be listed without credentials.
	PublicListing bool
	// MinPollInterval is the shortest sensible polling interval.
	MinPollInterval time.Duration
	// LocaleKind is FilterCountry or FilterLanguage: what the store's reviews carry.
	LocaleKind Filter
	// Quotas are the store's request quotas; the hub budgets polling inside
	// them. Count the requests each call makes with CountingTransport.
	Quotas []QuotaBucket
	// History, when set, says the plugin implements HistoryLister: reviews
	// beyond ListingWindow (SDK v0.3).
	History *HistoryCapabilities
}

// HelpdeskCapabilities say what a helpdesk plugin can do.
type HelpdeskCapabilities struct {
	SupportsTags bool
}

// Info describes a plugin.
type Info struct {
	Kind PluginKind // set by ServeStore / ServeHelpdesk / ServeNotifier
	// Name is the short machine name ("googleplay"); the hub's name for the
	// plugin is its binary's (hub-plugin-NAME), and it warns when they differ.
	Name string
	// DisplayName is the vendor's name for people ("Google Play"), used in
	// the SDK's messages and, for a store, carried by the hub to every
	// helpdesk (ReviewChange.StoreName); empty: the plugin is called by its
	// name (the hub never guesses one from Description).
	DisplayName string
	Version     string
	Description string
	Settings    []SettingField
	Store       *StoreCapabilities
	Helpdesk    *HelpdeskCapabilities
	// Notifier holds a notifier plugin's capabilities (SDK v0.3).
	Notifier *NotifierCapabilities
	// Translator: what a translator plugin can translate (SDK v0.3).
	Translator *TranslatorCapabilities
}

// InfoRequest asks a plugin to describe itself (no fields yet).
type InfoRequest struct{}

// CheckCredentialsRequest asks a plugin to check an account's settings
// with read-only calls.
type CheckCredentialsRequest struct {
	Settings Settings
	// AppID (stores) is the app the check reads; empty for helpdesks.
	AppID string
}

// CheckCredentialsResponse is the answer to a successful credentials
// check. A check makes read-only calls only: it never writes at the vendor.
type CheckCredentialsResponse struct {
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

// CredentialsReport is the older name of CheckCredentialsResponse.
type CredentialsReport = CheckCredentialsResponse

// CheckStatus is the status of one line of a credentials report; an alias
// of string.
type CheckStatus = string

// Check statuses.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Check is one line of a credentials report.
type Check struct {
	Name   string
	Status CheckStatus
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

// DeveloperReply is the developer's response to a review as the store
// shows it in the listing.
type DeveloperReply struct {
	ID        string // the store's id of the response, where it has one
	Text      string
	UpdatedAt time.Time
	// State is the store's own word for the response's state, passed
	// through unchanged and only shown: App Store Connect's
	// "PUBLISHED"/"PENDING_PUBLISH", RuStore's "PUBLISHED"/"MODERATION",
	// Google Play (which has none) "PUBLISHED". Empty: unknown. The hub
	// treats any reply the listing shows as the review's answer; a reply
	// gone from the listing marks a published answer deleted.
	State string
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
	// Extra holds store-specific facts with no field of their own (Google
	// Play: "app_version_code", "original_text" of a translated review,
	// device metadata), keyed by the plugin; the hub keeps and shows them,
	// never interprets them. Keys are lower_snake_case, values short text.
	Extra map[string]string
	// Status is the store's own moderation status of the review, passed
	// through unchanged and only shown (RuStore's comment status, e.g.
	// "PUBLISHED"); empty where the store lists only published reviews.
	Status string
}

// ListReviewsRequest asks a store for one page of reviews.
type ListReviewsRequest struct {
	Settings  Settings
	AppID     string
	Cursor    string // from the previous listing's ReviewPage.Cursor; empty at first
	PageToken string // from the previous page's NextPageToken; empty for page one
	Countries []string
	Languages []string
	PageSize  int
}

// ListRequest is the older name of ListReviewsRequest.
type ListRequest = ListReviewsRequest

// ListReviewsResponse is one page of reviews.
type ListReviewsResponse struct {
	Reviews []Review
	// NextPageToken is empty on the last page.
	NextPageToken string
	// Cursor is what the hub passes as ListRequest.Cursor on the next poll.
	Cursor string
	// Unreadable lists items of this page that could not be mapped to a
	// Review; the hub keeps them for the operator.
	Unreadable []Unreadable
}

// ReviewPage is the older name of ListReviewsResponse.
type ReviewPage = ListReviewsResponse

// PostReplyRequest asks a store to publish a developer response. The SDK
// refuses a Text longer than StoreCapabilities.ReplyMaxLength (or empty)
// before the plugin is called.
type PostReplyRequest struct {
	Settings        Settings
	AppID           string
	ReviewID        string
	Text            string
	ExistingReplyID string
	// ReviewUpdatedAt is when the review's author last changed it, as the
	// hub stores it (zero when unknown, and from hubs before SDK v0.3): a
	// store whose live API serves only recent reviews can read an older
	// one first (Google Play's reviews.get) and explain a refusal.
	ReviewUpdatedAt time.Time
}

// PostReplyResponse is the published reply.
type PostReplyResponse struct {
	Reply DeveloperReply
}

// DeleteReplyRequest asks a store to remove a developer response.
type DeleteReplyRequest struct {
	Settings Settings
	AppID    string
	ReviewID string
	ReplyID  string
}

// DeleteReplyResponse is the answer to a deletion (no fields yet).
type DeleteReplyResponse struct{}

// Store is a store plugin in the positional form of SDK v0.1. The hub's
// side of the connection (sdk/host) hands out a plugin as a Store, and a
// plugin written against SDK v0.1 implements it; ServeStore accepts it
// through AdaptStore. New plugins implement StorePlugin.
type Store interface {
	Info(ctx context.Context) (Info, error)
	CheckCredentials(ctx context.Context, settings Settings, appID string) (CredentialsReport, error)
	ListReviews(ctx context.Context, req ListRequest) (ReviewPage, error)
	PostReply(ctx context.Context, req PostReplyRequest) (DeveloperReply, error)
	// DeleteReply returns an Unsupported error where the store has no such operation.
	DeleteReply(ctx context.Context, req DeleteReplyRequest) error
}

// ChangeKind says how a review changed since the hub last delivered it
// (ReviewChange.Kind); an alias of string.
type ChangeKind = string

// Change kinds.
const (
	ChangeKindNew     = "new"     // first seen
	ChangeKindUpdated = "updated" // text or title edited, rating unchanged
	ChangeKindBetter  = "better"  // rating raised
	ChangeKindWorse   = "worse"   // rating lowered
)

// Older names of the change kinds.
const (
	// Deprecated: use ChangeKindNew.
	ChangeNew = ChangeKindNew
	// Deprecated: use ChangeKindUpdated.
	ChangeUpdated = ChangeKindUpdated
	// Deprecated: use ChangeKindBetter.
	ChangeBetter = ChangeKindBetter
	// Deprecated: use ChangeKindWorse.
	ChangeWorse = ChangeKindWorse
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
	Store string // store plugin name
	// StoreName is how people call the store ("App Store"): the store
	// plugin's Info.DisplayName, filled in by the hub. Show it with
	// DisplayStore, which falls back to Store (older hubs, and store
	// plugins that declare no DisplayName).
	StoreName string
	AppName   string
	Kind      ChangeKind
	Review    Review
	// History holds earlier versions, oldest first.
	History []ReviewVersion
	// CanReply tells staff whether an answer can be published.
	CanReply       bool
	ReplyMaxLength int
}

// DisplayStore is how to name the store to people: StoreName, else the
// plugin name Store.
func (c ReviewChange) DisplayStore() string { return firstNonEmpty(c.StoreName, c.Store) }

// PreviousRating is the rating of the latest earlier version, or 0.
func (c ReviewChange) PreviousRating() int {
	if len(c.History) == 0 {
		return 0
	}
	return c.History[len(c.History)-1].Rating
}

// UpsertTicketRequest asks a helpdesk to create or update the ticket for a
// review.
type UpsertTicketRequest struct {
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

// TicketRequest is the older name of UpsertTicketRequest.
type TicketRequest = UpsertTicketRequest

// UpsertTicketResponse identifies the ticket a review lives in.
type UpsertTicketResponse struct {
	ID string
	// Created: this call created the ticket (the hub counts tickets
	// created; the conformance kit checks it is set on the first call).
	Created bool
}

// TicketRef is the older name of UpsertTicketResponse.
type TicketRef = UpsertTicketResponse

// Header is one HTTP header with its values.
type Header struct {
	Name   string
	Values []string
}

// HandleWebhookRequest is an HTTP call the helpdesk made to the hub, at
// /hooks/{plugin}/{integration}: Path is that whole path, Query the query
// string without "?".
type HandleWebhookRequest struct {
	Settings      Settings
	IntegrationID string
	Method        string
	Path          string
	Query         string
	Headers       []Header
	Body          []byte
	RemoteAddr    string
}

// WebhookRequest is the older name of HandleWebhookRequest.
type WebhookRequest = HandleWebhookRequest

// Header returns the first value of the named header (case-insensitive).
func (r HandleWebhookRequest) Header(name string) string {
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

// HandleWebhookResponse is the parsed webhook and the HTTP answer to give.
type HandleWebhookResponse struct {
	Status  int
	Headers []Header
	Body    []byte
	Replies []ReplyRequest
	// Ignored is set when the call was authentic but could not be read (an
	// unknown shape or event). Answer it 2xx or 4xx as the helpdesk needs;
	// the hub keeps it for the operator either way.
	Ignored *Unreadable
}

// WebhookResult is the older name of HandleWebhookResponse.
type WebhookResult = HandleWebhookResponse

// Outcome is what became of a staff answer (ReplyResult.Outcome); an alias
// of string.
type Outcome = string

// Reply outcomes.
const (
	OutcomePublished = "published"
	OutcomeRefused   = "refused" // refused for a reason a person must fix; Detail says which
	OutcomeFailed    = "failed"  // given up after retries; Detail has the last error
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
// The hub gives each of its notes its own MessageID (an answer retried from
// the admin API gets "ID#retry-N"). Detail of a published answer, when
// set, says more (an automatic reply: which rule, and the text published).
type ReplyResult struct {
	TicketID  string
	MessageID string
	ReviewID  string
	Outcome   Outcome
	Detail    string
	Reply     *DeveloperReply
}

// WriteReplyResultRequest asks a helpdesk to note a reply's outcome in the
// ticket. It is delivered at least once: write one note per MessageID and
// Outcome.
type WriteReplyResultRequest struct {
	Settings      Settings
	IntegrationID string
	Result        ReplyResult
}

// ReplyResultRequest is the older name of WriteReplyResultRequest.
type ReplyResultRequest = WriteReplyResultRequest

// WriteReplyResultResponse is the answer to WriteReplyResult (no fields yet).
type WriteReplyResultResponse struct{}

// Helpdesk is a helpdesk plugin in the positional form of SDK v0.1. The
// hub's side of the connection (sdk/host) hands out a plugin as a
// Helpdesk, and a plugin written against SDK v0.1 implements it;
// ServeHelpdesk accepts it through AdaptHelpdesk. New plugins implement
// HelpdeskPlugin.
type Helpdesk interface {
	Info(ctx context.Context) (Info, error)
	CheckCredentials(ctx context.Context, settings Settings) (CredentialsReport, error)
	UpsertTicket(ctx context.Context, req TicketRequest) (TicketRef, error)
	HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResult, error)
	WriteReplyResult(ctx context.Context, req ReplyResultRequest) error
}

// Health is an app's health as the hub computes it (Alert.Health); an
// alias of string.
type Health = string

// Health states of an app.
const (
	HealthOK          = "ok"
	HealthDegraded    = "degraded"
	HealthStalled     = "stalled"
	HealthCredentials = "credentials"
	HealthQuota       = "quota"
	HealthAtRisk      = "at risk of loss"
	// HealthFailing: the app's reviews or answers fail for good (dead
	// letters, answers the store would not take); a person must act.
	HealthFailing = "failing"
)

// Alert is the hub's notice to people about an app's health: reviews
// stopped flowing (Recovered false) or flow again (Recovered true).
type Alert struct {
	IntegrationID string
	AppID         string
	AppName       string
	Store         string // store plugin name
	// StoreName is how people call the store (see ReviewChange.StoreName);
	// show it with DisplayStore.
	StoreName string
	Health    Health
	Previous  Health
	Recovered bool
	Reason    string
	Since     time.Time
	// Key is unique per alert: posting the same key twice must post once.
	Key string
	// Title and Text are ready to show to people (plain text).
	Title string
	Text  string
}

// DisplayStore is how to name the store to people: StoreName, else the
// plugin name Store.
func (a Alert) DisplayStore() string { return firstNonEmpty(a.StoreName, a.Store) }

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// PostAlertRequest asks a helpdesk to post an alert (a note or a ticket).
type PostAlertRequest struct {
	Settings      Settings
	IntegrationID string
	Alert         Alert
}

// AlertRequest is the older name of PostAlertRequest.
type AlertRequest = PostAlertRequest

// PostAlertResponse is the answer to PostAlert (no fields yet).
type PostAlertResponse struct{}

// Alerter is AlertPoster in the form of SDK v0.1, optional for a Helpdesk.
type Alerter interface {
	PostAlert(ctx context.Context, req AlertRequest) error
}
