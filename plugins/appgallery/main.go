// Package appgallery is Reviewhub's Huawei AppGallery Connect store plugin:
// it lists an app's reviews through the Comments API (HarmonyOS v2 or
// Android v1, on the account's site) and posts the developer's reply, one
// per review. See README.md.
package appgallery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/appgallery/agc"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/cursor"
	"golang.org/x/sync/errgroup"
)

const version = "1.0.0"

// clockAllowance is how far past this machine's clock a listing reaches.
const clockAllowance = time.Hour

type store struct {
	log    *slog.Logger
	tokens *agc.Tokens
	http   *http.Client
	// now is the clock (tests); nil: time.Now.
	now func() time.Time
}

var _ sdk.StorePlugin = (*store)(nil)

func (s *store) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (*store) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "appgallery", DisplayName: "Huawei AppGallery", Version: version,
		Description: "Huawei AppGallery Connect: reviews and developer replies through the Comments API (HarmonyOS and Android apps).",
		Settings: []sdk.SettingField{
			{Key: "client_id", Label: "Client ID", Required: true, Description: "AppGallery Connect → Users and permissions → API key → Connect API: an API client (project N/A) whose role may read and answer reviews; its client ID"},
			{Key: "client_secret", Label: "Key", Required: true, Secret: true, Description: "the API client's key"},
			{Key: "site", Label: "Site", Default: "cn", Endpoint: true, Example: "de",
				Description: "the data site of the apps: cn (China), de (Germany, Europe), ru (Russia) or sg (Singapore: Asia, Africa, Latin America); the token and the API use its host"},
			{Key: "platform", Label: "Platform", Default: agc.PlatformHarmonyOS, Example: agc.PlatformAndroid,
				Description: "harmonyos (HarmonyOS apps, Comments API v2) or android (Android apps, v1)"},
			{Key: "countries", Label: "Countries", Default: "CN", Example: "CN,HK,MO",
				Description: "comma-separated ISO country codes whose reviews are listed (AppGallery requires them; one site's countries)"},
			{Key: "base_url", Label: "API base URL override", Endpoint: true, Type: sdk.SettingURL, Description: "for tests and the demo; empty: the site's host"},
		},
		// The SDK refuses a longer reply before PostReply is called.
		Store: &sdk.StoreCapabilities{
			CanReply: true, ReplyMaxLength: agc.ReplyMaxLength, CanEditReply: false, CanDeleteReply: false,
			SourceFilters: []sdk.Filter{sdk.FilterCountry}, LocaleKind: sdk.FilterCountry,
			ListingWindow: agc.Window, MinPollInterval: 5 * time.Minute,
		},
	}, nil
}

// client builds the API client of an account; the SDK has checked the
// required settings and filled the defaults.
func (s *store) client(settings sdk.Settings) (*agc.Client, error) {
	base, err := settings.URL("base_url")
	if err != nil {
		return nil, err
	}
	if base == "" {
		site := strings.ToLower(settings.Get("site"))
		if base = agc.Sites[site]; base == "" {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "setting site: %q is not cn, de, ru or sg", settings.Get("site"))
		}
	}
	platform := strings.ToLower(settings.Get("platform"))
	if platform != agc.PlatformHarmonyOS && platform != agc.PlatformAndroid {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "setting platform: %q is not harmonyos or android", settings.Get("platform"))
	}
	return &agc.Client{BaseURL: base, Platform: platform, ClientID: settings.Get("client_id"),
		ClientSecret: settings.Get("client_secret"), Tokens: s.tokens, HTTP: s.http}, nil
}

func countries(settings sdk.Settings, asked []string) ([]string, error) {
	list := settings.List("countries")
	if len(asked) > 0 {
		list = asked
	}
	var out []string
	for _, c := range list {
		c = strings.ToUpper(strings.TrimSpace(c))
		if len(c) != 2 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "country %q is not a two-letter ISO code", c)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "setting countries: name at least one country (AppGallery lists reviews by country)")
	}
	return out, nil
}

