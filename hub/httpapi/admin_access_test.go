package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/internal/syncbuf"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
	"github.com/reviewhub/reviewhub/hub/state"
)

// Personal tokens: the value is in the creation's answer only, stored as
// its hash, never listed; the token signs in with its role; revoking it
// refuses it at once; an expired one is refused; only admins manage them.
func TestPersonalTokens(t *testing.T) {
	for _, dialect := range []string{state.SQLite, state.Postgres} {
		t.Run(dialect, func(t *testing.T) { testPersonalTokens(t, dialect) })
	}
}

func testPersonalTokens(t *testing.T, dialect string) {
	ts := newTestServer(t, dialect)
	a := ts.do(t, http.MethodPost, "/api/tokens", `{"name":"ci bot","role":"agent","expires":"720h"}`)
	if a.code != http.StatusCreated {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the answer carrying the token has Cache-Control %q, want no-store", cc)
	}
	var made TokenJSON
	if err := json.Unmarshal([]byte(a.body), &made); err != nil || !strings.HasPrefix(made.Token, TokenPrefix+made.ID+"_") ||
		made.Role != "agent" || made.Name != "ci bot" || made.CreatedBy != "admin" || time.Until(made.ExpiresAt) < 719*time.Hour {
		t.Fatalf("created %+v (%v)", made, err)
	}
	secret := strings.TrimPrefix(made.Token, TokenPrefix+made.ID+"_")
	var stored string
	if err := ts.db.SQL().QueryRow(`SELECT hash FROM api_tokens WHERE id = '` + made.ID + `'`).Scan(&stored); err != nil ||
		stored != HashToken(made.Token) || strings.Contains(stored, secret) {
		t.Fatalf("stored %q (%v), want the token's SHA-256", stored, err)
	}
	list := ts.do(t, http.MethodGet, "/api/tokens", "")
	if list.code != http.StatusOK || !strings.Contains(list.body, made.ID) || strings.Contains(list.body, secret) || strings.Contains(list.body, `"token"`) {
		t.Fatalf("list: %d %s", list.code, list.body)
	}
	as := func(token, method, path, body string) answer {
		return ts.do(t, method, path, body, "Authorization", "Bearer "+token)
	}
	if a := as(made.Token, http.MethodGet, "/api/integrations", ""); a.code != http.StatusOK {
		t.Fatalf("the agent token reads: %d %s", a.code, a.body)
	}
	if a := as(made.Token, http.MethodPost, "/api/tokens", `{"name":"x","role":"admin"}`); a.code != http.StatusForbidden ||
		!strings.Contains(a.body, "needs the role admin; ci bot has the role agent") {
		t.Fatalf("an agent makes a token: %d %s", a.code, a.body)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"name":"","role":"viewer"}`, "name"}, {`{"name":"x","role":"owner"}`, "role"},
		{`{"name":"x","role":"viewer","expires":"yesterday"}`, "expires"}, {`{"name":"x","role":"viewer","expires":"2001-01-01T00:00:00Z"}`, "expires"},
	} {
		if a := ts.do(t, http.MethodPost, "/api/tokens", bad.body); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `"field":"`+bad.field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", bad.body, a.code, a.body, bad.field)
		}
	}
	if a := ts.do(t, http.MethodDelete, "/api/tokens/"+made.ID, ""); a.code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.code, a.body)
	}
	if a := as(made.Token, http.MethodGet, "/api/integrations", ""); a.code != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d %s, want 401", a.code, a.body)
	}
	if a := ts.do(t, http.MethodDelete, "/api/tokens/"+made.ID, ""); a.code != http.StatusNotFound {
		t.Fatalf("revoke twice: %d", a.code)
	}
	// Expired.
	old := roleTokens(t, ts.db, -time.Second)[auth.RoleAdmin]
	if a := as(old, http.MethodGet, "/api/integrations", ""); a.code != http.StatusUnauthorized || !strings.Contains(a.body, "expired at") {
		t.Fatalf("an expired token: %d %s", a.code, a.body)
	}
}

// The configured admin token can be turned off (Admin.Token ""): personal
// tokens still sign in, the old admin token does not.
func TestAdminTokenOff(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	tokens := roleTokens(t, ts.db, 0)
	ts.srv.Admin = nil
	admin := &Admin{DB: ts.db, Info: testInfo, Plugins: func() []string { return nil }}
	r := mux.NewRouter()
	admin.Register(r.PathPrefix("/api").Subrouter())
	do := func(token string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/integrations", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := do(testToken); code != http.StatusUnauthorized {
		t.Fatalf("the admin token while off: %d", code)
	}
	if code := do(tokens[auth.RoleViewer]); code != http.StatusOK {
		t.Fatalf("a personal token while the admin token is off: %d", code)
	}
}

