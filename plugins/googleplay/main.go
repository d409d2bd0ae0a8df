// Package googleplay is Reviewhub's Google Play store plugin: it lists an
// app's reviews and publishes developer replies through the Android
// Publisher API with the official Go client, authenticated by a
// service-account key. See README.md.
package googleplay

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	androidpublisher "google.golang.org/api/androidpublisher/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/reviewhub/reviewhub/plugins/googleplay/gcs"
	"github.com/reviewhub/reviewhub/plugins/googleplay/play"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/cursor"
)

const version = "1.2.0"

// maxClients bounds the cached clients (one per key and endpoint).
const maxClients = 64

// tokenTimeout bounds one request to Google's token endpoint (a var for tests).
var tokenTimeout = 30 * time.Second

type store struct {
	log *slog.Logger
	mu  sync.Mutex
	// One client per key and endpoint: the token source inside caches the
	// access token for its lifetime.
	services sdk.ClientCache[*client]
	// replied remembers (key, package) pairs whose replies went through in
	// this process: a later 403 on a reply is then about that one review.
	replied map[[32]byte]bool
}

func newStore() *store {
	return &store{log: sdk.Logger(), services: sdk.ClientCache[*client]{Max: maxClients}, replied: map[[32]byte]bool{}}
}

func replyKey(settings sdk.Settings, pkg string) [32]byte {
	return sha256.Sum256([]byte(strings.TrimSpace(settings["service_account_json"]) + "\x00" + strings.TrimSpace(settings["base_url"]) + "\x00" + pkg))
}

// forgetReplied drops the mark when the package itself is refused (access
// was withdrawn since the last reply).
func (s *store) forgetReplied(settings sdk.Settings, pkg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.replied, replyKey(settings, pkg))
}

func (s *store) markReplied(settings sdk.Settings, pkg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.replied) >= 4096 {
		clear(s.replied)
	}
	s.replied[replyKey(settings, pkg)] = true
}

func (s *store) repliedBefore(settings sdk.Settings, pkg string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replied[replyKey(settings, pkg)]
}

// consoleIDs are the optional Play Console ids for review links; both or
// neither, digits only.
func consoleIDs(settings sdk.Settings) (account, app string, err error) {
	account, app = strings.TrimSpace(settings["developer_account_id"]), strings.TrimSpace(settings["console_app_id"])
	if (account == "") != (app == "") {
		return "", "", sdk.Errorf(sdk.ErrorKindInvalid, "set both developer_account_id and console_app_id (Play Console links need both), or neither")
	}
	for k, v := range map[string]string{"developer_account_id": account, "console_app_id": app} {
		if strings.Trim(v, "0123456789") != "" {
			return "", "", sdk.Errorf(sdk.ErrorKindInvalid, "setting %s must be the number from Play Console's address, got %q", k, v)
		}
	}
	return account, app, nil
}

