package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/health"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
	"github.com/reviewhub/reviewhub/hub/poll"
	"github.com/reviewhub/reviewhub/hub/setup"
	"github.com/reviewhub/reviewhub/hub/state"
)

// Admin is the admin REST API: integrations (create, read, update, delete,
// list) with partial save, their status, and the installed plugins.
// Credentials are write-only: answers list which secret settings are set,
// never their values.
//
// Its exported methods (Integrations, Create, Status, RetryReply,
// ListDeadLetters…) are the functions behind the API: the handlers here
// and the web console both call them, with typed values in and out; an
// *Error they return is the client's problem with its status, any other
// error an internal one (problem.go: answered as an RFC 9457 problem
// document by one adapter, Admin.handle, internal causes logged, never
// sent).
//
// The routes and auth are here; the errors and their answer in
// problem.go; the shapes in and out in admin_dto.go, the checks of what a
// client sends in admin_validate.go, the integrations in
// admin_integrations.go, the status and schedule views in
// admin_status.go, the dead letters in admin_deadletters.go, answers and
// automation in admin_replies.go, unreadable input and the live check in
// admin_truth.go, alert settings in health.go.
type Admin struct {
	DB *state.DB
	// Token is the configured admin token; "" when none is configured or
	// it is turned off (admin_token_disabled): then only personal tokens
	// sign in.
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
	// DraftOps: approving and rejecting drafts (approvals); nil: 503.
	DraftOps DraftOps
	// History: POST /integrations/{id}/apps/{app}/history; nil: 503.
	History HistoryOps
	// Webhooks is told to look at its queue after a replay or an enable
	// (nil: it finds them at its next look).
	Webhooks WebhookWaker
	// AllowHosts: health.alert_hosts, the hosts outbound webhook
	// endpoints may have (empty: any).
	AllowHosts []string
	// Failures limits wrong bearer tokens per client (shared with the
	// console's sign-in, so both doors to the token count together);
	// nil: a limiter of the Admin's own with throttle's defaults.
	Failures *throttle.Limiter
	// Accounts limits wrong tokens per account (the admin token, each
	// personal token), shared with the console likewise; nil: one of the
	// Admin's own with throttle's defaults.
	Accounts *throttle.Accounts

	failuresOnce sync.Once

	// wrongMu guards wrongEntries: per client, the audit entry summing
	// its wrong tokens in its current throttle window.
	wrongMu      sync.Mutex
	wrongEntries map[string]wrongEntry
}

// wrongEntry is the audit entry of a client's wrong tokens in its window
// and the count it shows (a lower count from the limiter: a new window).
type wrongEntry struct {
	id    int64
	count int
}

// maxWrongEntries bounds wrongEntries; past it the table starts afresh
// (the windows it names last a minute).
const maxWrongEntries = 10000

// auditWrongToken writes at most one audit entry per client per throttle
// window: the window's first wrong token writes it (naming the account
// tried), later ones in the window update its count. count is the
// client's failures in the window (throttle.Limiter.Fail); 0, a failure
// the limiter could not remember, is logged only.
func (a *Admin) auditWrongToken(ctx context.Context, client, account string, count int) {
	if a.DB == nil || count == 0 {
		return
	}
	changes := []state.AuditChange{{Field: "wrong tokens", To: strconv.Itoa(count)}}
	a.wrongMu.Lock()
	defer a.wrongMu.Unlock()
	if e, ok := a.wrongEntries[client]; ok && count > e.count {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := a.DB.SetAuditChanges(wctx, e.id, changes); err != nil {
			a.logger().Error("audit: counting a wrong token failed", "error", err)
		}
		a.wrongEntries[client] = wrongEntry{id: e.id, count: count}
		return
	}
	if a.wrongEntries == nil || len(a.wrongEntries) >= maxWrongEntries {
		a.wrongEntries = map[string]wrongEntry{}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// The account tried (the admin token, a personal token's id), never
	// what was sent.
	id, err := a.DB.AddAuditID(wctx, state.AuditEntry{Subject: "unknown", Client: auth.Client(ctx), Kind: KindSignIn, Action: "api",
		Outcome: OutcomeFailed, Target: account, Changes: changes})
	if err != nil {
		a.logger().Error("audit: writing an entry failed", "kind", KindSignIn, "action", "api", "error", err)
		return
	}
	a.wrongEntries[client] = wrongEntry{id: id, count: count}
}

// Register mounts the API on r (a /api subrouter).
func (a *Admin) Register(r *mux.Router) {
	r.Use(a.auth, a.enforce)
	r.HandleFunc("/plugins", a.handle(a.listPlugins)).Methods(http.MethodGet)
	r.HandleFunc("/schedule", a.handle(a.schedule)).Methods(http.MethodGet)
	r.HandleFunc("/integrations", a.handle(a.list)).Methods(http.MethodGet)
	r.HandleFunc("/integrations", a.handle(a.create)).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}", a.handle(a.get)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}", a.handle(a.put)).Methods(http.MethodPut)
	r.HandleFunc("/integrations/{id}", a.handle(a.delete)).Methods(http.MethodDelete)
	r.HandleFunc("/integrations/{id}/status", a.handle(a.status)).Methods(http.MethodGet)
	a.registerTruth(r)
	a.registerHealth(r)
	a.registerDeadLetters(r)
	a.registerReplies(r)
	a.registerReviews(r)
	a.registerApprovals(r)
	a.registerStats(r)
	a.registerHistory(r)
	a.registerTokens(r)
	a.registerAudit(r)
	a.registerWebhooks(r)
}

