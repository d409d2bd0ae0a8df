package sdk

import "context"

// ReplyMeasurer is optional for a store plugin whose store counts a
// reply's length its own way (Google Play: HTML tags not counted, UTF-16
// code units). The SDK then checks ReplyMaxLength against ReplyLength's n
// and adds note to the refusal; without it, a reply's length is its number
// of Unicode code points.
type ReplyMeasurer interface {
	ReplyLength(text string) (n int, note string)
}

// CheckedStore returns impl with the checks ServeStore runs before every
// call (settings against the schema, a reply's length): what the hub
// reaches through the process, for a plugin's own in-process tests.
func CheckedStore(impl AnyStore) (StorePlugin, error) {
	sp, err := asStorePlugin(impl)
	if err != nil {
		return nil, err
	}
	g := newGuard(func(ctx context.Context) (Info, error) { return sp.Info(ctx, InfoRequest{}) })
	g.measure, _ = impl.(ReplyMeasurer)
	return checkedStore{sp, g}, nil
}

// CheckedHelpdesk is CheckedStore for helpdesks (settings only; a webhook
// gets defaults but no requirement).
func CheckedHelpdesk(impl AnyHelpdesk) (HelpdeskPlugin, error) {
	hp, err := asHelpdeskPlugin(impl)
	if err != nil {
		return nil, err
	}
	g := newGuard(func(ctx context.Context) (Info, error) { return hp.Info(ctx, InfoRequest{}) })
	c := checkedHelpdesk{hp, g}
	if _, ok := hp.(AlertPoster); ok {
		return checkedAlertingHelpdesk{c}, nil
	}
	return c, nil
}

type checkedStore struct {
	impl StorePlugin
	g    *guard
}

func (c checkedStore) Info(ctx context.Context, _ InfoRequest) (Info, error) { return c.g.info(ctx) }

func (c checkedStore) CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return CheckCredentialsResponse{}, err
	}
	return c.impl.CheckCredentials(ctx, req)
}

func (c checkedStore) ListReviews(ctx context.Context, req ListReviewsRequest) (ListReviewsResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return ListReviewsResponse{}, err
	}
	return c.impl.ListReviews(ctx, req)
}

func (c checkedStore) PostReply(ctx context.Context, req PostReplyRequest) (PostReplyResponse, error) {
	if err := c.g.reply(ctx, req.Text); err != nil {
		return PostReplyResponse{}, err
	}
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return PostReplyResponse{}, err
	}
	return c.impl.PostReply(ctx, req)
}

func (c checkedStore) DeleteReply(ctx context.Context, req DeleteReplyRequest) (DeleteReplyResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return DeleteReplyResponse{}, err
	}
	return c.impl.DeleteReply(ctx, req)
}

type checkedHelpdesk struct {
	impl HelpdeskPlugin
	g    *guard
}

func (c checkedHelpdesk) Info(ctx context.Context, _ InfoRequest) (Info, error) { return c.g.info(ctx) }

func (c checkedHelpdesk) CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return CheckCredentialsResponse{}, err
	}
	return c.impl.CheckCredentials(ctx, req)
}

func (c checkedHelpdesk) UpsertTicket(ctx context.Context, req UpsertTicketRequest) (UpsertTicketResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return UpsertTicketResponse{}, err
	}
	return c.impl.UpsertTicket(ctx, req)
}

// HandleWebhook gets the settings trimmed and defaulted but not required:
// the hub forwards webhooks of integrations still being set up, and the
// plugin answers them (a 401 without a secret to check against). A typed
// setting of a wrong value does not fail the call either (a refused
// webhook is retried, then given up, losing an answer): it gets its
// Default, or is left out, and a warning names its key.
func (c checkedHelpdesk) HandleWebhook(ctx context.Context, req HandleWebhookRequest) (HandleWebhookResponse, error) {
	var err error
	if req.Settings, err = c.g.defaults(ctx, req.Settings); err != nil {
		return HandleWebhookResponse{}, err
	}
	return c.impl.HandleWebhook(ctx, req)
}

func (c checkedHelpdesk) WriteReplyResult(ctx context.Context, req WriteReplyResultRequest) (WriteReplyResultResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return WriteReplyResultResponse{}, err
	}
	return c.impl.WriteReplyResult(ctx, req)
}

type checkedAlertingHelpdesk struct{ checkedHelpdesk }

func (c checkedAlertingHelpdesk) PostAlert(ctx context.Context, req PostAlertRequest) (PostAlertResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return PostAlertResponse{}, err
	}
	return c.impl.(AlertPoster).PostAlert(ctx, req)
}
