// Command googleplay is Reviewhub's Google Play store plugin: it lists an
// app's reviews and publishes developer replies through the Android
// Publisher API with the official Go client, authenticated by a
// service-account key. See README.md.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2/google"
	androidpublisher "google.golang.org/api/androidpublisher/v3"
	"google.golang.org/api/option"

	"github.com/reviewhub/reviewhub/plugins/googleplay/play"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/cursor"
)

const version = "1.1.0"

// maxClients bounds the cached clients (one per key and endpoint).
const maxClients = 64

type store struct {
	log *slog.Logger
	mu  sync.Mutex
	// One client per key and endpoint: the token source inside caches the
	// access token for its lifetime.
	services map[[32]byte]*androidpublisher.Service
}

func (*store) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name: "googleplay", Version: version,
		Description: "Google Play: reviews and replies through the Android Publisher API (reviews.list, reviews.reply).",
		Settings: []sdk.SettingField{
			{Key: "service_account_json", Label: "Service-account key (JSON)", Required: true, Secret: true, Multiline: true,
				Description: "a Google Cloud service account invited in Play Console with permission to reply to reviews"},
			{Key: "translation_language", Label: "Translate reviews to", Example: "en", Description: "optional BCP 47 language Google translates review texts into"},
			{Key: "base_url", Label: "API endpoint override", Description: "for tests; default https://androidpublisher.googleapis.com/"},
		},
		Store: &sdk.StoreCapabilities{
			CanReply: true, ReplyMaxLength: play.ReplyMaxLength, CanEditReply: true, CanDeleteReply: false,
			ListingWindow:   7 * 24 * time.Hour,
			MinPollInterval: 5 * time.Minute,
			LocaleKind:      sdk.FilterLanguage,
		},
	}, nil
}

