package fake

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/googleplay/reports"
)

// StorageScope is the scope Cloud Storage's read calls need.
const StorageScope = "https://www.googleapis.com/auth/devstorage.read_only"

const storagePrefix = "/storage/v1/b/"

// DeveloperAccount and ConsoleApp are the Play Console ids in the generated
// reports' Review Link.
const (
	DeveloperAccount = "5166846112789481453"
	ConsoleApp       = "4974525787948290123"
)

// listPageSize is objects.list's default maxResults (Google: 1,000).
const listPageSize = 1000

type object struct {
	md5, crc32c string // computed once
	data        []byte
	generation  int64
	contentType string
	created     time.Time
	updated     time.Time
}

// storage is the fake Cloud Storage: buckets of objects put by the tests,
// and buckets whose reviews/ objects are Play's monthly reports generated
// from the fake's reviews.
type storage struct {
	buckets  map[string]map[string]*object
	denied   map[string]bool
	reports  map[string]time.Duration      // bucket → the reports' lag
	cache    map[string]*object            // bucket/name → generated report
	listings map[string]map[string]*object // bucket@cutoff → the bucket's objects, generated ones included
	cacheAt  int                           // s.changes the cache was built at
	calls    int
	gen      int64
	pageSize int
}

func (st *storage) init() {
	if st.buckets == nil {
		st.buckets, st.denied, st.reports, st.cache = map[string]map[string]*object{}, map[string]bool{}, map[string]time.Duration{}, map[string]*object{}
	}
}

// PutObject stores an object (a report file in another layout, say).
func (s *Server) PutObject(bucket, name, contentType string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storage.init()
	if s.storage.buckets[bucket] == nil {
		s.storage.buckets[bucket] = map[string]*object{}
	}
	s.storage.gen++
	now := s.now()
	s.storage.buckets[bucket][name] = (&object{data: slices.Clone(data), generation: now.UnixMicro() + s.storage.gen, contentType: contentType, created: now, updated: now}).sums()
	s.changes++ // the listings cached change
}

// ServeReports makes bucket hold Play's monthly review reports of every app
// of the fake, generated from its reviews when asked for:
// reviews/reviews_PKG_YYYYMM.csv, UTF-16LE with a BOM, the current layout,
// one row per review in the file of the month of its last change, rating-only
// reviews included, replies with their time. A review changed less than lag
// ago is not in the reports yet (Google: reports are generated daily;
// observed lag 1–7 days).
// GUESS: that a review sits in the file of the month of its last change.
// Google does not say; the plugin does not depend on it (it reads every
// month file that can hold a change inside the range asked for).
func (s *Server) ServeReports(bucket string, lag time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storage.init()
	s.storage.reports[bucket] = lag
	if s.storage.buckets[bucket] == nil {
		s.storage.buckets[bucket] = map[string]*object{}
	}
}

// DenyBucket makes the bucket answer 403, as for a service account without
// the "View app information and download bulk reports" permission.
func (s *Server) DenyBucket(bucket string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storage.init()
	s.storage.denied[bucket] = true
}

// StorageCalls is the number of Cloud Storage calls answered.
func (s *Server) StorageCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storage.calls
}

// StoragePageSize makes objects.list return at most n objects a page (0:
// Google's 1,000).
func (s *Server) StoragePageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storage.pageSize = n
}

// objectsLocked is the bucket's objects, generated reports included.
func (s *Server) objectsLocked(bucket string) (map[string]*object, bool) {
	st := &s.storage
	st.init()
	objs, ok := st.buckets[bucket]
	if !ok {
		return nil, false
	}
	lag, gen := st.reports[bucket]
	if !gen {
		return objs, true
	}
	if st.cacheAt != s.changes {
		clear(st.cache)
		clear(st.listings)
		st.cacheAt = s.changes
	}
	cutoff := s.now().Add(-lag)
	lkey := bucket + "@" + cutoff.Truncate(time.Hour).String()
	if st.listings == nil {
		st.listings = map[string]map[string]*object{}
	}
	if l, ok := st.listings[lkey]; ok {
		return l, true
	}
	out := make(map[string]*object, len(objs))
	for k, v := range objs {
		out[k] = v
	}
	for pkg, a := range s.apps {
		months := map[string][]*review{}
		for _, rv := range a.order {
			if rv.modified.After(cutoff) {
				continue
			}
			m := rv.modified.Format("200601")
			months[m] = append(months[m], rv)
		}
		for m, rvs := range months {
			name := "reviews/reviews_" + pkg + "_" + m + ".csv"
			key := bucket + "/" + name + "@" + cutoff.Truncate(time.Hour).String()
			if o := st.cache[key]; o != nil {
				out[name] = o
				continue
			}
			o := reportFile(pkg, rvs)
			st.cache[key] = o
			out[name] = o
		}
	}
	st.listings[lkey] = out
	return out, true
}

// reportFile writes the rows oldest change first.
func reportFile(pkg string, rvs []*review) *object {
	var buf bytes.Buffer
	w, _ := reports.NewWriter(&buf, reports.HeaderCurrent)
	var updated time.Time
	for i := len(rvs) - 1; i >= 0; i-- {
		rv := rvs[i]
		title, text := "", rv.text
		if t, b, ok := strings.Cut(rv.text, "\t"); ok {
			title, text = t, b
		}
		rec := reports.Record{Package: pkg, VersionName: rv.versionName, Language: rv.lang, Device: rv.device,
			Submitted: rv.created, Updated: rv.modified, Rating: int(rv.rating), Title: title, Text: text,
			Link: reports.ConsoleLink(DeveloperAccount, ConsoleApp, rv.id)}
		if rv.versionCode > 0 {
			rec.VersionCode = strconv.FormatInt(rv.versionCode, 10)
		}
		if rv.reply != "" {
			rec.Reply, rec.RepliedAt = rv.reply, rv.replied
		}
		_ = w.Write(rec)
		updated = rv.modified
	}
	_ = w.Close()
	h := fnv.New64a()
	h.Write(buf.Bytes())
	return (&object{data: buf.Bytes(), generation: int64(h.Sum64() >> 1), contentType: "text/csv; charset=utf-16le", created: updated, updated: updated}).sums()
}

