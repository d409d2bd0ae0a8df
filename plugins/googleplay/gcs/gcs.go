// Package gcs is the little of Google Cloud Storage's JSON API the Google
// Play plugin needs to read the monthly review reports: list a bucket's
// objects under a prefix (objects.list, paged with pageToken) and download
// one (objects.get with alt=media, from a byte offset with a Range header).
// Authentication is the caller's: the *http.Client it is given carries the
// service account's token (scope devstorage.read_only), deadlines and the
// SDK's retries.
package gcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/reviewhub/reviewhub/sdk"
)

// Scope is the OAuth scope the reports need: read objects.
const Scope = "https://www.googleapis.com/auth/devstorage.read_only"

// DefaultBaseURL is Cloud Storage's JSON API endpoint.
const DefaultBaseURL = "https://storage.googleapis.com"

// Permission is what Play Console must grant the service account for the
// reports bucket (there is no Cloud Storage IAM to set: the bucket belongs
// to Google's Play project).
const Permission = `in Play Console, Users and permissions, give the service account "View app information and download bulk reports" (account-wide, or for this app)`

// Client lists and reads the objects of one bucket.
type Client struct {
	hc     *http.Client
	base   string
	bucket string
}

// New is a client of bucket at base (DefaultBaseURL when empty) sending its
// requests through hc.
func New(hc *http.Client, base, bucket string) *Client {
	if base == "" {
		base = DefaultBaseURL
	}
	return &Client{hc: hc, base: strings.TrimRight(base, "/"), bucket: bucket}
}

// Bucket is the client's bucket name.
func (c *Client) Bucket() string { return c.bucket }

// Object is one object of a listing (the fields used; Cloud Storage's
// object resource has more).
type Object struct {
	Name        string    `json:"name"`
	Bucket      string    `json:"bucket"`
	Generation  string    `json:"generation"` // an int64 as a string
	Size        string    `json:"size"`       // a uint64 as a string
	ContentType string    `json:"contentType"`
	Updated     time.Time `json:"updated"`
}

// objects is the objects.list response ("kind": "storage#objects").
type objects struct {
	Kind          string   `json:"kind"`
	NextPageToken string   `json:"nextPageToken"`
	Items         []Object `json:"items"`
}

// maxListPages bounds one listing (1,000 objects a page): a bucket whose
// listing never ends is an error, not a loop.
const maxListPages = 100

// List returns every object whose name starts with prefix, following
// nextPageToken.
func (c *Client) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	token := ""
	for range maxListPages {
		q := url.Values{"prefix": {prefix}}
		if token != "" {
			q.Set("pageToken", token)
		}
		u := c.base + "/storage/v1/b/" + url.PathEscape(c.bucket) + "/o?" + q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, sdk.Errorf(sdk.ErrorKindInvalid, "cloud storage: bucket %q: %v", c.bucket, err)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, c.transport("listing objects "+prefix+"*", err)
		}
		var page objects
		err = decode(resp, &page)
		if err != nil {
			return nil, c.classify("listing objects "+prefix+"*", "", err)
		}
		out = append(out, page.Items...)
		if page.NextPageToken == "" {
			return out, nil
		}
		token = page.NextPageToken
	}
	return nil, sdk.Errorf(sdk.ErrorKindUnavailable, "cloud storage: listing bucket %s with prefix %s did not end after %d pages", c.bucket, prefix, maxListPages)
}

// Open downloads object name from byte offset on. A non-empty generation
// pins the object's version: when that generation is gone (the report was
// rewritten) the error is NotFound (see IsGenerationGone).
func (c *Client) Open(ctx context.Context, name, generation string, offset int64) (io.ReadCloser, error) {
	q := url.Values{"alt": {"media"}}
	if generation != "" {
		q.Set("generation", generation)
	}
	u := c.base + "/storage/v1/b/" + url.PathEscape(c.bucket) + "/o/" + url.PathEscape(name) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, sdk.Errorf(sdk.ErrorKindInvalid, "cloud storage: object %q: %v", name, err)
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transport("downloading "+name, err)
	}
	switch {
	case offset > 0 && resp.StatusCode == http.StatusPartialContent:
		return resp.Body, nil
	case offset > 0 && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		_ = resp.Body.Close()
		return io.NopCloser(strings.NewReader("")), nil // nothing after offset
	case offset > 0 && resp.StatusCode == http.StatusOK:
		// The range was ignored: skip to the offset ourselves.
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			_ = resp.Body.Close()
			return nil, c.transport("downloading "+name, err)
		}
		return resp.Body, nil
	case resp.StatusCode == http.StatusOK:
		return resp.Body, nil
	}
	return nil, c.classify("downloading", name, decode(resp, nil))
}

