// Package reports reads Google Play's monthly review reports, the
// reviews_<package>_<YYYYMM>.csv files Play Console writes into the
// developer account's Cloud Storage bucket (see ../README.md, "Review
// reports"). It streams: an io.Reader in, one Record at a time out, so a
// file of any size is read in bounded memory.
//
// Facts used (sources in ../README.md):
//   - the files are UTF-16 with a byte-order mark (Google: "convert the CSV
//     files from UTF-16 to UTF-8" before loading them into BigQuery);
//     UTF-16BE and UTF-8 (with or without a BOM) are read too;
//   - columns are mapped by header name, not position: the current header
//     has 16 columns, older files lack "App Version Code" and "Reviewer
//     Language" (LayoutOlder);
//   - the review id is inside "Review Link", as the reviewId (or reviewid)
//     parameter of the query or of the #fragment, URL-encoded; decoded it is
//     the API's reviewId (gp:AOqpTO…).
package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Column names of the reports' header (current layout, in Google's order).
const (
	ColPackage       = "Package Name"
	ColVersionCode   = "App Version Code"
	ColVersionName   = "App Version Name"
	ColLanguage      = "Reviewer Language"
	ColDevice        = "Device"
	ColSubmitted     = "Review Submit Date and Time"
	ColSubmittedMS   = "Review Submit Millis Since Epoch"
	ColUpdated       = "Review Last Update Date and Time"
	ColUpdatedMS     = "Review Last Update Millis Since Epoch"
	ColRating        = "Star Rating"
	ColTitle         = "Review Title"
	ColText          = "Review Text"
	ColReplied       = "Developer Reply Date and Time"
	ColRepliedMS     = "Developer Reply Millis Since Epoch"
	ColReplyText     = "Developer Reply Text"
	ColLink          = "Review Link"
	maxFieldsPerLine = 64
)

// HeaderCurrent is the header of current files (16 columns).
var HeaderCurrent = []string{ColPackage, ColVersionCode, ColVersionName, ColLanguage, ColDevice, ColSubmitted, ColSubmittedMS,
	ColUpdated, ColUpdatedMS, ColRating, ColTitle, ColText, ColReplied, ColRepliedMS, ColReplyText, ColLink}

// HeaderOlder is the header of older files: no "App Version Code", no
// "Reviewer Language" (14 columns).
// GUESS: taken from a public script that concatenates old report files;
// Google documents no history of the format, so any file whose header names
// the required columns is read, whatever else it has.
var HeaderOlder = []string{ColPackage, ColVersionName, ColDevice, ColSubmitted, ColSubmittedMS,
	ColUpdated, ColUpdatedMS, ColRating, ColTitle, ColText, ColReplied, ColRepliedMS, ColReplyText, ColLink}

// aliases are other spellings of a column seen in public parsers of older
// files. GUESS: none is documented by Google.
var aliases = map[string][]string{
	ColLink:        {"Review URL"},
	ColSubmittedMS: {"Review Submit Millis"},
	ColUpdatedMS:   {"Review Last Update Millis"},
	ColRepliedMS:   {"Developer Reply Millis"},
}

// Layout names the header a file has.
type Layout string

const (
	// LayoutCurrent: App Version Code and Reviewer Language present.
	LayoutCurrent Layout = "current"
	// LayoutOlder: without them.
	LayoutOlder Layout = "older"
)

// Record is one row of a report: one review as it was at the report's last
// update.
type Record struct {
	Line        int    // the line the row starts on (the header is line 1)
	ID          string // the API's reviewId, from Review Link
	Package     string
	VersionCode string // empty in older files
	VersionName string
	Language    string // Reviewer Language ("en"; empty in older files)
	Device      string
	Submitted   time.Time
	Updated     time.Time // the last update; Submitted when the file has none
	Rating      int       // 1..5
	Title, Text string
	Reply       string
	RepliedAt   time.Time
	Link        string // Review Link as written
}

// HasText reports whether the reviewer wrote a title or a text (a rating
// alone has neither).
func (r Record) HasText() bool { return r.Title != "" || r.Text != "" }

