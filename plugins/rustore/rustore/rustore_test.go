package rustore

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"
)

func TestKeyFormatsAndSignature(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pk1 := x509.MarshalPKCS1PrivateKey(k)
	for name, s := range map[string]string{
		"base64 pkcs8": base64.StdEncoding.EncodeToString(der),
		"pem pkcs8":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"pem pkcs1":    string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pk1})),
		"wrapped b64":  base64.StdEncoding.EncodeToString(der)[:40] + "\n" + base64.StdEncoding.EncodeToString(der)[40:],
	} {
		got, err := ParsePrivateKey(s)
		if err != nil || got.N.Cmp(k.N) != 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParsePrivateKey("nope"); err == nil {
		t.Error("garbage accepted")
	}
	ts := time.Date(2026, 5, 15, 13, 13, 42, 520e6, time.FixedZone("", 3*3600)).Format(TimestampLayout)
	if ts != "2026-05-15T13:13:42.520+03:00" {
		t.Errorf("timestamp %s", ts)
	}
	sig, err := Sign(k, "42", ts)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(sig)
	sum := sha512.Sum512([]byte("42" + ts))
	if rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA512, sum[:], raw) != nil {
		t.Error("signature does not verify as SHA512withRSA over keyId+timestamp")
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2023-06-01T18:10:43.043+03:00", "2023-06-01 18:10:43.043", "2023-06-01T15:10:43.043Z"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(time.Date(2023, 6, 1, 15, 10, 43, 43e6, time.UTC)) {
			t.Errorf("%s → %v %v", s, got, err)
		}
	}
}

const commentsSample = `{"code":"OK","message":null,"timestamp":"2026-01-01T00:00:00+03:00","body":[
 {"packageName":"p","appId":1,"commentId":77,"userName":"Иван","appRating":4,"commentStatus":"PUBLISHED","commentDate":"2026-01-01T10:00:00.000+03:00",
  "updatedAt":"2026-01-02T10:00:00.000+03:00","commentText":"ok","likeCounter":2,"dislikeCounter":1,"appVersionName":"1.0","extraField":{}}]}`

