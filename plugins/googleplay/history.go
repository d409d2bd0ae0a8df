package googleplay

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/googleplay/gcs"
	"github.com/reviewhub/reviewhub/plugins/googleplay/play"
	"github.com/reviewhub/reviewhub/plugins/googleplay/reports"
	"github.com/reviewhub/reviewhub/sdk"
)

const (
	// apiWindow is how far back reviews.list reaches.
	apiWindow = 7 * 24 * time.Hour
	// reportsLag is how late the reports can be: "generated daily",
	// observed 1–7 days behind (README, Review reports).
	reportsLag = 7 * 24 * time.Hour
	// reportsTimeout bounds one Cloud Storage request, the download of a
	// page of a report included (the hub's call deadline is shorter still).
	reportsTimeout = 5 * time.Minute
	// reportsMaxBytes bounds one download (a month of a very busy app is
	// tens of megabytes of UTF-16).
	reportsMaxBytes = 4 << 30
	// historyPageSize is a page's default and most reviews; historyScan
	// bounds the report rows read for one page (rows outside the range
	// are skipped), so a call ends well inside its deadline.
	historyPageSize = 500
	historyMaxPage  = 1000
	historyScan     = 20000
)

// histCursor is History's cursor: the phase, and where in it.
//
// The API's 7 days come first, and the ids it lists are kept (as hashes):
// the reports phase then leaves those ids out, so the hub never gets a
// report's older version of a review after the API's newer one ("the API's
// version wins inside its window; a review in both is one review").
type histCursor struct {
	Phase    string `json:"p"`           // "api", then "reports"
	APIToken string `json:"t,omitempty"` // reviews.list's page token
	// Seen are the hashes of the ids the API listed (sorted, delta varints).
	Seen []byte `json:"s,omitempty"`
	// The report being read: its object name, generation and position.
	Name string            `json:"n,omitempty"`
	Gen  string            `json:"g,omitempty"`
	Pos  *reports.Position `json:"o,omitempty"`
	// Progress: bytes of the finished reports, and of all in the range.
	Done  int64 `json:"d,omitempty"`
	Total int64 `json:"T,omitempty"`
}

func (c histCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (histCursor, error) {
	c := histCursor{Phase: "api"}
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || (c.Phase != "api" && c.Phase != "reports") {
		return c, sdk.Errorf(sdk.ErrorKindInvalid, "google play history: the cursor is not one this plugin gave")
	}
	return c, nil
}

func idHash(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return h.Sum64()
}

func encodeSeen(hs []uint64) []byte {
	slices.Sort(hs)
	hs = slices.Compact(hs)
	out := make([]byte, 0, len(hs)*8)
	var prev uint64
	for _, h := range hs {
		out = binary.AppendUvarint(out, h-prev)
		prev = h
	}
	return out
}

func decodeSeen(b []byte) (map[uint64]bool, []uint64) {
	set := map[uint64]bool{}
	var list []uint64
	var prev uint64
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			break
		}
		prev += d
		set[prev] = true
		list = append(list, prev)
		b = b[n:]
	}
	return set, list
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)

// reportsBucket is the reports_bucket setting without gs:// and slashes.
func reportsBucket(settings sdk.Settings) (string, error) {
	b := strings.TrimSpace(settings.Get("reports_bucket"))
	b = strings.Trim(strings.TrimPrefix(b, "gs://"), "/")
	if b == "" {
		return "", sdk.Errorf(sdk.ErrorKindUnsupported, "google play history needs the reports bucket: set reports_bucket "+
			"(Play Console, Download reports, Reviews, \"Copy Cloud Storage URI\", e.g. pubsite_prod_rev_01234567890987654321)")
	}
	if b, _, _ = strings.Cut(b, "/"); !bucketName.MatchString(b) {
		return "", sdk.Errorf(sdk.ErrorKindInvalid, "setting reports_bucket %q is not a Cloud Storage bucket name (pubsite_prod_rev_… as Play Console copies it)", b)
	}
	return b, nil
}

// History lists an app's reviews last changed in [From, To): the API's
// last 7 days first, then the monthly reports (README, Review reports).
func (s *store) History(ctx context.Context, req sdk.HistoryRequest) (sdk.HistoryResponse, error) {
	bucket, err := reportsBucket(req.Settings)
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	c, err := s.service(req.Settings)
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	account, consoleApp, err := consoleIDs(req.Settings)
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	cur, err := decodeCursor(req.Cursor)
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	if cur.Phase == "api" {
		return s.historyAPI(ctx, c, req, cur, account, consoleApp)
	}
	base, err := req.Settings.URL("reports_base_url")
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	ratingOnly, err := req.Settings.Bool("reports_rating_only")
	if err != nil {
		return sdk.HistoryResponse{}, err
	}
	h := &historyRun{s: s, g: gcs.New(c.storage, base, bucket), req: req, cur: cur, account: account, consoleApp: consoleApp, ratingOnly: ratingOnly}
	return h.reports(ctx)
}