// apiError is an error answer of the JSON API.
type apiError struct {
	Status  int
	Header  http.Header
	Message string
	Reason  string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// decode reads a 200 answer into v, or returns the error answer.
func decode(resp *http.Response, v any) error {
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("the answer is not an objects list: %w", err)
		}
		return nil
	}
	e := &apiError{Status: resp.StatusCode, Header: resp.Header, Message: http.StatusText(resp.StatusCode)}
	var b struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) == nil && b.Error.Message != "" {
		e.Message = b.Error.Message
		if len(b.Error.Errors) > 0 {
			e.Reason = b.Error.Errors[0].Reason
		}
	}
	return e
}

// transport classifies an error of the request itself (the connection, a
// deadline, the token source).
func (c *Client) transport(op string, err error) error {
	if k := sdk.KindOf(err); k != sdk.ErrorKindUnknown && k != sdk.ErrorKindUnavailable {
		return err
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && (re.Response.StatusCode == http.StatusTooManyRequests || re.Response.StatusCode >= 500) {
			return sdk.Errorf(sdk.ErrorKindUnavailable, "cloud storage: the token endpoint is unavailable (%s)", re.Response.Status)
		}
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "cloud storage: the token endpoint refused the service-account key for scope %s (%s %s)", Scope, re.ErrorCode, re.ErrorDescription)
	}
	return sdk.Errorf(sdk.ErrorKindUnavailable, "cloud storage: %s in bucket %s: %v", op, c.bucket, err)
}

// IsGenerationGone reports whether err is Open's NotFound for a pinned
// generation.
func IsGenerationGone(err error) bool {
	var e *sdk.Error
	return errors.As(err, &e) && e.Kind == sdk.ErrorKindNotFound && strings.Contains(e.Message, "no such object")
}

func (c *Client) classify(op, object string, err error) error {
	var e *apiError
	if !errors.As(err, &e) {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "cloud storage: %s %s in bucket %s: %v", op, object, c.bucket, err)
	}
	what := "bucket " + c.bucket
	if object != "" {
		what = "object " + object + " of bucket " + c.bucket
	}
	switch {
	case e.Status == http.StatusTooManyRequests || strings.Contains(strings.ToLower(e.Reason), "ratelimit"):
		return sdk.HTTPError(http.StatusTooManyRequests, e.Header, "cloud storage: %s %s: rate limited: %s", op, what, e.Message)
	case e.Status == http.StatusUnauthorized:
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "cloud storage: %s %s: the access token was refused: %s", op, what, e.Message)
	case e.Status == http.StatusForbidden:
		return sdk.Errorf(sdk.ErrorKindPermissionDenied, "cloud storage: %s %s: the service account may not read the reports bucket; %s (Google: %s)", op, what, Permission, e.Message)
	case e.Status == http.StatusNotFound && object == "":
		return sdk.Errorf(sdk.ErrorKindNotFound, "cloud storage: no bucket %s: copy the reports bucket from Play Console (Download reports, Reviews, \"Copy Cloud Storage URI\": pubsite_prod_rev_… without gs://) (Google: %s)", c.bucket, e.Message)
	case e.Status == http.StatusNotFound:
		return sdk.Errorf(sdk.ErrorKindNotFound, "cloud storage: no such object %s (Google: %s)", what, e.Message)
	case e.Status >= 500:
		return sdk.Errorf(sdk.ErrorKindUnavailable, "cloud storage: %s %s: %d %s", op, what, e.Status, e.Message)
	}
	return sdk.Errorf(sdk.ErrorKindInvalid, "cloud storage: %s %s: %d %s", op, what, e.Status, e.Message)
}
