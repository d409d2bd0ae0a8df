package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/internal/syncbuf"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

const testToken = "tok"

// testInfo: helpdesk "desk" and store "st", each with an endpoint setting
// (base_url) and two secrets.
func testInfo(name string) (sdk.Info, bool) {
	switch name {
	case "desk":
		return sdk.Info{Kind: sdk.PluginKindHelpdesk, Settings: []sdk.SettingField{
			{Key: "subdomain", Label: "Subdomain", Required: true, Endpoint: true},
			{Key: "base_url", Label: "Base URL", Endpoint: true},
			{Key: "email", Label: "Email"},
			{Key: "api_key", Label: "API key", Required: true, Secret: true},
			{Key: "webhook_secret", Label: "Webhook secret", Secret: true},
			{Key: "tolerance", Label: "Tolerance", Type: sdk.SettingDuration, Min: "10s", Max: "24h"},
			{Key: "tint", Label: "Tint", Type: "colour"}, // a type a later SDK added
		}, Helpdesk: &sdk.HelpdeskCapabilities{}}, true
	case "st":
		return sdk.Info{Kind: sdk.PluginKindStore, Settings: []sdk.SettingField{
			{Key: "base_url", Label: "Base URL", Endpoint: true},
			{Key: "key_id", Label: "Key id"},
			{Key: "private_key", Label: "Private key", Secret: true},
		}, Store: &sdk.StoreCapabilities{CanReply: true}}, true
	}
	return sdk.Info{}, false
}

func openDB(t *testing.T, dialect string) *state.DB {
	t.Helper()
	var db *state.DB
	var err error
	if dialect == state.Postgres {
		db, err = state.OpenPostgres(context.Background(), pgtest.DSN(t), nil)
	} else {
		db, err = state.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "hub.db"), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testDesk authenticates webhooks by ?secret= against webhook_secret.
type testDesk struct{}

func (testDesk) Info(context.Context, sdk.InfoRequest) (sdk.Info, error) {
	i, _ := testInfo("desk")
	return i, nil
}
func (testDesk) CheckCredentials(context.Context, sdk.CheckCredentialsRequest) (sdk.CheckCredentialsResponse, error) {
	return sdk.CheckCredentialsResponse{}, nil
}
func (testDesk) UpsertTicket(context.Context, sdk.UpsertTicketRequest) (sdk.UpsertTicketResponse, error) {
	return sdk.UpsertTicketResponse{}, nil
}

// webhookChecks counts testDesk's HandleWebhook calls and keeps their
// integrations.
var webhookChecks struct {
	sync.Mutex
	integrations []state.Integration
}

func (testDesk) HandleWebhook(_ context.Context, req sdk.HandleWebhookRequest) (sdk.HandleWebhookResponse, error) {
	webhookChecks.Lock()
	webhookChecks.integrations = append(webhookChecks.integrations, state.Integration{ID: req.IntegrationID, HelpdeskSettings: req.Settings})
	webhookChecks.Unlock()
	q, _ := url.ParseQuery(req.Query)
	if q.Get("secret") != req.Settings["webhook_secret"] {
		return sdk.HandleWebhookResponse{Status: 401, Body: []byte("missing or wrong secret"), Headers: []sdk.Header{{Name: "X-Desk", Values: []string{"1"}}}}, nil
	}
	return sdk.HandleWebhookResponse{Status: 200, Body: []byte(`{"ok":true}`)}, nil
}
func (testDesk) WriteReplyResult(context.Context, sdk.WriteReplyResultRequest) (sdk.WriteReplyResultResponse, error) {
	return sdk.WriteReplyResultResponse{}, nil
}

type testPlugins struct{}

func (testPlugins) Store(name string) (sdk.StorePlugin, sdk.Info, error) {
	return nil, sdk.Info{}, fmt.Errorf("no store %q", name)
}
func (testPlugins) Helpdesk(name string) (sdk.HelpdeskPlugin, sdk.Info, error) {
	if name != "desk" {
		return nil, sdk.Info{}, fmt.Errorf("no helpdesk %q", name)
	}
	i, _ := testInfo("desk")
	return testDesk{}, i, nil
}

type testServer struct {
	*httptest.Server
	db   *state.DB
	srv  *Server
	logs *syncbuf.Buffer
}

func newTestServer(t *testing.T, dialect string) *testServer {
	t.Helper()
	return newTestServerOn(t, openDB(t, dialect))
}

func newTestServerOn(t *testing.T, db *state.DB) *testServer {
	t.Helper()
	logs := &syncbuf.Buffer{}
	admin := &Admin{DB: db, Token: testToken, Info: testInfo, Plugins: func() []string { return []string{"desk", "st"} },
		PublicURL: "http://hub.example", Logger: slog.New(slog.NewTextHandler(logs, nil))}
	srv := &Server{DB: db, Plugins: testPlugins{}, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Admin: func(r *mux.Router) { admin.Register(r) }}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	checkAgainstOpenAPI(t, ts)
	return &testServer{Server: ts, db: db, srv: srv, logs: logs}
}

type answer struct {
	code   int
	body   string
	header http.Header
}

func (ts *testServer) do(t *testing.T, method, path, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b), resp.Header}
}

