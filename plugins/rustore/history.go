package rustore

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/reviewhub/reviewhub/plugins/rustore/rustore"
	"github.com/reviewhub/reviewhub/sdk"
)

// historyCaps: RuStore's public API pages through every comment of an app
// (the same list as the live listing, which reads every page), so its
// history reaches as far as RuStore keeps comments, without lag.
var historyCaps = &sdk.HistoryCapabilities{
	Source: "the RuStore Public API's comment list, every page (the live listing's list, filtered by each comment's last change)",
}

// History pages through the app's comments (the cursor is the next page's
// number) and returns those whose last change lies in [From, To). The
// list's order is not documented, so every page is read; Done counts the
// comments read (Total is unknown).
func (s *store) History(ctx context.Context, req sdk.HistoryRequest) (sdk.HistoryResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	page := 0
	if req.Cursor != "" {
		if page, err = strconv.Atoi(req.Cursor); err != nil || page < 0 {
			return sdk.HistoryResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "history cursor %q is not a RuStore page number", req.Cursor)
		}
	}
	answers, err := s.answersFor(ctx, cl, req.AppID, page == 0)
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	comments, err := cl.Comments(ctx, req.AppID, page, pageSize)
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	var out sdk.HistoryResponse
	for _, raw := range comments {
		r, err := mapRaw(req.AppID, raw, answers)
		if err != nil {
			u := sdk.Unreadable{ID: rustore.CommentIDOf(raw), Reason: err.Error(), Shape: sdk.ShapeOf(json.RawMessage(raw))}
			s.log.Warn("RuStore listed a review the plugin cannot read; kept for the operator", "app", req.AppID,
				"comment", u.ID, "reason", u.Reason, "shape", u.Shape)
			out.Unreadable = append(out.Unreadable, u)
			continue
		}
		changed := r.UpdatedAt
		if changed.IsZero() {
			changed = r.CreatedAt
		}
		if !changed.Before(req.From) && changed.Before(req.To) {
			out.Reviews = append(out.Reviews, r)
		}
	}
	out.Done = int64(page*pageSize + len(comments))
	if len(comments) == pageSize {
		out.NextCursor = strconv.Itoa(page + 1)
	}
	return out, nil
}