func (*store) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "googleplay", DisplayName: "Google Play", Version: version,
		Description: "Google Play: reviews and replies through the Android Publisher API (reviews.list, reviews.reply).",
		Settings: []sdk.SettingField{
			{Key: "service_account_json", Label: "Service-account key (JSON)", Required: true, Secret: true, Multiline: true,
				Description: "a Google Cloud service account invited in Play Console with permission to reply to reviews"},
			{Key: "translation_language", Label: "Translate reviews to", Example: "en", Description: "optional BCP 47 language Google translates review texts into"},
			{Key: "developer_account_id", Label: "Play Console developer account id", Example: "5166846112789481453",
				Description: "optional: the number after /developers/ in Play Console's address; with the app id, review links open in Play Console"},
			{Key: "console_app_id", Label: "Play Console app id", Example: "4974525787948290123",
				Description: "optional: the number after /app/ in Play Console's address for this app (one account per app)"},
			{Key: "base_url", Label: "API endpoint override", Endpoint: true, Type: sdk.SettingURL,
				Description: "for tests; default https://androidpublisher.googleapis.com/ (the token URL is the key's token_uri)"},
			{Key: "reports_bucket", Label: "Reports bucket (Cloud Storage)", Example: "pubsite_prod_rev_01234567890987654321",
				Description: "optional: Play Console, Download reports, Reviews, \"Copy Cloud Storage URI\"; with it the hub can import reviews older than the API's 7 days (the service account needs \"View app information and download bulk reports\")"},
			{Key: "reports_rating_only", Label: "Import ratings without text", Type: sdk.SettingBool, Default: "false",
				Description: "the reports also hold ratings without text (the API does not); off: they are counted, not ticketed"},
			{Key: "reports_base_url", Label: "Cloud Storage endpoint override", Endpoint: true, Type: sdk.SettingURL,
				Description: "for tests; default " + gcs.DefaultBaseURL},
		},
		Store: &sdk.StoreCapabilities{
			CanReply: true, ReplyMaxLength: play.ReplyMaxLength, CanEditReply: true, CanDeleteReply: false,
			ListingWindow:   7 * 24 * time.Hour,
			MinPollInterval: 5 * time.Minute,
			LocaleKind:      sdk.FilterLanguage,
			// Google's per-app quotas (README: Quotas).
			Quotas: []sdk.QuotaBucket{
				{Name: "Google Play app reads", Per: []string{sdk.QuotaPerApp}, Limit: 200, Window: time.Hour, Ops: []string{sdk.OpList}},
				{Name: "Google Play app replies", Per: []string{sdk.QuotaPerApp}, Limit: 2000, Window: 24 * time.Hour, Ops: []string{sdk.OpReply}},
			},
			History: &sdk.HistoryCapabilities{Lag: reportsLag, RequiresSettings: []string{"reports_bucket"},
				Source: "Play Console's monthly review reports in Cloud Storage, merged with the API's last 7 days"},
		},
	}, nil
}

