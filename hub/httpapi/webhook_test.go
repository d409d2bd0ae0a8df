package httpapi

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/state"
)

// N3: a webhook for an unknown integration, or for another plugin's
// integration, takes the path of a wrong secret for an existing one: one
// check by the plugin (against a decoy integration whose secret no caller
// knows), then the same refusal.
func TestRefusedWebhooksTakeThePluginsPath(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	if a := ts.do(t, "POST", "/api/integrations", `{"id":"w","helpdesk":`+deskJSON+`}`); a.code != 201 {
		t.Fatal(a.body)
	}
	for _, c := range []struct{ path, checkedAs string }{
		{"/hooks/desk/w?secret=wrong", "w"},
		{"/hooks/desk/nope?secret=WH", "decoy"},
		{"/hooks/desk/nope?secret=", "decoy"},
		{"/hooks/desk/nope?secret=decoy", "decoy"},
	} {
		webhookChecks.Lock()
		webhookChecks.integrations = nil
		webhookChecks.Unlock()
		if a := ts.do(t, "POST", c.path, `{}`); a.code != http.StatusUnauthorized || a.body != `{"error":"`+webhookRefused+`"}`+"\n" {
			t.Errorf("%s: %d %s", c.path, a.code, a.body)
		}
		webhookChecks.Lock()
		checks := webhookChecks.integrations
		webhookChecks.Unlock()
		if len(checks) != 1 || checks[0].ID != c.checkedAs {
			t.Errorf("%s: the plugin checked %+v, want one check as %q", c.path, checks, c.checkedAs)
			continue
		}
		if secret := checks[0].HelpdeskSettings["webhook_secret"]; c.checkedAs == "decoy" && (secret == "WH" || len(secret) < 32) {
			t.Errorf("%s: checked with the secret %q", c.path, secret)
		}
	}
}

// A webhook whose reply cannot be read or recorded because the state is
// locked past its deadline is answered 503 with Retry-After (the helpdesk
// retries it), and /readyz fails meanwhile.
func TestWebhookWhenTheStateIsLocked(t *testing.T) {
	dsn := pgtest.DSN(t)
	db, err := state.OpenPostgres(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetTimeout(300 * time.Millisecond)
	ts := newTestServerOn(t, db)
	if a := ts.do(t, "POST", "/api/integrations", `{"id":"w","helpdesk":`+deskJSON+`}`); a.code != 201 {
		t.Fatal(a.body)
	}
	if a := ts.do(t, "GET", "/readyz", ""); a.code != http.StatusOK {
		t.Fatalf("readyz before the lock: %d %s", a.code, a.body)
	}
	other, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.Exec(`LOCK TABLE integrations IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	a := ts.do(t, "POST", "/hooks/desk/w?secret=WH", `{}`)
	if a.code != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Errorf("a webhook while the state is locked: %d (Retry-After %q) %s, want 503 with Retry-After",
			a.code, a.header.Get("Retry-After"), a.body)
	}
	a = ts.do(t, "GET", "/readyz", "")
	if a.code != http.StatusServiceUnavailable || !strings.Contains(a.body, "cause is in the hub's log") {
		t.Errorf("readyz while the state is locked: %d %s", a.code, a.body)
	}
	// The cause stays in the log: an unauthenticated caller is not told
	// what the database driver said.
	if cause := db.Unavailable(context.Background()); cause == nil || strings.Contains(a.body, cause.Error()) {
		t.Errorf("readyz answered %q; the cause %v must stay in the log", a.body, cause)
	}
}
