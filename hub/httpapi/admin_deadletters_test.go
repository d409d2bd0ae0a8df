package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/bus"
)

type fakeDeadLetters struct {
	list             []bus.DeadLetter
	retried, dropped []int64
}

func (f *fakeDeadLetters) List(context.Context) ([]bus.DeadLetter, error) { return f.list, nil }

func (f *fakeDeadLetters) op(id int64, done *[]int64) error {
	for i, d := range f.list {
		if d.Offset == id {
			f.list = append(f.list[:i], f.list[i+1:]...)
			*done = append(*done, id)
			return nil
		}
	}
	return bus.ErrNoDeadLetter
}

func (f *fakeDeadLetters) Retry(_ context.Context, id int64) error { return f.op(id, &f.retried) }
func (f *fakeDeadLetters) Drop(_ context.Context, id int64) error  { return f.op(id, &f.dropped) }

func TestDeadLettersOverTheAdminAPI(t *testing.T) {
	dl := &fakeDeadLetters{list: []bus.DeadLetter{{Offset: 1, Reason: "bad channel"}, {Offset: 2, Reason: "bad channel"}}}
	a := &Admin{Token: "0123456789abcdef0123", DeadLetters: dl}
	r := mux.NewRouter()
	a.Register(r.PathPrefix("/api").Subrouter())
	do := func(method, path string, auth bool) (int, string) {
		req := httptest.NewRequest(method, path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+a.Token)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, _ := do(http.MethodGet, "/api/deadletters", false); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
	if code, body := do(http.MethodGet, "/api/deadletters", true); code != 200 || strings.Count(body, "bad channel") != 2 {
		t.Errorf("list: %d %s", code, body)
	}
	if code, _ := do(http.MethodPost, "/api/deadletters/1/retry", true); code != 200 {
		t.Errorf("retry: %d", code)
	}
	if code, _ := do(http.MethodPost, "/api/deadletters/1/retry", true); code != http.StatusNotFound {
		t.Errorf("retry again: %d", code)
	}
	if code, _ := do(http.MethodDelete, "/api/deadletters/x", true); code != http.StatusBadRequest {
		t.Errorf("drop a non-number: %d", code)
	}
	if code, _ := do(http.MethodDelete, "/api/deadletters/2", true); code != 200 {
		t.Errorf("drop: %d", code)
	}
	if len(dl.retried) != 1 || dl.retried[0] != 1 || len(dl.dropped) != 1 || dl.dropped[0] != 2 {
		t.Errorf("retried %v dropped %v", dl.retried, dl.dropped)
	}
	if code, body := do(http.MethodGet, "/api/deadletters", true); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("empty list: %d %q", code, body)
	}
	a.DeadLetters = nil
	for _, c := range [][2]string{{http.MethodGet, "/api/deadletters"}, {http.MethodPost, "/api/deadletters/1/retry"}, {http.MethodDelete, "/api/deadletters/1"}} {
		if code, _ := do(c[0], c[1], true); code != http.StatusServiceUnavailable {
			t.Errorf("%s %s without access: %d", c[0], c[1], code)
		}
	}
}