const deskJSON = `{"plugin":"desk","settings":{"subdomain":"acme","email":"a@acme.example","api_key":"KEY","webhook_secret":"WH"}}`

// M1: of many concurrent creates of one id exactly one gets 201, the others
// 409, and what is stored is the winner's.
func TestConcurrentCreatesOneWinner(t *testing.T) {
	for _, dialect := range []string{state.SQLite, state.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ts := newTestServer(t, dialect)
			const n = 50
			answers := make([]answer, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					answers[i] = ts.do(t, "POST", "/api/integrations", fmt.Sprintf(
						`{"id":"x","name":"creator-%d","helpdesk":{"plugin":"desk","settings":{"subdomain":"s","api_key":"KEY-%d"}}}`, i, i))
				}()
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, a := range answers {
				switch a.code {
				case http.StatusCreated:
					if winner >= 0 {
						t.Fatalf("creators %d and %d both got 201", winner, i)
					}
					winner = i
				case http.StatusConflict:
				default:
					t.Fatalf("creator %d: %d %s", i, a.code, a.body)
				}
			}
			if winner < 0 {
				t.Fatal("no 201")
			}
			in, err := ts.db.Integration(context.Background(), "x")
			if err != nil {
				t.Fatal(err)
			}
			if in.Name != fmt.Sprintf("creator-%d", winner) || in.HelpdeskSettings["api_key"] != fmt.Sprintf("KEY-%d", winner) {
				t.Errorf("stored %q %q, want the winner's (creator-%d)", in.Name, in.HelpdeskSettings["api_key"], winner)
			}
		})
	}
}

// M1: a PUT racing a DELETE never brings the integration back, and a PUT
// that keeps the stored secret never writes back a secret another PUT
// changed meanwhile.
func TestPutRacesLoseNothing(t *testing.T) {
	for _, dialect := range []string{state.SQLite, state.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ts := newTestServer(t, dialect)
			for round := range 15 {
				id := fmt.Sprintf("r%d", round)
				if a := ts.do(t, "POST", "/api/integrations", `{"id":"`+id+`","helpdesk":`+deskJSON+`}`); a.code != 201 {
					t.Fatalf("create: %d %s", a.code, a.body)
				}
				var put, del, rename answer
				var wg sync.WaitGroup
				wg.Add(3)
				go func() {
					defer wg.Done()
					put = ts.do(t, "PUT", "/api/integrations/"+id, `{"name":"new key","helpdesk":{"plugin":"desk","settings":{"subdomain":"acme","api_key":"NEW-KEY"}}}`)
				}()
				go func() {
					defer wg.Done()
					rename = ts.do(t, "PUT", "/api/integrations/"+id, `{"name":"renamed","helpdesk":{"plugin":"desk","settings":{"subdomain":"acme"}}}`)
				}()
				go func() {
					defer wg.Done()
					if round%2 == 1 {
						del = ts.do(t, "DELETE", "/api/integrations/"+id, "")
					}
				}()
				wg.Wait()
				in, err := ts.db.Integration(context.Background(), id)
				if round%2 == 1 {
					if del.code != 204 {
						t.Fatalf("round %d: delete %d %s", round, del.code, del.body)
					}
					if err == nil {
						t.Fatalf("round %d: the deleted integration came back (put %d, rename %d)", round, put.code, rename.code)
					}
					continue
				}
				if put.code != 200 || rename.code != 200 || err != nil {
					t.Fatalf("round %d: put %d %s, rename %d %s, %v", round, put.code, put.body, rename.code, rename.body, err)
				}
				if in.HelpdeskSettings["api_key"] != "NEW-KEY" {
					t.Fatalf("round %d: the new key was lost: stored %q", round, in.HelpdeskSettings["api_key"])
				}
			}
		})
	}
}

