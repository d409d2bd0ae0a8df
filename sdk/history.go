package sdk

import (
	"context"
	"time"

	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
)

// HistoryLister is optional for a StorePlugin (SDK v0.3): it lists an app's
// reviews changed in a time range beyond the live listing (ListingWindow),
// from wherever the store keeps them (Google Play: the monthly reports in
// Cloud Storage). A plugin that implements it declares
// StoreCapabilities.History. A plugin without it, or built with an older
// SDK, answers ErrorKindUnsupported (IsUnsupported), and so may a plugin
// that implements it when the account lacks what History needs (a setting):
// the message says what.
//
// Contract (checked by sdktest's history suite):
//   - a page's reviews changed in [From, To) only, each at most once;
//   - NextCursor empty on the last page; the hub may call again with any
//     cursor it was given (after a crash), so a cursor stays valid;
//   - review ids are the ones ListReviews gives for the same review, so a
//     review seen both ways is one review to the hub;
//   - where the live listing and the history both hold a review, the
//     listing's version is the newer or equal one: a plugin merging the two
//     returns the listing's version inside ListingWindow.
type HistoryLister interface {
	History(ctx context.Context, req HistoryRequest) (HistoryResponse, error)
}

// HistoryCapabilities describe what History can list.
type HistoryCapabilities struct {
	// Reach is how far back the history goes; 0: as far as the store keeps
	// reviews.
	Reach time.Duration
	// Lag is how long after a change the history may still lack it (Google
	// Play's reports: up to 7 days).
	Lag time.Duration
	// RequiresSettings are setting keys History needs (e.g.
	// "reports_bucket"); without them it answers ErrorKindUnsupported.
	RequiresSettings []string
	// Source says, for people, where the history comes from.
	Source string
}

// HistoryRequest asks for one page of an app's reviews whose last change
// lies in [From, To).
type HistoryRequest struct {
	Settings Settings
	AppID    string
	From, To time.Time
	// Cursor is the previous page's NextCursor; empty for the first page.
	Cursor string
	// PageSize is a hint.
	PageSize int
}

// HistoryResponse is one page of History.
type HistoryResponse struct {
	Reviews    []Review
	Unreadable []Unreadable
	// NextCursor is empty when the range is done.
	NextCursor string
	// Done and Total are the progress through the range in the plugin's
	// own units (bytes, rows); Total 0: unknown.
	Done, Total int64
	// RatingOnly counts reviews of this page left out because they hold a
	// rating without text and the account does not ticket those.
	RatingOnly int64
	// CompleteUntil: the store's history is complete up to this instant
	// (its lag); zero: complete up to To.
	CompleteUntil time.Time
}

// IsUnsupported reports whether err says the operation does not exist for
// this plugin or account (ErrorKindUnsupported).
func IsUnsupported(err error) bool { return KindOf(err) == ErrorKindUnsupported }

// History lists history through impl when it is a HistoryLister, else it
// answers ErrorKindUnsupported: what the hub and the kit call on any
// StorePlugin.
func History(ctx context.Context, impl StorePlugin, req HistoryRequest) (HistoryResponse, error) {
	h, ok := impl.(HistoryLister)
	if !ok {
		return HistoryResponse{}, &Error{Kind: ErrorKindUnsupported, Op: "history", Message: "this store plugin cannot list reviews beyond its live listing"}
	}
	return h.History(ctx, req)
}

func (c checkedStore) History(ctx context.Context, req HistoryRequest) (HistoryResponse, error) {
	if _, ok := c.impl.(HistoryLister); !ok {
		return History(ctx, c.impl, req)
	}
	if req.From.IsZero() || req.To.IsZero() || !req.From.Before(req.To) {
		return HistoryResponse{}, Errorf(ErrorKindInvalid, "history: the range [%s, %s) is empty or open; give from before to",
			req.From.Format(time.RFC3339), req.To.Format(time.RFC3339))
	}
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return HistoryResponse{}, err
	}
	return c.impl.(HistoryLister).History(ctx, req)
}

func (s *storeServer) History(ctx context.Context, r *pb.HistoryRequest) (*pb.HistoryResponse, error) {
	ctx, report := serveCounted(ctx)
	defer report()
	page, err := History(ctx, s.impl, HistoryRequest{Settings: r.GetSettings(), AppID: r.GetAppId(),
		From: tsFromPB(r.GetFrom()), To: tsFromPB(r.GetTo()), Cursor: r.GetCursor(), PageSize: int(r.GetPageSize())})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.HistoryResponse{NextCursor: page.NextCursor, Done: page.Done, Total: page.Total, RatingOnly: page.RatingOnly,
		CompleteUntil: tsToPB(page.CompleteUntil)}
	for _, rv := range page.Reviews {
		out.Reviews = append(out.Reviews, reviewToPB(rv))
	}
	for _, u := range page.Unreadable {
		out.Unreadable = append(out.Unreadable, unreadableToPB(&u))
	}
	return out, nil
}

// History calls the plugin's History; a plugin built before SDK v0.3
// answers UNIMPLEMENTED, which is ErrorKindUnsupported here.
func (c *storeClient) History(ctx context.Context, req HistoryRequest) (HistoryResponse, error) {
	trailer, counted := countedCall(ctx)
	defer counted()
	r, err := c.c.History(ctx, &pb.HistoryRequest{Settings: req.Settings, AppId: req.AppID,
		From: tsToPB(req.From), To: tsToPB(req.To), Cursor: req.Cursor, PageSize: int32(req.PageSize)}, trailer)
	if err != nil {
		return HistoryResponse{}, fromStatus("history", err)
	}
	page := HistoryResponse{NextCursor: r.GetNextCursor(), Done: r.GetDone(), Total: r.GetTotal(), RatingOnly: r.GetRatingOnly(),
		CompleteUntil: tsFromPB(r.GetCompleteUntil())}
	for _, rv := range r.GetReviews() {
		page.Reviews = append(page.Reviews, reviewFromPB(rv))
	}
	for _, u := range r.GetUnreadable() {
		page.Unreadable = append(page.Unreadable, *unreadableFromPB(u))
	}
	return page, nil
}