func TestMapComment(t *testing.T) {
	var env Envelope
	if err := json.Unmarshal([]byte(commentsSample), &env); err != nil {
		t.Fatal(err)
	}
	var cs []Comment
	if err := json.Unmarshal(env.Body, &cs); err != nil {
		t.Fatal(err)
	}
	r, err := MapComment("p", cs[0], &Feedback{ID: "9", CommentID: "77", Text: "Спасибо", Status: "MODERATION", Date: "2026-01-03 10:00:00.000"})
	if err != nil || r.ID != "77" || r.Rating != 4 || !r.UpdatedAt.After(r.CreatedAt) || r.Reply == nil || r.Reply.State != "MODERATION" ||
		r.Reply.ID != "9" || r.ThumbsUp != 2 {
		t.Errorf("%+v %v", r, err)
	}
	for name, c := range map[string]Comment{
		"rating 0":         {CommentID: "1", AppRating: 0, CommentDate: "2026-01-01T10:00:00Z"},
		"no commentId":     {AppRating: 3, CommentDate: "2026-01-01T10:00:00Z"},
		"bad date":         {CommentID: "1", AppRating: 3, CommentDate: "yesterday"},
		"bad iso date":     {CommentID: "1", AppRating: 3, CommentDate: "2026-01-01T10:00:00Z", CommentDateISO: "soon"},
		"bad updated date": {CommentID: "1", AppRating: 3, CommentDate: "2026-01-01T10:00:00Z", UpdatedAt: "later"},
	} {
		if _, err := MapComment("p", c, nil); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	// A deleted answer is no reply.
	if r, _ := MapComment("p", cs[0], &Feedback{ID: "9", Text: "old", Status: "DELETED"}); r.Reply != nil {
		t.Errorf("deleted answer mapped: %+v", r.Reply)
	}
}

// The ISO fields win over the older ones; without them the older ones are
// read (offset-less: Moscow time, GUESS).
func TestCommentDatesPreferISO(t *testing.T) {
	c := Comment{CommentID: "5", AppRating: 5, CommentDate: "2026-01-01 10:00:00.000", UpdatedAt: "2026-01-02 10:00:00.000",
		CommentDateISO: "2026-01-01T10:00:00.000+05:00", UpdatedAtISO: "2026-01-02T10:00:00.000+05:00"}
	r, err := MapComment("p", c, nil)
	if err != nil || !r.CreatedAt.Equal(time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC)) || !r.UpdatedAt.Equal(time.Date(2026, 1, 2, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("with ISO: %v %v %v", r.CreatedAt, r.UpdatedAt, err)
	}
	c.CommentDateISO, c.UpdatedAtISO = "", ""
	r, err = MapComment("p", c, nil)
	if err != nil || !r.CreatedAt.Equal(time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC)) || !r.UpdatedAt.Equal(time.Date(2026, 1, 2, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("without ISO (MSK): %v %v %v", r.CreatedAt, r.UpdatedAt, err)
	}
}

// Ids come as numbers (help pages, comment ids) or strings (the
// specification's answer ids); both read the same.
func TestIDNumberOrString(t *testing.T) {
	for _, in := range []string{
		`{"id":748479,"commentId":748223}`, `{"id":"748479","commentId":"748223"}`, `{"id":"748479","commentId":748223}`,
	} {
		var f Feedback
		if err := json.Unmarshal([]byte(in), &f); err != nil || f.ID != "748479" || f.CommentID != "748223" {
			t.Errorf("%s → %+v %v", in, f, err)
		}
	}
	var f Feedback
	if err := json.Unmarshal([]byte(`{"id":null}`), &f); err != nil || f.ID != "" {
		t.Errorf("null id: %+v %v", f, err)
	}
	for _, in := range []string{`{"id":1.5}`, `{"id":{}}`, `{"id":[1]}`, `{"id":true}`} {
		if err := json.Unmarshal([]byte(in), &f); err == nil {
			t.Errorf("%s accepted as %q", in, f.ID)
		}
	}
	if got := CommentIDOf([]byte(`{"commentId":"42","appRating":"five"}`)); got != "42" {
		t.Errorf("CommentIDOf: %q", got)
	}
	if got := CommentIDOf([]byte(`{"commentId":{"x":1}}`)); got != "" {
		t.Errorf("CommentIDOf of an object: %q", got)
	}
}

// A comment's live answer wins over deleted ones, then the newest.
func TestNewestLiveAnswer(t *testing.T) {
	live := Feedback{ID: "1", Status: "PUBLISHED", Date: "2026-01-01 10:00:00.000"}
	deleted := Feedback{ID: "2", Status: "DELETED", Date: "2026-01-02 10:00:00.000"}
	later := Feedback{ID: "3", Status: "MODERATION", Date: "2026-01-03 10:00:00.000"}
	if !newer(live, deleted) || newer(deleted, live) || !newer(later, live) || newer(live, later) {
		t.Error("live and newest answers do not win")
	}
	nine := Feedback{ID: "9", Status: "PUBLISHED", Date: live.Date}
	ten := Feedback{ID: "10", Status: "PUBLISHED", Date: live.Date}
	if !newer(ten, nine) || newer(nine, ten) {
		t.Error("on equal dates the larger id (10 > 9 as numbers, not as text) does not win")
	}
}

func FuzzComments(f *testing.F) {
	f.Add([]byte(commentsSample))
	f.Add([]byte(`{"code":"OK","body":[{"commentId":1,"appRating":5,"commentDate":"2026-01-01 10:00:00"}]}`))
	f.Add([]byte(`{"code":"ERROR","message":"x","body":null}`))
	f.Add([]byte(`{"code":"OK","body":[{"commentId":"7","appRating":2,"commentDate":"x","commentDateIso":"2026-01-01T10:00:00+03:00","updatedAtIso":"2026-01-02T10:00:00Z"},{"commentId":{}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var env Envelope
		if json.Unmarshal(body, &env) != nil {
			return
		}
		var raws []json.RawMessage
		if json.Unmarshal(env.Body, &raws) != nil {
			return
		}
		for _, raw := range raws {
			_ = CommentIDOf(raw)
			c, err := DecodeComment(raw)
			if err != nil {
				continue
			}
			r, err := MapComment("p", c, nil)
			if err == nil && (r.Rating < 1 || r.Rating > 5 || r.ID == "" || r.CreatedAt.IsZero()) {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}

func FuzzParseTime(f *testing.F) {
	f.Add("2023-06-01 18:10:43.043")
	f.Add("2023-06-01T18:10:43+03:00")
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParseTime(s) })
}