// Per account: many clients guessing the admin token together are refused
// once the account saw its failures, each within its own per-client
// allowance; the client that signed in with it before is never refused for
// their failures (nobody locks another out); personal tokens are accounts
// of their own.
func TestDistributedGuessingStaysSlowWithoutLockingOut(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	a := &Admin{Token: "0123456789abcdef0123", DeadLetters: &fakeDeadLetters{},
		Failures: throttle.New(throttle.Options{Now: clock}),
		Accounts: throttle.NewAccounts(throttle.AccountOptions{Failures: 20, Window: 10 * time.Minute, Now: clock})}
	r := mux.NewRouter()
	a.Register(r.PathPrefix("/api").Subrouter())
	do := func(remote, token string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/deadletters", nil)
		req.RemoteAddr = remote
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code
	}
	const admin = "203.0.113.5:4000"
	if code := do(admin, a.Token); code != http.StatusOK {
		t.Fatalf("the admin: %d", code)
	}
	// 10 clients, 2 guesses each: under the per-client limit of 10.
	for c := range 10 {
		for g := range 2 {
			if code := do(fmt.Sprintf("198.51.100.%d:1", c), fmt.Sprintf("guess-%d-%d", c, g)); code != http.StatusUnauthorized {
				t.Fatalf("guess %d of client %d: %d", g, c, code)
			}
		}
	}
	if code := do("198.51.100.77:1", "another-guess"); code != http.StatusTooManyRequests {
		t.Fatalf("a new client guessing after the account's 20 failures: %d, want 429", code)
	}
	if code := do("198.51.100.78:1", a.Token); code != http.StatusTooManyRequests {
		t.Fatalf("a new client while the account is guarded, even with the token: %d, want 429", code)
	}
	if code := do(admin, a.Token); code != http.StatusOK {
		t.Fatalf("the admin after others' guesses: %d, want 200", code)
	}
	if code := do("198.51.100.77:1", TokenPrefix+"abc_wrong"); code != http.StatusUnauthorized {
		t.Fatalf("a personal token's account is its own: %d, want 401", code)
	}
	now = now.Add(10 * time.Minute)
	if code := do("198.51.100.78:1", a.Token); code != http.StatusOK {
		t.Fatalf("after the window: %d", code)
	}
}

type fakeReplies struct{}

func (fakeReplies) RetryReply(_ context.Context, integrationID, messageID string) (state.Reply, error) {
	return state.Reply{IntegrationID: integrationID, MessageID: messageID, Status: state.ReplyPending}, nil
}

// Each kind of change writes its entry, with who, from where and the
// fields changed; no secret value ever appears in the audit rows, the API's
// answers or the export.
func TestAuditEveryKindNoSecrets(t *testing.T) {
	for _, dialect := range []string{state.SQLite, state.Postgres} {
		t.Run(dialect, func(t *testing.T) { testAuditEveryKind(t, dialect) })
	}
}

