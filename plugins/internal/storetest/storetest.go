// Package storetest holds what the store plugins' tests share: the
// conformance kit's vendor view of a fake store.
package storetest

import (
	"context"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// Fake is what the project's fake stores have in common: reviews put and
// edited, the reply shown, and faults.Faults.
type Fake interface {
	PutReview(appID string, r sdk.Review)
	ReplyText(appID, reviewID string) (string, bool)
	Calls() int
	Fail(n, status int)
	Pending() int
}

// View is the conformance kit's view of a fake store. ListedID, when set,
// is the id the plugin lists a review put as id under (RuStore numbers
// them); nil: the same id.
type View struct {
	Fake
	ListedID func(id string) string
	// ReplyLimit is the longest reply the fake takes (its own constant,
	// not the plugin's): the kit checks the plugin declares no more.
	ReplyLimit int
}

var (
	_ sdktest.StoreVendor       = View{}
	_ sdktest.FaultInjector     = View{}
	_ sdktest.StoreReplyLimiter = View{}
)

// ReplyMaxLength is the fake's own reply limit (0: not known).
func (v View) ReplyMaxLength() int { return v.ReplyLimit }

// PutReview puts r as the fake's PutReview does (an edit when r.ID was
// put before).
func (v View) PutReview(_ context.Context, appID string, r sdk.Review) (string, error) {
	v.Fake.PutReview(appID, r)
	if v.ListedID != nil {
		return v.ListedID(r.ID), nil
	}
	return r.ID, nil
}

// Reply is the reply the fake shows for a review.
func (v View) Reply(_ context.Context, appID, reviewID string) (string, bool, error) {
	text, ok := v.ReplyText(appID, reviewID)
	return text, ok, nil
}