// CheckCredentials makes read-only calls: a fresh token and one review of
// the last day.
func (s *store) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	cs, err := countries(req.Settings, nil)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	info, err := cl.NewToken(ctx)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	var rep sdk.CheckCredentialsResponse
	rep.Checks = append(rep.Checks, sdk.Check{Name: "token", Status: sdk.CheckOK,
		Detail: fmt.Sprintf("AppGallery issued a token for API client %s at %s (lives %s)", cl.ClientID, cl.BaseURL, info.TTL)})
	now := s.clock()
	if _, err := cl.List(ctx, agc.ListParams{AppID: req.AppID, Begin: now.Add(-24 * time.Hour), End: now, Countries: cs, Page: 1, Limit: 1}); err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	rep.Checks = append(rep.Checks, sdk.Check{Name: "reviews", Status: sdk.CheckOK,
		Detail: fmt.Sprintf("the reviews of %s in %s are readable (%s)", req.AppID, strings.Join(cs, ","), cl.Platform)})
	// Nothing but a reply shows whether the client's role may reply.
	rep.Checks = append(rep.Checks, sdk.Check{Name: "replying", Status: sdk.CheckWarn,
		Detail: "not checked: only posting a reply shows whether this API client's role may answer reviews, which a check must not do"})
	rep.CanReply = true
	rep.Detail = "reviews of " + req.AppID + " are readable"
	return rep, nil
}

// listState is a listing's paging state: the time window [Lo, Hi] (ms)
// read now, at page Page, inside the 6-month window ending at Top, of a
// listing that ends at Final; Edge holds the ids already listed at
// instant Hi (so a page boundary inside one instant lists nobody twice).
type listState struct {
	Lo, Hi, Top, Final int64
	Page               int
	Edge               []string `json:",omitempty"`
}

// ListReviews reads the reviews changed since the cursor, newest first,
// by narrowing the time window to the oldest review of each page (keyset
// paging): a review edited or added while a listing runs moves above the
// listing's end and does not shift the pages still to come; it is listed
// by the next poll (its time is after the cursor).
func (s *store) ListReviews(ctx context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	cs, err := countries(req.Settings, req.Countries)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	l, err := cursor.Start[listState](req)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	st := l.State
	if req.PageToken == "" {
		st = s.firstState(l.Since)
	}
	if st.Page < 1 || st.Lo > st.Hi || st.Hi > st.Final {
		return sdk.ListReviewsResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "page token holds an impossible window")
	}
	limit := agc.MaxPageSize
	if req.PageSize > 0 && req.PageSize < limit {
		limit = req.PageSize
	}
	page, err := cl.List(ctx, agc.ListParams{AppID: req.AppID, Begin: time.UnixMilli(st.Lo), End: time.UnixMilli(st.Hi),
		Countries: cs, Page: st.Page, Limit: limit})
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	fresh, seen := st.filter(page.Items)
	replies, err := readReplies(ctx, cl, req.AppID, fresh)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	var out sdk.ListReviewsResponse
	out.Reviews, out.Unreadable, _ = cursor.Collect(l, fresh,
		func(raw json.RawMessage) (sdk.Review, error) {
			it, err := agc.Decode(raw)
			if err != nil {
				return sdk.Review{}, err
			}
			return agc.Map(req.AppID, it, replies[string(it.ReviewID)])
		},
		func(raw json.RawMessage, err error) (sdk.Unreadable, bool) {
			u := sdk.Unreadable{ID: agc.IDOf(raw), Reason: err.Error(), Shape: sdk.ShapeOf(raw)}
			s.log.Warn("AppGallery listed a review the plugin cannot read; kept for the operator", "app", req.AppID,
				"review", u.ID, "reason", u.Reason, "shape", u.Shape)
			return u, true
		})
	out.Cursor = l.Cursor()
	if next, more := advance(st, page.HasNext, seen); more {
		out.NextPageToken = l.Next(next)
	}
	return out, nil
}

// firstState is a listing's first window: from the cursor (or 6 months
// back on the first listing) to a little after this machine's now, so a
// review stamped by a clock ahead of ours is not left for later. GUESS:
// the API takes an endTime in the future (a third-party client sends the
// end of the current day).
func (s *store) firstState(since time.Time) listState {
	end := s.clock().Add(clockAllowance).UnixMilli()
	lo := end - agc.Window.Milliseconds()
	if !since.IsZero() {
		// A cursor ahead of the listing's end (this machine's clock went
		// back, or a review was stamped more than clockAllowance ahead):
		// list the end's instant only, keeping the cursor, rather than a
		// window that ends before it starts (refused until the clock
		// catches up). What lies between was listed already.
		lo = min(since.UnixMilli(), end)
	}
	st := listState{Lo: lo, Final: end, Page: 1}
	st.Top = min(lo+agc.Window.Milliseconds(), end)
	st.Hi = st.Top
	return st
}

