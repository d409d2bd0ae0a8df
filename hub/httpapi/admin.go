package httpapi

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/health"
	"github.com/reviewhub/reviewhub/hub/poll"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
)

// Admin is the admin REST API: integrations (create, read, update, delete,
// list) with partial save, their status, and the installed plugins.
// Credentials are write-only: answers list which secret settings are set,
// never their values. The routes and auth are here; the shapes in and out
// in admin_dto.go, the checks of what a client sends in admin_validate.go,
// the integration handlers in admin_integrations.go, the status and
// schedule views in admin_status.go, the dead letters in
// admin_deadletters.go.
type Admin struct {
	DB    *state.DB
	Token string
	// Info returns what an installed plugin says about itself.
	Info setup.InfoFunc
	// Plugins lists installed plugin names.
	Plugins func() []string
	// Changed is called after integrations change (the poller reloads).
	Changed func()
	// PublicURL is how the helpdesk reaches the hub (webhook URLs).
	PublicURL string
	// Connectors calls the plugins for POST /integrations/{id}/check.
	Connectors check.Plugins
	// Background, when set, runs the read-only check of an integration
	// after every save, in the background, until it ends (the hub's
	// life); nil: saving checks nothing.
	Background context.Context
	// Logger logs the background checks (nil: slog.Default()).
	Logger *slog.Logger
	// ReplyReserve is the share of store quotas polling leaves for replies
	// (status view; 0: quota.DefaultReplyReserve).
	ReplyReserve float64
	// Scheduler reports this hub's poll figures (GET /schedule); nil: none.
	Scheduler func() poll.Stats
	// Health computes the health of an integration's apps; nil: not shown.
	Health func(ctx context.Context, integrationID string) ([]health.App, error)
	// DeadLetters: GET /deadletters, retry and drop; nil: 503.
	DeadLetters DeadLetterOps
	// Replies: POST /integrations/{id}/replies/{message}/retry; nil: 503.
	Replies ReplyOps
}

// Register mounts the API on r (a /api subrouter).
func (a *Admin) Register(r *mux.Router) {
	r.Use(a.auth)
	r.HandleFunc("/plugins", a.listPlugins).Methods(http.MethodGet)
	r.HandleFunc("/schedule", a.schedule).Methods(http.MethodGet)
	r.HandleFunc("/integrations", a.list).Methods(http.MethodGet)
	r.HandleFunc("/integrations", a.create).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}", a.get).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}", a.put).Methods(http.MethodPut)
	r.HandleFunc("/integrations/{id}", a.delete).Methods(http.MethodDelete)
	r.HandleFunc("/integrations/{id}/status", a.status).Methods(http.MethodGet)
	a.registerTruth(r)
	a.registerHealth(r)
	a.registerDeadLetters(r)
	a.registerReplies(r)
}

func (a *Admin) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Token == "" {
			WriteError(w, http.StatusForbidden, "the admin API is off: set admin_token in the config or HUB_ADMIN_TOKEN")
			return
		}
		// The scheme name is case-insensitive (RFC 9110, section 11.1).
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="reviewhub"`)
			WriteError(w, http.StatusUnauthorized, "missing or wrong admin token (Authorization: Bearer TOKEN)")
			return
		}
		next.ServeHTTP(w, r)
	})
}