type serviceAccount struct {
	Type        string `json:"type"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
	TokenURI    string `json:"token_uri"`
}

// client is the official client for one key and endpoint, and the key's
// token source (the same one the client uses).
type client struct {
	svc    *androidpublisher.Service
	tokens oauth2.TokenSource
	// storage sends Cloud Storage requests (the reports) with a token of
	// scope devstorage.read_only from the same key.
	storage *http.Client
}

// service is the client of an account's key and endpoint, kept while the
// key is in use (its token source caches the access token).
func (s *store) service(settings sdk.Settings) (*client, error) {
	return s.services.Get(sdk.Settings{"service_account_json": settings.Get("service_account_json"),
		"base_url": settings.Get("base_url")}, newClient)
}

func newClient(settings sdk.Settings) (*client, error) {
	raw := settings["service_account_json"]
	if raw == "" {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "setting service_account_json is empty: paste the JSON key of the service account")
	}
	var sa serviceAccount
	if err := json.Unmarshal([]byte(raw), &sa); err != nil {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "service_account_json is not JSON: %v", err)
	}
	if sa.Type != "service_account" || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "service_account_json is not a service-account key (type %q; it needs client_email and private_key)", sa.Type)
	}
	base := settings["base_url"]
	// The token source outlives this call: it must not use its context, but
	// its HTTP client bounds every token request (a hung token endpoint must
	// not hold the source's lock, and so every call of this key, forever).
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: tokenTimeout})
	creds, err := google.CredentialsFromJSONWithType(tokenCtx, []byte(raw), google.ServiceAccount, androidpublisher.AndroidpublisherScope)
	if err != nil {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "service_account_json: %v", err)
	}
	// Every API request is counted for the hub's quota budgets (token
	// requests are not: they spend no Play quota).
	hc := &http.Client{Transport: &oauth2.Transport{Source: creds.TokenSource, Base: sdk.CountingTransport{}}}
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	if base != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(base, "/")+"/"))
	}
	svc, err := androidpublisher.NewService(context.Background(), opts...)
	if err != nil {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "google play client: %v", err)
	}
	screds, err := google.CredentialsFromJSONWithType(tokenCtx, []byte(raw), google.ServiceAccount, gcs.Scope)
	if err != nil {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "service_account_json: %v", err)
	}
	storage := sdk.NewHTTPClient(sdk.HTTPOptions{Timeout: reportsTimeout, MaxResponseBytes: reportsMaxBytes,
		Base: &oauth2.Transport{Source: screds.TokenSource, Base: http.DefaultTransport}, Retry: &sdk.RetryOptions{}})
	return &client{svc: svc, tokens: creds.TokenSource, storage: storage}, nil
}

// CheckCredentials makes read-only calls only: it obtains an access token
// and lists one page of one review (one GET of the app's 200 an hour). It
// never replies: Google offers no call that tells, without replying, whether
// the service account holds the "Reply to reviews" permission.
func (s *store) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	settings, appID := req.Settings, req.AppID
	c, err := s.service(settings)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	if strings.TrimSpace(appID) == "" {
		return sdk.CheckCredentialsResponse{}, sdk.Errorf(sdk.ErrorKindInvalid, "the app's package name is empty")
	}
	if _, _, err := consoleIDs(settings); err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	var rep sdk.CheckCredentialsResponse
	if _, err := c.tokens.Token(); err != nil {
		return sdk.CheckCredentialsResponse{}, play.Classify("token", appID, err)
	}
	rep.Checks = append(rep.Checks, sdk.Check{Name: "access token", Status: sdk.CheckOK,
		Detail: "the token endpoint accepted the service-account key"})
	resp, err := c.svc.Reviews.List(appID).MaxResults(1).Context(ctx).Do()
	if err != nil {
		return sdk.CheckCredentialsResponse{}, play.Classify("reviews.list", appID, err)
	}
	listed := "no review created or modified in the last 7 days (Google lists only those, and only reviews with text)"
	if len(resp.Reviews) > 0 {
		listed = "the newest review was listed"
	}
	rep.Checks = append(rep.Checks,
		sdk.Check{Name: "reviews of " + appID, Status: sdk.CheckOK, Detail: "readable: " + listed},
		sdk.Check{Name: "reply permission", Status: sdk.CheckWarn,
			Detail: "not known until the first reply: Google has no read-only call that tells whether the service account holds the \"Reply to reviews\" permission (Play Console, Users and permissions)"},
		sdk.Check{Name: "quota", Status: sdk.CheckOK,
			Detail: "Google's per-app Reply to Reviews quota is 200 GET an hour (listing) and 2,000 POST a day (replies); this check used 1 GET; the remaining quota is not reported by the API"})
	if _, err := reportsBucket(settings); err == nil {
		rep.Checks = append(rep.Checks, s.checkReports(ctx, c, settings, appID))
	}
	rep.CanReply = true // the API can reply; whether this account may is only known by replying
	rep.Detail = "reviews of " + appID + " are readable; the reply permission shows with the first reply"
	return rep, nil
}

func (s *store) ListReviews(ctx context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	c, err := s.service(req.Settings)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	account, consoleApp, err := consoleIDs(req.Settings)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	l, err := cursor.Start[string](req) // state: the API's page token
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	size := int64(req.PageSize)
	if size <= 0 || size > 100 {
		size = 100
	}
	call := c.svc.Reviews.List(req.AppID).MaxResults(size).Context(ctx)
	if l.State != "" {
		call = call.Token(l.State)
	}
	if tl := strings.TrimSpace(req.Settings["translation_language"]); tl != "" {
		call = call.TranslationLanguage(tl)
	}
	resp, err := call.Do()
	if err != nil {
		if play.Forbidden(err) {
			s.forgetReplied(req.Settings, req.AppID)
		}
		return sdk.ListReviewsResponse{}, play.Classify("reviews.list", req.AppID, err)
	}
	var page sdk.ListReviewsResponse
	var reachedCursor bool
	page.Reviews, page.Unreadable, reachedCursor = cursor.Collect(l, resp.Reviews,
		func(r *androidpublisher.Review) (sdk.Review, error) {
			return play.ReviewWithLink(req.AppID, r, account, consoleApp)
		},
		func(r *androidpublisher.Review, err error) (sdk.Unreadable, bool) {
			// Reported once: when it is older than the cursor, an earlier
			// poll reported it.
			if t := newestUserChange(r); !t.IsZero() && t.Before(l.Since) {
				return sdk.Unreadable{}, false
			}
			u := unreadable(r, err)
			s.log.Warn("google play listed a review the plugin cannot read", "app", req.AppID, "review", u.ID, "reason", u.Reason, "shape", u.Shape)
			return u, true
		})
	page.Cursor = l.Cursor()
	// The API lists newest-modified first: once a review older than the
	// cursor shows up, the rest were seen by an earlier poll. Pages may hold
	// fewer reviews than asked for; only tokenPagination says whether more
	// follow (pageInfo is not used: it is reported missing in practice).
	if !reachedCursor && resp.TokenPagination != nil && resp.TokenPagination.NextPageToken != "" {
		page.NextPageToken = l.Next(resp.TokenPagination.NextPageToken)
	}
	return page, nil
}

// newestUserChange is the newest user comment's lastModified, zero if none.
func newestUserChange(r *androidpublisher.Review) time.Time {
	var t time.Time
	if r == nil {
		return t
	}
	for _, c := range r.Comments {
		if c != nil && c.UserComment != nil {
			if m := play.Time(c.UserComment.LastModified); m.After(t) {
				t = m
			}
		}
	}
	return t
}

func unreadable(r *androidpublisher.Review, err error) sdk.Unreadable {
	u := sdk.Unreadable{Reason: err.Error()}
	if r != nil {
		u.ID = r.ReviewId
		if b, merr := json.Marshal(r); merr == nil {
			u.Shape = sdk.ShapeOf(b)
		}
	}
	return u
}

// oldReview is how old a review's last change may be before Google is
// reported to answer a reply with 500 (the listing window, 7 days).
const oldReview = 7 * 24 * time.Hour

// PostReply publishes the reply with one reviews.reply call and no read
// first: reviews.reply "replies to a single review, or updates an existing
// reply" (discovery document), and the reviewer is notified only of the
// first reply to a created or modified review (reply-to-reviews), so posting
// the same text again after a crash changes nothing. That keeps the scarce
// GET quota (200 an hour per app) for polling. GETs are spent only to
// explain a failure: a 403 (is the whole package refused, or this review?)
// and a 5xx (is the review older than a week?).
// ReplyLength is how Google counts a reply against ReplyMaxLength (HTML
// tags not counted, UTF-16 code units); the SDK refuses a longer reply
// before PostReply is called (sdk.ReplyMeasurer).
func (s *store) ReplyLength(text string) (int, string) {
	n := play.ReplyLength(text)
	if n != utf8.RuneCountInString(text) {
		return n, "HTML tags are not counted; emoji and other characters outside the Basic Multilingual Plane count twice"
	}
	return n, ""
}

func (s *store) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	stored := play.StripTags(req.Text)
	if stored == "" {
		return sdk.PostReplyResponse{}, sdk.Errorf(sdk.ErrorKindRefused, "the answer is empty (HTML tags are removed by Google)")
	}
	c, err := s.service(req.Settings)
	if err != nil {
		return sdk.PostReplyResponse{}, err
	}
	// A review older than the API's listing window (one the hub imported
	// from the reports, issue 27) is read first with reviews.get, which
	// serves reviews of any age: it tells whether the API has the review
	// at all (ratings without text never are), and whether this very
	// reply is there already (a crash after replying).
	var changed time.Time
	if !req.ReviewUpdatedAt.IsZero() && time.Since(req.ReviewUpdatedAt) > oldReview {
		rv, gerr := c.svc.Reviews.Get(req.AppID, req.ReviewID).Context(ctx).Do()
		if gerr != nil {
			return sdk.PostReplyResponse{}, oldReviewError(req, gerr)
		}
		if got, perr := play.Review(req.AppID, rv); perr == nil && got.Reply != nil && got.Reply.Text == stored {
			s.markReplied(req.Settings, req.AppID)
			return sdk.PostReplyResponse{Reply: sdk.DeveloperReply{Text: got.Reply.Text, State: "PUBLISHED", UpdatedAt: got.Reply.UpdatedAt}}, nil
		}
		if changed = newestUserChange(rv); changed.IsZero() {
			changed = req.ReviewUpdatedAt
		}
	}
	resp, err := c.svc.Reviews.Reply(req.AppID, req.ReviewID, &androidpublisher.ReviewsReplyRequest{ReplyText: req.Text}).Context(ctx).Do()
	if err != nil {
		if code, serverError := play.ServerError(err); serverError && !changed.IsZero() && time.Since(changed) > oldReview {
			return sdk.PostReplyResponse{}, oldReplyRefused(code, req.ReviewID, changed)
		}
		return sdk.PostReplyResponse{}, s.replyError(ctx, c, req, err)
	}
	s.markReplied(req.Settings, req.AppID)
	out := sdk.DeveloperReply{Text: stored, State: "PUBLISHED", UpdatedAt: time.Now().UTC()}
	if resp.Result != nil {
		if resp.Result.ReplyText != "" {
			out.Text = resp.Result.ReplyText
		}
		if t := play.Time(resp.Result.LastEdited); !t.IsZero() {
			out.UpdatedAt = t
		}
	}
	return sdk.PostReplyResponse{Reply: out}, nil
}

// replyError explains a failed reviews.reply.
func (s *store) replyError(ctx context.Context, c *client, req sdk.PostReplyRequest, err error) error {
	code, serverError := play.ServerError(err)
	switch {
	case play.Forbidden(err):
		// One review refused, or the whole package? Listing tells.
		if s.repliedBefore(req.Settings, req.AppID) {
			return play.ReplyRefused(req.AppID, req.ReviewID, true, err)
		}
		if _, lerr := c.svc.Reviews.List(req.AppID).MaxResults(1).Context(ctx).Do(); lerr == nil {
			return play.ReplyRefused(req.AppID, req.ReviewID, false, err)
		}
	case serverError:
		// Replies to reviews last changed more than a week ago are reported
		// to fail with 500 (second-hand, see README); retrying would never end.
		if rv, gerr := c.svc.Reviews.Get(req.AppID, req.ReviewID).Context(ctx).Do(); gerr == nil {
			if t := newestUserChange(rv); !t.IsZero() && time.Since(t) > oldReview {
				return oldReplyRefused(code, req.ReviewID, t)
			}
		}
	}
	return play.Classify("reviews.reply", req.AppID, err)
}

// oldReplyRefused explains a 5xx to a reply to a review last changed more
// than a week ago: retrying would never end.
func oldReplyRefused(code int, reviewID string, changed time.Time) error {
	return sdk.Errorf(sdk.ErrorKindRefused, "google play reviews.reply: Google answered %d to a reply to review %s, last changed %s (%d days ago); "+
		"Google is reported to refuse replies to reviews older than a week this way: answer it in Play Console",
		code, reviewID, changed.Format(time.DateOnly), int(time.Since(changed).Hours()/24))
}

// oldReviewError explains a failed reviews.get of a review older than the
// listing window, read before replying to it: a 404 means Google's API
// does not serve it (a rating without text, a review its author deleted
// or Google removed), which no retry changes.
func oldReviewError(req sdk.PostReplyRequest, err error) error {
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusNotFound {
		return sdk.Errorf(sdk.ErrorKindRefused, "google play reviews.get: Google's API has no review %s (last changed %s, %d days ago, before the API's 7-day listing): "+
			"a rating without text, or a review deleted or removed since, cannot be answered through the API; answer it in Play Console if it is still there",
			req.ReviewID, req.ReviewUpdatedAt.Format(time.DateOnly), int(time.Since(req.ReviewUpdatedAt).Hours()/24))
	}
	return play.Classify("reviews.get", req.AppID, err)
}

func (*store) DeleteReply(context.Context, sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	return sdk.DeleteReplyResponse{}, sdk.Errorf(sdk.ErrorKindUnsupported, "Google Play has no API to delete a developer reply; reply again to replace it")
}

// Main serves the plugin to the hub (go-plugin over gRPC) until the hub
// stops it: cmd/hub-plugin-googleplay and the plugins bundle run it.
func Main() {
	if err := sdk.ServeStore(newStore()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// checkReports lists the app's monthly review reports (one Cloud Storage
// call, read-only): the history import needs them.
func (s *store) checkReports(ctx context.Context, c *client, settings sdk.Settings, appID string) sdk.Check {
	bucket, _ := reportsBucket(settings)
	base, err := settings.URL("reports_base_url")
	if err == nil {
		var objs []gcs.Object
		if objs, err = gcs.New(c.storage, base, bucket).List(ctx, "reviews/reviews_"+appID+"_"); err == nil {
			if len(objs) == 0 {
				return sdk.Check{Name: "review reports", Status: sdk.CheckWarn,
					Detail: "bucket " + bucket + " is readable but holds no review report of " + appID + " yet (Google writes them daily, 1–7 days late)"}
			}
			return sdk.Check{Name: "review reports", Status: sdk.CheckOK,
				Detail: fmt.Sprintf("bucket %s holds %d monthly review reports of %s, the oldest %s", bucket, len(objs), appID, objs[0].Name)}
		}
	}
	return sdk.Check{Name: "review reports", Status: sdk.CheckFail, Detail: err.Error()}
}
