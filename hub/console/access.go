package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
	"github.com/reviewhub/reviewhub/hub/state"
)

// Access is the admin API's personal tokens and audit log (an
// *httpapi.Admin), for the tokens and audit pages and the sign-in's
// audit entries.
type Access interface {
	CreateToken(ctx context.Context, j httpapi.NewTokenJSON) (httpapi.TokenJSON, error)
	Tokens(ctx context.Context) ([]state.APIToken, error)
	RevokeToken(ctx context.Context, id string) error
	Audit(ctx context.Context, f state.AuditFilter) (httpapi.AuditPage, error)
	Record(ctx context.Context, e state.AuditEntry)
}

var _ Access = (*httpapi.Admin)(nil)

// adminAccount is the admin token's account in the per-account throttle
// (the API counts it under the same name).
const adminAccount = "admin_token"

// clientAddr is the request's client address for the audit log.
func clientAddr(r *http.Request) string { return throttle.Addr(r) }

// audit records e when the console has the API's audit log.
func (c *Console) audit(ctx context.Context, e state.AuditEntry) {
	if c.opts.Access != nil {
		c.opts.Access.Record(ctx, e)
	}
}

// actionRoutes maps every console action (method and route template
// behind the session) to the admin API route whose role it needs
// (httpapi.RouteRole): one table of roles for both surfaces. "" needs
// only a session (signing out). A console route missing here is refused
// to everyone, and TestEveryConsoleActionHasARole fails.
var actionRoutes = map[string]string{
	"GET /console/":                                                  "GET /api/integrations",
	"POST /console/signout":                                          "",
	"POST /console/signout/everywhere":                               "",
	"GET /console/integrations":                                      "GET /api/integrations",
	"GET /console/integrations/new":                                  "POST /api/integrations",
	"POST /console/integrations/new":                                 "POST /api/integrations",
	"GET /console/integrations/{id}":                                 "GET /api/integrations/{id}",
	"POST /console/integrations/{id}":                                "PUT /api/integrations/{id}",
	"POST /console/integrations/{id}/check":                          "POST /api/integrations/{id}/check",
	"GET /console/integrations/{id}/status":                          "GET /api/integrations/{id}/status",
	"POST /console/integrations/{id}/replies/{message}/retry":        "POST /api/integrations/{id}/replies/{message}/retry",
	"GET /console/reviews":                                           "GET /api/reviews",
	"GET /console/integrations/{id}/reviews":                         "GET /api/reviews",
	"GET /console/reviews/{id}/{app}/{review}":                       "GET /api/reviews/{id}/{app}/{review}",
	"GET /console/deadletters":                                       "GET /api/deadletters",
	"POST /console/deadletters/{id}/retry":                           "POST /api/deadletters/{id}/retry",
	"POST /console/deadletters/retry-all":                            "POST /api/deadletters/{id}/retry",
	"POST /console/deadletters/drop-all":                             "DELETE /api/deadletters/{id}",
	"POST /console/deadletters/{id}/drop":                            "DELETE /api/deadletters/{id}",
	"GET /console/integrations/{id}/automation":                      "GET /api/integrations/{id}/automation",
	"POST /console/integrations/{id}/automation/stop":                "POST /api/integrations/{id}/automation/stop",
	"POST /console/integrations/{id}/automation/start":               "POST /api/integrations/{id}/automation/start",
	"GET /console/integrations/{id}/automation/new":                  "PUT /api/integrations/{id}/automation",
	"POST /console/integrations/{id}/automation/new":                 "PUT /api/integrations/{id}/automation",
	"GET /console/integrations/{id}/automation/rules/{rule}":         "PUT /api/integrations/{id}/automation",
	"POST /console/integrations/{id}/automation/rules/{rule}":        "PUT /api/integrations/{id}/automation",
	"POST /console/integrations/{id}/automation/rules/{rule}/move":   "PUT /api/integrations/{id}/automation",
	"POST /console/integrations/{id}/automation/rules/{rule}/toggle": "PUT /api/integrations/{id}/automation",
	"GET /console/integrations/{id}/automation/rules/{rule}/delete":  "PUT /api/integrations/{id}/automation",
	"POST /console/integrations/{id}/automation/rules/{rule}/delete": "PUT /api/integrations/{id}/automation",
	"GET /console/approvals":                                         "GET /api/approvals",
	"POST /console/approvals/approve":                                "POST /api/integrations/{id}/replies/{message}/approve",
	"POST /console/approvals/reject":                                 "POST /api/integrations/{id}/replies/{message}/reject",
	"GET /console/tokens":                                            "GET /api/tokens",
	"POST /console/tokens":                                           "POST /api/tokens",
	"POST /console/tokens/{id}/revoke":                               "DELETE /api/tokens/{id}",
	"GET /console/audit":                                             "GET /api/audit",
	"GET /console/audit/export":                                      "GET /api/audit/export",
	"GET /console/reviews/export":                                    "GET /api/reviews/export",
	"GET /console/charts":                                            "GET /api/stats/reviews",
	"GET /console/integrations/{id}/charts":                          "GET /api/stats/reviews",
	"GET /console/charts/export":                                     "GET /api/stats/reviews/export",
	"GET /console/webhooks":                                          "GET /api/webhooks",
	"GET /console/webhooks/{id}":                                     "GET /api/webhooks/{id}/deliveries",
	"POST /console/webhooks/{id}/enable":                             "POST /api/webhooks/{id}/enable",
	"POST /console/webhooks/{id}/deliveries/{event}/replay":          "POST /api/webhooks/{id}/deliveries/{event}/replay",
	"GET /console/integrations/{id}/apps/{app}/history":              "GET /api/integrations/{id}/apps/{app}/history",
	"POST /console/integrations/{id}/apps/{app}/history":             "POST /api/integrations/{id}/apps/{app}/history",
}