// historyAPI is one page of the API phase: reviews.list (newest first, the
// last 7 days), kept when changed in the range; every id listed is
// remembered for the reports phase.
func (s *store) historyAPI(ctx context.Context, c *client, req sdk.HistoryRequest, cur histCursor, account, consoleApp string) (sdk.HistoryResponse, error) {
	call := c.svc.Reviews.List(req.AppID).MaxResults(100).Context(ctx)
	if cur.APIToken != "" {
		call = call.Token(cur.APIToken)
	}
	if tl := strings.TrimSpace(req.Settings["translation_language"]); tl != "" {
		call = call.TranslationLanguage(tl)
	}
	resp, err := call.Do()
	if err != nil {
		return sdk.HistoryResponse{}, play.Classify("reviews.list", req.AppID, err)
	}
	_, seen := decodeSeen(cur.Seen)
	var out sdk.HistoryResponse
	for _, r := range resp.Reviews {
		rv, err := play.ReviewWithLink(req.AppID, r, account, consoleApp)
		if err != nil {
			out.Unreadable = append(out.Unreadable, unreadable(r, err))
			continue
		}
		seen = append(seen, idHash(rv.ID))
		if !rv.UpdatedAt.Before(req.From) && rv.UpdatedAt.Before(req.To) {
			out.Reviews = append(out.Reviews, rv)
		}
	}
	next := histCursor{Phase: "api", Seen: encodeSeen(seen)}
	if resp.TokenPagination != nil && resp.TokenPagination.NextPageToken != "" {
		next.APIToken = resp.TokenPagination.NextPageToken
	} else {
		next.Phase = "reports"
	}
	out.NextCursor = next.encode()
	return out, nil
}

// historyRun is one page of the reports phase.
type historyRun struct {
	s                   *store
	g                   *gcs.Client
	req                 sdk.HistoryRequest
	cur                 histCursor
	account, consoleApp string
	ratingOnly          bool
}

// monthOf is the YYYYMM of reviews/reviews_PKG_YYYYMM.csv, "" for another name.
func monthOf(name, prefix string) string {
	m, ok := strings.CutSuffix(strings.TrimPrefix(name, prefix), ".csv")
	if !ok || len(m) != 6 || strings.Trim(m, "0123456789") != "" {
		return ""
	}
	return m
}

// files are the range's report files, oldest month first, and the last
// update of the app's newest report (any month): how far the reports reach.
// GUESS: that a review sits in the file of the month of its last change
// (Google does not say): the files from the month of From to the month of
// To are read, rows outside the range skipped.
func (h *historyRun) files(ctx context.Context) ([]gcs.Object, time.Time, error) {
	prefix := "reviews/reviews_" + h.req.AppID + "_"
	objs, err := h.g.List(ctx, prefix)
	if err != nil {
		return nil, time.Time{}, err
	}
	var newest time.Time
	first, last := h.req.From.UTC().Format("200601"), h.req.To.Add(-time.Nanosecond).UTC().Format("200601")
	var out []gcs.Object
	for _, o := range objs {
		m := monthOf(o.Name, prefix)
		if m != "" {
			newest = maxTime(newest, o.Updated)
		}
		if m != "" && m >= first && m <= last {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b gcs.Object) int { return strings.Compare(a.Name, b.Name) })
	return out, newest, nil
}