func testAuditEveryKind(t *testing.T, dialect string) {
	db := openDB(t, dialect)
	logs := &syncbuf.Buffer{}
	dl := &fakeDeadLetters{list: []bus.DeadLetter{{Offset: 7}, {Offset: 8}}}
	admin := &Admin{DB: db, Token: testToken, Info: testInfo, Plugins: func() []string { return []string{"desk", "st"} },
		PublicURL: "http://hub.example", DeadLetters: dl, Replies: fakeReplies{}, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	srv := &Server{DB: db, Plugins: testPlugins{}, Logger: slog.New(slog.NewTextHandler(logs, nil)), Admin: admin.Register}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ts := &testServer{Server: hs, db: db, srv: srv, logs: logs}

	const (
		apiKey1, apiKey2 = "SECRET-api-key-one-51a7", "SECRET-api-key-two-93c2"
		wh, privKey      = "SECRET-webhook-secret-0d1e", "SECRET-private-key-77f0"
		alertURL         = "https://hooks.example/SECRET-alert-path-4b4b"
	)
	secrets := []string{apiKey1, apiKey2, wh, privKey, alertURL, "SECRET-alert-path-4b4b"}
	mustDo := func(method, path, body string, want int) answer {
		t.Helper()
		a := ts.do(t, method, path, body)
		if a.code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, a.code, a.body, want)
		}
		return a
	}
	mustDo(http.MethodPost, "/api/integrations", `{"id":"acme","name":"Acme","helpdesk":{"plugin":"desk","settings":{"subdomain":"acme","api_key":"`+apiKey1+`","webhook_secret":"`+wh+`"}},
		"apps":[{"id":"ios","store":"st","store_app_id":"1","settings":{"key_id":"K1","private_key":"`+privKey+`"},"filters":{"ratings":[1,2]}}]}`, http.StatusCreated)
	mustDo(http.MethodPut, "/api/integrations/acme", `{"name":"Acme Inc","helpdesk":{"plugin":"desk","settings":{"subdomain":"acme","api_key":"`+apiKey2+`"}},
		"apps":[{"id":"ios","store":"st","store_app_id":"1","settings":{"key_id":"K2"},"filters":{"ratings":[1,2,3]}},{"id":"and","store":"st","store_app_id":"2"}]}`, http.StatusOK)
	mustDo(http.MethodPut, "/api/integrations/acme/automation", `{"enabled":true,"daily_cap":5}`, http.StatusOK)
	mustDo(http.MethodPost, "/api/integrations/acme/automation/stop", `{"reason":"bad replies"}`, http.StatusOK)
	mustDo(http.MethodPut, "/api/integrations/acme/alerts", `{"helpdesk":true,"webhook_url":"`+alertURL+`","cooldown":"30m"}`, http.StatusOK)
	tok := mustDo(http.MethodPost, "/api/tokens", `{"name":"viewer bot","role":"viewer"}`, http.StatusCreated)
	var made TokenJSON
	_ = json.Unmarshal([]byte(tok.body), &made)
	secrets = append(secrets, made.Token, strings.TrimPrefix(made.Token, TokenPrefix+made.ID+"_"), HashToken(made.Token))
	mustDo(http.MethodDelete, "/api/tokens/"+made.ID, "", http.StatusNoContent)
	mustDo(http.MethodPost, "/api/deadletters/7/retry", "", http.StatusOK)
	mustDo(http.MethodDelete, "/api/deadletters/8", "", http.StatusOK)
	mustDo(http.MethodPost, "/api/integrations/acme/replies/m1/retry", "", http.StatusAccepted)
	const guess = "wrong-token-guess-5e5e"
	secrets = append(secrets, guess)
	if a := ts.do(t, http.MethodGet, "/api/integrations", "", "Authorization", "Bearer "+guess); a.code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", a.code)
	}
	mustDo(http.MethodDelete, "/api/integrations/acme", "", http.StatusNoContent)

	entries, err := db.Audit(context.Background(), state.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ kind, action, target string }
	got := map[key]state.AuditEntry{}
	for _, e := range entries {
		got[key{e.Kind, e.Action, e.Target}] = e
		if e.Kind != KindSignIn && (e.Subject != "admin" || e.Role != "admin" || e.Via != "admin_token" || e.Client != "127.0.0.1") {
			t.Errorf("entry %s %s: who %q %q %q from %q", e.Kind, e.Action, e.Subject, e.Role, e.Via, e.Client)
		}
	}
	for _, k := range []key{
		{KindIntegration, "create", ""}, {KindApp, "add", "ios"}, {KindFilter, "add", "ios"},
		{KindIntegration, "update", ""}, {KindApp, "update", "ios"}, {KindFilter, "update", "ios"}, {KindApp, "add", "and"},
		{KindAutomation, "update", ""}, {KindAutomation, "stop", ""}, {KindAlerts, "update", ""},
		{KindToken, "create", made.ID}, {KindToken, "revoke", made.ID},
		{KindDeadLetter, "retry", "7"}, {KindDeadLetter, "drop", "8"}, {KindReply, "retry", "m1"},
		{KindSignIn, "api", "admin_token"}, {KindIntegration, "delete", ""},
	} {
		if _, ok := got[k]; !ok {
			t.Errorf("no entry %+v", k)
		}
	}
	field := func(k key, name string) (state.AuditChange, bool) {
		for _, c := range got[k].Changes {
			if c.Field == name {
				return c, true
			}
		}
		return state.AuditChange{}, false
	}
	if c, ok := field(key{KindIntegration, "update", ""}, "name"); !ok || c.From != "Acme" || c.To != "Acme Inc" {
		t.Errorf("name change %+v", c)
	}
	if c, ok := field(key{KindIntegration, "update", ""}, "helpdesk.settings.api_key"); !ok || !c.Secret || c.To != SecretChanged || c.From != "" {
		t.Errorf("secret change %+v", c)
	}
	if c, ok := field(key{KindApp, "update", "ios"}, "apps[ios].settings.key_id"); !ok || c.From != "K1" || c.To != "K2" {
		t.Errorf("app setting change %+v", c)
	}
	if c, ok := field(key{KindFilter, "update", "ios"}, "apps[ios].filters.ratings[2]"); !ok || c.To != "3" {
		t.Errorf("filter change %+v in %+v", c, got[key{KindFilter, "update", "ios"}])
	}
	if c, ok := field(key{KindAlerts, "update", ""}, "webhook_url"); !ok || !c.Secret {
		t.Errorf("alert webhook change %+v", c)
	}
	if e := got[key{KindSignIn, "api", "admin_token"}]; e.Outcome != OutcomeFailed || e.Client != "127.0.0.1" {
		t.Errorf("failed sign-in %+v", e)
	}

	// No secret anywhere: the rows as stored, the API's page, the export.
	var rows strings.Builder
	rs, err := db.SQL().Query(`SELECT subject, name, role, via, client, kind, action, integration_id, target, outcome, changes FROM audit_log`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var cols [11]string
		if err := rs.Scan(&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5], &cols[6], &cols[7], &cols[8], &cols[9], &cols[10]); err != nil {
			t.Fatal(err)
		}
		rows.WriteString(strings.Join(cols[:], "|") + "\n")
	}
	rs.Close()
	page := mustDo(http.MethodGet, "/api/audit?limit=1000", "", http.StatusOK)
	export := mustDo(http.MethodGet, "/api/audit/export", "", http.StatusOK)
	if !strings.Contains(rows.String(), "apps[ios].settings.private_key") || !strings.Contains(page.body, "helpdesk.settings.api_key") {
		t.Fatalf("the secrets' changes are not recorded at all:\n%s", rows.String())
	}
	for _, s := range secrets {
		for name, text := range map[string]string{"rows": rows.String(), "page": page.body, "export": export.body, "log": logs.String()} {
			if strings.Contains(text, s) {
				t.Errorf("secret %q appears in the audit %s", s, name)
			}
		}
	}
	if n := strings.Count(export.body, "\n"); n != len(entries) {
		t.Errorf("export has %d lines, the log %d entries", n, len(entries))
	}
}

