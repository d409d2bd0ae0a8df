// Package rustore is Reviewhub's RuStore store plugin: it lists an app's
// reviews through the RuStore Public API and answers, edits and deletes
// developer answers. See README.md.
package rustore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

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
	byComment map[string]rustore.Feedback
	at        time.Time
}

// skewWarn is the clock difference CheckCredentials warns about: RuStore
// refuses a token request whose timestamp is more than 60 s off.
const skewWarn = 20 * time.Second

func (*store) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	return sdk.Info{
		Name: "rustore", DisplayName: "RuStore", Version: version,
		Description: "RuStore: reviews and developer answers through the RuStore Public API.",
		Settings: []sdk.SettingField{
			{Key: "key_id", Label: "Key ID", Required: true, Description: "RuStore Console → Company → API RuStore: the key's id"},
			{Key: "private_key", Label: "Private key", Required: true, Secret: true, Multiline: true, Description: "the key as the console gives it (base64) or PEM"},
			{Key: "base_url", Label: "API base URL override", Endpoint: true, Default: defaultBase, Type: sdk.SettingURL, Description: "for tests; default " + defaultBase},
		},
		// RuStore documents no answer limit; 500 is the safe side (README).
		// The SDK refuses a longer answer before PostReply is called.
		Store: &sdk.StoreCapabilities{
			CanReply: true, ReplyMaxLength: rustore.AnswerMaxLength, CanEditReply: true, CanDeleteReply: true,
			LocaleKind: sdk.FilterLanguage, MinPollInterval: 10 * time.Minute, History: historyCaps,
		},
	}, nil
}

// client builds the API client of an account; the SDK has checked that
// key_id and private_key are given and filled base_url's default.
func (s *store) client(settings sdk.Settings) (*rustore.Client, error) {
	key, err := rustore.ParsePrivateKey(settings.Get("private_key"))
	if err != nil {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "%v", err)
	}
	base, err := settings.URL("base_url")
	if err != nil {
		return nil, err
	}
	return &rustore.Client{BaseURL: base, KeyID: settings.Get("key_id"), Key: key, Tokens: s.tokens, HTTP: s.http}, nil
}

// CheckCredentials makes read-only calls: a fresh token (and the clock
// skew it shows), one page of comments, one page of answers.
func (s *store) CheckCredentials(ctx context.Context, req sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	settings, appID := req.Settings, req.AppID
	cl, err := s.client(settings)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	info, err := cl.NewToken(ctx)
	if err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	var rep sdk.CheckCredentialsResponse
	rep.Checks = append(rep.Checks, sdk.Check{Name: "token", Status: sdk.CheckOK,
		Detail: fmt.Sprintf("RuStore issued a token for key %s (lives %s)", cl.KeyID, info.TTL)})
	switch d := info.Skew.Abs().Round(time.Second); {
	case !info.SkewKnown:
		rep.Checks = append(rep.Checks, sdk.Check{Name: "clock", Status: sdk.CheckWarn,
			Detail: "RuStore's answer gave no time to compare with; the token request's timestamp must be within 60 s of RuStore's clock"})
	case d > skewWarn:
		rep.Checks = append(rep.Checks, sdk.Check{Name: "clock", Status: sdk.CheckWarn,
			Detail: fmt.Sprintf("this machine's clock is %s off RuStore's; RuStore refuses token requests more than 60 s off: set the clock (NTP)", d)})
	default:
		rep.Checks = append(rep.Checks, sdk.Check{Name: "clock", Status: sdk.CheckOK,
			Detail: fmt.Sprintf("this machine's clock is within %s of RuStore's (RuStore allows 60 s)", max(d, time.Second))})
	}
	if _, err := cl.Comments(ctx, appID, 0, 1); err != nil {
		return sdk.CheckCredentialsResponse{}, err
	}
	rep.Checks = append(rep.Checks, sdk.Check{Name: "reviews", Status: sdk.CheckOK, Detail: "the reviews of " + appID + " are readable"})
	if _, err := cl.AnswersPage(ctx, appID, 0, 1); err != nil {
		rep.Checks = append(rep.Checks, sdk.Check{Name: "answers", Status: sdk.CheckFail,
			Detail: "the developer answers of " + appID + " are not readable, so answers cannot be posted safely: " + err.Error()})
	} else {
		rep.CanReply = true
		rep.Checks = append(rep.Checks, sdk.Check{Name: "answers", Status: sdk.CheckOK, Detail: "the developer answers of " + appID + " are readable"})
	}
	// A RuStore key is limited to the API methods chosen for it in RuStore
	// Console; writing is the only way to learn whether it may answer.
	rep.Checks = append(rep.Checks, sdk.Check{Name: "replying", Status: sdk.CheckWarn,
		Detail: "not checked: RuStore keys are limited to the API methods chosen in RuStore Console, and only posting an answer shows whether this key may answer reviews"})
	rep.Detail = "reviews of " + appID + " are readable"
	if rep.CanReply {
		rep.Detail += "; answers are readable"
	}
	return rep, nil
}