func (h *historyRun) reports(ctx context.Context) (sdk.HistoryResponse, error) {
	req, cur := h.req, h.cur
	size := req.PageSize
	if size <= 0 {
		size = historyPageSize
	}
	size = min(size, historyMaxPage)
	exclude, _ := decodeSeen(cur.Seen)
	var out sdk.HistoryResponse
	var newest time.Time // the app's newest report's last update
	scanned := 0
	for {
		if cur.Name == "" || cur.Pos == nil && cur.Gen == "" {
			// Choose the next file after cur.Name.
			files, reach, err := h.files(ctx)
			if err != nil {
				return sdk.HistoryResponse{}, err
			}
			newest = reach
			if cur.Total == 0 {
				for _, o := range files {
					n, _ := strconv.ParseInt(o.Size, 10, 64)
					cur.Total += n
				}
			}
			var next *gcs.Object
			for i := range files {
				if next == nil && files[i].Name > cur.Name {
					next = &files[i]
				}
			}
			if next == nil { // done
				out.Done, out.Total = cur.Total, cur.Total
				out.CompleteUntil = h.completeUntil(newest)
				return out, nil
			}
			cur.Name, cur.Gen, cur.Pos = next.Name, next.Generation, nil
		}
		var rd *reports.Reader
		var body io.ReadCloser
		var err error
		off := int64(0)
		if cur.Pos != nil {
			off = cur.Pos.Offset
		}
		body, err = h.g.Open(ctx, cur.Name, cur.Gen, off)
		if gcs.IsGenerationGone(err) {
			// Rewritten since (a day's rows added): read it again from the
			// start; what was returned already comes again unchanged, and
			// the hub ignores unchanged reviews.
			cur.Gen, cur.Pos = "", nil
			body, err = h.g.Open(ctx, cur.Name, "", 0)
		}
		if err != nil {
			return sdk.HistoryResponse{}, err
		}
		if cur.Pos == nil {
			rd, err = reports.NewReader(body)
		} else {
			rd, err = reports.Resume(body, *cur.Pos)
		}
		if err != nil {
			_ = body.Close()
			out.Unreadable = append(out.Unreadable, sdk.Unreadable{ID: cur.Name, Reason: "google play report " + cur.Name + ": " + err.Error()})
			sdk.Log(ctx).Warn("google play report unreadable; skipped", "bucket", h.g.Bucket(), "object", cur.Name, "error", err)
			cur.Pos, cur.Gen = nil, ""
			out.NextCursor = cur.encode()
			return out, nil
		}
		full, ferr := h.read(ctx, rd, &out, exclude, size, &scanned)
		_ = body.Close()
		if ferr != nil {
			return sdk.HistoryResponse{}, ferr
		}
		pos := rd.Position()
		cur.Pos = &pos
		if !full { // the file is done
			cur.Done += pos.Offset
			cur.Pos, cur.Gen = nil, ""
		}
		if full || len(out.Reviews) >= size || scanned >= historyScan {
			out.Done, out.Total = cur.Done, cur.Total
			if cur.Pos != nil {
				out.Done += cur.Pos.Offset
			}
			out.NextCursor = cur.encode()
			return out, nil
		}
	}
}

// read reads rows into out until the page is full (true) or the file ends.
func (h *historyRun) read(ctx context.Context, rd *reports.Reader, out *sdk.HistoryResponse, exclude map[uint64]bool, size int, scanned *int) (bool, error) {
	req := h.req
	for len(out.Reviews) < size && *scanned < historyScan {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		var re *reports.RowError
		if errors.As(err, &re) {
			*scanned++
			out.Unreadable = append(out.Unreadable, sdk.Unreadable{Reason: fmt.Sprintf("google play report %s %v", h.cur.Name, re)})
			continue
		}
		if err != nil {
			return false, sdk.Errorf(sdk.ErrorKindUnavailable, "google play report %s of bucket %s: %v", h.cur.Name, h.g.Bucket(), err)
		}
		*scanned++
		if rec.Updated.Before(req.From) || !rec.Updated.Before(req.To) || exclude[idHash(rec.ID)] {
			continue
		}
		if rec.Package != "" && rec.Package != req.AppID {
			continue
		}
		if !rec.HasText() && !h.ratingOnly {
			out.RatingOnly++
			continue
		}
		out.Reviews = append(out.Reviews, reportReview(req.AppID, rec, h.account, h.consoleApp))
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	return true, nil
}

// completeUntil: Google writes the reports daily, 1–7 days late, and the
// API lists the last 7 days, so together they hold every review with text
// of any range. Without any report of the app at all (a new app, reports
// not written yet, another account's bucket) a range older than the API's
// window is complete only up to its start.
// GUESS: that the lag never exceeds the API's 7 days (observed 1–7).
func (h *historyRun) completeUntil(newest time.Time) time.Time {
	if newest.IsZero() && h.req.From.Before(time.Now().Add(-apiWindow)) {
		return h.req.From.UTC()
	}
	return time.Time{}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// reportReview maps a report row as the API's review is mapped (the same
// id, title and text split the same way), so the hub sees one review.
func reportReview(pkg string, r reports.Record, account, consoleApp string) sdk.Review {
	out := sdk.Review{ID: r.ID, AppID: pkg, Rating: r.Rating, Title: r.Title, Text: r.Text,
		Language: strings.ReplaceAll(r.Language, "_", "-"), Device: r.Device, AppVersion: r.VersionName,
		CreatedAt: r.Submitted, UpdatedAt: r.Updated, URL: play.ReviewURL(pkg, r.ID, account, consoleApp),
		Extra: map[string]string{"source": "reports"}}
	if r.VersionCode != "" {
		out.Extra["app_version_code"] = r.VersionCode
	}
	if r.Reply != "" {
		out.Reply = &sdk.DeveloperReply{Text: r.Reply, UpdatedAt: r.RepliedAt, State: "PUBLISHED"}
	}
	return out
}