// GET /api/audit filters and pages; the export follows the pages.
func TestAuditFiltersAndPages(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 25 {
		e := state.AuditEntry{At: base.Add(time.Duration(i) * time.Hour), Subject: "admin", Kind: KindToken, Action: "create", Target: fmt.Sprint(i)}
		if i%5 == 0 {
			e.Subject, e.Name, e.Kind, e.IntegrationID = "token:x", "ci", KindIntegration, "acme"
		}
		if err := ts.db.AddAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	page := func(q string) AuditPage {
		t.Helper()
		a := ts.do(t, http.MethodGet, "/api/audit?"+q, "")
		if a.code != http.StatusOK {
			t.Fatalf("%s: %d %s", q, a.code, a.body)
		}
		var p AuditPage
		if err := json.Unmarshal([]byte(a.body), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var all []string
	q := "limit=10"
	for {
		p := page(q)
		for _, e := range p.Entries {
			all = append(all, e.Target)
		}
		if p.Next == 0 {
			break
		}
		q = fmt.Sprintf("limit=10&before=%d", p.Next)
	}
	if len(all) != 25 || all[0] != "24" || all[24] != "0" {
		t.Fatalf("paged: %v", all)
	}
	if p := page("who=ci"); len(p.Entries) != 5 {
		t.Fatalf("who=ci: %d", len(p.Entries))
	}
	if p := page("kind=integration&integration=acme&since=2026-03-01T05:00:00Z&until=2026-03-01T20:00:00Z"); len(p.Entries) != 3 ||
		p.Entries[0].Target != "15" || p.Entries[2].Target != "5" {
		t.Fatalf("filtered: %+v", p.Entries)
	}
	for _, bad := range []string{"kind=nope", "since=yesterday", "limit=-1", "before=x"} {
		if a := ts.do(t, http.MethodGet, "/api/audit?"+bad, ""); a.code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, a.code)
		}
	}
	export := ts.do(t, http.MethodGet, "/api/audit/export?kind=token", "")
	if export.code != http.StatusOK || strings.Count(export.body, "\n") != 20 || export.header.Get("Content-Type") != "application/jsonl" {
		t.Fatalf("export: %d %q %d lines", export.code, export.header.Get("Content-Type"), strings.Count(export.body, "\n"))
	}
}

// The per-account table cannot be flooded away (M2): wrong tokens naming
// made-up personal token ids count per client only, so they neither evict
// the admin token's account, blocked after a wave of guesses, nor give it a
// fresh allowance; only accounts that exist are counted.
func TestAccountTableCannotBeFlooded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	a := &Admin{Token: "0123456789abcdef0123", DeadLetters: &fakeDeadLetters{},
		Failures: throttle.New(throttle.Options{Now: clock}),
		Accounts: throttle.NewAccounts(throttle.AccountOptions{Failures: 20, Window: 10 * time.Minute, MaxKeys: 5, Now: clock})}
	r := mux.NewRouter()
	a.Register(r.PathPrefix("/api").Subrouter())
	do := func(remote, token string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/deadletters", nil)
		req.RemoteAddr = remote
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code
	}
	for c := range 10 {
		for g := range 2 {
			do(fmt.Sprintf("198.51.100.%d:1", c), fmt.Sprintf("guess-%d-%d", c, g))
		}
	}
	if code := do("198.51.100.77:1", "another-guess"); code != http.StatusTooManyRequests {
		t.Fatalf("after the account's 20 failures: %d, want 429", code)
	}
	// The flood: 100 made-up accounts from 50 clients (2 each).
	for i := range 100 {
		if code := do(fmt.Sprintf("192.0.2.%d:1", i/2), fmt.Sprintf("%sfake%d_x", TokenPrefix, i)); code != http.StatusUnauthorized {
			t.Fatalf("flood %d: %d", i, code)
		}
	}
	if code := do("198.51.100.79:1", "yet-another-guess"); code != http.StatusTooManyRequests {
		t.Fatalf("after a flood of made-up accounts the admin account is open to new clients again: %d, want 429", code)
	}
}