// filter drops from a page the reviews the page before listed (at the
// window's edge instant) and notes the times of the readable ones.
func (st listState) filter(items []json.RawMessage) ([]json.RawMessage, pageSeen) {
	var seen pageSeen
	var fresh []json.RawMessage
	for _, raw := range items {
		it, err := agc.Decode(raw)
		if err == nil && it.ReviewID != "" && it.Dateline > 0 {
			d, id := int64(it.Dateline), string(it.ReviewID)
			seen.add(d, id)
			if (d == st.Hi || d == st.Lo) && slices.Contains(st.Edge, id) {
				continue // listed on the page before
			}
		}
		fresh = append(fresh, raw)
	}
	return fresh, seen
}

// detailConcurrency bounds the detail reads of one page in flight: a page
// of 100 replied reviews read one by one can outlast the hub's 60-second
// call, every time.
const detailConcurrency = 8

// readReplies reads the detail of every review of a page whose state says
// it may carry a developer reply (agc.Item.MayHaveReply): the list carries
// only devReplyState.
// Up to detailConcurrency reads run at once. A failed read fails the page
// (the hub retries it), rather than passing the review as unreadable; the
// first failure in the page's order is the one reported.
func readReplies(ctx context.Context, cl *agc.Client, appID string, items []json.RawMessage) (map[string]*agc.Item, error) {
	var ids []string
	for _, raw := range items {
		it, err := agc.Decode(raw)
		if err != nil || !it.MayHaveReply() || it.ReviewID == "" {
			continue
		}
		ids = append(ids, string(it.ReviewID))
	}
	details := make([]agc.Item, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(detailConcurrency)
	for i, id := range ids {
		g.Go(func() error {
			d, err := cl.Get(gctx, appID, id)
			if err != nil {
				return fmt.Errorf("reading the reply of review %s: %w", id, err)
			}
			details[i] = d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err // the first failure; the reads after it were cancelled
	}
	replies := make(map[string]*agc.Item, len(ids))
	for i, id := range ids {
		replies[id] = &details[i]
	}
	return replies, nil
}

// pageSeen is what a page told about its readable reviews' times.
type pageSeen struct {
	n                  int
	first, last        int64
	oldest, newest     int64
	atOldest, atNewest []string
}

func (p *pageSeen) add(d int64, id string) {
	if p.n == 0 {
		p.first, p.oldest, p.newest = d, d, d
	}
	p.n++
	p.last = d
	switch {
	case d < p.oldest:
		p.oldest, p.atOldest = d, nil
	case d > p.newest:
		p.newest, p.atNewest = d, nil
	}
	if d == p.oldest {
		p.atOldest = append(p.atOldest, id)
	}
	if d == p.newest {
		p.atNewest = append(p.atNewest, id)
	}
}

// advance is the state after a page: when the page runs newest first
// (what sort 0 is taken to mean, GUESS) the window is narrowed down to the
// page's oldest instant; should it run oldest first, up from its newest;
// a page all at one instant (or with nothing readable) is followed by the
// same window's next page. At a window's end, the next 6-month window up
// to the listing's end.
func advance(st listState, hasNext bool, p pageSeen) (listState, bool) {
	if hasNext {
		switch {
		case p.n == 0:
			st.Page++
		case p.oldest == p.newest:
			st.Page++
			st.Edge = append(st.Edge, p.atOldest...)
		case p.first >= p.last: // newest first
			st.Hi, st.Page, st.Edge = p.oldest, 1, p.atOldest
		default: // oldest first
			st.Lo, st.Page, st.Edge = p.newest, 1, p.atNewest
		}
		return st, true
	}
	if st.Top < st.Final {
		st.Lo = st.Top + 1
		st.Top = min(st.Lo+agc.Window.Milliseconds(), st.Final)
		st.Hi, st.Page, st.Edge = st.Top, 1, nil
		return st, true
	}
	return st, false
}

// PostReply reads the review first (sdk.ReadReplyFirst): its reply with
// the same text is the answer (the hub may ask twice after a crash); a
// different reply already there is refused, as AppGallery takes one reply
// per review and its API has no edit; otherwise the reply is posted with
// the review's country and language and read back.
func (s *store) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.PostReplyResponse{}, err
	}
	var review agc.Item
	current := func(ctx context.Context) (*sdk.DeveloperReply, error) {
		it, err := cl.Get(ctx, req.AppID, req.ReviewID)
		if err != nil {
			return nil, err
		}
		review = it
		if it.DevReplyContent == "" {
			return nil, nil
		}
		r, err := agc.Map(req.AppID, it, &it)
		if err != nil || r.Reply == nil {
			return &sdk.DeveloperReply{Text: it.DevReplyContent, State: "PUBLISHED"}, nil
		}
		return r.Reply, nil
	}
	reply, err := sdk.ReadReplyFirst(ctx, req.Text, current, func(ctx context.Context) (sdk.DeveloperReply, error) {
		if review.DevReplyContent != "" {
			return sdk.DeveloperReply{}, sdk.Errorf(sdk.ErrorKindRefused,
				"review %s already has a developer reply and AppGallery takes one per review (its API offers no edit); change it in AppGallery Connect", req.ReviewID)
		}
		rid := agc.ReplyRequestID(req.AppID, req.ReviewID, req.Text)
		err := cl.Reply(ctx, agc.ReplyParams{Lang: agc.ReplyLang(cl.Platform, review.Lang), AppID: req.AppID,
			ReviewID: req.ReviewID, Content: req.Text, CountryCode: review.CountryCode, RequestID: rid})
		if agc.CodeOf(err) == agc.CodeDuplicate {
			return s.duplicateReply(ctx, cl, req, err)
		}
		if err != nil {
			return sdk.DeveloperReply{}, err
		}
		it, err := cl.Get(ctx, req.AppID, req.ReviewID)
		if err != nil || it.DevReplyContent == "" {
			// GUESS: a reply to a review still in moderation is not shown yet.
			s.log.Warn("AppGallery took the reply but reading it back failed; reporting what was sent", "app", req.AppID,
				"review", req.ReviewID, "error", err)
			return sdk.DeveloperReply{Text: req.Text, State: "PUBLISHED", UpdatedAt: s.clock().UTC()}, nil
		}
		r, err := agc.Map(req.AppID, it, &it)
		if err != nil || r.Reply == nil {
			return sdk.DeveloperReply{Text: it.DevReplyContent, State: "PUBLISHED"}, nil
		}
		return *r.Reply, nil
	})
	return sdk.PostReplyResponse{Reply: reply}, err
}

// duplicateReply answers a reply refused as a duplicate request
// (50010015): its request id is that of the same text to the same review,
// so it was sent before (an answer lost, the hub asking again). The
// review is read back: the same text there is the answer; another text is
// refused as any second reply; no reply yet (a review in moderation, or
// the first request failed after Huawei noted its id) is Unavailable, so
// the hub asks again and the read-first finds it once it shows.
func (s *store) duplicateReply(ctx context.Context, cl *agc.Client, req sdk.PostReplyRequest, dup error) (sdk.DeveloperReply, error) {
	it, err := cl.Get(ctx, req.AppID, req.ReviewID)
	if err != nil {
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.ErrorKindUnavailable,
			"AppGallery took the reply to review %s as a repeat of one sent before, and reading it back failed: %v", req.ReviewID, err)
	}
	switch it.DevReplyContent {
	case req.Text:
		s.log.Info("AppGallery had this reply already (duplicate request id); taking it as the answer", "app", req.AppID, "review", req.ReviewID)
		r, err := agc.Map(req.AppID, it, &it)
		if err != nil || r.Reply == nil {
			return sdk.DeveloperReply{Text: it.DevReplyContent, State: "PUBLISHED"}, nil
		}
		return *r.Reply, nil
	case "":
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.ErrorKindUnavailable,
			"AppGallery took the reply to review %s as a repeat of one sent before (%v) but the review shows no reply yet (in moderation?); asking again later", req.ReviewID, dup)
	default:
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.ErrorKindRefused,
			"review %s already has another developer reply and AppGallery takes one per review (its API offers no edit); change it in AppGallery Connect", req.ReviewID)
	}
}

// DeleteReply: the Comments API has no deletion.
func (*store) DeleteReply(context.Context, sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return sdk.DeleteReplyResponse{}, sdk.Errorf(sdk.ErrorKindUnsupported, "AppGallery's Comments API cannot delete a developer reply")
}

// Main serves the plugin to the hub (go-plugin over gRPC) until the hub
// stops it: cmd/hub-plugin-appgallery and the plugins bundle run it.
func Main() {
	err := sdk.ServeStore(&store{log: sdk.Logger(), tokens: &agc.Tokens{},
		http: sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: agc.MaxResponseBytes})})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
