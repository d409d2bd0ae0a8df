package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/state"
)

// Kinds of audit entries (state.AuditEntry.Kind).
const (
	KindIntegration = "integration"
	KindApp         = "app"
	KindFilter      = "filter"
	KindAutomation  = "automation"
	KindAlerts      = "alerts"
	KindToken       = "token"
	KindDeadLetter  = "deadletter"
	KindReply       = "reply"
	KindApproval    = "approval"
	KindSignIn      = "signin"
	KindHistory     = "history"
)

// AuditKinds lists every kind, for filters and forms.
var AuditKinds = []string{KindIntegration, KindApp, KindFilter, KindAutomation, KindAlerts, KindToken, KindDeadLetter,
	KindReply, KindApproval, KindSignIn, KindHistory, KindWebhook}

// HistoryStartEntry is the audit entry of a history import started (by
// the API or `hub import-history`): who is filled in by the caller.
func HistoryStartEntry(integrationID, appID string, from, to time.Time) state.AuditEntry {
	return state.AuditEntry{Kind: KindHistory, Action: "start", IntegrationID: integrationID, Target: appID,
		Changes: []state.AuditChange{{Field: "from", To: from.Format(time.DateOnly)}, {Field: "to", To: to.Format(time.DateOnly)}}}
}

// OutcomeFailed marks an entry of something refused (a failed sign-in).
const OutcomeFailed = "failed"

// SecretChanged is what the audit log says of a secret that changed: never
// its value, old or new.
const SecretChanged = "changed"

// Record writes e to the audit log: who from the principal ctx carries
// (unless e names one), where from auth.Client(ctx). The change it
// records is made already: a failure to write is logged, not returned.
func (a *Admin) Record(ctx context.Context, e state.AuditEntry) { a.record(ctx, e) }

func (a *Admin) record(ctx context.Context, e state.AuditEntry) {
	if a.DB == nil {
		return
	}
	if e.Subject == "" {
		if p, ok := auth.From(ctx); ok {
			e.Subject, e.Name, e.Role, e.Via = p.Subject, p.Name, p.Role.String(), string(p.Via)
		} else {
			e.Subject, e.Via = "system", string(auth.ViaSystem)
		}
	}
	if e.Client == "" {
		e.Client = auth.Client(ctx)
	}
	// The entry is written even when the client went away meanwhile.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.DB.AddAudit(wctx, e); err != nil {
		a.logger().Error("audit: writing an entry failed (the change is made; its entry is lost)", "kind", e.Kind,
			"action", e.Action, "integration", e.IntegrationID, "target", e.Target, "subject", e.Subject, "error", err)
	}
}

// auditField is one field of a flattened integration.
type auditField struct {
	value  string
	secret bool
}

// flatten lists in's fields by path: helpdesk and app settings (secrets
// marked, by the plugin's schema), apps by id, their filters and the
// automation as JSON paths. Secrets keep their value here only to see
// whether they changed; it never leaves diffIntegration.
func (a *Admin) flatten(in *state.Integration) map[string]auditField {
	out := map[string]auditField{}
	if in == nil {
		return out
	}
	out["name"] = auditField{value: in.Name}
	out["tags"] = auditField{value: strconv.FormatBool(in.Tags)}
	out["helpdesk.plugin"] = auditField{value: in.HelpdeskPlugin}
	secret := a.secretKeys(in.HelpdeskPlugin, in.HelpdeskSettings)
	for k, v := range in.HelpdeskSettings {
		out["helpdesk.settings."+k] = auditField{value: v, secret: secret[k]}
	}
	for _, app := range in.Apps {
		p := "apps[" + app.ID + "]."
		out[p+"name"] = auditField{value: app.Name}
		out[p+"store"] = auditField{value: app.StorePlugin}
		out[p+"store_app_id"] = auditField{value: app.StoreAppID}
		out[p+"poll_interval"] = auditField{value: app.PollInterval.String()}
		secret := a.secretKeys(app.StorePlugin, app.StoreSettings)
		for k, v := range app.StoreSettings {
			out[p+"settings."+k] = auditField{value: v, secret: secret[k]}
		}
		flattenJSON(out, p+"filters", app.Filters)
	}
	if !isZeroAutomation(in.Automation) {
		flattenJSON(out, "automation", in.Automation)
	}
	return out
}