// accountExists: the admin token only when configured, token:ID only when
// ID is in the state.
func TestAccountExists(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	viewer := roleTokens(t, ts.db, 0)[auth.RoleViewer]
	ctx := context.Background()
	a := &Admin{DB: ts.db, Token: testToken}
	if !a.accountExists(ctx, accountOf(viewer)) {
		t.Errorf("a stored token's account %q does not exist", accountOf(viewer))
	}
	if a.accountExists(ctx, accountOf(TokenPrefix+"nosuch_x")) {
		t.Error("a made-up token's account exists")
	}
	if !a.accountExists(ctx, accountOf("wrong")) {
		t.Error("the admin account does not exist while the admin token is configured")
	}
	if (&Admin{DB: ts.db}).accountExists(ctx, accountOf("wrong")) {
		t.Error("the admin account exists while the admin token is off")
	}
}

// Made-up accounts are counted per client only: a flood of them does not
// evict a real personal token's account and reset its count.
func TestMadeUpAccountsAreNotCounted(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	viewer := roleTokens(t, ts.db, 0)[auth.RoleViewer]
	realAccount := accountOf(viewer)
	id := strings.TrimPrefix(realAccount, "token:")
	a := &Admin{DB: ts.db, Token: testToken, Info: testInfo, Plugins: func() []string { return nil },
		Failures: throttle.New(throttle.Options{}),
		Accounts: throttle.NewAccounts(throttle.AccountOptions{Failures: 3, Window: time.Hour, MaxKeys: 2})}
	r := mux.NewRouter()
	a.Register(r.PathPrefix("/api").Subrouter())
	do := func(remote, token string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/integrations", nil)
		req.RemoteAddr = remote
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code
	}
	do("198.51.100.1:1", TokenPrefix+id+"_wrong1")
	do("198.51.100.2:1", TokenPrefix+id+"_wrong2")
	for i := range 20 {
		do(fmt.Sprintf("192.0.2.%d:1", i), fmt.Sprintf("%sfake%d_x", TokenPrefix, i))
	}
	do("198.51.100.3:1", TokenPrefix+id+"_wrong3")
	if code := do("198.51.100.4:1", TokenPrefix+id+"_wrong4"); code != http.StatusTooManyRequests {
		t.Fatalf("the real account after 3 failures and a flood of made-up ones: %d, want 429", code)
	}
}