func TestVersionPreconditions(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	a := ts.do(t, "POST", "/api/integrations", `{"id":"v","helpdesk":`+deskJSON+`}`)
	if a.code != 201 || a.header.Get("ETag") != `"1"` || !strings.Contains(a.body, `"version":1`) {
		t.Fatalf("create: %d %s %q", a.code, a.body, a.header.Get("ETag"))
	}
	if a := ts.do(t, "PUT", "/api/integrations/v", `{"name":"one"}`, "If-Match", `"1"`); a.code != 200 || a.header.Get("ETag") != `"2"` {
		t.Fatalf("put at version 1: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "PUT", "/api/integrations/v", `{"name":"stale"}`, "If-Match", `"1"`); a.code != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d %s, want 412", a.code, a.body)
	}
	if a := ts.do(t, "PUT", "/api/integrations/v", `{"name":"stale","version":1}`); a.code != http.StatusPreconditionFailed {
		t.Fatalf("stale version in the body: %d %s, want 412", a.code, a.body)
	}
	if a := ts.do(t, "PUT", "/api/integrations/v", `{"name":"x"}`, "If-Match", `soon`); a.code != http.StatusBadRequest {
		t.Fatalf("bad If-Match: %d %s, want 400", a.code, a.body)
	}
	if a := ts.do(t, "DELETE", "/api/integrations/v", "", "If-Match", `"1"`); a.code != http.StatusPreconditionFailed {
		t.Fatalf("stale delete: %d %s, want 412", a.code, a.body)
	}
	if a := ts.do(t, "DELETE", "/api/integrations/v", "", "If-Match", `"2"`); a.code != 204 {
		t.Fatalf("delete at version 2: %d %s", a.code, a.body)
	}
}

// A typed setting of the wrong form or out of range is refused when the
// integration is saved (422 naming the setting), not at the plugin's
// first call; a good one is stored.
func TestTypedSettingRefusedAtSave(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	for _, tc := range []struct{ value, want string }{
		{"soon", "not a duration such as 90s or 2h"},
		{"1s", "below the least allowed, 10s"},
	} {
		body := `{"id":"t","helpdesk":{"plugin":"desk","settings":{"subdomain":"acme","api_key":"K","tolerance":"` + tc.value + `"}},"apps":[]}`
		a := ts.do(t, "POST", "/api/integrations", body)
		if a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `"field":"helpdesk.settings.tolerance"`) ||
			!strings.Contains(a.body, tc.want) {
			t.Errorf("tolerance %q: %d %s, want 422 naming the setting and %q", tc.value, a.code, a.body, tc.want)
		}
	}
	// An endpoint given as a URL is held to what hub check holds a
	// configuration file's to (setup.CheckSettings): an absolute http(s) URL.
	for _, v := range []string{"ftp://desk.example", "http:/desk.example"} {
		body := `{"id":"t","helpdesk":{"plugin":"desk","settings":{"subdomain":"acme","api_key":"K","base_url":"` + v + `"}},"apps":[]}`
		if a := ts.do(t, "POST", "/api/integrations", body); a.code != http.StatusUnprocessableEntity || !strings.Contains(a.body, `"field":"helpdesk.settings.base_url"`) {
			t.Errorf("base_url %q: %d %s, want 422 naming the setting", v, a.code, a.body)
		}
	}
	// A setting of a type this hub's SDK does not know (a plugin built
	// with a later SDK) is taken as text.
	body := `{"id":"t","helpdesk":{"plugin":"desk","settings":{"subdomain":"acme","api_key":"K","tolerance":"5m","tint":"#ff0000"}},"apps":[]}`
	if a := ts.do(t, "POST", "/api/integrations", body); a.code != http.StatusCreated {
		t.Errorf("a good tolerance and a tint of an unknown type: %d %s", a.code, a.body)
	}
}

