package agc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/plugins/appgallery/agc"
	"github.com/reviewhub/reviewhub/sdk"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func TestClassify(t *testing.T) {
	for code, kind := range map[int64]sdk.ErrorKind{
		agc.CodeNoApp: sdk.ErrorKindNotFound, agc.CodeNoReview: sdk.ErrorKindNotFound, agc.CodeNotYourApp: sdk.ErrorKindPermissionDenied,
		agc.CodeAlreadyReplied: sdk.ErrorKindRefused, agc.CodeReplyIllegal: sdk.ErrorKindRefused, agc.CodeReplyRejected: sdk.ErrorKindRefused,
		agc.CodeWindowTooLong: sdk.ErrorKindInvalid, agc.CodeBadParameter: sdk.ErrorKindInvalid, agc.CodeUnknown: sdk.ErrorKindUnavailable,
		agc.CodeReplyFailed: sdk.ErrorKindUnavailable, 42: sdk.ErrorKindUnavailable,
	} {
		err := agc.Classify(code, "desc", "appgallery GET /x")
		if sdk.KindOf(err) != kind || !strings.Contains(err.Error(), "desc") {
			t.Errorf("rtnCode %d: %v (%v), want %v", code, err, sdk.KindOf(err), kind)
		}
	}
}

func TestReplyLang(t *testing.T) {
	for _, c := range []struct{ platform, lang, want string }{
		{agc.PlatformHarmonyOS, "zh_CN", "zh"}, {agc.PlatformHarmonyOS, "en-GB", "en"}, {agc.PlatformHarmonyOS, "ug", "ug"},
		{agc.PlatformHarmonyOS, "ru", "en"}, {agc.PlatformHarmonyOS, "", "en"},
		{agc.PlatformAndroid, "zh_CN", "zh_CN"}, {agc.PlatformAndroid, "", "en_US"},
	} {
		if got := agc.ReplyLang(c.platform, c.lang); got != c.want {
			t.Errorf("ReplyLang(%s, %q) = %q, want %q", c.platform, c.lang, got, c.want)
		}
	}
}

func TestDecodeFlexibleIDs(t *testing.T) {
	it, err := agc.Decode([]byte(`{"reviewId": 12345, "rating": "4", "dateline": "1764590400000"}`))
	if err != nil || it.ReviewID != "12345" || it.Rating != 4 || it.Dateline != 1764590400000 {
		t.Errorf("%+v %v", it, err)
	}
	if id := agc.IDOf([]byte(`{"reviewId": "abc", "rating": {}}`)); id != "abc" {
		t.Errorf("IDOf %q", id)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"reviewId":"a","rating":5,"dateline":1}`))
	f.Add([]byte(`{"reviewId":1,"rating":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := agc.Decode(b)
		if err != nil {
			return
		}
		_, _ = agc.Map("1", it, &it)
	})
}

// The Comments API's result is read at the top level (Huawei's examples)
// or inside "ret" (a third-party v1 client's live answers); hasNext as a
// boolean, a number or a string.
func TestEnvelopeForms(t *testing.T) {
	for _, c := range []struct {
		body    string
		hasNext bool
		kind    sdk.ErrorKind
	}{
		{`{"rtnCode":0,"rtnDesc":"ok","data":{"reviewList":[],"hasNext":true}}`, true, 0},
		{`{"ret":{"rtnCode":0},"data":{"reviewList":[],"hasNext":1}}`, true, 0},
		{`{"ret":{"rtnCode":0,"rtnDesc":"ok"},"data":{"reviewList":[],"hasNext":0}}`, false, 0},
		{`{"ret":{"rtnCode":0},"data":{"hasNext":"1"}}`, true, 0},
		{`{"ret":{"rtnCode":0},"data":{"hasNext":"true"}}`, true, 0},
		{`{"ret":{"rtnCode":0},"data":{"hasNext":"0"}}`, false, 0},
		{`{"ret":{"rtnCode":50010027,"rtnDesc":"app info does not exist"}}`, false, sdk.ErrorKindNotFound},
		{`{"ret":{"code":1,"msg":"x"}}`, false, sdk.ErrorKindUnavailable},
		{`{"rtnCode":0,"data":{"hasNext":2}}`, false, sdk.ErrorKindUnavailable},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == agc.TokenPath {
				_, _ = io.WriteString(w, `{"access_token":"t","expires_in":3600}`)
				return
			}
			_, _ = io.WriteString(w, c.body)
		}))
		page, err := clientAt(srv.URL, agc.PlatformAndroid).List(vctx(t), agc.ListParams{AppID: "1", Countries: []string{"CN"}, Limit: 1})
		srv.Close()
		if c.kind != 0 {
			if sdk.KindOf(err) != c.kind {
				t.Errorf("%s: %v (%v), want %v", c.body, err, sdk.KindOf(err), c.kind)
			}
			continue
		}
		if err != nil || page.HasNext != c.hasNext {
			t.Errorf("%s: hasNext %v %v, want %v", c.body, page.HasNext, err, c.hasNext)
		}
	}
}

// A reply's request id depends on app, review and text only.
func TestReplyRequestID(t *testing.T) {
	a := agc.ReplyRequestID("1", "r", "thanks")
	if a != agc.ReplyRequestID("1", "r", "thanks") || len(a) != 32 {
		t.Errorf("request id %q not stable", a)
	}
	for _, other := range []string{agc.ReplyRequestID("2", "r", "thanks"), agc.ReplyRequestID("1", "s", "thanks"), agc.ReplyRequestID("1", "r", "thanks!"),
		agc.ReplyRequestID("1", "r\x00thanks", "")} {
		if other == a {
			t.Errorf("request id %q shared by another reply", a)
		}
	}
}
