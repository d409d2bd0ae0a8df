package httpapi

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
)

// routeRoles is the role each admin API route needs, by method and path
// template. Every route registered on the API must have its row: a route
// without one is refused to everyone (and TestEveryRouteHasARole fails).
// The web console's actions map to these rows (console.actionRoutes), so
// both surfaces enforce the same table.
//
// viewer reads everything but secrets (the API never answers a secret's
// value); agent also retries answers and dead letters and runs the live
// check of an integration's accounts, and approves or rejects drafts; admin also changes integrations
// (their apps and filters), automation, alerts and tokens, and drops dead
// letters.
var routeRoles = map[string]auth.Role{
	"GET /api/plugins":                                      auth.RoleViewer,
	"GET /api/schedule":                                     auth.RoleViewer,
	"GET /api/integrations":                                 auth.RoleViewer,
	"POST /api/integrations":                                auth.RoleAdmin,
	"GET /api/integrations/{id}":                            auth.RoleViewer,
	"PUT /api/integrations/{id}":                            auth.RoleAdmin,
	"DELETE /api/integrations/{id}":                         auth.RoleAdmin,
	"GET /api/integrations/{id}/status":                     auth.RoleViewer,
	"GET /api/integrations/{id}/webhooks/ignored":           auth.RoleViewer,
	"GET /api/integrations/{id}/reviews/unreadable":         auth.RoleViewer,
	"POST /api/integrations/{id}/check":                     auth.RoleAgent,
	"GET /api/integrations/{id}/alerts":                     auth.RoleViewer,
	"PUT /api/integrations/{id}/alerts":                     auth.RoleAdmin,
	"GET /api/deadletters":                                  auth.RoleViewer,
	"POST /api/deadletters/{id}/retry":                      auth.RoleAgent,
	"DELETE /api/deadletters/{id}":                          auth.RoleAdmin,
	"GET /api/integrations/{id}/replies":                    auth.RoleViewer,
	"POST /api/integrations/{id}/replies/{message}/retry":   auth.RoleAgent,
	"GET /api/integrations/{id}/reviews/{app}/{review}":     auth.RoleViewer,
	"GET /api/integrations/{id}/automation":                 auth.RoleViewer,
	"PUT /api/integrations/{id}/automation":                 auth.RoleAdmin,
	"POST /api/integrations/{id}/automation/stop":           auth.RoleAdmin,
	"POST /api/integrations/{id}/automation/start":          auth.RoleAdmin,
	"POST /api/integrations/{id}/automation/preview":        auth.RoleViewer,
	"GET /api/approvals":                                    auth.RoleViewer,
	"POST /api/integrations/{id}/replies/{message}/approve": auth.RoleAgent,
	"POST /api/integrations/{id}/replies/{message}/reject":  auth.RoleAgent,
	"GET /api/integrations/{id}/templates":                  auth.RoleViewer,
	"GET /api/integrations/{id}/rules":                      auth.RoleViewer,
	"GET /api/integrations/{id}/apps/{app}/history":         auth.RoleViewer,
	"POST /api/integrations/{id}/apps/{app}/history":        auth.RoleAdmin,
	"GET /api/reviews":                                      auth.RoleViewer,
	"GET /api/reviews/{id}/{app}/{review}":                  auth.RoleViewer,
	"GET /api/tokens":                                       auth.RoleAdmin,
	"POST /api/tokens":                                      auth.RoleAdmin,
	"DELETE /api/tokens/{id}":                               auth.RoleAdmin,
	"GET /api/audit":                                        auth.RoleViewer,
	"GET /api/audit/export":                                 auth.RoleViewer,
	"GET /api/reviews/export":                               auth.RoleViewer,
	"GET /api/stats/reviews":                                auth.RoleViewer,
	"GET /api/stats/reviews/export":                         auth.RoleViewer,
	"GET /api/webhooks":                                     auth.RoleViewer,
	"POST /api/webhooks":                                    auth.RoleAdmin,
	"GET /api/webhooks/{id}":                                auth.RoleViewer,
	"PUT /api/webhooks/{id}":                                auth.RoleAdmin,
	"DELETE /api/webhooks/{id}":                             auth.RoleAdmin,
	"POST /api/webhooks/{id}/enable":                        auth.RoleAdmin,
	"GET /api/webhooks/{id}/deliveries":                     auth.RoleViewer,
	"POST /api/webhooks/{id}/deliveries/{event}/replay":     auth.RoleAdmin,
}

// RouteRole returns the role the admin API route method and template
// ("PUT", "/api/integrations/{id}") needs; false when the route has none.
func RouteRole(method, template string) (auth.Role, bool) {
	r, ok := routeRoles[method+" "+template]
	return r, ok
}

// Require returns nil when the principal ctx carries has a role that
// allows need; else the *Error to answer: 401 without a principal, 403
// naming the role needed.
func Require(ctx context.Context, need auth.Role) error {
	p, ok := auth.From(ctx)
	if !ok {
		return errorf(http.StatusUnauthorized, "not signed in")
	}
	if !p.Role.Allows(need) {
		return errorf(http.StatusForbidden, "%s", auth.Needs(p, need))
	}
	return nil
}

// enforce refuses a request whose principal's role does not allow the
// route's (routeRoles); it runs after auth, on matched routes.
func (a *Admin) enforce(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := mux.CurrentRoute(r)
		tpl := ""
		if route != nil {
			tpl, _ = route.GetPathTemplate()
		}
		need, ok := RouteRole(r.Method, tpl)
		if !ok {
			a.logger().Error("admin API: a route has no role in the table; refused", "method", r.Method, "route", tpl)
			writeProblem(w, r, a.logger(), errorf(http.StatusForbidden, "this route has no role assigned; nobody may call it"))
			return
		}
		if err := Require(r.Context(), need); err != nil {
			writeProblem(w, r, a.logger(), err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
