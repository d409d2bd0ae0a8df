package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"
)

func encode(t *testing.T, s string, e unicode.Endianness) []byte {
	t.Helper()
	b, err := unicode.UTF16(e, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const currentCSV = `Package Name,App Version Code,App Version Name,Reviewer Language,Device,Review Submit Date and Time,Review Submit Millis Since Epoch,Review Last Update Date and Time,Review Last Update Millis Since Epoch,Star Rating,Review Title,Review Text,Developer Reply Date and Time,Developer Reply Millis Since Epoch,Developer Reply Text,Review Link
com.example.app,42,4.2,en,a51,2026-11-02T10:00:00Z,1793613600000,2026-11-03T10:00:00Z,1793700000000,4,Nice,"Works, mostly — 日本語 😀",2026-11-04T10:00:00Z,1793786400000,Thanks!,https://play.google.com/console/developers/5166846112789481453/app/4974525787948290123/user-feedback/review-details?reviewId=gp%3AAOqpTOE1&corpus=PUBLIC_REVIEWS
com.example.app,43,4.3,de,,2026-11-05T10:00:00Z,1793872800000,2026-11-05T10:00:00Z,1793872800000,2,,,,,,https://play.google.com/console/developers/5166846112789481453/app/4974525787948290123/user-feedback/review-details?reviewId=gp%3AAOqpTOE2&corpus=PUBLIC_REVIEWS
`

// An older file: no App Version Code, no Reviewer Language, columns in
// another order, links in the old #ReviewDetailsPlace form.
const olderCSV = `Package Name,App Version Name,Device,Review Submit Date and Time,Review Submit Millis Since Epoch,Review Last Update Date and Time,Review Last Update Millis Since Epoch,Star Rating,Review Title,Review Text,Developer Reply Date and Time,Developer Reply Millis Since Epoch,Developer Reply Text,Review Link
org.old.app,1.0,hammerhead,2015-03-01T08:00:00Z,1425196800000,2015-03-02T08:00:00Z,1425283200000,5,Great,"Multi
line text",,,,https://play.google.com/apps/publish?account=8170000000000000000#ReviewDetailsPlace:p=org.old.app&reviewid=gp:AOqpTOF-old_1
`

func readAll(t *testing.T, data []byte) (*Reader, []Record, []*RowError) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	var bad []*RowError
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rd, recs, bad
		}
		var re *RowError
		if errors.As(err, &re) {
			bad = append(bad, re)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

func TestReportsUTF16AndUTF8(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		enc  string
	}{
		{"UTF-16LE with BOM", encode(t, currentCSV, unicode.LittleEndian), "UTF-16LE"},
		{"UTF-16BE with BOM", encode(t, currentCSV, unicode.BigEndian), "UTF-16BE"},
		{"UTF-8 with BOM", append([]byte("\xEF\xBB\xBF"), currentCSV...), "UTF-8"},
		{"UTF-8", []byte(currentCSV), "UTF-8"},
		{"UTF-16LE without BOM", encode(t, currentCSV, unicode.LittleEndian)[2:], "UTF-16LE without BOM"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rd, recs, bad := readAll(t, c.data)
			if rd.Encoding() != c.enc || rd.Layout() != LayoutCurrent || len(bad) != 0 || len(recs) != 2 {
				t.Fatalf("encoding %s layout %s, %d records, bad %v", rd.Encoding(), rd.Layout(), len(recs), bad)
			}
			r := recs[0]
			want := Record{Line: 2, ID: "gp:AOqpTOE1", Package: "com.example.app", VersionCode: "42", VersionName: "4.2", Language: "en", Device: "a51",
				Submitted: time.UnixMilli(1793613600000).UTC(), Updated: time.UnixMilli(1793700000000).UTC(), Rating: 4, Title: "Nice",
				Text: "Works, mostly — 日本語 😀", Reply: "Thanks!", RepliedAt: time.UnixMilli(1793786400000).UTC(), Link: r.Link}
			if r != want {
				t.Errorf("got  %+v\nwant %+v", r, want)
			}
		})
	}
}

