// Command appstore is Reviewhub's App Store plugin: with an App Store
// Connect API key it lists customer reviews and publishes, replaces and
// deletes developer responses; without a key it reads the public
// customer-reviews feed, so reviews still flow, and refuses replies. See
// README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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
)

type store struct {
	log    *slog.Logger
	tokens *asc.Tokens
	http   *http.Client
}

func (*store) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name: "appstore", Version: version,
		Description: "App Store: customer reviews and developer responses through the App Store Connect API, or the public reviews feed without a key.",
		Settings: []sdk.SettingField{
			{Key: "issuer_id", Label: "Issuer ID", Description: "App Store Connect → Users and Access → Integrations → App Store Connect API"},
			{Key: "key_id", Label: "Key ID"},
			{Key: "private_key", Label: "Private key (.p8)", Secret: true, Multiline: true, Description: "the downloaded AuthKey_KEYID.p8 file's content"},
			{Key: "countries", Label: "Countries of the public feed", Example: "us,gb,jp", Description: "without a key: which storefronts' feeds to read (ISO codes); default " + defaultFeedCCs},
			{Key: "base_url", Label: "API base URL override", Description: "for tests; default " + defaultBase},
			{Key: "feed_base_url", Label: "Feed base URL override", Description: "for tests; default " + defaultFeed},
		},
		Store: &sdk.StoreCapabilities{
			CanReply: true, ReplyMaxLength: asc.ReplyMaxLength, CanEditReply: true, CanDeleteReply: true,
			SourceFilters: []string{sdk.FilterCountry}, LocaleKind: sdk.FilterCountry, PublicListing: true,
			MinPollInterval: time.Minute,
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
	for k, v := range map[string]string{"issuer_id": iss, "key_id": kid, "private_key": pk} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, sdk.Errorf(sdk.Invalid, "App Store Connect key incomplete: %s missing (give all three, or none to read the public feed)", strings.Join(missing, ", "))
	}
	key, err := asc.ParseKey(iss, kid, pk)
	if err != nil {
		return nil, sdk.Errorf(sdk.Invalid, "%v", err)
	}
	base := strings.TrimSpace(settings["base_url"])
	if base == "" {
		base = defaultBase
	}
	return &asc.Client{BaseURL: strings.TrimRight(base, "/"), Key: key, Tokens: s.tokens, HTTP: s.http}, nil
}

func (s *store) CheckCredentials(ctx context.Context, settings sdk.Settings, appID string) (sdk.CredentialsReport, error) {
	cl, err := s.client(settings)
	if err != nil {
		return sdk.CredentialsReport{}, err
	}
	if cl == nil {
		if _, err := s.feedPage(ctx, settings, appID, feedCountries(settings, nil)[0], 1); err != nil {
			return sdk.CredentialsReport{}, err
		}
		return sdk.CredentialsReport{CanReply: false, Detail: "no App Store Connect key: reviews come from the public feed and replies are refused"}, nil
	}
	if _, err := cl.ListPage(ctx, asc.ReviewsURL(appID, nil, 1)); err != nil {
		return sdk.CredentialsReport{}, err
	}
	return sdk.CredentialsReport{CanReply: true, Detail: "App Store Connect API key works for app " + appID}, nil
}

// pageState is where a listing goes on: the API's links.next, or the
// feed's country and page.
type pageState struct {
	Next    string `json:"n,omitempty"`
	Country int    `json:"c,omitempty"`
	Page    int    `json:"p,omitempty"`
}

func (s *store) ListReviews(ctx context.Context, req sdk.ListRequest) (sdk.ReviewPage, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	l, err := cursor.Start[pageState](req)
	if err != nil {
		return sdk.ReviewPage{}, err
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
			return sdk.ReviewPage{Cursor: l.Cursor()}, nil
		}
		pageURL = asc.ReviewsURL(req.AppID, territories, pageLimit)
	}
	resp, err := cl.ListPage(ctx, pageURL)
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	var page sdk.ReviewPage
	reachedCursor := false
	for _, r := range resp.Data {
		rv, err := asc.MapReview(req.AppID, r, resp.Included)
		if err != nil {
			s.log.Warn("App Store Connect listed a review the plugin cannot read; skipped", "app", req.AppID, "error", err)
			continue
		}
		if !l.Keep(rv.UpdatedAt) {
			reachedCursor = true // newest first: everything after is older
			continue
		}
		page.Reviews = append(page.Reviews, rv)
	}
	page.Cursor = l.Cursor()
	if resp.Links.Next != "" && !reachedCursor {
		page.NextPageToken = l.Next(pageState{Next: resp.Links.Next})
	}
	return page, nil
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