// M2: a PUT that changes where an account's credentials go must give the
// stored secrets of that account again; it is refused with 422 naming them.
func TestEndpointChangeRequiresSecretsAgain(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	create := `{"id":"e","helpdesk":` + deskJSON + `,
		"apps":[{"id":"a","store":"st","store_app_id":"1","settings":{"key_id":"K","private_key":"PEM"}}]}`
	if a := ts.do(t, "POST", "/api/integrations", create); a.code != 201 {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	stored := func() state.Integration {
		in, err := ts.db.Integration(context.Background(), "e")
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	const app = `"apps":[{"id":"a","store":"st","store_app_id":"1","settings":{"key_id":"K"}}]`
	for _, tc := range []struct{ name, helpdesk, apps, want string }{
		{"new base_url, no secrets", `{"plugin":"desk","settings":{"subdomain":"acme","base_url":"http://127.0.0.1:18555"}}`, app,
			"helpdesk.settings.api_key,helpdesk.settings.webhook_secret"},
		{"new subdomain, one secret given", `{"plugin":"desk","settings":{"subdomain":"evil","api_key":"KEY"}}`, app,
			"helpdesk.settings.webhook_secret"},
		{"store base_url", `{"plugin":"desk","settings":{"subdomain":"acme"}}`,
			`"apps":[{"id":"a","store":"st","store_app_id":"1","settings":{"key_id":"K","base_url":"http://127.0.0.1:18555"}}]`,
			"apps[0].settings.private_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ts.do(t, "PUT", "/api/integrations/e", `{"helpdesk":`+tc.helpdesk+`,`+tc.apps+`}`)
			if a.code != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s, want 422", a.code, a.body)
			}
			var out struct {
				Fields []struct{ Field, Reason string }
			}
			if err := json.Unmarshal([]byte(a.body), &out); err != nil {
				t.Fatal(err)
			}
			var fields []string
			for _, f := range out.Fields {
				fields = append(fields, f.Field)
				if !strings.Contains(f.Reason, "changed") {
					t.Errorf("reason %q does not say what changed", f.Reason)
				}
			}
			if strings.Join(fields, ",") != tc.want {
				t.Errorf("fields %v, want %s", fields, tc.want)
			}
			in := stored()
			if in.HelpdeskSettings["subdomain"] != "acme" || in.HelpdeskSettings["base_url"] != "" || in.Apps[0].StoreSettings["base_url"] != "" {
				t.Errorf("the refused change was stored: %v %v", in.HelpdeskSettings, in.Apps[0].StoreSettings)
			}
		})
	}
	// Unchanged endpoints keep the omitted secrets, as before.
	if a := ts.do(t, "PUT", "/api/integrations/e", `{"name":"renamed","helpdesk":{"plugin":"desk","settings":{"subdomain":"acme","email":"b@acme.example"}},`+app+`}`); a.code != 200 {
		t.Fatalf("unchanged endpoint: %d %s", a.code, a.body)
	}
	if in := stored(); in.HelpdeskSettings["api_key"] != "KEY" || in.Apps[0].StoreSettings["private_key"] != "PEM" {
		t.Fatalf("secrets not kept: %v", in)
	}
	// Given again (or cleared), the change is accepted.
	if a := ts.do(t, "PUT", "/api/integrations/e", `{"helpdesk":{"plugin":"desk","settings":{"subdomain":"acme","base_url":"http://proxy.example","api_key":"KEY2","webhook_secret":""}},`+app+`}`); a.code != 200 {
		t.Fatalf("secrets given again: %d %s", a.code, a.body)
	}
	if in := stored(); in.HelpdeskSettings["api_key"] != "KEY2" || in.HelpdeskSettings["webhook_secret"] != "" || in.HelpdeskSettings["base_url"] != "http://proxy.example" {
		t.Fatalf("after re-entering: %v", in.HelpdeskSettings)
	}
}

// M5: admin bodies too large answer 413; reflected ids and paths are bounded.
func TestAdminBoundsItsInput(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	big := `{"id":"big","name":"` + strings.Repeat("x", 2<<20) + `"}`
	if a := ts.do(t, "POST", "/api/integrations", big); a.code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MB body: %d %.200s, want 413", a.code, a.body)
	}
	long := strings.Repeat("a", 100_000)
	for _, body := range []string{
		`{"id":"` + long + `"}`,
		`{"id":"ok","apps":[{"id":"` + long + `","store":"st","poll_interval":"` + long + `"}]}`,
		`{"id":"ok","helpdesk":{"plugin":"` + long + `"}}`,
		`{"id":"ok","helpdesk":{"plugin":"desk","settings":{"` + long + `":"x"}}}`,
	} {
		if a := ts.do(t, "POST", "/api/integrations", body); a.code != 422 || len(a.body) > 1500 {
			t.Errorf("100k value: %d, %d bytes of answer (%.100s), want 422 and a bounded message", a.code, len(a.body), a.body)
		}
	}
	if a := ts.do(t, "GET", "/api/integrations/"+long, ""); a.code != 404 || len(a.body) > 300 {
		t.Errorf("100k id: %d, %d bytes of answer, want 404 and a bounded message", a.code, len(a.body))
	}
	if a := ts.do(t, "GET", "/nowhere/"+long, ""); a.code != 404 || len(a.body) > 400 {
		t.Errorf("100k path: %d, %d bytes of answer, want 404 and a bounded message", a.code, len(a.body))
	}
}

