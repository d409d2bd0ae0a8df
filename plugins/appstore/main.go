// Package appstore is Reviewhub's App Store plugin: with an App Store
// Connect API key it lists customer reviews and publishes, replaces and
// deletes developer responses; without a key it reads the public
// customer-reviews feed, so reviews still flow, and refuses replies. See
// README.md.
package appstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/appstore/asc"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/cursor"
)

const (
	version        = "1.0.0"
	defaultBase    = "https://api.appstoreconnect.apple.com"
	defaultFeed    = "https://itunes.apple.com"
	defaultFeedCCs = "us,gb,de,fr,it,es,ru,jp,cn,kr,br,ca,au,in,nl,se,tr,mx"
	pageLimit      = 200
	// defaultOverlap is how far behind the cursor a listing reads again:
	// Apple's reviews carry only createdDate, and one published late (or an
	// edit that keeps its date) would otherwise fall behind a cursor that a
	// faster review has already moved. The hub delivers nothing for a review
	// listed again unchanged.
	defaultOverlap = 48 * time.Hour
	maxOverlap     = 30 * 24 * time.Hour
)

type store struct {
	log    *slog.Logger
	tokens *asc.Tokens
	http   *http.Client
}

func (*store) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "appstore", DisplayName: "App Store", Version: version,
		Description: "App Store: customer reviews and developer responses through the App Store Connect API, or the public reviews feed without a key.",
		Settings: []sdk.SettingField{
			{Key: "issuer_id", Label: "Issuer ID", Description: "team keys: App Store Connect → Users and Access → Integrations → App Store Connect API; leave empty for an individual key (your user profile → Individual API Key)"},
			{Key: "key_id", Label: "Key ID"},
			{Key: "private_key", Label: "Private key (.p8)", Secret: true, Multiline: true, Description: "the downloaded AuthKey_KEYID.p8 file's content"},
			{Key: "countries", Label: "Countries of the public feed", Example: "us,gb,jp", Description: "without a key: which storefronts' feeds to read (ISO codes); default " + defaultFeedCCs},
			{Key: "overlap_hours", Label: "Overlap (hours)", Example: "48", Description: "how far behind the newest review seen each poll reads again, so reviews Apple publishes late or that keep their date when edited are not missed; default 48, 0 turns it off; each poll reads at least the reviews of this window",
				Type: sdk.SettingNumber, Min: "0", Max: strconv.Itoa(int(maxOverlap.Hours())), Default: strconv.Itoa(int(defaultOverlap.Hours()))},
			{Key: "base_url", Label: "API base URL override", Description: "for tests; default " + defaultBase, Endpoint: true, Default: defaultBase, Type: sdk.SettingURL},
			{Key: "feed_base_url", Label: "Feed base URL override", Description: "for tests; default " + defaultFeed, Endpoint: true, Default: defaultFeed, Type: sdk.SettingURL},
		},
		Store: &sdk.StoreCapabilities{
			CanReply: true, ReplyMaxLength: asc.ReplyMaxLength, CanEditReply: true, CanDeleteReply: true,
			SourceFilters: []string{sdk.FilterCountry}, LocaleKind: sdk.FilterCountry, PublicListing: true,
			MinPollInterval: time.Minute, History: historyCaps,
			// Apple counts requests per key over a rolling hour; 3,500 is the
			// limit its documentation shows (README: Rate limits).
			Quotas: []sdk.QuotaBucket{{Name: "App Store Connect key", Per: []string{"issuer_id", "key_id"},
				Limit: 3500, Window: time.Hour}},
		},
	}, nil
}

// client returns the API client, or nil when no key is configured (feed mode).
func (s *store) client(settings sdk.Settings) (*asc.Client, error) {
	iss, kid, pk := strings.TrimSpace(settings["issuer_id"]), strings.TrimSpace(settings["key_id"]), strings.TrimSpace(settings["private_key"])
	if iss == "" && kid == "" && pk == "" {
		return nil, nil
	}
	var missing []string
	for k, v := range map[string]string{"key_id": kid, "private_key": pk} { // issuer_id: team keys only
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "App Store Connect key incomplete: %s missing (a team key needs issuer_id, key_id and private_key, an individual key key_id and private_key; none reads the public feed)", strings.Join(missing, ", "))
	}
	key, err := asc.ParseKey(iss, kid, pk)
	if err != nil {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "%v", err)
	}
	base, err := settings.URL("base_url")
	if err != nil {
		return nil, err
	}
	if base == "" { // called without the SDK's defaults (in-process tests)
		base = defaultBase
	}
	return &asc.Client{BaseURL: base, Key: key, Tokens: s.tokens, HTTP: s.http}, nil
}

