package googleplay

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/googleplay/fake"
	"github.com/reviewhub/reviewhub/sdk"
)

// A token endpoint that never answers must not hang the plugin: the token
// request has its own deadline even though the token source outlives the
// call that made it.
func TestHungTokenEndpointTimesOut(t *testing.T) {
	old := tokenTimeout
	tokenTimeout = 200 * time.Millisecond
	t.Cleanup(func() { tokenTimeout = old })
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(func() { close(release); hung.Close() })
	settings := fake.New().Settings(hung.URL) // token_uri and API both on the hung server
	done := make(chan error, 1)
	go func() {
		_, err := newStore().CheckCredentials(context.Background(), sdk.CheckCredentialsRequest{Settings: settings, AppID: "com.example.app"})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a credentials check with a hung token endpoint succeeded")
		}
	case <-time.After(time.Minute):
		t.Fatal("the token request has no deadline: the check hangs on a hung token endpoint")
	}
}
