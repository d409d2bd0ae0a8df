package httpapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

type ignoringDesk struct {
	sdk.HelpdeskPlugin
	res sdk.HandleWebhookResponse
}

func (d ignoringDesk) HandleWebhook(context.Context, sdk.HandleWebhookRequest) (sdk.HandleWebhookResponse, error) {
	return d.res, nil
}

type deskOnly struct{ desk sdk.HelpdeskPlugin }

func (p deskOnly) Store(string) (sdk.StorePlugin, sdk.Info, error) {
	return nil, sdk.Info{}, errors.New("no stores")
}
func (p deskOnly) Helpdesk(string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	return p.desk, sdk.Info{Kind: sdk.PluginKindHelpdesk}, nil
}

// An authentic webhook the plugin could not read is logged at WARN with its
// reason and shape (no values), kept redacted and counted; the helpdesk
// gets the plugin's answer.
func TestIgnoredWebhookIsLoggedKeptAndCounted(t *testing.T) {
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.InTx(ctx, func(tx *state.Tx) error {
		return tx.PutIntegration(ctx, state.Integration{ID: "acme", HelpdeskPlugin: "desk"})
	}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	body := `{"event":"case_rated","api_key":"k-777777","comment":"my phone is +7 999 123-45-67"}`
	desk := ignoringDesk{res: sdk.HandleWebhookResponse{Status: 202, Body: []byte("noted"),
		Ignored: &sdk.Unreadable{ID: "ev-1", Reason: "event case_rated is not handled", Shape: sdk.ShapeOf([]byte(body))}}}
	s := &Server{DB: db, Plugins: deskOnly{desk}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/hooks/desk/acme?secret=hook-s3cret&x=1", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Errorf("status %d, want the plugin's 202", resp.StatusCode)
	}
	log := logs.String()
	for _, want := range []string{"level=WARN", "integration=acme", "plugin=desk", `reason="event case_rated is not handled"`, `event\":string`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	for _, leak := range []string{"k-777777", "999 123", "hook-s3cret", "case_rated\\\""} {
		if strings.Contains(log, leak) {
			t.Errorf("log leaks %q:\n%s", leak, log)
		}
	}
	items, err := db.UnreadableItems(ctx, "acme", state.UnreadableWebhook, "")
	if err != nil || len(items) != 1 {
		t.Fatalf("kept %v %v", items, err)
	}
	w := items[0].Webhook
	if items[0].ItemID != "ev-1" || items[0].Plugin != "desk" || w.Method != "POST" || w.Query != "secret=REDACTED&x=1" ||
		w.BodyBytes != len(body) || !strings.Contains(w.Body, `"api_key":"REDACTED"`) || !strings.Contains(w.Body, `"event":"case_rated"`) ||
		strings.Contains(w.Body, "999") {
		t.Errorf("kept %+v %+v", items[0], w)
	}
	counters, _ := db.Counters(ctx, "acme")
	if counters[""][state.CountWebhooksIgnored] != 1 {
		t.Errorf("counters %v", counters)
	}
}
