package agc_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/appgallery/agc"
	"github.com/reviewhub/reviewhub/plugins/appgallery/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

// The app and review of Huawei's reply example.
const (
	vendorApp    = "11111"
	vendorReview = "9f43c56228854d66a65921938199c0ce"
)

func vctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func clientAt(base, platform string) *agc.Client {
	return &agc.Client{BaseURL: base, Platform: platform, ClientID: "26********20", ClientSecret: "************************", Tokens: &agc.Tokens{}}
}

// serveWithToken serves ex behind a front that hands out a token, so an
// API call (which first asks for a token) reaches ex as its only request.
func serveWithToken(t *testing.T, ex evidence.Example, platform string) *agc.Client {
	t.Helper()
	doc := evidence.Serve(t, ex)
	u, _ := url.Parse(doc.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == agc.TokenPath {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"test-token","expires_in":172800}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer test-token" || r.Header.Get("client_id") != "26********20" {
			t.Errorf("%s %s without the token and client_id headers", r.Method, r.URL.Path)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return clientAt(front.URL, platform)
}

func reply(t *testing.T, ex evidence.Example) error {
	var body agc.ReplyParams
	if err := jsonUnmarshal(ex.Request.Body, &body); err != nil {
		t.Fatal(err)
	}
	return serveWithToken(t, ex, agc.PlatformHarmonyOS).Reply(vctx(t), body)
}

// clientPlayers check that the client sends what Huawei documents and reads
// what it answers.
var clientPlayers = map[string]func(t *testing.T, ex evidence.Example){
	"token": func(t *testing.T, ex evidence.Example) {
		info, err := clientAt(evidence.Serve(t, ex).URL, agc.PlatformHarmonyOS).NewToken(vctx(t))
		if err != nil || info.TTL != 48*time.Hour {
			t.Errorf("token: %+v %v, want a 48-hour token", info, err)
		}
	},
	"reply-harmonyos": func(t *testing.T, ex evidence.Example) {
		if err := reply(t, ex); err != nil {
			t.Errorf("reply: %v", err)
		}
	},
	"reply-already-replied": func(t *testing.T, ex evidence.Example) {
		err := reply(t, ex)
		if sdk.KindOf(err) != sdk.ErrorKindRefused || !strings.Contains(err.Error(), "50010077") || !strings.Contains(err.Error(), "one per review") {
			t.Errorf("second reply: %v (%v), want Refused naming 50010077", err, sdk.KindOf(err))
		}
	},
	"reviews-list-android": func(t *testing.T, ex evidence.Example) {
		page, err := serveWithToken(t, ex, agc.PlatformAndroid).List(vctx(t), agc.ListParams{AppID: vendorApp,
			Begin: time.UnixMilli(1764547200000), End: time.UnixMilli(1764633600000), Countries: []string{"CN"}, Page: 1, Limit: 100})
		if err != nil || len(page.Items) != 1 || page.HasNext || page.Total != 1 {
			t.Fatalf("list: %+v %v", page, err)
		}
		it, err := agc.Decode(page.Items[0])
		if err != nil {
			t.Fatal(err)
		}
		r, err := agc.Map(vendorApp, it, nil)
		if err != nil || r.ID != vendorReview || r.Rating != 5 || r.Text != "很好用" || r.Language != "zh-CN" || r.Country != "CN" ||
			r.AppVersion != "2.1.0" || r.Device != "Mate 60" || !r.UpdatedAt.Equal(time.UnixMilli(1764590400000)) || r.Reply != nil {
			t.Errorf("mapped %+v %v", r, err)
		}
	},
	"reviews-list-android-ret": func(t *testing.T, ex evidence.Example) {
		page, err := serveWithToken(t, ex, agc.PlatformAndroid).List(vctx(t), agc.ListParams{AppID: vendorApp,
			Begin: time.UnixMilli(1764547200000), End: time.UnixMilli(1764633600000), Countries: []string{"CN"}, Page: 1, Limit: 1})
		if err != nil || len(page.Items) != 1 || !page.HasNext || page.Total != 2 {
			t.Fatalf("list in the ret form: %+v %v, want one review, hasNext 1 read as true, total 2", page, err)
		}
		if it, err := agc.Decode(page.Items[0]); err != nil || it.ReviewID != vendorReview {
			t.Errorf("decoded %+v %v", it, err)
		}
	},
}

// fakeSetups prepare a fresh fake for an example and return how to
// authenticate the documented request and what to check afterwards.
var fakeSetups = map[string]func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)){
	"token": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		return withBody(f.TokenBody()), nil
	},
	"reply-harmonyos": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		f.PutReview(vendorApp, sdk.Review{ID: vendorReview, Rating: 2, Country: "CN"})
		return withToken(f), func(t *testing.T, _ []byte) {
			if txt, ok := f.ReplyText(vendorApp, vendorReview); !ok || txt != "Reply content......" {
				t.Errorf("fake after the reply: %q %v", txt, ok)
			}
		}
	},
	"reply-already-replied": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		f.PutReview(vendorApp, sdk.Review{ID: vendorReview, Rating: 2, Country: "CN"})
		f.PutReply(vendorApp, vendorReview, "First reply")
		return withToken(f), func(t *testing.T, body []byte) {
			if txt, _ := f.ReplyText(vendorApp, vendorReview); txt != "First reply" || !bytes.Contains(body, []byte("50010077")) {
				t.Errorf("fake after a second reply: %q, %s", txt, body)
			}
		}
	},
	"reviews-list-android": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		f.PutReview(vendorApp, sdk.Review{ID: vendorReview, Rating: 5, Text: "很好用", Country: "CN", Language: "zh-CN",
			AppVersion: "2.1.0", Device: "Mate 60", UpdatedAt: time.UnixMilli(1764590400000)})
		return withToken(f), func(t *testing.T, body []byte) {
			if !bytes.Contains(body, []byte(vendorReview)) {
				t.Errorf("fake listed %s", body)
			}
		}
	},
	"reviews-list-android-ret": func(f *fake.Server) (func(*http.Request), func(*testing.T, []byte)) {
		f.SetRetEnvelope(true)
		for i, id := range []string{vendorReview, "older"} {
			f.PutReview(vendorApp, sdk.Review{ID: id, Rating: 5, Text: "很好用", Country: "CN", Language: "zh-CN",
				AppVersion: "2.1.0", Device: "Mate 60", UpdatedAt: time.UnixMilli(1764590400000 - int64(i)*1000)})
		}
		return withToken(f), func(t *testing.T, body []byte) {
			if !bytes.Contains(body, []byte(vendorReview)) || !bytes.Contains(body, []byte(`"hasNext":1`)) {
				t.Errorf("fake listed %s", body)
			}
		}
	},
}

func withToken(f *fake.Server) func(*http.Request) {
	tok := f.Token()
	return func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("client_id", f.ClientID())
	}
}

func withBody(b []byte) func(*http.Request) {
	return func(r *http.Request) {
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
}

// TestVendorExamples plays every documented example against the client
// (evidence.Serve) and against the fake (evidence.Replay).
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
			f.AddApp(vendorApp)
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
