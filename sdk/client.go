package sdk

import (
	"context"

	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
)

// storeClient is the hub's side of a store plugin; it implements
// StorePlugin.
type storeClient struct {
	info pb.PluginClient
	c    pb.StoreClient
}

func (c *storeClient) Info(ctx context.Context, _ InfoRequest) (Info, error) {
	r, err := c.info.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus("info", err)
	}
	return infoFromPB(r), nil
}

func (c *storeClient) CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error) {
	r, err := c.c.CheckCredentials(ctx, &pb.CheckCredentialsRequest{Settings: req.Settings, AppId: req.AppID})
	if err != nil {
		return CheckCredentialsResponse{}, fromStatus("check credentials", err)
	}
	return reportFromPB(r), nil
}

func (c *storeClient) ListReviews(ctx context.Context, req ListReviewsRequest) (ListReviewsResponse, error) {
	trailer, counted := countedCall(ctx)
	defer counted()
	r, err := c.c.ListReviews(ctx, &pb.ListReviewsRequest{
		Settings: req.Settings, AppId: req.AppID, Cursor: req.Cursor, PageToken: req.PageToken,
		Countries: req.Countries, Languages: req.Languages, PageSize: int32(req.PageSize),
	}, trailer)
	if err != nil {
		return ListReviewsResponse{}, fromStatus("list reviews", err)
	}
	page := ListReviewsResponse{NextPageToken: r.GetNextPageToken(), Cursor: r.GetCursor()}
	for _, rv := range r.GetReviews() {
		page.Reviews = append(page.Reviews, reviewFromPB(rv))
	}
	for _, u := range r.GetUnreadable() {
		page.Unreadable = append(page.Unreadable, *unreadableFromPB(u))
	}
	return page, nil
}

func (c *storeClient) PostReply(ctx context.Context, req PostReplyRequest) (PostReplyResponse, error) {
	trailer, counted := countedCall(ctx)
	defer counted()
	r, err := c.c.PostReply(ctx, &pb.PostReplyRequest{
		Settings: req.Settings, AppId: req.AppID, ReviewId: req.ReviewID, Text: req.Text,
		ExistingReplyId: req.ExistingReplyID, ReviewUpdatedAt: tsToPB(req.ReviewUpdatedAt),
	}, trailer)
	if err != nil {
		return PostReplyResponse{}, fromStatus("post reply", err)
	}
	if rep := replyFromPB(r.GetReply()); rep != nil {
		return PostReplyResponse{Reply: *rep}, nil
	}
	return PostReplyResponse{}, nil
}

func (c *storeClient) DeleteReply(ctx context.Context, req DeleteReplyRequest) (DeleteReplyResponse, error) {
	trailer, counted := countedCall(ctx)
	defer counted()
	_, err := c.c.DeleteReply(ctx, &pb.DeleteReplyRequest{
		Settings: req.Settings, AppId: req.AppID, ReviewId: req.ReviewID, ReplyId: req.ReplyID,
	}, trailer)
	return DeleteReplyResponse{}, fromStatus("delete reply", err)
}

// helpdeskClient is the hub's side of a helpdesk plugin; it implements
// HelpdeskPlugin and AlertPoster.
type helpdeskClient struct {
	info pb.PluginClient
	c    pb.HelpdeskClient
}

func (c *helpdeskClient) Info(ctx context.Context, _ InfoRequest) (Info, error) {
	r, err := c.info.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus("info", err)
	}
	return infoFromPB(r), nil
}

func (c *helpdeskClient) CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error) {
	r, err := c.c.CheckCredentials(ctx, &pb.CheckCredentialsRequest{Settings: req.Settings})
	if err != nil {
		return CheckCredentialsResponse{}, fromStatus("check credentials", err)
	}
	return reportFromPB(r), nil
}

func (c *helpdeskClient) UpsertTicket(ctx context.Context, req UpsertTicketRequest) (UpsertTicketResponse, error) {
	r, err := c.c.UpsertTicket(ctx, &pb.UpsertTicketRequest{
		Settings: req.Settings, IntegrationId: req.IntegrationID, TicketId: req.TicketID,
		Change: changeToPB(req.Change), Tags: req.Tags, DeliveryKey: req.DeliveryKey,
		FirstAttempt: req.FirstAttempt,
	})
	if err != nil {
		return UpsertTicketResponse{}, fromStatus("upsert ticket", err)
	}
	return UpsertTicketResponse{ID: r.GetTicketId(), Created: r.GetCreated()}, nil
}

func (c *helpdeskClient) HandleWebhook(ctx context.Context, req HandleWebhookRequest) (HandleWebhookResponse, error) {
	r, err := c.c.HandleWebhook(ctx, &pb.WebhookRequest{
		Settings: req.Settings, IntegrationId: req.IntegrationID, Method: req.Method, Path: req.Path,
		Query: req.Query, Headers: headersToPB(req.Headers), Body: req.Body, RemoteAddr: req.RemoteAddr,
	})
	if err != nil {
		return HandleWebhookResponse{}, fromStatus("handle webhook", err)
	}
	res := HandleWebhookResponse{Status: int(r.GetStatus()), Headers: headersFromPB(r.GetHeaders()), Body: r.GetBody(),
		Ignored: unreadableFromPB(r.GetIgnored())}
	for _, rr := range r.GetReplies() {
		res.Replies = append(res.Replies, replyRequestFromPB(rr))
	}
	return res, nil
}

func (c *helpdeskClient) WriteReplyResult(ctx context.Context, req WriteReplyResultRequest) (WriteReplyResultResponse, error) {
	_, err := c.c.WriteReplyResult(ctx, &pb.WriteReplyResultRequest{
		Settings: req.Settings, IntegrationId: req.IntegrationID, Result: resultToPB(req.Result),
	})
	return WriteReplyResultResponse{}, fromStatus("write reply result", err)
}

// PostAlert posts a health alert; a plugin built without it answers
// ErrorKindUnsupported.
func (c *helpdeskClient) PostAlert(ctx context.Context, req PostAlertRequest) (PostAlertResponse, error) {
	_, err := c.c.PostAlert(ctx, &pb.PostAlertRequest{
		Settings: req.Settings, IntegrationId: req.IntegrationID, Alert: alertToPB(req.Alert),
	})
	return PostAlertResponse{}, fromStatus("post alert", err)
}

var (
	_ StorePlugin    = (*storeClient)(nil)
	_ HelpdeskPlugin = (*helpdeskClient)(nil)
	_ AlertPoster    = (*helpdeskClient)(nil)
)
