package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/internal/throttle"
)

// TestOneClientFailingCannotLockOutAnotherOnTheAPI is the N1 reproduction
// of robustness-probe-2 for bearer tokens: client A sends 30 wrong tokens
// and is throttled (429 problem with Retry-After, even with the right
// token) until its window passes; client B's right token always works.
func TestOneClientFailingCannotLockOutAnotherOnTheAPI(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := &Admin{Token: "0123456789abcdef0123", DeadLetters: &fakeDeadLetters{},
		Failures: throttle.New(throttle.Options{Now: func() time.Time { return now }})}
	r := mux.NewRouter()
	a.Register(r.PathPrefix("/api").Subrouter())
	do := func(remote, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/deadletters", nil)
		req.RemoteAddr = remote
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}
	const clientA, clientB = "198.51.100.1:40001", "[2001:db8::7]:50002"
	right := "Bearer " + a.Token
	// Requests without credentials guess nothing and are not counted.
	for range 30 {
		if rec := do(clientA, ""); rec.Code != http.StatusUnauthorized {
			t.Fatalf("A without a token: %d, want 401", rec.Code)
		}
	}
	for i := range 30 {
		rec := do(clientA, fmt.Sprintf("Bearer wrong-%d", i))
		want := http.StatusUnauthorized
		if i >= throttle.DefaultFailures {
			want = http.StatusTooManyRequests
		}
		if rec.Code != want {
			t.Fatalf("A's wrong token %d: %d, want %d", i+1, rec.Code, want)
		}
	}
	if rec := do(clientB, right); rec.Code != http.StatusOK {
		t.Fatalf("B with the right token after A's failures: %d %s", rec.Code, rec.Body)
	}
	rec := do("198.51.100.1:41234", right)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" ||
		rec.Header().Get("Content-Type") != ProblemContentType {
		t.Fatalf("A with the right token while throttled: %d Retry-After %q %q", rec.Code,
			rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"))
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != http.StatusTooManyRequests || p.Detail == "" {
		t.Fatalf("problem %+v (%v)", p, err)
	}
	now = now.Add(59 * time.Second)
	if rec := do(clientA, right); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("A 59 s on: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	now = now.Add(time.Second)
	if rec := do(clientA, right); rec.Code != http.StatusOK {
		t.Fatalf("A once its window passed: %d", rec.Code)
	}
}