func (s *store) feedPage(ctx context.Context, settings sdk.Settings, appID, country string, page int) ([]sdk.Review, error) {
	base := strings.TrimSpace(settings["feed_base_url"])
	if base == "" {
		base = defaultFeed
	}
	u := asc.FeedURL(base, country, appID, page)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, sdk.Errorf(sdk.Invalid, "app store feed: %v", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, sdk.Errorf(sdk.Unavailable, "app store feed %s: %v", country, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, sdk.Errorf(sdk.Unavailable, "app store feed %s: %v", country, err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden:
		return nil, sdk.RetryAfterError(5*time.Minute, "the public App Store feed is throttling (%d)", resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound:
		return nil, sdk.Errorf(sdk.NotFound, "the public App Store feed has no app %s in %s", appID, strings.ToUpper(country))
	case resp.StatusCode >= 500:
		return nil, sdk.Errorf(sdk.Unavailable, "app store feed %s: %d", country, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, sdk.Errorf(sdk.Invalid, "app store feed %s: %d", country, resp.StatusCode)
	}
	reviews, err := asc.ParseFeed(appID, country, body)
	if err != nil {
		return nil, sdk.Errorf(sdk.Unavailable, "app store feed %s page %d: %v", country, page, err)
	}
	return reviews, nil
}

func (s *store) listFeed(ctx context.Context, req sdk.ListRequest, l *cursor.Listing[pageState]) (sdk.ReviewPage, error) {
	countries := feedCountries(req.Settings, req.Countries)
	st := l.State
	if st.Page == 0 {
		st.Page = 1
	}
	if st.Country >= len(countries) {
		return sdk.ReviewPage{Cursor: l.Cursor()}, nil
	}
	reviews, err := s.feedPage(ctx, req.Settings, req.AppID, countries[st.Country], st.Page)
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	var page sdk.ReviewPage
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
	if older || len(reviews) == 0 || st.Page >= asc.FeedPages {
		next.Country, next.Page = st.Country+1, 1
	} else {
		next.Page++
	}
	if next.Country < len(countries) {
		page.NextPageToken = l.Next(next)
	}
	return page, nil
}

func (s *store) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.DeveloperReply, error) {
	if n := utf8.RuneCountInString(req.Text); n > asc.ReplyMaxLength {
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.Refused, "App Store responses are limited to %d characters, this one has %d", asc.ReplyMaxLength, n)
	}
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.DeveloperReply{}, err
	}
	if cl == nil {
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.Refused, "App Store replies need an App Store Connect API key (issuer id, key id and .p8 private key); this app reads the public feed only")
	}
	// Idempotent: after a crash the hub may ask again for a published reply.
	cur, err := cl.Review(ctx, req.AppID, req.ReviewID)
	if err != nil {
		return sdk.DeveloperReply{}, err
	}
	if cur.Reply != nil && cur.Reply.Text == req.Text {
		return *cur.Reply, nil
	}
	rep, err := cl.Respond(ctx, req.ReviewID, req.Text)
	if err != nil {
		return sdk.DeveloperReply{}, err
	}
	return *rep, nil
}

func (s *store) DeleteReply(ctx context.Context, req sdk.DeleteReplyRequest) error {
	cl, err := s.client(req.Settings)
	if err != nil {
		return err
	}
	if cl == nil {
		return sdk.Errorf(sdk.Refused, "deleting an App Store response needs an App Store Connect API key")
	}
	id := req.ReplyID
	if id == "" {
		cur, err := cl.Review(ctx, req.AppID, req.ReviewID)
		if err != nil {
			return err
		}
		if cur.Reply == nil {
			return nil // nothing to delete
		}
		id = cur.Reply.ID
	}
	err = cl.DeleteResponse(ctx, id)
	if sdk.KindOf(err) == sdk.NotFound {
		// Already gone (the hub may ask again after a crash): done.
		s.log.Info("App Store response already deleted", "app", req.AppID, "review", req.ReviewID, "response", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete response %s: %w", id, err)
	}
	return nil
}

func main() {
	sdk.ServeStore(&store{log: sdk.Logger(), tokens: &asc.Tokens{}, http: &http.Client{Timeout: 30 * time.Second}})
}