func (s *store) ListReviews(ctx context.Context, req sdk.ListReviewsRequest) (sdk.ListReviewsResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	l, err := cursor.Start[int](req) // state: the next comment page
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	answers, err := s.answersFor(ctx, cl, req.AppID, l.State == 0)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	comments, err := cl.Comments(ctx, req.AppID, l.State, pageSize)
	if err != nil {
		return sdk.ListReviewsResponse{}, err
	}
	var page sdk.ListReviewsResponse
	// Edits are seen through the updated date. The order of RuStore's list
	// is not documented, so reaching the cursor ends nothing: every page is
	// read.
	page.Reviews, page.Unreadable, _ = cursor.Collect(l, comments,
		func(raw json.RawMessage) (sdk.Review, error) { return mapRaw(req.AppID, raw, answers) },
		func(raw json.RawMessage, err error) (sdk.Unreadable, bool) {
			u := sdk.Unreadable{ID: rustore.CommentIDOf(raw), Reason: err.Error(), Shape: sdk.ShapeOf(raw)}
			s.log.Warn("RuStore listed a review the plugin cannot read; kept for the operator", "app", req.AppID,
				"comment", u.ID, "reason", u.Reason, "shape", u.Shape)
			return u, true
		})
	page.Cursor = l.Cursor()
	if len(comments) == pageSize {
		page.NextPageToken = l.Next(l.State + 1)
	}
	return page, nil
}

func mapRaw(pkg string, raw []byte, answers map[string]rustore.Feedback) (sdk.Review, error) {
	c, err := rustore.DecodeComment(raw)
	if err != nil {
		return sdk.Review{}, err
	}
	var ans *rustore.Feedback
	if a, ok := answers[string(c.CommentID)]; ok {
		ans = &a
	}
	return rustore.MapComment(pkg, c, ans)
}

// answersFor returns the app's answers, read afresh at the start of a
// listing and reused for its following pages.
func (s *store) answersFor(ctx context.Context, cl *rustore.Client, pkg string, fresh bool) (map[string]rustore.Feedback, error) {
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

func commentID(reviewID string) (string, error) {
	if _, err := strconv.ParseInt(reviewID, 10, 64); err != nil {
		return "", sdk.Errorf(sdk.ErrorKindInvalid, "review id %q is not a RuStore comment id (a number)", reviewID)
	}
	return reviewID, nil
}

// PostReply reads the app's answers first (sdk.ReadReplyFirst): the same
// text already published is the answer; a live answer is edited, else one
// is posted. Length and empty text are checked by the SDK before.
func (s *store) PostReply(ctx context.Context, req sdk.PostReplyRequest) (sdk.PostReplyResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.PostReplyResponse{}, err
	}
	cid, err := commentID(req.ReviewID)
	if err != nil {
		return sdk.PostReplyResponse{}, err
	}
	var live *rustore.Feedback
	current := func(ctx context.Context) (*sdk.DeveloperReply, error) {
		answers, err := cl.Answers(ctx, req.AppID)
		if err != nil {
			return nil, err
		}
		if cur, ok := answers[cid]; ok && cur.Live() {
			live = &cur
			r := cur.Reply()
			return &r, nil
		}
		return nil, nil
	}
	rep, err := sdk.ReadReplyFirst(ctx, req.Text, current, func(ctx context.Context) (sdk.DeveloperReply, error) {
		return s.publish(ctx, cl, req, cid, live)
	})
	return sdk.PostReplyResponse{Reply: rep}, err
}

// publish edits the live answer, or posts one, and reads it back.
func (s *store) publish(ctx context.Context, cl *rustore.Client, req sdk.PostReplyRequest, cid string, live *rustore.Feedback) (sdk.DeveloperReply, error) {
	var id rustore.ID
	var err error
	if live != nil {
		id, err = cl.EditAnswer(ctx, req.AppID, string(live.ID), req.Text)
	} else {
		id, err = cl.Answer(ctx, req.AppID, cid, req.Text)
	}
	if err != nil {
		return sdk.DeveloperReply{}, err
	}
	// RuStore answers a write with the id only: read the answer back for
	// its text, status and date.
	fb, err := cl.GetAnswer(ctx, req.AppID, string(id))
	if err != nil {
		s.log.Warn("RuStore took the answer but reading it back failed; reporting what was sent", "app", req.AppID,
			"comment", cid, "answer", string(id), "error", err)
		return sdk.DeveloperReply{ID: string(id), Text: req.Text}, nil
	}
	return fb.Reply(), nil
}

func (s *store) DeleteReply(ctx context.Context, req sdk.DeleteReplyRequest) (sdk.DeleteReplyResponse, error) {
	cl, err := s.client(req.Settings)
	if err != nil {
		return sdk.DeleteReplyResponse{}, err
	}
	id := req.ReplyID
	if id == "" {
		cid, err := commentID(req.ReviewID)
		if err != nil {
			return sdk.DeleteReplyResponse{}, err
		}
		answers, err := cl.Answers(ctx, req.AppID)
		if err != nil {
			return sdk.DeleteReplyResponse{}, err
		}
		cur, ok := answers[cid]
		if !ok || !cur.Live() {
			return sdk.DeleteReplyResponse{}, nil
		}
		id = string(cur.ID)
	}
	return sdk.DeleteReplyResponse{}, cl.DeleteAnswer(ctx, req.AppID, id)
}

// Main serves the plugin to the hub (go-plugin over gRPC) until the hub
// stops it: cmd/hub-plugin-rustore and the plugins bundle run it.
func Main() {
	err := sdk.ServeStore(&store{log: sdk.Logger(), tokens: &rustore.Tokens{},
		http: sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: rustore.MaxResponseBytes}), answers: map[string]answersAt{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
