package sdk

import (
	"net/http"
	"testing"
)

// The default transport keeps an idle connection per call the hub may have
// in flight, so parallel deliveries do not dial a connection each.
func TestNewHTTPClientKeepsConnectionsForParallelCalls(t *testing.T) {
	for _, tc := range []struct {
		opts HTTPOptions
		want int
	}{{HTTPOptions{}, DefaultMaxIdleConnsPerHost}, {HTTPOptions{MaxIdleConnsPerHost: 5}, 5}} {
		lt, ok := NewHTTPClient(tc.opts).Transport.(limitTransport)
		if !ok {
			t.Fatalf("transport %T", NewHTTPClient(tc.opts).Transport)
		}
		ct, ok := lt.base.(CountingTransport)
		if !ok {
			t.Fatalf("base %T", lt.base)
		}
		tr, ok := ct.Base.(*http.Transport)
		if !ok || tr.MaxIdleConnsPerHost != tc.want {
			t.Fatalf("base transport %T keeps %d idle connections per host, want %d", ct.Base, tr.MaxIdleConnsPerHost, tc.want)
		}
	}
}