// overlap reads the overlap_hours setting: a number between 0 and
// maxOverlap's hours, its default filled and its form and range checked by
// the SDK before the call (the setting's Type, Min, Max and Default).
func overlap(settings sdk.Settings) (time.Duration, error) {
	h, err := settings.Float("overlap_hours")
	if err != nil {
		return 0, err
	}
	return time.Duration(h * float64(time.Hour)), nil
}

// CheckCredentials makes read-only calls only: one page of the app's
// reviews (the token is accepted, the key sees the app), and what the
// answer's headers tell (rate limit left, Apple's clock).
func (s *store) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	settings, appID := req.Settings, req.AppID
	cl, err := s.client(settings)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	if _, err := overlap(settings); err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	if cl == nil {
		cc := feedCountries(settings, nil)[0]
		reviews, bad, err := s.feedPage(ctx, settings, appID, cc, 1)
		if err != nil {
			return sdk.CheckCredentialsResponse{}, err
		}
		checks := []sdk.Check{{Name: "public feed", Status: sdk.CheckOK, Detail: fmt.Sprintf("page 1 of the %s feed read: %d reviews", strings.ToUpper(cc), len(reviews))},
			{Name: "replies", Status: sdk.CheckWarn, Detail: "no App Store Connect key: replies are refused"}}
		if len(bad) > 0 {
			checks = append(checks, sdk.Check{Name: "feed entries", Status: sdk.CheckWarn, Detail: fmt.Sprintf("%d entries could not be read: %s", len(bad), bad[0].Reason)})
		}
		return sdk.CheckCredentialsResponse{CanReply: false, Detail: "no App Store Connect key: reviews come from the public feed and replies are refused", Checks: checks}, nil
	}
	resp, err := cl.ListPage(ctx, asc.ReviewsURL(appID, nil, 1))
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	kind := "team key " + cl.Key.KeyID + " of issuer " + cl.Key.IssuerID
	if cl.Key.Individual() {
		kind = "individual key " + cl.Key.KeyID
	}
	checks := []sdk.Check{
		{Name: "token", Status: sdk.CheckOK, Detail: "App Store Connect accepted the ES256 token of " + kind},
		{Name: "reviews", Status: sdk.CheckOK, Detail: fmt.Sprintf("one page of app %s's customer reviews read (%d in all)", appID, resp.Meta.Paging.Total)},
		// Apple has no read-only call that tells an API key's role: keys are
		// not users, and listing reviews works for roles that may not answer.
		{Name: "reply role", Status: sdk.CheckWarn, Detail: "unknown until the first reply: no read-only App Store Connect call tells an API key's role; answering needs " + asc.ReplyRoles + ", a key without it gets 403 FORBIDDEN_ERROR"},
	}
	if rl, ok := cl.LastRateLimit(); !ok {
		checks = append(checks, sdk.Check{Name: "rate limit", Status: sdk.CheckWarn, Detail: "Apple's answer carried no readable X-Rate-Limit"})
	} else {
		st := sdk.CheckOK
		if rl.Remaining*10 < rl.Limit {
			st = sdk.CheckWarn
		}
		checks = append(checks, sdk.Check{Name: "rate limit", Status: st, Detail: fmt.Sprintf("%d of %d requests left in the rolling hour (shared by every app using this key)", rl.Remaining, rl.Limit)})
	}
	if d := cl.LastDate(); !d.IsZero() {
		skew := time.Since(d).Round(time.Second)
		st, detail := sdk.CheckOK, fmt.Sprintf("this clock and Apple's differ by %s", skew.Abs())
		if skew.Abs() > time.Minute {
			st, detail = sdk.CheckWarn, detail+": Apple judges the tokens' iat and exp by its own clock"
		}
		checks = append(checks, sdk.Check{Name: "clock", Status: st, Detail: detail})
	}
	return sdk.CheckCredentialsResponse{CanReply: true, Detail: "App Store Connect " + kind + " works for app " + appID + "; whether its role may answer is known at the first reply", Checks: checks}, nil
}

