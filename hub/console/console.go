// Package console is the hub's web console: sign in with a company account
// (OpenID Connect, oidc.go) or the admin token, into a session kept in the
// state (session.go); set up integrations from the plugins' settings schemas, watch their
// status, check their accounts and retry or drop dead letters.
//
// Every read and write goes through the admin API's own functions
// (the methods of hub/httpapi.Admin, behind the Admin interface), called
// with typed values: the console has no second path to the state (its
// own sessions aside, through SessionStore), no JSON round trip, and its validation, partial save and write-only secrets are
// the API's. Pages are rendered on the server (html/template); the templates,
// the stylesheet and the small script are embedded in the binary.
package console

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
	"github.com/reviewhub/reviewhub/hub/state"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	sessionCookie = "rh_session"
	langCookie    = "rh_lang"
	// signinCookie carries the sign-in form's CSRF token (double submit).
	signinCookie = "rh_signin"
)

// DefaultSessionTTL is how long a session lasts without use (the idle
// timeout).
const DefaultSessionTTL = 12 * time.Hour

// DefaultSessionMaxAge is how long a session lasts at most, however much
// it is used (the absolute timeout).
const DefaultSessionMaxAge = 7 * 24 * time.Hour

// Options configure a Console.
type Options struct {
	// Token is the admin token: one way to sign in (as an admin). Empty:
	// no sign-in with a token (then OIDC must be configured).
	Token string
	// Admin is the admin API's functions (an *httpapi.Admin).
	Admin  Admin
	Logger *slog.Logger
	// Secure marks cookies Secure (the hub is reached over https).
	Secure bool
	// Sessions keeps the sessions and sign-in flows: the hub passes its
	// state (*state.DB), so that sessions survive a restart and work on
	// every hub of one database. nil: kept in this process's memory
	// (tests and tools).
	Sessions SessionStore
	// SessionTTL is the idle timeout: 0 means DefaultSessionTTL.
	SessionTTL time.Duration
	// SessionMaxAge is the absolute timeout: 0 means DefaultSessionMaxAge.
	SessionMaxAge time.Duration
	// OIDC are the issuers people sign in with (oidc.go).
	OIDC []OIDCIssuer
	// PublicURL is the hub's address as browsers reach it (OIDC redirect
	// URLs are made from it).
	PublicURL string
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
	// Failures limits wrong sign-ins per client; share it with the admin
	// API so both doors to the token count together. nil: a limiter of
	// its own with throttle's defaults on Now.
	Failures *throttle.Limiter
	// Accounts limits wrong sign-ins per account (shared with the API);
	// nil: one of its own.
	Accounts *throttle.Accounts
	// Access is the API's tokens and audit log (an *httpapi.Admin); nil:
	// those pages answer 503 and sign-ins are not audited.
	Access Access
	// Webhooks is the API's outbound webhooks (an *httpapi.Admin); nil:
	// those pages answer 503.
	Webhooks WebhookOps
}

// Console serves the web console under /console/.
type Console struct {
	opts   Options
	admin  Admin
	pages  map[string]*template.Template
	router *mux.Router
	oidc   map[string]*issuer
	// starts counts OIDC sign-ins started per client: each stores a
	// flow in the state, so a client may start maxStarts a minute.
	starts *throttle.Limiter
	// lastPrune is when expired sessions were last pruned (unix nanos).
	lastPrune atomic.Int64
	// nav caches the navigation's badge counts (nav.go).
	nav navCache
}