// Wrong bearer tokens write at most one audit entry per client per
// throttle window, its count growing (L4); another client has its own; a
// new window starts a new entry.
func TestWrongTokensAuditedOncePerWindow(t *testing.T) {
	db := openDB(t, state.SQLite)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	a := &Admin{DB: db, Token: testToken, Info: testInfo, Plugins: func() []string { return nil },
		Failures: throttle.New(throttle.Options{Now: clock}), Accounts: throttle.NewAccounts(throttle.AccountOptions{Now: clock})}
	r := mux.NewRouter()
	a.Register(r.PathPrefix("/api").Subrouter())
	do := func(remote string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/integrations", nil)
		req.RemoteAddr = remote
		req.Header.Set("Authorization", "Bearer wrong-token")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code
	}
	for range 7 {
		do("198.51.100.1:1")
	}
	do("198.51.100.2:1")
	entries := func() []state.AuditEntry {
		t.Helper()
		got, err := db.Audit(context.Background(), state.AuditFilter{Kind: KindSignIn})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	count := func(e state.AuditEntry) string {
		if len(e.Changes) != 1 || e.Changes[0].Field != "wrong tokens" {
			return fmt.Sprintf("%+v", e.Changes)
		}
		return e.Changes[0].To
	}
	got := entries() // newest first
	if len(got) != 2 || got[1].Client != "198.51.100.1" || count(got[1]) != "7" || got[0].Client != "198.51.100.2" || count(got[0]) != "1" ||
		got[1].Outcome != OutcomeFailed || got[1].Target != "admin_token" {
		t.Fatalf("entries %+v", got)
	}
	now = now.Add(time.Minute) // a new window
	do("198.51.100.1:1")
	do("198.51.100.1:1")
	if got := entries(); len(got) != 3 || got[0].Client != "198.51.100.1" || count(got[0]) != "2" || count(got[2]) != "7" {
		t.Fatalf("after the window: %+v", got)
	}
}

// Behind trusted proxies (M4): clients the proxy forwards for are
// throttled and audited each as themselves; a client elsewhere writing
// X-Forwarded-For cannot change who it is and stays throttled.
func TestTrustedProxiesThrottleAndAudit(t *testing.T) {
	db := openDB(t, state.SQLite)
	a := &Admin{DB: db, Token: testToken, Info: testInfo, Plugins: func() []string { return nil },
		Failures: throttle.New(throttle.Options{}), Accounts: throttle.NewAccounts(throttle.AccountOptions{})}
	r := mux.NewRouter()
	a.Register(r.PathPrefix("/api").Subrouter())
	h := throttle.Proxies{netip.MustParsePrefix("10.0.0.0/8")}.Wrap(r)
	do := func(remote, xff string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/integrations", nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", xff)
		req.Header.Set("Authorization", "Bearer wrong-token")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	// A spoofing client: a new X-Forwarded-For each time, still one client.
	for i := range 10 {
		if code := do("203.0.113.9:5000", fmt.Sprintf("198.51.100.%d", i)); code != http.StatusUnauthorized {
			t.Fatalf("spoof %d: %d", i, code)
		}
	}
	if code := do("203.0.113.9:5000", "198.51.100.200"); code != http.StatusTooManyRequests {
		t.Fatalf("a spoofing client after 10 wrong tokens: %d, want 429", code)
	}
	// Through the proxy: one client's failures do not block another.
	for range 10 {
		do("10.0.0.2:443", "192.0.2.1")
	}
	if code := do("10.0.0.2:443", "192.0.2.1"); code != http.StatusTooManyRequests {
		t.Fatalf("the client behind the proxy after 10 wrong tokens: %d, want 429", code)
	}
	if code := do("10.0.0.2:443", "192.0.2.2"); code != http.StatusUnauthorized {
		t.Fatalf("another client behind the same proxy: %d, want 401", code)
	}
	got, err := db.Audit(context.Background(), state.AuditFilter{Kind: KindSignIn})
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]bool{}
	for _, e := range got {
		clients[e.Client] = true
	}
	if len(clients) != 3 || !clients["203.0.113.9"] || !clients["192.0.2.1"] || !clients["192.0.2.2"] {
		t.Fatalf("audited clients %v, want the spoofer's address and the two forwarded clients", clients)
	}
}
