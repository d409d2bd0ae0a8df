package appstore

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/reviewhub/reviewhub/plugins/appstore/asc"
	"github.com/reviewhub/reviewhub/sdk"
)

// historyCaps: App Store Connect's customerReviews list pages through
// every review of the app, in every territory, newest first (sort
// -createdDate, links.next, limit 200). The public feed (no key) holds
// only about 500 recent reviews a country: no history there.
var historyCaps = &sdk.HistoryCapabilities{
	RequiresSettings: []string{"key_id", "private_key"},
	Source: "the App Store Connect API's customerReviews list, every page and territory, newest first; " +
		"not the public feed (about 500 recent reviews a country)",
}

// historyState is History's cursor: the next page's links.next and the
// reviews read before it.
type historyState struct {
	Next string `json:"n"`
	Read int64  `json:"r,omitempty"`
}

func (h historyState) cursor() string {
	b, _ := json.Marshal(h)
	return base64.RawURLEncoding.EncodeToString(b)
}

// History pages through the app's customer reviews newest first and
// returns those created in [From, To) (Apple dates a review only by its
// createdDate; an edit brings a new date). It stops at the first page
// that reaches before From. Done counts the reviews read, Total is
// Apple's meta.paging.total.
func (s *store) History(ctx context.Context, req sdk.HistoryRequest) (sdk.HistoryResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	if cl == nil {
		return sdk.HistoryResponse{}, sdk.Errorf(sdk.ErrorKindUnsupported,
			"no App Store Connect key: the public reviews feed holds only about 500 recent reviews a country, so there is no history to import; configure an App Store Connect API key (key_id, private_key)")
	}
	limit := pageLimit // Apple's maximum
	if req.PageSize > 0 && req.PageSize < limit {
		limit = req.PageSize
	}
	st := historyState{Next: asc.ReviewsURL(req.AppID, nil, limit)}
	if req.Cursor != "" {
		b, derr := base64.RawURLEncoding.DecodeString(req.Cursor)
		if derr != nil || json.Unmarshal(b, &st) != nil || st.Next == "" {
			return sdk.HistoryResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "history cursor %q is not this plugin's", req.Cursor)
		}
	}
	resp, err := cl.ListPage(ctx, st.Next)
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	var out sdk.HistoryResponse
	reachedFrom := false
	for _, r := range resp.Data {
		rv, err := asc.MapReview(req.AppID, r, resp.Included)
		if err != nil {
			raw, _ := json.Marshal(r)
			out.Unreadable = append(out.Unreadable, sdk.Unreadable{ID: r.ID, Reason: err.Error(), Shape: sdk.ShapeOf(raw)})
			continue
		}
		switch {
		case rv.UpdatedAt.Before(req.From):
			reachedFrom = true // newest first: everything after is older
		case rv.UpdatedAt.Before(req.To):
			out.Reviews = append(out.Reviews, rv)
		}
	}
	st.Read += int64(len(resp.Data))
	out.Done, out.Total = st.Read, int64(resp.Meta.Paging.Total)
	if resp.Links.Next != "" && !reachedFrom {
		out.NextCursor = historyState{Next: resp.Links.Next, Read: st.Read}.cursor()
	} else if out.Total > 0 {
		out.Done = out.Total // the rest is older than the range
	}
	return out, nil
}