func TestRequestID(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	if a := ts.do(t, "POST", "/api/integrations", `{"id":"w","helpdesk":`+deskJSON+`}`); a.code != 201 {
		t.Fatal(a.body)
	}
	for _, tc := range []struct {
		in   string
		keep bool
	}{
		{"abc-123_X.y", true},
		{strings.Repeat("r", 64), true},
		{strings.Repeat("R", 500_000), false},
		{strings.Repeat("r", 65), false},
		{`x" level=ERROR msg="forged`, false},
		{"ид", false},
	} {
		a := ts.do(t, "POST", "/hooks/desk/w?secret=WH", `{}`, "X-Request-Id", tc.in)
		got := a.header.Get("X-Request-Id")
		if tc.keep != (got == tc.in) || got == "" || len(got) > MaxRequestID || !validRequestID(got) {
			t.Errorf("X-Request-Id %.40q → %.80q, keep=%v", tc.in, got, tc.keep)
		}
	}
	if logs := ts.logs.String(); len(logs) > 20_000 || strings.Contains(logs, "forged") {
		t.Errorf("an unchecked request id reached the log (%d bytes)", len(logs))
	}
}

// L8 and M5: unauthenticated calls get one answer whatever is wrong, and a
// flood of them is counted, not logged line by line.
func TestWebhookRefusalsLookAlikeAndAreSampled(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	if a := ts.do(t, "POST", "/api/integrations", `{"id":"w","helpdesk":`+deskJSON+`}`); a.code != 201 {
		t.Fatal(a.body)
	}
	var first answer
	for i, path := range []string{
		"/hooks/desk/w?secret=wrong",
		"/hooks/desk/w",
		"/hooks/desk/nope?secret=WH",
		"/hooks/otherdesk/w?secret=WH",
		"/hooks/otherdesk/nope",
	} {
		a := ts.do(t, "POST", path, `{"case_id":1}`)
		if a.code != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", path, a.code, a.body)
		}
		a.header.Del("X-Request-Id")
		a.header.Del("Date")
		if i == 0 {
			first = a
			continue
		}
		if a.body != first.body || fmt.Sprint(a.header) != fmt.Sprint(first.header) {
			t.Errorf("%s answers %v %s, the wrong secret %v %s: an existence oracle", path, a.header, a.body, first.header, first.body)
		}
	}
	if a := ts.do(t, "POST", "/hooks/desk/w?secret=WH", `{}`); a.code != 200 {
		t.Errorf("right secret: %d %s", a.code, a.body)
	}
	before := strings.Count(ts.logs.String(), "level=WARN")
	for range 200 {
		ts.do(t, "POST", "/hooks/desk/nope", `{}`)
		ts.do(t, "POST", "/hooks/desk/w?secret=bad", `{}`)
	}
	if warns := strings.Count(ts.logs.String(), "level=WARN") - before; warns > 4 {
		t.Errorf("%d WARN lines for 400 refused calls, want them sampled", warns)
	}
	counts := ts.srv.Refusals()
	if counts[RefusedUnknownIntegration] != 202 || counts[RefusedByPlugin] != 202 || counts[RefusedWrongPlugin] != 1 {
		t.Errorf("refusals counted %v", counts)
	}
	for _, kind := range []string{"webhook for an unknown integration", "webhook refused by plugin", "webhook for a plugin the integration does not use"} {
		if !strings.Contains(ts.logs.String(), kind) {
			t.Errorf("no %q in the log: refusals must still be logged distinctly", kind)
		}
	}
}

func TestStatusCountsParkedAnswers(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	if a := ts.do(t, "POST", "/api/integrations", `{"id":"p","helpdesk":`+deskJSON+`}`); a.code != 201 {
		t.Fatal(a.body)
	}
	ctx := context.Background()
	err := ts.db.InTx(ctx, func(tx *state.Tx) error {
		return tx.ParkReply(ctx, state.ParkedReply{IntegrationID: "p", MessageID: "m", TicketID: "T1", Reason: "why"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := ts.do(t, "GET", "/api/integrations/p/status", ""); a.code != 200 || !strings.Contains(a.body, `"answers_waiting_for_ticket":1`) {
		t.Errorf("status: %d %s", a.code, a.body)
	}
}

// The bearer scheme's name is case-insensitive; another scheme or a wrong
// token is refused.
func TestBearerSchemeAnyCase(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	for auth, want := range map[string]int{
		"bearer " + testToken: http.StatusOK, "BEARER " + testToken: http.StatusOK, "Bearer " + testToken: http.StatusOK,
		"Basic " + testToken: http.StatusUnauthorized, "bearer wrong": http.StatusUnauthorized, "bearer": http.StatusUnauthorized,
	} {
		if got := ts.do(t, "GET", "/api/integrations", "", "Authorization", auth); got.code != want {
			t.Errorf("Authorization %q: %d, want %d", auth, got.code, want)
		}
	}
}
