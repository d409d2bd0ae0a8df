package rustore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/rustore/fake"
	"github.com/reviewhub/reviewhub/plugins/rustore/rustore"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

// The package name of RuStore's examples.
const vendorPkg = "com.myapp.example"

var testKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func vctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func clientAt(base string) *rustore.Client {
	return &rustore.Client{BaseURL: base, KeyID: "123", Key: testKey, Tokens: &rustore.Tokens{}}
}

// serveWithToken serves ex behind a front that hands out a token, so an
// API call (which first asks /public/auth/) reaches ex as its only request.
func serveWithToken(t *testing.T, ex evidence.Example) *rustore.Client {
	t.Helper()
	doc := evidence.Serve(t, ex)
	u, _ := url.Parse(doc.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/public/auth/" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"code":"OK","message":null,"body":{"jwe":"test-token","ttl":900},"timestamp":"`+time.Now().Format(time.RFC3339Nano)+`"}`)
			return
		}
		if r.Header.Get("Public-Token") != "test-token" {
			t.Errorf("%s %s without the token", r.Method, r.URL.Path)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return clientAt(front.URL)
}

// clientPlayers check that the client sends what RuStore documents and
// reads what it answers.
var clientPlayers = map[string]func(t *testing.T, ex evidence.Example){
	"auth-token": func(t *testing.T, ex evidence.Example) {
		cl := clientAt(evidence.Serve(t, ex).URL)
		info, err := cl.NewToken(vctx(t))
		if err != nil || info.TTL != 900*time.Second || !info.SkewKnown {
			t.Errorf("token: %+v %v", info, err)
		}
	},
	"auth-timestamp-invalid": func(t *testing.T, ex evidence.Example) {
		cl := clientAt(evidence.Serve(t, ex).URL)
		_, err := cl.NewToken(vctx(t))
		if sdk.KindOf(err) != sdk.ErrorKindUnauthenticated || !strings.Contains(err.Error(), "Range timestamp not valid") ||
			!strings.Contains(err.Error(), "clock must be within 60 seconds") {
			t.Errorf("a refused timestamp: %v (%v), want Unauthenticated naming the clock", err, sdk.KindOf(err))
		}
	},
	"comments-list": func(t *testing.T, ex evidence.Example) {
		raws, err := serveWithToken(t, ex).Comments(vctx(t), vendorPkg, 0, 100)
		if err != nil || len(raws) != 1 {
			t.Fatalf("comments: %d, %v", len(raws), err)
		}
		c, err := rustore.DecodeComment(raws[0])
		if err != nil {
			t.Fatal(err)
		}
		r, err := rustore.MapComment(vendorPkg, c, nil)
		want := time.Date(2019, 8, 24, 14, 15, 22, 0, time.UTC)
		if err != nil || r.ID != "748223" || r.Rating != 4 || r.AppVersion != "2.1.0" || !r.CreatedAt.Equal(want) || !r.UpdatedAt.Equal(want) ||
			r.ThumbsUp != 2 || r.ThumbsDown != 1 || r.Status != "PUBLISHED" || r.Author != "Иван" {
			t.Errorf("mapped %+v %v", r, err)
		}
	},
	"answers-list": func(t *testing.T, ex evidence.Example) {
		answers, err := serveWithToken(t, ex).Answers(vctx(t), vendorPkg)
		a, ok := answers["748223"]
		if err != nil || !ok || a.ID != "748479" || a.Status != "PUBLISHED" || a.Text != "This is a response to a user review." {
			t.Errorf("answers: %+v %v", answers, err)
		}
	},
	"answer-get": func(t *testing.T, ex evidence.Example) {
		checkAnswer(t, ex)
	},
	"answer-get-helppage": func(t *testing.T, ex evidence.Example) {
		checkAnswer(t, ex)
	},
	"answer-create": func(t *testing.T, ex evidence.Example) {
		id, err := serveWithToken(t, ex).Answer(vctx(t), vendorPkg, "748223", "This is a response to a user review.")
		if err != nil || id != "748479" {
			t.Errorf("create: %q %v", id, err)
		}
	},
	"answer-edit": func(t *testing.T, ex evidence.Example) {
		id, err := serveWithToken(t, ex).EditAnswer(vctx(t), vendorPkg, "748479", "Fixed in 2.2, thank you!")
		if err != nil || id != "748479" {
			t.Errorf("edit: %q %v", id, err)
		}
	},
	"answer-delete": func(t *testing.T, ex evidence.Example) {
		if err := serveWithToken(t, ex).DeleteAnswer(vctx(t), vendorPkg, "748479"); err != nil {
			t.Errorf("delete: %v", err)
		}
	},
	// The client never edits with PUT (answer-edit fails if it does); a 405
	// from RuStore is a permanent refusal that says what happened.
	"answer-edit-put-refused": func(t *testing.T, ex evidence.Example) {
		err := serveWithToken(t, ex).Do(vctx(t), http.MethodPut, ex.Request.Path, nil, map[string]string{"message": "x"}, nil)
		if sdk.KindOf(err) != sdk.ErrorKindInvalid || !strings.Contains(err.Error(), "405 Request method 'PUT' is not supported") {
			t.Errorf("405: %v (%v)", err, sdk.KindOf(err))
		}
	},
}

func checkAnswer(t *testing.T, ex evidence.Example) {
	fb, err := serveWithToken(t, ex).GetAnswer(vctx(t), vendorPkg, "748479")
	rep := fb.Reply()
	// 2023-06-01 18:10:43.043 without an offset: Moscow time (GUESS).
	want := time.Date(2023, 6, 1, 15, 10, 43, 43e6, time.UTC)
	if err != nil || fb.ID != "748479" || fb.CommentID != "748223" || rep.ID != "748479" || rep.State != "PUBLISHED" ||
		rep.Text != "This is a response to a user review." || !rep.UpdatedAt.Equal(want) {
		t.Errorf("answer: %+v %+v %v", fb, rep, err)
	}
}

// fakeSetups prepare a fresh fake for an example and return how to
// authenticate the documented request and what to check afterwards.
var fakeSetups = map[string]func(f *fake.Server) (prepare func(*http.Request), after func(t *testing.T, body []byte)){
	"auth-token": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		return withBody(f.SignedAuthBody(time.Now())), nil
	},
	"auth-timestamp-invalid": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		return withBody(f.SignedAuthBody(time.Now().Add(-fake.Window - 5*time.Second))), func(t *testing.T, body []byte) {
			if !bytes.Contains(body, []byte(`"Range timestamp not valid"`)) {
				t.Errorf("fake: %s", body)
			}
		}
	},
	"comments-list": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		f.PutReview(vendorPkg, sdk.Review{ID: "748223", Author: "Иван", Rating: 4, Text: "Удобно", AppVersion: "2.1.0"})
		return withToken(f), nil
	},
	"answers-list": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		seedAnswer(f)
		return withToken(f), nil
	},
	"answer-get": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		seedAnswer(f)
		return withToken(f), nil
	},
	"answer-get-helppage": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		seedAnswer(f)
		f.SetNumericAnswerIDs(true)
		return withToken(f), nil
	},
	"answer-create": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		f.PutReview(vendorPkg, sdk.Review{ID: "748223", Rating: 4, Text: "Удобно"})
		return withToken(f), func(t *testing.T, _ []byte) {
			if txt, ok := f.ReplyText(vendorPkg, "748223"); !ok || txt != "This is a response to a user review." || f.AnswerPosts() != 1 {
				t.Errorf("fake after create: %q %v, %d posts", txt, ok, f.AnswerPosts())
			}
		}
	},
	"answer-edit": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		seedAnswer(f)
		return withToken(f), func(t *testing.T, _ []byte) {
			if txt, _ := f.ReplyText(vendorPkg, "748223"); txt != "Fixed in 2.2, thank you!" {
				t.Errorf("fake after edit: %q", txt)
			}
		}
	},
	"answer-delete": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		seedAnswer(f)
		return withToken(f), func(t *testing.T, _ []byte) {
			if _, ok := f.ReplyText(vendorPkg, "748223"); ok {
				t.Error("fake: the answer survived its deletion")
			}
		}
	},
	"answer-edit-put-refused": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		seedAnswer(f)
		return withToken(f), func(t *testing.T, _ []byte) {
			if txt, _ := f.ReplyText(vendorPkg, "748223"); txt != "This is a response to a user review." {
				t.Errorf("fake: PUT changed the answer to %q", txt)
			}
		}
	},
}

