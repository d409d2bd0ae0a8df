package sdk

import (
	"time"

	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func tsToPB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsFromPB(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().UTC()
}

func durToPB(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func infoToPB(i Info) *pb.InfoResponse {
	out := &pb.InfoResponse{Kind: i.Kind, Name: i.Name, Version: i.Version, Description: i.Description, DisplayName: i.DisplayName}
	for _, f := range i.Settings {
		out.Settings = append(out.Settings, &pb.SettingField{
			Key: f.Key, Label: f.Label, Description: f.Description, Required: f.Required,
			Secret: f.Secret, Multiline: f.Multiline, Example: f.Example, Endpoint: f.Endpoint, Default: f.Default,
			Type: string(f.Type), Min: f.Min, Max: f.Max,
		})
	}
	if c := i.Store; c != nil {
		out.Store = &pb.StoreCapabilities{
			CanReply: c.CanReply, ReplyMaxLength: int32(c.ReplyMaxLength), CanEditReply: c.CanEditReply,
			CanDeleteReply: c.CanDeleteReply, SourceFilters: c.SourceFilters,
			ListingWindow: durToPB(c.ListingWindow), PublicListing: c.PublicListing,
			MinPollInterval: durToPB(c.MinPollInterval), LocaleKind: c.LocaleKind,
		}
		for _, q := range c.Quotas {
			out.Store.Quotas = append(out.Store.Quotas, &pb.QuotaBucket{Name: q.Name, Per: q.Per,
				Limit: int32(q.Limit), Window: durToPB(q.Window), Operations: q.Ops})
		}
		if h := c.History; h != nil {
			out.Store.History = &pb.HistoryCapabilities{Reach: durToPB(h.Reach), Lag: durToPB(h.Lag),
				RequiresSettings: h.RequiresSettings, Source: h.Source}
		}
	}
	if c := i.Helpdesk; c != nil {
		out.Helpdesk = &pb.HelpdeskCapabilities{SupportsTags: c.SupportsTags}
	}
	return out
}

func infoFromPB(p *pb.InfoResponse) Info {
	i := Info{Kind: p.GetKind(), Name: p.GetName(), Version: p.GetVersion(), Description: p.GetDescription(),
		DisplayName: p.GetDisplayName()}
	for _, f := range p.GetSettings() {
		i.Settings = append(i.Settings, SettingField{
			Key: f.GetKey(), Label: f.GetLabel(), Description: f.GetDescription(), Required: f.GetRequired(),
			Secret: f.GetSecret(), Multiline: f.GetMultiline(), Example: f.GetExample(),
			Endpoint: f.GetEndpoint(), Default: f.GetDefault(),
			Type: SettingType(f.GetType()), Min: f.GetMin(), Max: f.GetMax(),
		})
	}
	if c := p.GetStore(); c != nil {
		i.Store = &StoreCapabilities{
			CanReply: c.GetCanReply(), ReplyMaxLength: int(c.GetReplyMaxLength()), CanEditReply: c.GetCanEditReply(),
			CanDeleteReply: c.GetCanDeleteReply(), SourceFilters: c.GetSourceFilters(),
			ListingWindow: c.GetListingWindow().AsDuration(), PublicListing: c.GetPublicListing(),
			MinPollInterval: c.GetMinPollInterval().AsDuration(), LocaleKind: c.GetLocaleKind(),
		}
		if c.GetListingWindow() == nil {
			i.Store.ListingWindow = 0
		}
		if c.GetMinPollInterval() == nil {
			i.Store.MinPollInterval = 0
		}
		for _, q := range c.GetQuotas() {
			b := QuotaBucket{Name: q.GetName(), Per: q.GetPer(), Limit: int(q.GetLimit()), Ops: q.GetOperations()}
			if q.GetWindow() != nil {
				b.Window = q.GetWindow().AsDuration()
			}
			i.Store.Quotas = append(i.Store.Quotas, b)
		}
		if h := c.GetHistory(); h != nil {
			i.Store.History = &HistoryCapabilities{RequiresSettings: h.GetRequiresSettings(), Source: h.GetSource()}
			if h.GetReach() != nil {
				i.Store.History.Reach = h.GetReach().AsDuration()
			}
			if h.GetLag() != nil {
				i.Store.History.Lag = h.GetLag().AsDuration()
			}
		}
	}
	if c := p.GetHelpdesk(); c != nil {
		i.Helpdesk = &HelpdeskCapabilities{SupportsTags: c.GetSupportsTags()}
	}
	return i
}

func replyToPB(r *DeveloperReply) *pb.DeveloperReply {
	if r == nil {
		return nil
	}
	return &pb.DeveloperReply{Id: r.ID, Text: r.Text, UpdatedAt: tsToPB(r.UpdatedAt), State: r.State}
}

func replyFromPB(p *pb.DeveloperReply) *DeveloperReply {
	if p == nil {
		return nil
	}
	return &DeveloperReply{ID: p.GetId(), Text: p.GetText(), UpdatedAt: tsFromPB(p.GetUpdatedAt()), State: p.GetState()}
}

func reviewToPB(r Review) *pb.Review {
	return &pb.Review{
		Id: r.ID, AppId: r.AppID, Author: r.Author, Rating: int32(r.Rating), Title: r.Title, Text: r.Text,
		Language: r.Language, Country: r.Country, AppVersion: r.AppVersion, Device: r.Device,
		OsVersion: r.OSVersion, CreatedAt: tsToPB(r.CreatedAt), UpdatedAt: tsToPB(r.UpdatedAt),
		ThumbsUp: int32(r.ThumbsUp), ThumbsDown: int32(r.ThumbsDown), Url: r.URL, Reply: replyToPB(r.Reply),
		Extra: r.Extra, Status: r.Status,
	}
}

func reviewFromPB(p *pb.Review) Review {
	return Review{
		ID: p.GetId(), AppID: p.GetAppId(), Author: p.GetAuthor(), Rating: int(p.GetRating()), Title: p.GetTitle(),
		Text: p.GetText(), Language: p.GetLanguage(), Country: p.GetCountry(), AppVersion: p.GetAppVersion(),
		Device: p.GetDevice(), OSVersion: p.GetOsVersion(), CreatedAt: tsFromPB(p.GetCreatedAt()),
		UpdatedAt: tsFromPB(p.GetUpdatedAt()), ThumbsUp: int(p.GetThumbsUp()), ThumbsDown: int(p.GetThumbsDown()),
		URL: p.GetUrl(), Reply: replyFromPB(p.GetReply()), Extra: p.GetExtra(), Status: p.GetStatus(),
	}
}

func changeToPB(c ReviewChange) *pb.ReviewChange {
	out := &pb.ReviewChange{
		Store: c.Store, AppName: c.AppName, Kind: c.Kind, Review: reviewToPB(c.Review),
		CanReply: c.CanReply, ReplyMaxLength: int32(c.ReplyMaxLength), StoreName: c.StoreName,
	}
	for _, v := range c.History {
		out.History = append(out.History, &pb.ReviewVersion{
			Rating: int32(v.Rating), Title: v.Title, Text: v.Text, SeenAt: tsToPB(v.SeenAt), Reply: replyToPB(v.Reply),
		})
	}
	return out
}

func changeFromPB(p *pb.ReviewChange) ReviewChange {
	out := ReviewChange{
		Store: p.GetStore(), AppName: p.GetAppName(), Kind: p.GetKind(), Review: reviewFromPB(p.GetReview()),
		CanReply: p.GetCanReply(), ReplyMaxLength: int(p.GetReplyMaxLength()), StoreName: p.GetStoreName(),
	}
	for _, v := range p.GetHistory() {
		out.History = append(out.History, ReviewVersion{
			Rating: int(v.GetRating()), Title: v.GetTitle(), Text: v.GetText(), SeenAt: tsFromPB(v.GetSeenAt()),
			Reply: replyFromPB(v.GetReply()),
		})
	}
	return out
}

func headersToPB(hs []Header) []*pb.Header {
	out := make([]*pb.Header, 0, len(hs))
	for _, h := range hs {
		out = append(out, &pb.Header{Name: h.Name, Values: h.Values})
	}
	return out
}

func headersFromPB(hs []*pb.Header) []Header {
	out := make([]Header, 0, len(hs))
	for _, h := range hs {
		out = append(out, Header{Name: h.GetName(), Values: h.GetValues()})
	}
	return out
}

func replyRequestToPB(r ReplyRequest) *pb.ReplyRequest {
	return &pb.ReplyRequest{
		TicketId: r.TicketID, MessageId: r.MessageID, ReviewId: r.ReviewID, Text: r.Text,
		Staff: r.Staff, SentAt: tsToPB(r.SentAt),
	}
}

func replyRequestFromPB(p *pb.ReplyRequest) ReplyRequest {
	return ReplyRequest{
		TicketID: p.GetTicketId(), MessageID: p.GetMessageId(), ReviewID: p.GetReviewId(), Text: p.GetText(),
		Staff: p.GetStaff(), SentAt: tsFromPB(p.GetSentAt()),
	}
}

func resultToPB(r ReplyResult) *pb.ReplyResult {
	return &pb.ReplyResult{
		TicketId: r.TicketID, MessageId: r.MessageID, ReviewId: r.ReviewID, Outcome: r.Outcome,
		Detail: r.Detail, Reply: replyToPB(r.Reply),
	}
}

func resultFromPB(p *pb.ReplyResult) ReplyResult {
	return ReplyResult{
		TicketID: p.GetTicketId(), MessageID: p.GetMessageId(), ReviewID: p.GetReviewId(),
		Outcome: p.GetOutcome(), Detail: p.GetDetail(), Reply: replyFromPB(p.GetReply()),
	}
}

func reportToPB(r CredentialsReport) *pb.CheckCredentialsResponse {
	out := &pb.CheckCredentialsResponse{CanReply: r.CanReply, Detail: r.Detail, WebhookUrl: r.WebhookURL}
	for _, c := range r.Checks {
		out.Checks = append(out.Checks, &pb.Check{Name: c.Name, Status: c.Status, Detail: c.Detail})
	}
	return out
}

func reportFromPB(p *pb.CheckCredentialsResponse) CredentialsReport {
	out := CredentialsReport{CanReply: p.GetCanReply(), Detail: p.GetDetail(), WebhookURL: p.GetWebhookUrl()}
	for _, c := range p.GetChecks() {
		out.Checks = append(out.Checks, Check{Name: c.GetName(), Status: c.GetStatus(), Detail: c.GetDetail()})
	}
	return out
}

func unreadableToPB(u *Unreadable) *pb.Unreadable {
	if u == nil {
		return nil
	}
	return &pb.Unreadable{Id: u.ID, Reason: u.Reason, Shape: u.Shape}
}

func unreadableFromPB(p *pb.Unreadable) *Unreadable {
	if p == nil {
		return nil
	}
	return &Unreadable{ID: p.GetId(), Reason: p.GetReason(), Shape: p.GetShape()}
}

func alertToPB(a Alert) *pb.Alert {
	return &pb.Alert{IntegrationId: a.IntegrationID, AppId: a.AppID, AppName: a.AppName, Store: a.Store,
		Health: a.Health, Previous: a.Previous, Recovered: a.Recovered, Reason: a.Reason, Since: tsToPB(a.Since),
		Key: a.Key, Title: a.Title, Text: a.Text, StoreName: a.StoreName}
}

func alertFromPB(a *pb.Alert) Alert {
	return Alert{IntegrationID: a.GetIntegrationId(), AppID: a.GetAppId(), AppName: a.GetAppName(), Store: a.GetStore(),
		Health: a.GetHealth(), Previous: a.GetPrevious(), Recovered: a.GetRecovered(), Reason: a.GetReason(),
		Since: tsFromPB(a.GetSince()), Key: a.GetKey(), Title: a.GetTitle(), Text: a.GetText(), StoreName: a.GetStoreName()}
}