// pageState is where a listing goes on: the API's links.next, or the
// feed's country and page.
type pageState struct {
	Next    string `json:"n,omitempty"`
	Country int    `json:"c,omitempty"`
	Page    int    `json:"p,omitempty"`
}

func (s *store) ListReviews(ctx context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	l, err := startListing(req)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	if cl == nil {
		return s.listFeed(ctx, req, l)
	}
	pageURL := l.State.Next
	if pageURL == "" {
		var territories []string
		for _, c := range req.Countries {
			if t := asc.Alpha3(c); t != "" && !slices.Contains(territories, t) {
				territories = append(territories, t)
			}
		}
		if len(req.Countries) > 0 && len(territories) == 0 {
			// None of the countries has an App Store: nothing can match.
			s.log.Info("no App Store territory for the app's country filter", "app", req.AppID, "countries", req.Countries)
			return sdk.ListReviewsResponse{Cursor: l.Cursor()}, nil
		}
		pageURL = asc.ReviewsURL(req.AppID, territories, pageLimit)
	}
	resp, err := cl.ListPage(ctx, pageURL)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	var page sdk.ListReviewsResponse
	var reachedWindow bool // newest first: once reached, everything after is older
	page.Reviews, page.Unreadable, reachedWindow = cursor.Collect(l, resp.Data,
		func(r asc.Resource) (sdk.Review, error) { return asc.MapReview(req.AppID, r, resp.Included) },
		func(r asc.Resource, err error) (sdk.Unreadable, bool) {
			raw, _ := json.Marshal(r)
			return sdk.Unreadable{ID: r.ID, Reason: err.Error(), Shape: sdk.ShapeOf(raw)}, true
		})
	page.Cursor = l.Cursor()
	if resp.Links.Next != "" && !reachedWindow {
		page.NextPageToken = l.Next(pageState{Next: resp.Links.Next})
	}
	return page, nil
}

// startListing begins a listing whose window reaches the overlap behind the
// cursor: reviews from there on are listed (again), while the cursor stays
// the newest date seen.
func startListing(req sdk.ListReviewsRequest) (*cursor.Listing[pageState], error) {
	ov, err := overlap(req.Settings)
	if err != nil {
		return nil, err
	}
	l, err := cursor.Start[pageState](req)
	if err != nil {
		return nil, err
	}
	if !l.Since.IsZero() {
		l.Since = l.Since.Add(-ov)
	}
	return l, nil
}

// feedCountries are the storefronts the feed is read for: the app's
// country filter if any, else the countries setting, else a default list.
func feedCountries(settings sdk.Settings, filter []string) []string {
	var out []string
	add := func(list []string) {
		for _, c := range list {
			if a2 := asc.Alpha2(c); a2 != "" && !slices.Contains(out, strings.ToLower(a2)) {
				out = append(out, strings.ToLower(a2))
			}
		}
	}
	add(filter)
	if len(out) == 0 {
		add(strings.Split(settings["countries"], ","))
	}
	if len(out) == 0 {
		add(strings.Split(defaultFeedCCs, ","))
	}
	return out
}