// RowError is a row the reader could not read; the reader goes on with the
// next row.
type RowError struct {
	Line   int
	Reason string
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Stats counts what a reader has read so far.
type Stats struct {
	Rows       int // data rows seen, bad ones included
	Bad        int // rows returned as *RowError
	RatingOnly int // good rows without title and text
}

// Reader reads the records of one report file.
type Reader struct {
	sc       *scanner
	col      map[string]int
	header   []string
	layout   Layout
	encoding string
	stats    Stats
	fields   []string
}

// Position is where a reader stands in a file: enough to go on reading it
// from Offset (an HTTP range request) in a later call, without the bytes
// before it.
type Position struct {
	Encoding string   `json:"e"` // as Encoding reports it
	Header   []string `json:"h"` // the file's header as read
	Offset   int64    `json:"o"` // bytes of the file read so far (the next row starts here)
	Line     int      `json:"l"` // the last line read
}

// NewReader reads the byte-order mark and the header of a report. It fails
// when the header lacks a column every layout has (Review Link, Star
// Rating, a submit or last-update time), naming it.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading the report: %w", err)
	}
	enc, bom := sniff(head)
	if _, err := br.Discard(bom); err != nil {
		return nil, fmt.Errorf("reading the report: %w", err)
	}
	sc := newScanner(br, enc, int64(bom), 0)
	raw, err := sc.next()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("report is empty: no header line")
	}
	if err != nil {
		return nil, fmt.Errorf("reading the report header: %w", err)
	}
	header, perr := splitCSV(string(raw), nil)
	if perr != "" {
		return nil, fmt.Errorf("report header (read as %s): %s", enc.name, perr)
	}
	return newReader(sc, enc.name, header)
}

// Resume goes on reading a report at pos: r holds the file's bytes from
// pos.Offset on (a range request's answer).
func Resume(r io.Reader, pos Position) (*Reader, error) {
	enc, ok := encodings[pos.Encoding]
	if !ok {
		return nil, fmt.Errorf("resuming a report: unknown encoding %q", pos.Encoding)
	}
	return newReader(newScanner(bufio.NewReaderSize(r, 64<<10), enc, pos.Offset, pos.Line), enc.name, slices.Clone(pos.Header))
}