// flattenJSON adds v's JSON leaves under prefix (objects by key, arrays
// by index).
func flattenJSON(out map[string]auditField, prefix string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		out[prefix] = auditField{value: "(unreadable)"}
		return
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		out[prefix] = auditField{value: "(unreadable)"}
		return
	}
	var walk func(p string, n any)
	walk = func(p string, n any) {
		switch n := n.(type) {
		case map[string]any:
			for k, v := range n {
				walk(p+"."+k, v)
			}
		case []any:
			for i, v := range n {
				walk(fmt.Sprintf("%s[%d]", p, i), v)
			}
		case nil:
		default:
			s, _ := json.Marshal(n)
			out[p] = auditField{value: strings.Trim(string(s), `"`)}
		}
	}
	walk(prefix, tree)
}

// kindOf sorts a field path into the kind of entry it belongs to and its
// target (an app's id).
func kindOf(path string) (kind, target string) {
	if rest, ok := strings.CutPrefix(path, "apps["); ok {
		id, field, _ := strings.Cut(rest, "].")
		if strings.HasPrefix(field, "filters") {
			return KindFilter, id
		}
		return KindApp, id
	}
	if strings.HasPrefix(path, "automation") {
		return KindAutomation, ""
	}
	return KindIntegration, ""
}

// auditIntegration records what changed from old to new (nil: created or
// deleted) as entries by kind (the integration, each app, each app's
// filters, the automation), field by field; secrets as SecretChanged.
func (a *Admin) auditIntegration(ctx context.Context, action string, old, new *state.Integration) {
	id := ""
	switch {
	case new != nil:
		id = new.ID
	case old != nil:
		id = old.ID
	}
	if new == nil {
		a.record(ctx, state.AuditEntry{Kind: KindIntegration, Action: action, IntegrationID: id})
		return
	}
	before, after := a.flatten(old), a.flatten(new)
	type group struct{ kind, target string }
	changes := map[group][]state.AuditChange{}
	paths := map[string]bool{}
	for p := range before {
		paths[p] = true
	}
	for p := range after {
		paths[p] = true
	}
	for p := range paths {
		b, inB := before[p]
		f, inF := after[p]
		if inB == inF && b.value == f.value {
			continue
		}
		c := state.AuditChange{Field: p, From: b.value, To: f.value}
		if b.secret || f.secret {
			c = state.AuditChange{Field: p, To: SecretChanged, Secret: true}
			if !inF || f.value == "" {
				c.To = "removed"
			}
		}
		k, t := kindOf(p)
		changes[group{k, t}] = append(changes[group{k, t}], c)
	}
	appsBefore, appsAfter := map[string]bool{}, map[string]bool{}
	if old != nil {
		for _, app := range old.Apps {
			appsBefore[app.ID] = true
		}
	}
	for _, app := range new.Apps {
		appsAfter[app.ID] = true
	}
	groups := make([]group, 0, len(changes))
	for g := range changes {
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		groups = append(groups, group{KindIntegration, ""}) // saved unchanged: still who saved it
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].kind != groups[j].kind {
			return kindOrder(groups[i].kind) < kindOrder(groups[j].kind)
		}
		return groups[i].target < groups[j].target
	})
	for _, g := range groups {
		cs := changes[g]
		sort.Slice(cs, func(i, j int) bool { return cs[i].Field < cs[j].Field })
		act := action
		if g.kind == KindApp || g.kind == KindFilter {
			switch {
			case !appsBefore[g.target]:
				act = "add"
			case !appsAfter[g.target]:
				act = "remove"
			default:
				act = "update"
			}
		}
		a.record(ctx, state.AuditEntry{Kind: g.kind, Action: act, IntegrationID: id, Target: g.target, Changes: cs})
	}
}

func kindOrder(k string) int {
	for i, v := range AuditKinds {
		if v == k {
			return i
		}
	}
	return len(AuditKinds)
}

// AuditPage is a page of the audit log, newest first; Next, when set, is
// the "before" of the next page.
type AuditPage struct {
	Entries []state.AuditEntry `json:"entries"`
	Next    int64              `json:"next,omitempty"`
}

// maxAuditPage bounds a page.
const maxAuditPage = 1000

