package translate

import (
	"context"

	"github.com/reviewhub/reviewhub/hub/state"
)

// StateCache is the Cache in the hub's state, shared by every hub of a
// distributed deployment.
type StateCache struct{ DB *state.DB }

func (c StateCache) Get(ctx context.Context, k Key) (Text, bool, error) {
	t, ok, err := c.DB.Translation(ctx, k.Engine, k.To, k.TextHash)
	return Text{Text: t.Text, From: t.From}, ok, err
}

func (c StateCache) Put(ctx context.Context, k Key, t Text) error {
	return c.DB.PutTranslation(ctx, k.Engine, k.To, k.TextHash, state.CachedTranslation{Text: t.Text, From: t.From})
}