func (s *store) feedPage(ctx context.Context, settings sdk.Settings, appID, country string, page int) ([]sdk.Review, []sdk.Unreadable, error) {
	base := settings.Get("feed_base_url")
	if base == "" { // called without the SDK's defaults (in-process tests)
		base = defaultFeed
	}
	u := asc.FeedURL(base, country, appID, page)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, sdk.Errorf(sdk.ErrorKindInvalid, "app store feed: %v", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, nil, sdk.Errorf(sdk.ErrorKindUnavailable, "app store feed %s: %v", country, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, sdk.Errorf(sdk.ErrorKindUnavailable, "app store feed %s: %v", country, err)
	}
	switch {
	// The public feed takes no credentials, so a 403 refuses nothing but the
	// rate: it is throttling, waited out like a 429 (README, "wait after a
	// 429": derived, Apple documents neither).
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden:
		// The feed throttles with 403 as well, and names no wait.
		return nil, nil, sdk.RetryAfterError(5*time.Minute, "the public App Store feed is throttling (%d)", resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound:
		return nil, nil, sdk.Errorf(sdk.ErrorKindNotFound, "the public App Store feed has no app %s in %s", appID, strings.ToUpper(country))
	case resp.StatusCode != http.StatusOK:
		return nil, nil, sdk.HTTPError(resp.StatusCode, resp.Header, "app store feed %s: %d", country, resp.StatusCode)
	}
	reviews, bad, err := asc.ParseFeed(appID, country, body)
	if err != nil {
		return nil, nil, sdk.Errorf(sdk.ErrorKindUnavailable, "app store feed %s page %d: %v", country, page, err)
	}
	return reviews, bad, nil
}

func (s *store) listFeed(ctx context.Context, req sdk.ListReviewsRequest, l *cursor.Listing[pageState]) (sdk.ListReviewsResponse, error) {
	countries := feedCountries(req.Settings, req.Countries)
	st := l.State
	if st.Page == 0 {
		st.Page = 1
	}
	if st.Country >= len(countries) {
		return sdk.ListReviewsResponse{Cursor: l.Cursor()}, nil
	}
	reviews, bad, err := s.feedPage(ctx, req.Settings, req.AppID, countries[st.Country], st.Page)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	page := sdk.ListReviewsResponse{Unreadable: bad}
	older := false
	for _, r := range reviews {
		if !l.Keep(r.UpdatedAt) {
			older = true
			continue
		}
		page.Reviews = append(page.Reviews, r)
	}
	page.Cursor = l.Cursor()
	next := st
	if older || len(reviews)+len(bad) == 0 || st.Page >= asc.FeedPages {
		next.Country, next.Page = st.Country+1, 1
	} else {
		next.Page++
	}
	if next.Country < len(countries) {
		page.NextPageToken = l.Next(next)
	}
	return page, nil
}

// PostReply reads the review first (sdk.ReadReplyFirst): after a crash
// the hub may ask again for a reply already published. The SDK has
// refused an empty or over-long text before.
func (s *store) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.PostReplyResponse{}, err
	}
	if cl == nil {
		return sdk.PostReplyResponse{}, sdk.Errorf(sdk.ErrorKindRefused, "App Store replies need an App Store Connect API key (key id and .p8 private key, and the issuer id of a team key); this app reads the public feed only")
	}
	current := func(ctx context.Context) (*sdk.DeveloperReply, error) {
		cur, err := cl.Review(ctx, req.AppID, req.ReviewID)
		if err != nil {
			return nil, err
		}
		return cur.Reply, nil
	}
	rep, err := sdk.ReadReplyFirst(ctx, req.Text, current, func(ctx context.Context) (sdk.DeveloperReply, error) {
		rep, err := cl.Respond(ctx, req.ReviewID, req.Text)
		if err != nil {
			return sdk.DeveloperReply{}, err
		}
		return *rep, nil
	})
	return sdk.PostReplyResponse{Reply: rep}, err
}

func (s *store) DeleteReply(ctx context.Context, req sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.DeleteReplyResponse{}, err
	}
	if cl == nil {
		return sdk.DeleteReplyResponse{}, sdk.Errorf(sdk.ErrorKindRefused, "deleting an App Store response needs an App Store Connect API key")
	}
	id := req.ReplyID
	if id == "" {
		cur, err := cl.Review(ctx, req.AppID, req.ReviewID)
		if err != nil {
			return sdk.DeleteReplyResponse{}, err
		}
		if cur.Reply == nil {
			return sdk.DeleteReplyResponse{}, nil // nothing to delete
		}
		id = cur.Reply.ID
	}
	err = cl.DeleteResponse(ctx, id)
	if sdk.KindOf(err) == sdk.ErrorKindNotFound {
		// Already gone (the hub may ask again after a crash): done.
		s.log.Info("App Store response already deleted", "app", req.AppID, "review", req.ReviewID, "response", id)
		return sdk.DeleteReplyResponse{}, nil
	}
	if err != nil {
		return sdk.DeleteReplyResponse{}, fmt.Errorf("delete response %s: %w", id, err)
	}
	return sdk.DeleteReplyResponse{}, nil
}

// Main serves the plugin to the hub (go-plugin over gRPC) until the hub
// stops it: cmd/hub-plugin-appstore and the plugins bundle run it.
func Main() {
	err := sdk.ServeStore(&store{log: sdk.Logger(), tokens: &asc.Tokens{},
		http: sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: asc.MaxResponseBytes})})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
