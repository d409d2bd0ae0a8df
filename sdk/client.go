package sdk

import (
	"context"

	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
)

// storeClient is the hub's side of a store plugin; it implements Store.
type storeClient struct {
	info pb.PluginClient
	c    pb.StoreClient
}

func (c *storeClient) Info(ctx context.Context) (Info, error) {
	r, err := c.info.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus("info", err)
	}
	return infoFromPB(r), nil
}

func (c *storeClient) CheckCredentials(ctx context.Context, s Settings, appID string) (CredentialsReport, error) {
	r, err := c.c.CheckCredentials(ctx, &pb.CheckCredentialsRequest{Settings: s, AppId: appID})
	if err != nil {
		return CredentialsReport{}, fromStatus("check credentials", err)
	}
	return reportFromPB(r), nil
}

func (c *storeClient) ListReviews(ctx context.Context, req ListRequest) (ReviewPage, error) {
	trailer, counted := countedCall(ctx)
	defer counted()
	r, err := c.c.ListReviews(ctx, &pb.ListReviewsRequest{
		Settings: req.Settings, AppId: req.AppID, Cursor: req.Cursor, PageToken: req.PageToken,
		Countries: req.Countries, Languages: req.Languages, PageSize: int32(req.PageSize),
	}, trailer)
	if err != nil {
		return ReviewPage{}, fromStatus("list reviews", err)
	}
	page := ReviewPage{NextPageToken: r.GetNextPageToken(), Cursor: r.GetCursor()}
	for _, rv := range r.GetReviews() {
		page.Reviews = append(page.Reviews, reviewFromPB(rv))
	}
	for _, u := range r.GetUnreadable() {
		page.Unreadable = append(page.Unreadable, *unreadableFromPB(u))
	}
	return page, nil
}

func (c *storeClient) PostReply(ctx context.Context, req PostReplyRequest) (DeveloperReply, error) {
	trailer, counted := countedCall(ctx)
	defer counted()
	r, err := c.c.PostReply(ctx, &pb.PostReplyRequest{
		Settings: req.Settings, AppId: req.AppID, ReviewId: req.ReviewID, Text: req.Text,
		ExistingReplyId: req.ExistingReplyID,
	}, trailer)
	if err != nil {
		return DeveloperReply{}, fromStatus("post reply", err)
	}
	if rep := replyFromPB(r.GetReply()); rep != nil {
		return *rep, nil
	}
	return DeveloperReply{}, nil
}

func (c *storeClient) DeleteReply(ctx context.Context, req DeleteReplyRequest) error {
	trailer, counted := countedCall(ctx)
	defer counted()
	_, err := c.c.DeleteReply(ctx, &pb.DeleteReplyRequest{
		Settings: req.Settings, AppId: req.AppID, ReviewId: req.ReviewID, ReplyId: req.ReplyID,
	}, trailer)
	return fromStatus("delete reply", err)
}

// helpdeskClient is the hub's side of a helpdesk plugin; it implements Helpdesk.
type helpdeskClient struct {
	info pb.PluginClient
	c    pb.HelpdeskClient
}

func (c *helpdeskClient) Info(ctx context.Context) (Info, error) {
	r, err := c.info.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus("info", err)
	}
	return infoFromPB(r), nil
}

func (c *helpdeskClient) CheckCredentials(ctx context.Context, s Settings) (CredentialsReport, error) {
	r, err := c.c.CheckCredentials(ctx, &pb.CheckCredentialsRequest{Settings: s})
	if err != nil {
		return CredentialsReport{}, fromStatus("check credentials", err)
	}
	return reportFromPB(r), nil
}

func (c *helpdeskClient) UpsertTicket(ctx context.Context, req TicketRequest) (TicketRef, error) {
	r, err := c.c.UpsertTicket(ctx, &pb.UpsertTicketRequest{
		Settings: req.Settings, IntegrationId: req.IntegrationID, TicketId: req.TicketID,
		Change: changeToPB(req.Change), Tags: req.Tags, DeliveryKey: req.DeliveryKey,
		FirstAttempt: req.FirstAttempt,
	})
	if err != nil {
		return TicketRef{}, fromStatus("upsert ticket", err)
	}
	return TicketRef{ID: r.GetTicketId(), Created: r.GetCreated()}, nil
}

func (c *helpdeskClient) HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResult, error) {
	r, err := c.c.HandleWebhook(ctx, &pb.WebhookRequest{
		Settings: req.Settings, IntegrationId: req.IntegrationID, Method: req.Method, Path: req.Path,
		Query: req.Query, Headers: headersToPB(req.Headers), Body: req.Body, RemoteAddr: req.RemoteAddr,
	})
	if err != nil {
		return WebhookResult{}, fromStatus("handle webhook", err)
	}
	res := WebhookResult{Status: int(r.GetStatus()), Headers: headersFromPB(r.GetHeaders()), Body: r.GetBody(),
		Ignored: unreadableFromPB(r.GetIgnored())}
	for _, rr := range r.GetReplies() {
		res.Replies = append(res.Replies, replyRequestFromPB(rr))
	}
	return res, nil
}

func (c *helpdeskClient) WriteReplyResult(ctx context.Context, req ReplyResultRequest) error {
	_, err := c.c.WriteReplyResult(ctx, &pb.WriteReplyResultRequest{
		Settings: req.Settings, IntegrationId: req.IntegrationID, Result: resultToPB(req.Result),
	})
	return fromStatus("write reply result", err)
}

// PostAlert posts a health alert; a plugin built without it answers
// ErrorKindUnsupported.
func (c *helpdeskClient) PostAlert(ctx context.Context, req AlertRequest) error {
	_, err := c.c.PostAlert(ctx, &pb.PostAlertRequest{
		Settings: req.Settings, IntegrationId: req.IntegrationID, Alert: alertToPB(req.Alert),
	})
	return fromStatus("post alert", err)
}