// Audit returns a page of the audit log (viewer).
func (a *Admin) Audit(ctx context.Context, f state.AuditFilter) (AuditPage, error) {
	if err := Require(ctx, auth.RoleViewer); err != nil {
		return AuditPage{}, err
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, maxAuditPage)
	want := f.Limit
	f.Limit++ // one more says whether there is a next page
	list, err := a.DB.Audit(ctx, f)
	if err != nil {
		return AuditPage{}, fmt.Errorf("reading the audit log: %w", err)
	}
	page := AuditPage{Entries: list}
	if len(list) > want {
		page.Entries = list[:want]
		page.Next = list[want-1].ID
	}
	return page, nil
}

// AuditFilterOf reads an audit filter from a query: who, kind,
// integration, since and until (RFC 3339), before (an entry id), limit.
func AuditFilterOf(q map[string][]string) (state.AuditFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	f := state.AuditFilter{Who: get("who"), Kind: get("kind"), IntegrationID: get("integration")}
	if f.Kind != "" && kindOrder(f.Kind) == len(AuditKinds) {
		return f, errorf(http.StatusBadRequest, "kind %q is unknown; want one of %s", clip(f.Kind, 64), strings.Join(AuditKinds, ", "))
	}
	for _, t := range []struct {
		key string
		to  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := get(t.key); v != "" {
			ts, err := time.Parse(time.RFC3339, v)
			if err != nil {
				if d, err2 := time.Parse("2006-01-02", v); err2 == nil {
					ts = d
				} else {
					return f, errorf(http.StatusBadRequest, "%s %q is not a time (RFC 3339, 2026-01-31T00:00:00Z, or a date 2026-01-31)", t.key, clip(v, 64))
				}
			}
			*t.to = ts
		}
	}
	for _, n := range []struct {
		key string
		to  func(int64)
	}{{"before", func(v int64) { f.Before = v }}, {"limit", func(v int64) { f.Limit = int(v) }}} {
		if v := get(n.key); v != "" {
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return f, errorf(http.StatusBadRequest, "%s %q is not a positive number", n.key, clip(v, 64))
			}
			n.to(x)
		}
	}
	return f, nil
}

func (a *Admin) registerAudit(r *mux.Router) {
	r.HandleFunc("/audit", a.handle(a.audit)).Methods(http.MethodGet)
	r.HandleFunc("/audit/export", a.handle(a.auditExport)).Methods(http.MethodGet)
}

func (a *Admin) audit(w http.ResponseWriter, r *http.Request) error {
	f, err := AuditFilterOf(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := a.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, page)
	return nil
}

// auditExport writes every entry the filter selects as JSON lines.
func (a *Admin) auditExport(w http.ResponseWriter, r *http.Request) error {
	f, err := AuditFilterOf(r.URL.Query())
	if err != nil {
		return err
	}
	if err := Require(r.Context(), auth.RoleViewer); err != nil {
		return err
	}
	WriteAuditJSONL(w, r, a.logger(), a.Audit, f)
	return nil
}

// WriteAuditJSONL answers every entry f selects (its limit ignored) as
// JSON lines, newest first, read page by page through audit (the API's
// and the console's export). A failure before the first line is answered
// as a problem; one midway ends the export with a line {"error": …}.
func WriteAuditJSONL(w http.ResponseWriter, r *http.Request, log *slog.Logger,
	audit func(context.Context, state.AuditFilter) (AuditPage, error), f state.AuditFilter) {
	f.Limit = maxAuditPage
	page, err := audit(r.Context(), f)
	if err != nil {
		writeProblem(w, r, log, err)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Disposition", `attachment; filename="reviewhub-audit.jsonl"`)
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for {
		for _, e := range page.Entries {
			if err := enc.Encode(e); err != nil {
				return // the client went away
			}
		}
		if page.Next == 0 {
			return
		}
		f.Before = page.Next
		if page, err = audit(r.Context(), f); err != nil {
			id := requestID(r)
			log.Error("audit export failed midway (the answer is cut short)", "request_id", id, "error", err)
			_ = enc.Encode(map[string]string{"error": "the export stopped here: reading the audit log failed; the hub's log has the cause under request id " + id})
			return
		}
	}
}
