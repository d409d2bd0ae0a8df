// Command rustore is Reviewhub's RuStore store plugin: it lists an app's
// reviews through the RuStore Public API and answers, edits and deletes
// developer answers. See README.md.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/plugins/rustore/rustore"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/cursor"
)

const (
	version     = "1.0.0"
	defaultBase = "https://public-api.rustore.ru"
	pageSize    = 100
)

type store struct {
	log    *slog.Logger
	tokens *rustore.Tokens
	http   *http.Client

	mu sync.Mutex
	// answers of a listing in progress, by package: read with the first
	// page, used by the following ones (a restarted plugin reads them again).
	answers map[string]answersAt
}

type answersAt struct {
	byComment map[int64]rustore.Feedback
	at        time.Time
}

func (*store) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name: "rustore", Version: version,
		Description: "RuStore: reviews and developer answers through the RuStore Public API.",
		Settings: []sdk.SettingField{
			{Key: "key_id", Label: "Key ID", Required: true, Description: "RuStore Console → Company → API RuStore: the key's id"},
			{Key: "private_key", Label: "Private key", Required: true, Secret: true, Multiline: true, Description: "the key as the console gives it (base64) or PEM"},
			{Key: "base_url", Label: "API base URL override", Description: "for tests; default " + defaultBase},
		},
		Store: &sdk.StoreCapabilities{
			CanReply: true, ReplyMaxLength: rustore.AnswerMaxLength, CanEditReply: true, CanDeleteReply: true,
			LocaleKind: sdk.FilterLanguage, MinPollInterval: 10 * time.Minute,
		},
	}, nil
}

func (s *store) client(settings sdk.Settings) (*rustore.Client, error) {
	keyID, pk := strings.TrimSpace(settings["key_id"]), strings.TrimSpace(settings["private_key"])
	var missing []string
	if keyID == "" {
		missing = append(missing, "key_id")
	}
	if pk == "" {
		missing = append(missing, "private_key")
	}
	if len(missing) > 0 {
		return nil, sdk.Errorf(sdk.Invalid, "rustore settings missing: %s", strings.Join(missing, ", "))
	}
	key, err := rustore.ParsePrivateKey(pk)
	if err != nil {
		return nil, sdk.Errorf(sdk.Invalid, "%v", err)
	}
	base := strings.TrimSpace(settings["base_url"])
	if base == "" {
		base = defaultBase
	}
	return &rustore.Client{BaseURL: base, KeyID: keyID, Key: key, Tokens: s.tokens, HTTP: s.http}, nil
}

func (s *store) CheckCredentials(ctx context.Context, settings sdk.Settings, appID string) (sdk.CredentialsReport, error) {
	cl, err := s.client(settings)
	if err != nil {
		return sdk.CredentialsReport{}, err
	}
	if _, err := cl.Comments(ctx, appID, 0, 1); err != nil {
		return sdk.CredentialsReport{}, err
	}
	return sdk.CredentialsReport{CanReply: true, Detail: "reviews of " + appID + " are readable"}, nil
}

func (s *store) ListReviews(ctx context.Context, req sdk.ListRequest) (sdk.ReviewPage, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	l, err := cursor.Start[int](req) // state: the next comment page
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	answers, err := s.answersFor(ctx, cl, req.AppID, l.State == 0)
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	comments, err := cl.Comments(ctx, req.AppID, l.State, pageSize)
	if err != nil {
		return sdk.ReviewPage{}, err
	}
	var page sdk.ReviewPage
	for _, c := range comments {
		var ans *rustore.Feedback
		if a, ok := answers[c.CommentID]; ok {
			ans = &a
		}
		r, err := rustore.MapComment(req.AppID, c, ans)
		if err != nil {
			s.log.Warn("RuStore listed a review the plugin cannot read; skipped", "app", req.AppID, "error", err)
			continue
		}
		// Edits are seen through the updated date.
		if l.Keep(r.UpdatedAt) {
			page.Reviews = append(page.Reviews, r)
		}
	}
	page.Cursor = l.Cursor()
	if len(comments) == pageSize {
		page.NextPageToken = l.Next(l.State + 1)
	}
	return page, nil
}

// answersFor returns the app's answers, read afresh at the start of a
// listing and reused for its following pages.
func (s *store) answersFor(ctx context.Context, cl *rustore.Client, pkg string, fresh bool) (map[int64]rustore.Feedback, error) {
	s.mu.Lock()
	cached, ok := s.answers[pkg]
	s.mu.Unlock()
	if !fresh && ok && time.Since(cached.at) < 10*time.Minute {
		return cached.byComment, nil
	}
	byComment, err := cl.Answers(ctx, pkg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.answers[pkg] = answersAt{byComment, time.Now()}
	s.mu.Unlock()
	return byComment, nil
}

func (s *store) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.DeveloperReply, error) {
	if n := utf8.RuneCountInString(req.Text); n > rustore.AnswerMaxLength {
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.Refused, "RuStore answers are limited to %d characters, this one has %d", rustore.AnswerMaxLength, n)
	}
	if strings.TrimSpace(req.Text) == "" {
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.Refused, "the answer is empty")
	}
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.DeveloperReply{}, err
	}
	commentID, err := strconv.ParseInt(req.ReviewID, 10, 64)
	if err != nil {
		return sdk.DeveloperReply{}, sdk.Errorf(sdk.Invalid, "review id %q is not a RuStore comment id", req.ReviewID)
	}
	answers, err := cl.Answers(ctx, req.AppID)
	if err != nil {
		return sdk.DeveloperReply{}, err
	}
	var fb rustore.Feedback
	switch cur, ok := answers[commentID]; {
	case ok && cur.Status != "DELETED" && cur.Text == req.Text:
		fb = cur // published before (the hub may ask twice after a crash)
	case ok && cur.Status != "DELETED":
		fb, err = cl.EditAnswer(ctx, req.AppID, strconv.FormatInt(cur.ID, 10), req.Text)
	default:
		fb, err = cl.Answer(ctx, req.AppID, req.ReviewID, req.Text)
	}
	if err != nil {
		return sdk.DeveloperReply{}, err
	}
	d, _ := rustore.ParseTime(fb.Date)
	return sdk.DeveloperReply{ID: strconv.FormatInt(fb.ID, 10), Text: fb.Text, State: fb.Status, UpdatedAt: d}, nil
}

func (s *store) DeleteReply(ctx context.Context, req sdk.DeleteReplyRequest) error {
	cl, err := s.client(req.Settings)
	if err != nil {
		return err
	}
	id := req.ReplyID
	if id == "" {
		commentID, err := strconv.ParseInt(req.ReviewID, 10, 64)
		if err != nil {
			return sdk.Errorf(sdk.Invalid, "review id %q is not a RuStore comment id", req.ReviewID)
		}
		answers, err := cl.Answers(ctx, req.AppID)
		if err != nil {
			return err
		}
		cur, ok := answers[commentID]
		if !ok || cur.Status == "DELETED" {
			return nil
		}
		id = strconv.FormatInt(cur.ID, 10)
	}
	return cl.DeleteAnswer(ctx, req.AppID, id)
}

func main() {
	sdk.ServeStore(&store{log: sdk.Logger(), tokens: &rustore.Tokens{}, http: &http.Client{Timeout: 30 * time.Second},
		answers: map[string]answersAt{}})
}