type serviceAccount struct {
	Type        string `json:"type"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
	TokenURI    string `json:"token_uri"`
}

func (s *store) service(settings sdk.Settings) (*androidpublisher.Service, error) {
	raw := strings.TrimSpace(settings["service_account_json"])
	if raw == "" {
		return nil, sdk.Errorf(sdk.Invalid, "setting service_account_json is empty: paste the JSON key of the service account")
	}
	var sa serviceAccount
	if err := json.Unmarshal([]byte(raw), &sa); err != nil {
		return nil, sdk.Errorf(sdk.Invalid, "service_account_json is not JSON: %v", err)
	}
	if sa.Type != "service_account" || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, sdk.Errorf(sdk.Invalid, "service_account_json is not a service-account key (type %q; it needs client_email and private_key)", sa.Type)
	}
	base := strings.TrimSpace(settings["base_url"])
	key := sha256.Sum256([]byte(raw + "\x00" + base))
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc, ok := s.services[key]; ok {
		return svc, nil
	}
	if len(s.services) >= maxClients { // keys were rotated many times: start over
		clear(s.services)
	}
	// The token source outlives this call: it must not use its context.
	creds, err := google.CredentialsFromJSONWithType(context.Background(), []byte(raw), google.ServiceAccount, androidpublisher.AndroidpublisherScope)
	if err != nil {
		return nil, sdk.Errorf(sdk.Invalid, "service_account_json: %v", err)
	}
	opts := []option.ClientOption{option.WithTokenSource(creds.TokenSource)}
	if base != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(base, "/")+"/"))
	}
	svc, err := androidpublisher.NewService(context.Background(), opts...)
	if err != nil {
		return nil, sdk.Errorf(sdk.Invalid, "google play client: %v", err)
	}
	s.services[key] = svc
	return svc, nil
}

func (s *store) CheckCredentials(ctx context.Context, settings sdk.Settings, appID string) (sdk.CredentialsReport, error) {
	svc, err := s.service(settings)
	if err != nil {
		return sdk.CredentialsReport{}, err
	}
	if appID == "" {
		return sdk.CredentialsReport{}, sdk.Errorf(sdk.Invalid, "the app's package name is empty")
	}
	if _, err := svc.Reviews.List(appID).MaxResults(1).Context(ctx).Do(); err != nil {
		return sdk.CredentialsReport{}, play.Classify("check", appID, err)
	}
	return sdk.CredentialsReport{CanReply: true, Detail: "reviews of " + appID + " are readable"}, nil
}

func (s *store) ListReviews(ctx context.Context, req sdk.ListRequest) (sdk.ReviewPage, error) {
	svc, err := s.service(req.Settings)
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	l, err := cursor.Start[string](req) // state: the API's page token
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	size := int64(req.PageSize)
	if size <= 0 || size > 100 {
		size = 100
	}
	call := svc.Reviews.List(req.AppID).MaxResults(size).Context(ctx)
	if l.State != "" {
		call = call.Token(l.State)
	}
	if tl := strings.TrimSpace(req.Settings["translation_language"]); tl != "" {
		call = call.TranslationLanguage(tl)
	}
	resp, err := call.Do()
	if err != nil {
		return sdk.ReviewPage{}, play.Classify("reviews.list", req.AppID, err)
	}
	var page sdk.ReviewPage
	reachedCursor := false
	for _, r := range resp.Reviews {
		rv, err := play.Review(req.AppID, r)
		if err != nil {
			s.log.Warn("google play listed a review the plugin cannot read; skipped", "app", req.AppID, "error", err)
			continue
		}
		if l.Keep(rv.UpdatedAt) { // changed since the last poll
			page.Reviews = append(page.Reviews, rv)
		} else {
			reachedCursor = true
		}
	}
	page.Cursor = l.Cursor()
	// The API lists newest-modified first: once a review older than the
	// cursor shows up, the rest were seen by an earlier poll.
	if !reachedCursor && resp.TokenPagination != nil && resp.TokenPagination.NextPageToken != "" {
		page.NextPageToken = l.Next(resp.TokenPagination.NextPageToken)
	}
	return page, nil
}

func (s *store) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.DeveloperReply, error) {
	if n := utf8.RuneCountInString(req.Text); n > play.ReplyMaxLength {
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.Refused, "Google Play answers are limited to %d characters, this one has %d", play.ReplyMaxLength, n)
	}
	if strings.TrimSpace(req.Text) == "" {
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.Refused, "the answer is empty")
	}
	svc, err := s.service(req.Settings)
	if err != nil {
		return sdk.DeveloperReply{}, err
	}
	// Idempotent: after a crash the hub may ask again for a published reply.
	cur, err := svc.Reviews.Get(req.AppID, req.ReviewID).Context(ctx).Do()
	if err != nil {
		return sdk.DeveloperReply{}, play.Classify("reviews.get", req.AppID, err)
	}
	if rv, err := play.Review(req.AppID, cur); err == nil && rv.Reply != nil && rv.Reply.Text == req.Text {
		return *rv.Reply, nil
	}
	resp, err := svc.Reviews.Reply(req.AppID, req.ReviewID, &androidpublisher.ReviewsReplyRequest{ReplyText: req.Text}).Context(ctx).Do()
	if err != nil {
		return sdk.DeveloperReply{}, play.Classify("reviews.reply", req.AppID, err)
	}
	out := sdk.DeveloperReply{Text: req.Text, State: "PUBLISHED", UpdatedAt: time.Now().UTC()}
	if resp.Result != nil {
		out.Text = resp.Result.ReplyText
		if t := play.Time(resp.Result.LastEdited); !t.IsZero() {
			out.UpdatedAt = t
		}
	}
	return out, nil
}

func (*store) DeleteReply(context.Context, sdk.DeleteReplyRequest) error {
	return sdk.Errorf(sdk.Unsupported, "Google Play has no API to delete a developer reply; reply again to replace it")
}

func main() {
	sdk.ServeStore(&store{log: sdk.Logger(), services: map[[32]byte]*androidpublisher.Service{}})
}