func seedAnswer(f *fake.Server) {
	f.PutReview(vendorPkg, sdk.Review{ID: "748223", Rating: 4, Text: "Удобно"})
	f.PutAnswer(vendorPkg, "748223", 748479, "This is a response to a user review.", "PUBLISHED")
}

func withToken(f *fake.Server) func(*http.Request) {
	tok := f.Token()
	return func(r *http.Request) { r.Header.Set("Public-Token", tok) }
}

func withBody(b []byte) func(*http.Request) {
	return func(r *http.Request) {
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
}

// TestVendorExamples plays every documented RuStore example against the
// client (evidence.Serve) and against the fake (evidence.Replay).
func TestVendorExamples(t *testing.T) {
	for _, ex := range evidence.Load(t, "../testdata/vendor") {
		t.Run(ex.Name+"/client", func(t *testing.T) {
			play, ok := clientPlayers[ex.Name]
			if !ok {
				t.Fatalf("no client check for the vendor example %s", ex.Name)
			}
			play(t, ex)
		})
		t.Run(ex.Name+"/fake", func(t *testing.T) {
			setup, ok := fakeSetups[ex.Name]
			if !ok {
				t.Fatalf("no fake replay for the vendor example %s", ex.Name)
			}
			f := fake.New()
			f.AddApp(vendorPkg)
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			prepare, after := setup(f)
			body := evidence.Replay(t, srv.Client(), srv.URL, ex, prepare)
			if after != nil {
				after(t, body)
			}
		})
	}
}

// TestFakeRefusesTheOldCreatePath: the project's earlier guess
// (POST …/comment/{id}/feedback) is not in RuStore's specification.
func TestFakeRefusesTheOldCreatePath(t *testing.T) {
	f := fake.New()
	seedAnswer(f)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/public/v1/application/"+vendorPkg+"/comment/748223/feedback", strings.NewReader(`{"message":"x"}`))
	withToken(f)(req)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || f.AnswerPosts() != 0 {
		t.Errorf("old create path: %d, %d posts; want 404 and none", resp.StatusCode, f.AnswerPosts())
	}
}
