package reports

import (
	"bufio"
	"encoding/csv"
	"io"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Writer writes a report the way Play Console does: UTF-16LE with a BOM,
// the given header. The fake Cloud Storage and the tests use it; the plugin
// never writes reports.
type Writer struct {
	w      *csv.Writer
	buf    *bufio.Writer
	enc    io.WriteCloser
	header []string
	row    []string
}

// NewWriter writes the header (HeaderCurrent or HeaderOlder, or any other
// list of the column names) at once.
func NewWriter(w io.Writer, header []string) (*Writer, error) {
	enc := transform.NewWriter(w, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder())
	buf := bufio.NewWriterSize(enc, 32<<10)
	cw := csv.NewWriter(buf)
	wr := &Writer{w: cw, buf: buf, enc: enc, header: header, row: make([]string, len(header))}
	return wr, cw.Write(header)
}

func millis(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func text(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Write writes one record; its Link is written as is (build it with
// ConsoleLink).
func (wr *Writer) Write(r Record) error {
	for i, h := range wr.header {
		var v string
		switch h {
		case ColPackage:
			v = r.Package
		case ColVersionCode:
			v = r.VersionCode
		case ColVersionName:
			v = r.VersionName
		case ColLanguage:
			v = r.Language
		case ColDevice:
			v = r.Device
		case ColSubmitted:
			v = text(r.Submitted)
		case ColSubmittedMS:
			v = millis(r.Submitted)
		case ColUpdated:
			v = text(r.Updated)
		case ColUpdatedMS:
			v = millis(r.Updated)
		case ColRating:
			v = strconv.Itoa(r.Rating)
		case ColTitle:
			v = r.Title
		case ColText:
			v = r.Text
		case ColReplied:
			v = text(r.RepliedAt)
		case ColRepliedMS:
			v = millis(r.RepliedAt)
		case ColReplyText:
			v = r.Reply
		case ColLink:
			v = r.Link
		}
		wr.row[i] = v
	}
	return wr.w.Write(wr.row)
}

// WriteRaw writes fields as they are (for malformed rows in tests).
func (wr *Writer) WriteRaw(fields []string) error { return wr.w.Write(fields) }

// Close flushes everything written; it does not close the underlying writer.
func (wr *Writer) Close() error {
	wr.w.Flush()
	if err := wr.w.Error(); err != nil {
		return err
	}
	if err := wr.buf.Flush(); err != nil {
		return err
	}
	return wr.enc.Close()
}

// ConsoleLink is the Review Link of current files:
// https://play.google.com/console/developers/DEV/app/APP/user-feedback/review-details?reviewId=ID&corpus=PUBLIC_REVIEWS
// with the id URL-encoded.
func ConsoleLink(developer, app, id string) string {
	return "https://play.google.com/console/developers/" + developer + "/app/" + app +
		"/user-feedback/review-details?reviewId=" + queryEscape(id) + "&corpus=PUBLIC_REVIEWS"
}

// OlderLink is the Review Link of older files:
// https://play.google.com/apps/publish?account=ACCT#ReviewDetailsPlace:p=PKG&reviewid=ID
func OlderLink(account, pkg, id string) string {
	return "https://play.google.com/apps/publish?account=" + account + "#ReviewDetailsPlace:p=" + pkg + "&reviewid=" + id
}

func queryEscape(s string) string { return url.QueryEscape(s) }
