package fakehook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPostSendsBodyAndHeadersAndReportsRefusals(t *testing.T) {
	var got struct {
		method, ctype, sig, body string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.ctype, got.sig, got.body = r.Method, r.Header.Get("Content-Type"), r.Header.Get("X-Signature"), string(b)
		if got.sig != "good" {
			http.Error(w, "refused: wrong signature", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := http.Header{"Content-Type": {"application/json"}, "X-Signature": {"good"}}
	if err := Post(ctx, "fake desk", srv.URL, h, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if got.method != http.MethodPost || got.ctype != "application/json" || got.body != `{"a":1}` {
		t.Errorf("the receiver got %+v", got)
	}
	h.Set("X-Signature", "bad")
	err := Post(ctx, "fake desk", srv.URL, h, []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "fake desk: webhook answered 401: refused: wrong signature") {
		t.Errorf("a refusal: %v", err)
	}
	if err := Post(ctx, "fake desk", "http://127.0.0.1:1/nowhere", h, nil); err == nil || !strings.HasPrefix(err.Error(), "fake desk: webhook: ") {
		t.Errorf("no receiver: %v", err)
	}
}