func TestReportsBothLayouts(t *testing.T) {
	rd, recs, bad := readAll(t, encode(t, olderCSV, unicode.LittleEndian))
	if rd.Layout() != LayoutOlder || len(bad) != 0 || len(recs) != 1 {
		t.Fatalf("layout %s, records %+v, bad %v", rd.Layout(), recs, bad)
	}
	r := recs[0]
	if r.ID != "gp:AOqpTOF-old_1" || r.Package != "org.old.app" || r.VersionCode != "" || r.Language != "" || r.Device != "hammerhead" ||
		r.Text != "Multi\nline text" || r.Rating != 5 || !r.Updated.Equal(time.UnixMilli(1425283200000)) || r.Line != 2 {
		t.Errorf("older row %+v", r)
	}
	// Columns found by name in any order, text dates when the milliseconds
	// are missing.
	shuffled := "Star Rating,Review Link,Review Text,Review Submit Date and Time\n" +
		"3,https://x/?reviewId=gp%3Aa,hi,2020-01-02T03:04:05Z\n"
	_, recs, bad = readAll(t, []byte(shuffled))
	if len(bad) != 0 || len(recs) != 1 || recs[0].ID != "gp:a" || recs[0].Rating != 3 ||
		!recs[0].Updated.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) || !recs[0].Submitted.Equal(recs[0].Updated) {
		t.Errorf("shuffled %+v %v", recs, bad)
	}
	// A header without a required column is refused, naming it.
	_, err := NewReader(strings.NewReader("Package Name,Star Rating,Review Text\ncom.x,5,hi\n"))
	if err == nil || !strings.Contains(err.Error(), "lacks Review Link") || !strings.Contains(err.Error(), "Review Submit Millis Since Epoch") {
		t.Errorf("header without a link: %v", err)
	}
	if _, err := NewReader(strings.NewReader("")); err == nil {
		t.Error("empty file accepted")
	}
}

func TestReportsReviewIDs(t *testing.T) {
	for link, want := range map[string]string{
		"https://play.google.com/console/developers/1/app/2/user-feedback/review-details?reviewId=gp%3AAOqpTOE&corpus=PUBLIC_REVIEWS": "gp:AOqpTOE",
		"https://play.google.com/apps/publish?account=1#ReviewDetailsPlace:p=com.x&reviewid=gp:AOqpTOH8ZUv5em6":                       "gp:AOqpTOH8ZUv5em6",
		"https://play.google.com/apps/publish?account=1#ReviewDetailsPlace:p=com.x&reviewid=gp%3AAOq%2Fx":                             "gp:AOq/x",
		"https://play.google.com/store/apps/details?id=com.x&REVIEWID=gp%3AZ":                                                         "gp:Z",
		"https://example/#reviewId=gp%3AY":    "gp:Y",
		ConsoleLink("1", "2", "gp:AO/+=x"):    "gp:AO/+=x",
		OlderLink("1", "com.x", "gp:AOqpTO1"): "gp:AOqpTO1",
	} {
		if got, err := ReviewID(link); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", link, got, err, want)
		}
	}
	for _, bad := range []string{"", "https://play.google.com/console/developers/1/app/2/user-feedback", "https://x/?reviewId=", "https://x/?reviewId=%zz", "::not a url"} {
		if got, err := ReviewID(bad); err == nil {
			t.Errorf("%q: id %q accepted", bad, got)
		}
	}
}

