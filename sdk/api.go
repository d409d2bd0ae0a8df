package sdk

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

// StorePlugin is what a store plugin implements. Every method takes a
// request struct and returns a response struct, so a field added to
// either later breaks no plugin.
type StorePlugin interface {
	// Info describes the plugin: name, version, settings schema and
	// capabilities. It is called at start and must not call the vendor.
	Info(ctx context.Context, req InfoRequest) (Info, error)
	// CheckCredentials makes read-only calls with an account's settings.
	CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error)
	// ListReviews returns one page of an app's reviews.
	ListReviews(ctx context.Context, req ListReviewsRequest) (ListReviewsResponse, error)
	// PostReply publishes a developer reply; it is idempotent (see
	// ReadReplyFirst).
	PostReply(ctx context.Context, req PostReplyRequest) (PostReplyResponse, error)
	// DeleteReply removes a reply; an ErrorKindUnsupported error where the
	// store has no such operation.
	DeleteReply(ctx context.Context, req DeleteReplyRequest) (DeleteReplyResponse, error)
}

// HelpdeskPlugin is what a helpdesk plugin implements; it may also
// implement AlertPoster.
type HelpdeskPlugin interface {
	// Info describes the plugin; see StorePlugin.Info.
	Info(ctx context.Context, req InfoRequest) (Info, error)
	// CheckCredentials makes read-only calls with an account's settings.
	CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error)
	// UpsertTicket creates or updates the ticket of a review, idempotently.
	UpsertTicket(ctx context.Context, req UpsertTicketRequest) (UpsertTicketResponse, error)
	// HandleWebhook authenticates and parses a call the helpdesk made.
	HandleWebhook(ctx context.Context, req HandleWebhookRequest) (HandleWebhookResponse, error)
	// WriteReplyResult notes a reply's outcome in the ticket, once per
	// MessageID and Outcome.
	WriteReplyResult(ctx context.Context, req WriteReplyResultRequest) (WriteReplyResultResponse, error)
}

// AlertPoster is optional for a HelpdeskPlugin: posting the hub's health
// alerts into the helpdesk. A plugin without it answers
// ErrorKindUnsupported, and the hub uses its other alert channels (the
// outgoing webhook).
type AlertPoster interface {
	PostAlert(ctx context.Context, req PostAlertRequest) (PostAlertResponse, error)
}

// AnyStore is what ServeStore accepts: a StorePlugin, or a Store written
// for SDK v0.1. ListReviews has the same form in both; ServeStore checks
// the rest when it starts. Assert the interface you mean at compile time:
//
//	var _ sdk.StorePlugin = (*store)(nil)
type AnyStore interface {
	ListReviews(ctx context.Context, req ListReviewsRequest) (ListReviewsResponse, error)
}

// AnyHelpdesk is what ServeHelpdesk accepts: a HelpdeskPlugin, or a
// Helpdesk written for SDK v0.1 (see AnyStore).
type AnyHelpdesk interface {
	UpsertTicket(ctx context.Context, req UpsertTicketRequest) (UpsertTicketResponse, error)
	HandleWebhook(ctx context.Context, req HandleWebhookRequest) (HandleWebhookResponse, error)
}

// AsStorePlugin returns impl as a StorePlugin: itself if it is one, a
// Store (SDK v0.1) through AdaptStore; anything else is an error naming
// the methods it lacks. It adds no checks (CheckedStore does).
func AsStorePlugin(impl AnyStore) (StorePlugin, error) { return asStorePlugin(impl) }

// AsHelpdeskPlugin is AsStorePlugin for helpdesks (AdaptHelpdesk).
func AsHelpdeskPlugin(impl AnyHelpdesk) (HelpdeskPlugin, error) { return asHelpdeskPlugin(impl) }

func asStorePlugin(impl AnyStore) (StorePlugin, error) {
	switch s := impl.(type) {
	case StorePlugin:
		return s, nil
	case Store:
		return AdaptStore(s), nil
	}
	return nil, fmt.Errorf("sdk: %s is not a store plugin: %s", describe(impl),
		missing(impl, reflect.TypeFor[StorePlugin](), reflect.TypeFor[Store]()))
}