// New prepares the console.
func New(o Options) (*Console, error) {
	if len(o.Token) == 0 && len(o.OIDC) == 0 {
		return nil, fmt.Errorf("console: a way to sign in is needed: an admin token or an OIDC issuer")
	}
	if o.Admin == nil {
		return nil, fmt.Errorf("console: the admin API is needed")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.SessionMaxAge <= 0 {
		o.SessionMaxAge = DefaultSessionMaxAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Failures == nil {
		o.Failures = throttle.New(throttle.Options{Now: o.Now})
	}
	if o.Accounts == nil {
		o.Accounts = throttle.NewAccounts(throttle.AccountOptions{Now: o.Now})
	}
	if o.Sessions == nil {
		o.Sessions = NewMemorySessions()
	}
	c := &Console{opts: o, admin: o.Admin, starts: throttle.New(throttle.Options{Failures: maxStarts, Window: time.Minute, Now: o.Now})}
	var err error
	if c.oidc, err = newIssuers(o); err != nil {
		return nil, err
	}
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	r := mux.NewRouter()
	static, _ := fs.Sub(staticFS, "static")
	r.PathPrefix("/console/static/").Handler(http.StripPrefix("/console/static/", http.FileServer(http.FS(static))))
	r.HandleFunc("/console/signin", c.signinPage).Methods(http.MethodGet)
	r.HandleFunc("/console/signin", c.signin).Methods(http.MethodPost)
	r.HandleFunc("/console/lang", c.setLang).Methods(http.MethodGet)
	s := r.PathPrefix("/console").Subrouter()
	s.Use(c.requireSession, c.requireRole)
	s.HandleFunc("/", c.home).Methods(http.MethodGet)
	s.HandleFunc("/signout", c.signout).Methods(http.MethodPost)
	s.HandleFunc("/signout/everywhere", c.signoutEverywhere).Methods(http.MethodPost)
	r.HandleFunc("/console/oidc/{issuer}/start", c.oidcStart).Methods(http.MethodGet)
	r.HandleFunc("/console/oidc/{issuer}/callback", c.oidcCallback).Methods(http.MethodGet)
	s.HandleFunc("/integrations", c.handle(c.integrations)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/new", c.handle(c.newIntegration)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/new", c.handle(c.saveIntegration)).Methods(http.MethodPost)
	s.HandleFunc("/integrations/{id}", c.handle(c.editIntegration)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/{id}", c.handle(c.saveIntegration)).Methods(http.MethodPost)
	s.HandleFunc("/integrations/{id}/check", c.handle(c.check)).Methods(http.MethodPost)
	s.HandleFunc("/integrations/{id}/status", c.handle(c.status)).Methods(http.MethodGet)
	s.HandleFunc("/integrations/{id}/replies/{message}/retry", c.handle(c.retryReply)).Methods(http.MethodPost)
	c.reviewRoutes(s)
	c.chartRoutes(s)
	c.deadLetterRoutes(s)
	c.automationRoutes(s)
	c.approvalRoutes(s)
	c.webhookRoutes(s)
	c.historyRoutes(s)
	c.accessRoutes(s)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.renderError(w, r, http.StatusNotFound, c.lang(r).T["not_found"])
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.renderError(w, r, http.StatusMethodNotAllowed, c.lang(r).T["not_allowed"])
	})
	c.router = r
}

// ServeHTTP serves the console with its security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // "no-referrer" makes Chromium send "Origin: null"
	if !strings.HasPrefix(r.URL.Path, "/console/static/") {
		h.Set("Cache-Control", "no-store")
	}
	if r.Method == http.MethodPost && !sameOrigin(r) {
		c.opts.Logger.Warn("console: cross-origin post refused", "origin", r.Header.Get("Origin"), "host", r.Host)
		c.renderError(w, r, http.StatusForbidden, c.lang(r).T["csrf_refused"])
		return
	}
	c.router.ServeHTTP(w, r)
}

// sameOrigin refuses a POST whose Origin (sent by browsers on every POST)
// names another site. A request without Origin is judged by its CSRF token.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// requireSession lets through requests with a live session, carrying its
// principal (auth.With) and the session; a GET without one goes to the
// sign-in page, anything else is refused. A POST must carry the session's
// CSRF token.
func (c *Console) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok, err := c.sessionOf(r)
		if err != nil {
			c.opts.Logger.Error("console: reading the session failed", "error", err)
			c.renderError(w, r, http.StatusServiceUnavailable, c.lang(r).T["sessions_unavailable"])
			return
		}
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.renderError(w, r, http.StatusUnauthorized, c.lang(r).T["session_needed"])
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				c.renderError(w, r, http.StatusBadRequest, err.Error())
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
				c.opts.Logger.Warn("console: form post without a valid CSRF token refused", "path", r.URL.Path)
				c.renderError(w, r, http.StatusForbidden, c.lang(r).T["csrf_refused"])
				return
			}
		}
		ctx := auth.WithClient(auth.With(withSession(r.Context(), s), s.principal), clientAddr(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console", MaxAge: maxAge,
		HttpOnly: true, Secure: c.opts.Secure, SameSite: http.SameSiteLaxMode})
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if _, ok, _ := c.sessionOf(r); ok {
		http.Redirect(w, r, "/console/integrations", http.StatusSeeOther)
		return
	}
	c.renderSignin(w, r, http.StatusOK, "")
}

func (c *Console) renderSignin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	token := randomToken()
	c.setCookie(w, signinCookie, token, 3600)
	next := safeNext(r.FormValue("next"))
	p := page{Title: c.lang(r).T["signin_title"], CSRF: token, Error: problem, Next: next,
		Data: signinData{Buttons: c.signinButtons(next), Token: c.opts.Token != ""}}
	if r.URL.Query().Get("signedout") == "1" && problem == "" {
		p.Notice = c.lang(r).T["signed_out"]
	}
	c.render(w, r, status, "signin", p)
}