// actionRole is the role console action method+template needs; false
// when the action has no row (or its API route none).
func actionRole(method, template string) (auth.Role, bool) {
	api, ok := actionRoutes[method+" "+template]
	if !ok {
		return auth.RoleNone, false
	}
	if api == "" {
		return auth.RoleNone, true
	}
	m, tpl, _ := strings.Cut(api, " ")
	return httpapi.RouteRole(m, tpl)
}

// can reports whether a principal of role (its name, as pages get it) may
// do console action ("POST /console/deadletters/{id}/drop"): the pages
// show only what the role allows (the gate enforces it regardless).
func can(role, action string) bool {
	r, err := auth.ParseRole(role)
	if err != nil {
		return false
	}
	m, tpl, _ := strings.Cut(action, " ")
	need, ok := actionRole(m, tpl)
	return ok && (need == auth.RoleNone || r.Allows(need))
}

func init() { funcs["can"] = can }

// requireRole refuses an action the signed-in principal's role does not
// allow (403 naming the role needed); it runs after requireSession.
func (c *Console) requireRole(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tpl := ""
		if route := mux.CurrentRoute(r); route != nil {
			tpl, _ = route.GetPathTemplate()
		}
		need, ok := actionRole(r.Method, tpl)
		if !ok {
			c.opts.Logger.Error("console: an action has no role in the table; refused", "method", r.Method, "route", tpl)
			c.renderError(w, r, http.StatusForbidden, c.lang(r).T["no_role"])
			return
		}
		if need != auth.RoleNone {
			if err := httpapi.Require(r.Context(), need); err != nil {
				c.failed(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (c *Console) accessRoutes(s *mux.Router) {
	s.HandleFunc("/tokens", c.handle(c.tokens)).Methods(http.MethodGet)
	s.HandleFunc("/tokens", c.handle(c.createToken)).Methods(http.MethodPost)
	s.HandleFunc("/tokens/{id}/revoke", c.handle(c.revokeToken)).Methods(http.MethodPost)
	s.HandleFunc("/audit", c.handle(c.auditPage)).Methods(http.MethodGet)
	s.HandleFunc("/audit/export", c.handle(c.auditExport)).Methods(http.MethodGet)
}

func (c *Console) access() (Access, error) {
	if c.opts.Access == nil {
		return nil, &httpapi.Error{Status: http.StatusServiceUnavailable, Detail: "this console has no tokens or audit log"}
	}
	return c.opts.Access, nil
}

// tokensPage is the tokens page's data.
type tokensPage struct {
	Tokens []state.APIToken
	// Made is the token just made, its value shown this once.
	Made  *httpapi.TokenJSON
	Form  httpapi.NewTokenJSON
	Roles []string
}

func (c *Console) tokens(w http.ResponseWriter, r *http.Request) error {
	return c.renderTokens(w, r, http.StatusOK, tokensPage{}, "")
}

func (c *Console) renderTokens(w http.ResponseWriter, r *http.Request, status int, p tokensPage, problem string) error {
	a, err := c.access()
	if err != nil {
		return err
	}
	if p.Tokens, err = a.Tokens(r.Context()); err != nil {
		return err
	}
	p.Roles = []string{"viewer", "agent", "admin"}
	if p.Form.Role == "" {
		p.Form.Role = "viewer"
	}
	t := c.lang(r).T
	pg := page{Title: t["tokens_title"], Nav: "tokens", Data: p, Error: problem}
	if id := r.URL.Query().Get("revoked"); id != "" {
		pg.Notice = fmt.Sprintf(t["token_revoked"], id)
	}
	c.render(w, r, status, "tokens", pg)
	return nil
}

func (c *Console) createToken(w http.ResponseWriter, r *http.Request) error {
	a, err := c.access()
	if err != nil {
		return err
	}
	j := httpapi.NewTokenJSON{Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role"), Expires: r.PostForm.Get("expires")}
	made, err := a.CreateToken(r.Context(), j)
	if e, ok := err.(*httpapi.Error); ok && e.Status == http.StatusUnprocessableEntity {
		return c.renderTokens(w, r, e.Status, tokensPage{Form: j}, e.Error())
	}
	if err != nil {
		return err
	}
	// Shown this once, in this answer (no redirect: the value is never
	// stored where a later page could read it).
	return c.renderTokens(w, r, http.StatusCreated, tokensPage{Made: &made}, "")
}

func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request) error {
	a, err := c.access()
	if err != nil {
		return err
	}
	id := mux.Vars(r)["id"]
	if err := a.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/tokens?revoked="+url.QueryEscape(id), http.StatusSeeOther)
	return nil
}

// auditView is the audit page's data.
type auditView struct {
	Entries []state.AuditEntry
	// Filter as given (for the form), Next the link to the next page,
	// Export the JSON lines export of the same filter.
	Who, Kind, Integration, Since, Until string
	Kinds                                []string
	Next, Export                         string
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) error {
	a, err := c.access()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f, err := httpapi.AuditFilterOf(q)
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	page0, err := a.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	v := auditView{Entries: page0.Entries, Who: q.Get("who"), Kind: q.Get("kind"), Integration: q.Get("integration"),
		Since: q.Get("since"), Until: q.Get("until"), Kinds: httpapi.AuditKinds}
	keep := url.Values{}
	for _, k := range []string{"who", "kind", "integration", "since", "until"} {
		if val := q.Get(k); val != "" {
			keep.Set(k, val)
		}
	}
	v.Export = "/console/audit/export?" + keep.Encode()
	if page0.Next != 0 {
		next := url.Values{}
		for k, vs := range keep {
			next[k] = vs
		}
		next.Set("before", strconv.FormatInt(page0.Next, 10))
		v.Next = "/console/audit?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, "audit", page{Title: c.lang(r).T["audit_title"], Nav: "audit", Data: v})
	return nil
}

// auditExport downloads the entries the filter selects as JSON lines,
// through the API's export (one format, one path).
func (c *Console) auditExport(w http.ResponseWriter, r *http.Request) error {
	a, err := c.access()
	if err != nil {
		return err
	}
	f, err := httpapi.AuditFilterOf(r.URL.Query())
	if err != nil {
		return err
	}
	httpapi.WriteAuditJSONL(w, r, c.opts.Logger, a.Audit, f)
	return nil
}
