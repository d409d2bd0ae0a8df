package sdk_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestCountingTransportCountsIntoEveryEnclosingCounter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	hc := &http.Client{Transport: sdk.CountingTransport{}}
	get := func(ctx context.Context, path string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	outerCtx, outer := sdk.CountCalls(context.Background())
	innerCtx, inner := sdk.CountCalls(outerCtx)
	get(innerCtx, "/a")
	get(innerCtx, "/fail") // an answered error is a spent request too
	get(outerCtx, "/b")
	get(context.Background(), "/c") // no counter: nothing to count into
	sdk.AddCalls(innerCtx, 2)
	if inner.Count() != 4 || outer.Count() != 5 {
		t.Errorf("inner %d, outer %d; want 4 and 5", inner.Count(), outer.Count())
	}
}

func TestQuotaBucketSpends(t *testing.T) {
	all := sdk.QuotaBucket{Name: "key"}
	reads := sdk.QuotaBucket{Name: "reads", Ops: []string{sdk.OpList}}
	if !all.Spends(sdk.OpReply) || !all.Spends(sdk.OpList) || !reads.Spends(sdk.OpList) || reads.Spends(sdk.OpReply) {
		t.Error("Spends disagrees with Ops")
	}
}