func TestReportsRatingsWithoutText(t *testing.T) {
	rd, recs, _ := readAll(t, encode(t, currentCSV, unicode.LittleEndian))
	if len(recs) != 2 || !recs[0].HasText() || recs[1].HasText() || recs[1].Rating != 2 || recs[1].ID != "gp:AOqpTOE2" {
		t.Fatalf("records %+v", recs)
	}
	if s := rd.Stats(); s != (Stats{Rows: 2, RatingOnly: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestReportsMalformedRowsReportedAndSkipped(t *testing.T) {
	link := func(id string) string { return ConsoleLink("1", "2", id) }
	var buf bytes.Buffer
	w, err := NewWriter(&buf, HeaderCurrent)
	if err != nil {
		t.Fatal(err)
	}
	ok := Record{Package: "com.x", Rating: 5, Text: "fine", Submitted: time.Unix(1700000000, 0), Updated: time.Unix(1700000000, 0)}
	write := func(r Record) {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	ok.Link = link("gp:1")
	write(ok) // line 2
	bad := ok
	bad.Link = link("gp:2")
	bad.Rating = 9
	write(bad) // line 3: rating
	bad = ok
	bad.Link = "https://play.google.com/console/no-id"
	write(bad)                                                      // line 4: no id
	if err := w.WriteRaw([]string{"com.x", "1", "2"}); err != nil { // line 5: too short
		t.Fatal(err)
	}
	bad = ok
	bad.Link = link("gp:5")
	write(bad)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	// Line 7: a bad millisecond value, written by hand; line 8: a good row.
	tail := "com.x,1,1,en,d,,notanumber,,,3,,t,,,,https://x/?reviewId=gp%3A7\ncom.x,1,1,en,d,,1700000000000,,,3,,t,,,,https://x/?reviewId=gp%3A8\n"
	data = append(data, encode(t, tail, unicode.LittleEndian)[2:]...)
	rd, recs, errs := readAll(t, data)
	var ids []string
	for _, r := range recs {
		ids = append(ids, fmt.Sprint(r.Line, r.ID))
	}
	if strings.Join(ids, " ") != "2gp:1 6gp:5 8gp:8" {
		t.Errorf("good rows %v", ids)
	}
	var lines []string
	for _, e := range errs {
		lines = append(lines, e.Error())
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{"line 3: review gp:2: Star Rating \"9\" is not 1..5", "line 4: Review Link", "has no reviewId",
		"line 5: 3 fields", "line 7: review gp:7: Review Submit Millis Since Epoch \"notanumber\""} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	if s := rd.Stats(); s.Rows != 7 || s.Bad != 4 || len(errs) != 4 {
		t.Errorf("stats %+v, errors %d", s, len(errs))
	}
	// A broken quote is a row error too, and the rows after it are read.
	_, recs, errs = readAll(t, []byte("Star Rating,Review Link,Review Submit Millis Since Epoch\n5,https://x/?reviewId=a,1\n5,bad\"quote,1\n4,https://x/?reviewId=b,2\n"))
	if len(recs) != 2 || len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Reason, "not CSV") {
		t.Errorf("quote: %+v %v", recs, errs)
	}
}

// generate writes n rows of about 600 bytes each (UTF-16) into w.
func generate(w io.WriteCloser, n int) error {
	rw, err := NewWriter(w, HeaderCurrent)
	if err != nil {
		return err
	}
	body := strings.Repeat("The app is fine but slow to start; ", 5)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		at := base.Add(time.Duration(i) * time.Second)
		if err := rw.Write(Record{Package: "com.big", VersionCode: "7", VersionName: "7.0", Language: "en", Device: "a51",
			Submitted: at, Updated: at, Rating: 1 + i%5, Title: "t", Text: body,
			Link: ConsoleLink("1", "2", fmt.Sprintf("gp:AOqpTO%08d", i))}); err != nil {
			return err
		}
	}
	if err := rw.Close(); err != nil {
		return err
	}
	return w.Close()
}

type countingWriter struct {
	w io.WriteCloser
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return c.w.Write(p) }
func (c *countingWriter) Close() error                { return c.w.Close() }

// TestReportsLargeFileStreamedWithBoundedMemory reads 100,000 generated rows
// (about 70 MB of UTF-16) through a pipe and samples the live heap: it must
// stay a small fraction of the file.
func TestReportsLargeFileStreamedWithBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	const n = 100_000
	pr, pw := io.Pipe()
	cw := &countingWriter{w: pw}
	go func() { _ = pw.CloseWithError(generate(cw, n)) }()
	rd, err := NewReader(pr)
	if err != nil {
		t.Fatal(err)
	}
	var maxLive uint64
	var ms runtime.MemStats
	count := 0
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("gp:AOqpTO%08d", count); rec.ID != want {
			t.Fatalf("row %d: id %s, want %s", count, rec.ID, want)
		}
		count++
		if count%20_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			maxLive = max(maxLive, ms.HeapAlloc)
		}
	}
	if count != n || rd.Stats().Rows != n || rd.Stats().Bad != 0 {
		t.Fatalf("read %d of %d, stats %+v", count, n, rd.Stats())
	}
	t.Logf("%d rows, %d MB of UTF-16, largest live heap %.1f MiB", n, cw.n>>20, float64(maxLive)/(1<<20))
	if cw.n < 40<<20 {
		t.Fatalf("the file is only %d bytes; the test needs one far larger than the heap bound", cw.n)
	}
	if maxLive > 16<<20 {
		t.Errorf("live heap %d bytes while reading a %d-byte file: the reader holds the file", maxLive, cw.n)
	}
}

// BenchmarkReportsParse100k reports rows/s and bytes allocated per row.
func BenchmarkReportsParse100k(b *testing.B) {
	var buf bytes.Buffer
	pw := &nopCloser{&buf}
	if err := generate(pw, 100_000); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := rd.Next(); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/100k-rows")
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestReportsResumeAtPosition reads a file in pieces: each piece starts at
// the Position the previous one stopped at, from the file's bytes at its
// Offset only (as a range request gives them), and the pieces together are
// the whole file's records, line numbers included.
func TestReportsResumeAtPosition(t *testing.T) {
	for name, data := range map[string][]byte{
		"UTF-16LE": encode(t, currentCSV+"com.x,1,1,en,d,,1700000000000,,,3,,\"multi\nline 😀\",,,,https://x/?reviewId=gp%3A8\n", unicode.LittleEndian),
		"UTF-16BE": encode(t, currentCSV, unicode.BigEndian),
		"UTF-8":    append([]byte("\xEF\xBB\xBF"), currentCSV+"com.x,1,1,en,d,,1700000000000,,,3,,\"a\n\"\"b\"\"\",,,,https://x/?reviewId=gp%3A9\n"...),
	} {
		t.Run(name, func(t *testing.T) {
			_, whole, _ := readAll(t, data)
			rd, err := NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			var pieces []Record
			for {
				rec, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				pieces = append(pieces, rec)
				pos := rd.Position()
				if rd, err = Resume(bytes.NewReader(data[pos.Offset:]), pos); err != nil {
					t.Fatal(err)
				}
			}
			if len(whole) < 2 || fmt.Sprint(pieces) != fmt.Sprint(whole) {
				t.Errorf("resumed:\n%v\nwhole:\n%v", pieces, whole)
			}
		})
	}
	if _, err := Resume(strings.NewReader(""), Position{Encoding: "latin1"}); err == nil {
		t.Error("unknown encoding accepted")
	}
}
