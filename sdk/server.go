package sdk

import (
	"context"

	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
)

// infoServer serves the Plugin service for any plugin.
type infoServer struct {
	pb.UnimplementedPluginServer
	kind PluginKind
	info func(context.Context) (Info, error)
}

func (s *infoServer) Info(ctx context.Context, _ *pb.InfoRequest) (*pb.InfoResponse, error) {
	i, err := s.info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	i.Kind = s.kind
	return infoToPB(i), nil
}

// storeServer adapts a StorePlugin to the gRPC Store service.
type storeServer struct {
	pb.UnimplementedStoreServer
	impl StorePlugin // a checkedStore
}

func (s *storeServer) CheckCredentials(ctx context.Context, r *pb.CheckCredentialsRequest) (*pb.CheckCredentialsResponse, error) {
	rep, err := s.impl.CheckCredentials(ctx, CheckCredentialsRequest{Settings: r.GetSettings(), AppID: r.GetAppId()})
	if err != nil {
		return nil, toStatus(err)
	}
	return reportToPB(rep), nil
}

func (s *storeServer) ListReviews(ctx context.Context, r *pb.ListReviewsRequest) (*pb.ListReviewsResponse, error) {
	ctx, report := serveCounted(ctx)
	defer report()
	page, err := s.impl.ListReviews(ctx, ListReviewsRequest{
		Settings: r.GetSettings(), AppID: r.GetAppId(), Cursor: r.GetCursor(), PageToken: r.GetPageToken(),
		Countries: r.GetCountries(), Languages: r.GetLanguages(), PageSize: int(r.GetPageSize()),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.ListReviewsResponse{NextPageToken: page.NextPageToken, Cursor: page.Cursor}
	for _, rv := range page.Reviews {
		out.Reviews = append(out.Reviews, reviewToPB(rv))
	}
	for _, u := range page.Unreadable {
		out.Unreadable = append(out.Unreadable, unreadableToPB(&u))
	}
	return out, nil
}

func (s *storeServer) PostReply(ctx context.Context, r *pb.PostReplyRequest) (*pb.PostReplyResponse, error) {
	ctx, report := serveCounted(ctx)
	defer report()
	rep, err := s.impl.PostReply(ctx, PostReplyRequest{
		Settings: r.GetSettings(), AppID: r.GetAppId(), ReviewID: r.GetReviewId(), Text: r.GetText(),
		ExistingReplyID: r.GetExistingReplyId(), ReviewUpdatedAt: tsFromPB(r.GetReviewUpdatedAt()),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.PostReplyResponse{Reply: replyToPB(&rep.Reply)}, nil
}

func (s *storeServer) DeleteReply(ctx context.Context, r *pb.DeleteReplyRequest) (*pb.DeleteReplyResponse, error) {
	ctx, report := serveCounted(ctx)
	defer report()
	_, err := s.impl.DeleteReply(ctx, DeleteReplyRequest{
		Settings: r.GetSettings(), AppID: r.GetAppId(), ReviewID: r.GetReviewId(), ReplyID: r.GetReplyId(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteReplyResponse{}, nil
}

// helpdeskServer adapts a HelpdeskPlugin to the gRPC Helpdesk service.
type helpdeskServer struct {
	pb.UnimplementedHelpdeskServer
	impl HelpdeskPlugin // a checkedHelpdesk
}

func (s *helpdeskServer) CheckCredentials(ctx context.Context, r *pb.CheckCredentialsRequest) (*pb.CheckCredentialsResponse, error) {
	rep, err := s.impl.CheckCredentials(ctx, CheckCredentialsRequest{Settings: r.GetSettings()})
	if err != nil {
		return nil, toStatus(err)
	}
	return reportToPB(rep), nil
}

func (s *helpdeskServer) UpsertTicket(ctx context.Context, r *pb.UpsertTicketRequest) (*pb.UpsertTicketResponse, error) {
	ref, err := s.impl.UpsertTicket(ctx, UpsertTicketRequest{
		Settings: r.GetSettings(), IntegrationID: r.GetIntegrationId(), TicketID: r.GetTicketId(),
		Change: changeFromPB(r.GetChange()), Tags: r.GetTags(), DeliveryKey: r.GetDeliveryKey(),
		FirstAttempt: r.GetFirstAttempt(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.UpsertTicketResponse{TicketId: ref.ID, Created: ref.Created}, nil
}

func (s *helpdeskServer) HandleWebhook(ctx context.Context, r *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	res, err := s.impl.HandleWebhook(ctx, HandleWebhookRequest{
		Settings: r.GetSettings(), IntegrationID: r.GetIntegrationId(), Method: r.GetMethod(), Path: r.GetPath(),
		Query: r.GetQuery(), Headers: headersFromPB(r.GetHeaders()), Body: r.GetBody(), RemoteAddr: r.GetRemoteAddr(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.WebhookResponse{Status: int32(res.Status), Headers: headersToPB(res.Headers), Body: res.Body,
		Ignored: unreadableToPB(res.Ignored)}
	for _, rr := range res.Replies {
		out.Replies = append(out.Replies, replyRequestToPB(rr))
	}
	return out, nil
}

func (s *helpdeskServer) WriteReplyResult(ctx context.Context, r *pb.WriteReplyResultRequest) (*pb.WriteReplyResultResponse, error) {
	_, err := s.impl.WriteReplyResult(ctx, WriteReplyResultRequest{
		Settings: r.GetSettings(), IntegrationID: r.GetIntegrationId(), Result: resultFromPB(r.GetResult()),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.WriteReplyResultResponse{}, nil
}

func (s *helpdeskServer) PostAlert(ctx context.Context, r *pb.PostAlertRequest) (*pb.PostAlertResponse, error) {
	a, ok := s.impl.(AlertPoster)
	if !ok {
		return nil, toStatus(&Error{Kind: ErrorKindUnsupported, Message: "this helpdesk plugin does not post alerts"})
	}
	if _, err := a.PostAlert(ctx, PostAlertRequest{Settings: r.GetSettings(), IntegrationID: r.GetIntegrationId(),
		Alert: alertFromPB(r.GetAlert())}); err != nil {
		return nil, toStatus(err)
	}
	return &pb.PostAlertResponse{}, nil
}