func newReader(sc *scanner, encName string, header []string) (*Reader, error) {
	rd := &Reader{sc: sc, col: map[string]int{}, encoding: encName, header: header}
	canonical := map[string]string{}
	for _, h := range HeaderCurrent {
		canonical[strings.ToLower(h)] = h
		for _, a := range aliases[h] {
			canonical[strings.ToLower(a)] = h
		}
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if c, ok := canonical[h]; ok {
			if _, dup := rd.col[c]; !dup {
				rd.col[c] = i
			}
		}
	}
	var missing []string
	for _, need := range []string{ColLink, ColRating} {
		if _, ok := rd.col[need]; !ok {
			missing = append(missing, need)
		}
	}
	if !rd.has(ColSubmittedMS) && !rd.has(ColSubmitted) && !rd.has(ColUpdatedMS) && !rd.has(ColUpdated) {
		missing = append(missing, ColSubmittedMS+" (or another review time)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("report header (read as %s) lacks %s; it has %q", encName, strings.Join(missing, ", "), strings.Join(header, ","))
	}
	rd.layout = LayoutOlder
	if rd.has(ColVersionCode) && rd.has(ColLanguage) {
		rd.layout = LayoutCurrent
	}
	return rd, nil
}

func (rd *Reader) has(col string) bool { _, ok := rd.col[col]; return ok }

// Layout is the header the file has.
func (rd *Reader) Layout() Layout { return rd.layout }

// Encoding is how the file was decoded ("UTF-16LE", "UTF-8"…).
func (rd *Reader) Encoding() string { return rd.encoding }

// Stats counts the rows read so far.
func (rd *Reader) Stats() Stats { return rd.stats }

// Position is where the next row starts (see Resume).
func (rd *Reader) Position() Position {
	return Position{Encoding: rd.encoding, Header: rd.header, Offset: rd.sc.offset, Line: rd.sc.line}
}

// Next returns the next record; io.EOF after the last. A row it cannot read
// is returned as a *RowError (its line and why) and counted in Stats.Bad;
// call Next again for the rows after it. Any other error (the input broke
// off) ends the file.
func (rd *Reader) Next() (Record, error) {
	for {
		line := rd.sc.line + 1
		raw, err := rd.sc.next()
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		if err != nil {
			return Record{}, fmt.Errorf("reading the report after line %d: %w", line-1, err)
		}
		row := strings.TrimRight(string(raw), "\r\n")
		if strings.TrimSpace(row) == "" {
			continue // a blank line
		}
		rd.stats.Rows++
		var reason string
		rd.fields, reason = splitCSV(row, rd.fields[:0])
		if reason != "" {
			rd.stats.Bad++
			return Record{}, &RowError{Line: line, Reason: "not CSV: " + reason}
		}
		rec, reason := rd.record(rd.fields)
		if reason != "" {
			rd.stats.Bad++
			return Record{}, &RowError{Line: line, Reason: reason}
		}
		rec.Line = line
		if !rec.HasText() {
			rd.stats.RatingOnly++
		}
		return rec, nil
	}
}

func (rd *Reader) get(fields []string, col string) string {
	i, ok := rd.col[col]
	if !ok || i >= len(fields) {
		return ""
	}
	return strings.TrimSpace(fields[i])
}

// record maps one row; a non-empty reason says why it cannot.
func (rd *Reader) record(f []string) (Record, string) {
	if len(f) > maxFieldsPerLine {
		return Record{}, fmt.Sprintf("%d fields, more than any report has", len(f))
	}
	if need := rd.col[ColLink]; need >= len(f) {
		return Record{}, fmt.Sprintf("%d fields, the header has more (%s is column %d)", len(f), ColLink, need+1)
	}
	link := rd.get(f, ColLink)
	id, err := ReviewID(link)
	if err != nil {
		return Record{}, err.Error()
	}
	r := Record{ID: id, Link: link, Package: rd.get(f, ColPackage), VersionCode: rd.get(f, ColVersionCode),
		VersionName: rd.get(f, ColVersionName), Language: rd.get(f, ColLanguage), Device: rd.get(f, ColDevice),
		Title: rd.get(f, ColTitle), Text: rd.get(f, ColText), Reply: rd.get(f, ColReplyText)}
	n, err := strconv.Atoi(rd.get(f, ColRating))
	if err != nil || n < 1 || n > 5 {
		return Record{}, fmt.Sprintf("review %s: %s %q is not 1..5", id, ColRating, rd.get(f, ColRating))
	}
	r.Rating = n
	var reason string
	if r.Submitted, reason = rd.when(f, ColSubmittedMS, ColSubmitted); reason != "" {
		return Record{}, "review " + id + ": " + reason
	}
	if r.Updated, reason = rd.when(f, ColUpdatedMS, ColUpdated); reason != "" {
		return Record{}, "review " + id + ": " + reason
	}
	if r.RepliedAt, reason = rd.when(f, ColRepliedMS, ColReplied); reason != "" {
		return Record{}, "review " + id + ": " + reason
	}
	if r.Updated.IsZero() {
		r.Updated = r.Submitted
	}
	if r.Submitted.IsZero() {
		r.Submitted = r.Updated
	}
	if r.Updated.IsZero() {
		return Record{}, "review " + id + ": no submit or last-update time"
	}
	return r, ""
}

// when reads a time from its milliseconds column, else from its date-time
// column (RFC 3339, "2021-03-04T05:06:07Z"; GUESS: the text form is only
// seen in public test data, the milliseconds are preferred). Both empty is
// the zero time.
func (rd *Reader) when(f []string, msCol, textCol string) (time.Time, string) {
	if v := rd.get(f, msCol); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return time.Time{}, fmt.Sprintf("%s %q is not a number of milliseconds", msCol, v)
		}
		return time.UnixMilli(ms).UTC(), ""
	}
	v := rd.get(f, textCol)
	if v == "" {
		return time.Time{}, ""
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), ""
		}
	}
	return time.Time{}, fmt.Sprintf("%s %q is not a date and time", textCol, v)
}

// ReviewID takes the review id out of a Review Link: the reviewId (any
// case) parameter of its query, or of its #fragment (older links:
// "#ReviewDetailsPlace:p=PKG&reviewid=gp:…"), URL-decoded.
func ReviewID(link string) (string, error) {
	if link == "" {
		return "", errors.New(ColLink + " is empty")
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("%s %q is not a URL", ColLink, cut(link))
	}
	for _, part := range []string{u.RawQuery, u.EscapedFragment()} {
		for _, kv := range strings.Split(part, "&") {
			k, v, ok := strings.Cut(kv, "=")
			if i := strings.LastIndexByte(k, ':'); i >= 0 {
				k = k[i+1:] // "ReviewDetailsPlace:p" (a GWT place token) → "p"
			}
			if !ok || !strings.EqualFold(k, "reviewid") {
				continue
			}
			id, err := url.QueryUnescape(v)
			if err != nil {
				return "", fmt.Errorf("%s: reviewId %q is not URL-encoded", ColLink, cut(v))
			}
			if id = strings.TrimSpace(id); id != "" {
				return id, nil
			}
		}
	}
	return "", fmt.Errorf("%s %q has no reviewId", ColLink, cut(link))
}

func cut(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
