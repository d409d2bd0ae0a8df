package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// discordFake is a minimal Discord webhook, as a third party would write
// it for the kit: it keeps each message's content, answers ?wait=true
// with the message's id and a rate limit with retry_after in seconds
// (GUESS-level: written for this example, not from Discord's evidence).
type discordFake struct {
	faults.Faults
	mu   sync.Mutex
	msgs []string
}

func (f *discordFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if fault, ok := f.Next(); ok {
		if fault.RateLimited {
			w.Header().Set("Retry-After", fmt.Sprint(int(fault.RetryAfter.Seconds())))
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(map[string]any{"message": "You are being rate limited.",
				"retry_after": fault.RetryAfter.Seconds(), "global": false})
			return
		}
		w.WriteHeader(fault.Status)
		_, _ = w.Write([]byte(`{"message": "injected", "code": 0}`))
		return
	}
	var m struct {
		Content string `json:"content"`
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Content == "" || len([]rune(m.Content)) > 2000 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message": "Invalid Form Body", "code": 50035}`))
		return
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, m.Content)
	id := len(f.msgs)
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"id": fmt.Sprint(id), "content": m.Content})
}

// Messages is the kit's view: the content as people read it (the
// backslash escapes and the bold markers removed).
func (f *discordFake) Messages(context.Context) ([]sdktest.VendorMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	unescape := strings.NewReplacer(`\\`, `\`, `\*`, "*", `\_`, "_", `\~`, "~", "\\`", "`", `\>`, ">", `\|`, "|", `\#`, "#", "**", "")
	var out []sdktest.VendorMessage
	for i, m := range f.msgs {
		out = append(out, sdktest.VendorMessage{Ref: fmt.Sprint(i + 1), Texts: []string{unescape.Replace(m)}})
	}
	return out, nil
}

func (f *discordFake) MaxTextLength() int { return 2000 }

// The notifier kit, run against the example as its author would.
func TestNotifierConformanceDiscordExample(t *testing.T) {
	f := &discordFake{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	n := sdktest.LaunchNotifier(t, sdktest.Build(t, "."))
	sdktest.RunNotifier(t, n, sdktest.NotifierSuite{
		Settings: sdk.Settings{"webhook_url": srv.URL + "/api/webhooks/1/secret"},
		Vendor:   f,
	})
}