func storageError(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"errors": []map[string]string{{"message": msg, "domain": "global", "reason": reason}},
	}})
}

// serveStorage answers objects.list and objects.get (metadata, or the
// object with alt=media, honouring Range and generation).
func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), storagePrefix)
	bucketEsc, objPart, _ := strings.Cut(rest, "/")
	bucket, err1 := url.PathUnescape(bucketEsc)
	objEsc, isObj := strings.CutPrefix(objPart, "o/")
	name, err2 := url.PathUnescape(objEsc)
	if err1 != nil || err2 != nil || r.Method != http.MethodGet || (objPart != "o" && !isObj) || (isObj && name == "") {
		storageError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	s.mu.Lock()
	s.storage.calls++
	denied := s.storage.denied[bucket]
	objs, ok := s.objectsLocked(bucket)
	pageSize := s.storage.pageSize
	s.mu.Unlock()
	switch {
	case denied:
		perm := "storage.objects.get"
		if !isObj {
			perm = "storage.objects.list"
		}
		storageError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("%s does not have %s access to the Google Cloud Storage bucket. Permission '%s' denied on resource (or it may not exist).", ClientEmail, perm, perm))
		return
	case !ok:
		storageError(w, http.StatusNotFound, "notFound", "The specified bucket does not exist.")
		return
	case !isObj:
		s.listObjects(w, r, bucket, objs, pageSize)
		return
	}
	o := objs[name]
	if g := r.URL.Query().Get("generation"); o != nil && g != "" && g != strconv.FormatInt(o.generation, 10) {
		o = nil
	}
	if o == nil {
		storageError(w, http.StatusNotFound, "notFound", "No such object: "+bucket+"/"+name)
		return
	}
	if r.URL.Query().Get("alt") != "media" {
		writeJSON(w, http.StatusOK, objectJSON(bucket, name, o))
		return
	}
	w.Header().Set("Content-Type", o.contentType)
	w.Header().Set("X-Goog-Generation", strconv.FormatInt(o.generation, 10))
	http.ServeContent(w, r, "", o.updated, bytes.NewReader(o.data))
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, bucket string, objs map[string]*object, pageSize int) {
	q := r.URL.Query()
	prefix := q.Get("prefix")
	size := listPageSize
	if n, err := strconv.Atoi(q.Get("maxResults")); err == nil && n > 0 && n < size {
		size = n
	}
	if pageSize > 0 && pageSize < size {
		size = pageSize
	}
	after := ""
	if t := q.Get("pageToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			storageError(w, http.StatusBadRequest, "invalid", "Invalid pageToken.")
			return
		}
		after = string(b)
	}
	var names []string
	for n := range objs {
		if strings.HasPrefix(n, prefix) && n > after {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	resp := map[string]any{"kind": "storage#objects"}
	if len(names) > size {
		names = names[:size]
		resp["nextPageToken"] = base64.RawURLEncoding.EncodeToString([]byte(names[len(names)-1]))
	}
	if len(names) > 0 { // Google leaves "items" out of an empty listing
		items := make([]map[string]any, 0, len(names))
		for _, n := range names {
			items = append(items, objectJSON(bucket, n, objs[n]))
		}
		resp["items"] = items
	}
	writeJSON(w, http.StatusOK, resp)
}

// sums sets the object's md5Hash and crc32c (base64, as Google gives them).
func (o *object) sums() *object {
	md5sum := md5.Sum(o.data)
	crc := crc32.Checksum(o.data, crc32.MakeTable(crc32.Castagnoli))
	o.md5 = base64.StdEncoding.EncodeToString(md5sum[:])
	o.crc32c = base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return o
}

// objectJSON is the object resource as Google's reference shows it
// (https://cloud.google.com/storage/docs/json_api/v1/objects#resource):
// int64 and uint64 values as strings, RFC 3339 times.
func objectJSON(bucket, name string, o *object) map[string]any {
	gen := strconv.FormatInt(o.generation, 10)
	esc := url.PathEscape(name)
	return map[string]any{
		"kind": "storage#object", "id": bucket + "/" + name + "/" + gen,
		"selfLink":  "https://www.googleapis.com/storage/v1/b/" + bucket + "/o/" + esc,
		"mediaLink": "https://storage.googleapis.com/download/storage/v1/b/" + bucket + "/o/" + esc + "?generation=" + gen + "&alt=media",
		"name":      name, "bucket": bucket, "generation": gen, "metageneration": "1",
		"contentType": o.contentType, "storageClass": "STANDARD", "size": strconv.Itoa(len(o.data)),
		"md5Hash": o.md5, "crc32c": o.crc32c,
		"etag":        base64.StdEncoding.EncodeToString([]byte(gen))[:12],
		"timeCreated": o.created.UTC().Format("2006-01-02T15:04:05.000Z"), "updated": o.updated.UTC().Format("2006-01-02T15:04:05.000Z"),
		"timeStorageClassUpdated": o.created.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
}