// accounts is the per-account limiter of wrong tokens.
func (a *Admin) accounts() *throttle.Accounts {
	a.failures()
	return a.Accounts
}

// failures is the limiter of wrong tokens.
func (a *Admin) failures() *throttle.Limiter {
	a.failuresOnce.Do(func() {
		if a.Failures == nil {
			a.Failures = throttle.New(throttle.Options{})
		}
		if a.Accounts == nil {
			a.Accounts = throttle.NewAccounts(throttle.AccountOptions{})
		}
	})
	return a.Failures
}

func (a *Admin) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Token == "" && a.DB == nil {
			writeProblem(w, r, a.logger(), errorf(http.StatusForbidden, "the admin API is off: set admin_token in the config or HUB_ADMIN_TOKEN"))
			return
		}
		// Wrong tokens are counted per client: one client's guesses never
		// lock out another, and a client that used up its failures waits
		// out its window even with the right token (guessing stays slow).
		client := throttle.Client(r)
		if wait, blocked := a.failures().Blocked(client); blocked {
			a.tooMany(w, r, wait, "too many wrong tokens from this client")
			return
		}
		// The scheme name is case-insensitive (RFC 9110, section 11.1).
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || got == "" {
			// A request with no credentials guesses nothing.
			if r.Header.Get("Authorization") != "" {
				a.failures().Fail(client)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="reviewhub"`)
			writeProblem(w, r, a.logger(), errorf(http.StatusUnauthorized, "missing token (Authorization: Bearer TOKEN, a personal token or the admin token)"))
			return
		}
		// And per account (the admin token, one personal token): many
		// clients guessing together stay slow, while the clients that
		// signed in to the account before are not refused for others'
		// failures.
		account := accountOf(got)
		if wait, blocked := a.accounts().Blocked(account, client); blocked {
			a.tooMany(w, r, wait, "too many wrong tokens for this account from new clients")
			return
		}
		ctx := auth.WithClient(r.Context(), clientAddr(r))
		p, err := a.Principal(ctx, got)
		var refused *Error
		switch {
		case errors.As(err, &refused):
			if refused.Status == http.StatusUnauthorized && !errors.Is(err, errTokenExpired) {
				count := a.failures().Fail(client)
				if a.accountExists(ctx, account) { // else counted per client only
					a.accounts().Fail(account)
				}
				a.logger().Warn("admin API: request with a wrong token refused", "remote", r.RemoteAddr)
				a.auditWrongToken(ctx, client, account, count)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="reviewhub"`)
			writeProblem(w, r, a.logger(), err)
			return
		case err != nil:
			writeProblem(w, r, a.logger(), err)
			return
		}
		a.accounts().Succeeded(account, client)
		next.ServeHTTP(w, r.WithContext(auth.With(ctx, p)))
	})
}

// tooMany answers 429 with Retry-After.
func (a *Admin) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, why string) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeProblem(w, r, a.logger(), errorf(http.StatusTooManyRequests, "%s; retry in %d s", why, secs))
}

// clientAddr is the request's client address for the audit log.
func clientAddr(r *http.Request) string { return throttle.Addr(r) }