func asHelpdeskPlugin(impl AnyHelpdesk) (HelpdeskPlugin, error) {
	switch h := impl.(type) {
	case HelpdeskPlugin:
		return h, nil
	case Helpdesk:
		return AdaptHelpdesk(h), nil
	}
	return nil, fmt.Errorf("sdk: %s is not a helpdesk plugin: %s", describe(impl),
		missing(impl, reflect.TypeFor[HelpdeskPlugin](), reflect.TypeFor[Helpdesk]()))
}

// missing names the methods impl lacks (or has with another signature)
// for the new interface and for the older one.
func missing(impl any, want, older reflect.Type) string {
	t := reflect.TypeOf(impl)
	lacks := func(iface reflect.Type) string {
		var out []string
		for i := range iface.NumMethod() {
			m := iface.Method(i)
			got, ok := t.MethodByName(m.Name)
			switch {
			case !ok:
				out = append(out, m.Name+" is missing")
			case !methodMatches(got.Type, m.Type):
				out = append(out, fmt.Sprintf("%s has the form %s, want %s", m.Name, got.Type, m.Type))
			}
		}
		return strings.Join(out, "; ")
	}
	return fmt.Sprintf("for sdk.%s, %s (or, for the older sdk.%s, %s)", want.Name(), lacks(want), older.Name(), lacks(older))
}

// methodMatches compares a method's type (with its receiver first) with an
// interface method's type (without one).
func methodMatches(got, want reflect.Type) bool {
	if got.NumIn() != want.NumIn()+1 || got.NumOut() != want.NumOut() {
		return false
	}
	for i := range want.NumIn() {
		if got.In(i+1) != want.In(i) {
			return false
		}
	}
	for i := range want.NumOut() {
		if got.Out(i) != want.Out(i) {
			return false
		}
	}
	return true
}

// AdaptStore makes a Store written for SDK v0.1 a StorePlugin. ServeStore
// does it for you.
func AdaptStore(s Store) StorePlugin { return storeAdapter{s} }

type storeAdapter struct{ s Store }

func (a storeAdapter) Info(ctx context.Context, _ InfoRequest) (Info, error) { return a.s.Info(ctx) }

func (a storeAdapter) CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error) {
	return a.s.CheckCredentials(ctx, req.Settings, req.AppID)
}

func (a storeAdapter) ListReviews(ctx context.Context, req ListReviewsRequest) (ListReviewsResponse, error) {
	return a.s.ListReviews(ctx, req)
}

func (a storeAdapter) PostReply(ctx context.Context, req PostReplyRequest) (PostReplyResponse, error) {
	r, err := a.s.PostReply(ctx, req)
	return PostReplyResponse{Reply: r}, err
}

func (a storeAdapter) DeleteReply(ctx context.Context, req DeleteReplyRequest) (DeleteReplyResponse, error) {
	return DeleteReplyResponse{}, a.s.DeleteReply(ctx, req)
}

// AdaptHelpdesk makes a Helpdesk written for SDK v0.1 a HelpdeskPlugin
// (an AlertPoster too when it implements Alerter). ServeHelpdesk does it
// for you.
func AdaptHelpdesk(h Helpdesk) HelpdeskPlugin {
	if a, ok := h.(Alerter); ok {
		return alertingHelpdeskAdapter{helpdeskAdapter{h}, a}
	}
	return helpdeskAdapter{h}
}

type helpdeskAdapter struct{ h Helpdesk }

func (a helpdeskAdapter) Info(ctx context.Context, _ InfoRequest) (Info, error) { return a.h.Info(ctx) }

func (a helpdeskAdapter) CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error) {
	return a.h.CheckCredentials(ctx, req.Settings)
}

func (a helpdeskAdapter) UpsertTicket(ctx context.Context, req UpsertTicketRequest) (UpsertTicketResponse, error) {
	return a.h.UpsertTicket(ctx, req)
}

func (a helpdeskAdapter) HandleWebhook(ctx context.Context, req HandleWebhookRequest) (HandleWebhookResponse, error) {
	return a.h.HandleWebhook(ctx, req)
}

func (a helpdeskAdapter) WriteReplyResult(ctx context.Context, req WriteReplyResultRequest) (WriteReplyResultResponse, error) {
	return WriteReplyResultResponse{}, a.h.WriteReplyResult(ctx, req)
}

type alertingHelpdeskAdapter struct {
	helpdeskAdapter
	a Alerter
}

func (a alertingHelpdeskAdapter) PostAlert(ctx context.Context, req PostAlertRequest) (PostAlertResponse, error) {
	return PostAlertResponse{}, a.a.PostAlert(ctx, req)
}