// signinData is what the sign-in page offers: a button per OIDC issuer,
// the admin token's form.
type signinData struct {
	Buttons []signinButton
	Token   bool
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	if c.opts.Token == "" {
		c.renderError(w, r, http.StatusNotFound, c.lang(r).T["oidc_unknown"])
		return
	}
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	t := c.lang(r).T
	ck, err := r.Cookie(signinCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		c.opts.Logger.Warn("console: sign-in form without its CSRF token refused", "cookie", err == nil, "field", r.PostForm.Get("csrf") != "")
		c.renderSignin(w, r, http.StatusForbidden, t["csrf_refused"])
		return
	}
	// Wrong sign-ins are counted per client: one client's guesses never
	// lock out another, and a client that used up its failures waits out
	// its window even with the right token (guessing stays slow).
	client := throttle.Client(r)
	wait, blocked := c.opts.Failures.Blocked(client)
	if !blocked { // and per account: known clients are never refused for others' failures
		wait, blocked = c.opts.Accounts.Blocked(adminAccount, client)
	}
	if blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		c.renderSignin(w, r, http.StatusTooManyRequests, t["too_many"])
		return
	}
	ctx := auth.WithClient(r.Context(), clientAddr(r))
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), []byte(c.opts.Token)) != 1 {
		c.opts.Failures.Fail(client)
		c.opts.Accounts.Fail(adminAccount)
		c.opts.Logger.Warn("console: sign-in with a wrong token refused", "remote", r.RemoteAddr)
		c.audit(ctx, state.AuditEntry{Subject: "unknown", Kind: httpapi.KindSignIn, Action: "console", Outcome: httpapi.OutcomeFailed,
			Target: "admin token"})
		c.renderSignin(w, r, http.StatusUnauthorized, t["wrong_token"])
		return
	}
	c.opts.Accounts.Succeeded(adminAccount, client)
	p := auth.Principal{Subject: AdminSubject, Name: AdminSubject, Role: auth.RoleAdmin, Via: auth.ViaSession}
	if err := c.startSession(w, r, p, string(auth.ViaAdminToken)); err != nil {
		c.opts.Logger.Error("console: storing the session failed", "error", err)
		c.renderSignin(w, r, http.StatusServiceUnavailable, t["sessions_unavailable"])
		return
	}
	c.audit(auth.With(ctx, p), state.AuditEntry{Kind: httpapi.KindSignIn, Action: "console", Target: "admin token"})
	c.setCookie(w, signinCookie, "", -1)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	if s := sessionFrom(r.Context()); s != nil {
		if err := c.opts.Sessions.DeleteSession(r.Context(), s.key); err != nil {
			c.opts.Logger.Error("console: ending the session failed", "error", err)
			c.renderError(w, r, http.StatusServiceUnavailable, c.lang(r).T["sessions_unavailable"])
			return
		}
	}
	c.audit(r.Context(), state.AuditEntry{Kind: httpapi.KindSignIn, Action: "signout", Target: "console"})
	c.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/signin?signedout=1", http.StatusSeeOther)
}

// signoutEverywhere ends every session of the signed-in principal, in
// every browser and on every hub of the state.
func (c *Console) signoutEverywhere(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	n, err := c.opts.Sessions.DeleteSessionsOf(r.Context(), s.principal.Subject)
	if err != nil {
		c.opts.Logger.Error("console: ending the sessions failed", "error", err)
		c.renderError(w, r, http.StatusServiceUnavailable, c.lang(r).T["sessions_unavailable"])
		return
	}
	c.opts.Logger.Info("console: signed out everywhere", "subject", s.principal.Subject, "sessions", n)
	c.audit(r.Context(), state.AuditEntry{Kind: httpapi.KindSignIn, Action: "signout_everywhere", Target: "console",
		Changes: []state.AuditChange{{Field: "sessions ended", To: strconv.FormatInt(n, 10)}}})
	c.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/signin?signedout=1", http.StatusSeeOther)
}

// safeNext keeps a redirect target inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "/console//") && !strings.ContainsAny(next, "\\\r\n") &&
		!strings.HasPrefix(next, "/console/signin") {
		return next
	}
	return "/console/integrations"
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/console/integrations", http.StatusSeeOther)
}

// setLang switches the language (a preference, not a change of state).
func (c *Console) setLang(w http.ResponseWriter, r *http.Request) {
	l := r.URL.Query().Get("l")
	if _, ok := catalog[l]; ok {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/console", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: c.opts.Secure, SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, safeBack(r.URL.Query().Get("back")), http.StatusSeeOther)
}

func safeBack(back string) string {
	if strings.HasPrefix(back, "/console/signin") {
		return "/console/signin"
	}
	return safeNext(back)
}
