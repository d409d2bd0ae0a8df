package poll

import (
	"context"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// keepUnreadable records the items of a listed page that the store plugin
// could not map to a review: logged at WARN (reason and shape, never
// values) the first time, counted, and kept for
// GET /api/integrations/{id}/reviews/unreadable. The same item listed again
// (same id) updates the kept one and is logged at DEBUG. A failure to
// record fails the poll, which is retried: nothing is dropped in silence.
func (p *Poller) keepUnreadable(ctx context.Context, in state.Integration, app state.App, items []sdk.Unreadable, res *Result) error {
	for _, u := range items {
		isNew, err := p.DB.KeepUnreadable(ctx, state.Unreadable{
			IntegrationID: in.ID, Kind: state.UnreadableReview, AppID: app.ID, Plugin: app.StorePlugin,
			ItemID: u.ID, Reason: u.Reason, Shape: u.Shape,
		})
		if err != nil {
			return err
		}
		res.Unreadable++
		args := []any{"integration", in.ID, "app", app.ID, "store", app.StorePlugin, "item_id", u.ID,
			"reason", u.Reason, "shape", u.Shape}
		if isNew {
			p.Logger.Warn("listed review unreadable: the store plugin could not map it", args...)
		} else {
			p.Logger.Debug("listed review still unreadable", args...)
		}
	}
	return nil
}
