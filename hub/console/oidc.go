package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/mux"
	"golang.org/x/oauth2"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
	"github.com/reviewhub/reviewhub/hub/state"
)

// DefaultOIDCTimeout bounds every call to an issuer (discovery, keys, token).
const DefaultOIDCTimeout = 10 * time.Second

// maxStarts is how many OIDC sign-ins one client may start a minute.
const maxStarts = 30

// flowCookie holds an OIDC sign-in's state parameter: the callback must
// come back to the browser that started it.
const flowCookie = "rh_oidc"

// OIDCIssuer is an OpenID Connect issuer people sign in with.
type OIDCIssuer struct {
	// ID names the issuer in URLs (/console/oidc/ID/callback) and sessions.
	ID string
	// Name is shown on the button: "Sign in with NAME".
	Name string
	// Issuer is the issuer URL (its discovery document is at
	// ISSUER/.well-known/openid-configuration).
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes asked for besides openid (default email, profile).
	Scopes []string
	// GroupsClaim is the ID token's claim listing groups (default "groups").
	GroupsClaim string
	// Roles map a signed-in person to a role: the first rule that matches
	// wins; none matching refuses the sign-in.
	Roles []RoleRule
	// Timeout bounds each call to the issuer (default DefaultOIDCTimeout).
	Timeout time.Duration
	// TrustUnverifiedEmail lets email-domain rules match an address the
	// ID token does not mark email_verified: true (a missing claim counts
	// as unverified unless this is set).
	TrustUnverifiedEmail bool
}

// RoleRule gives Role to whoever is in Group (a value of the groups claim)
// or has a verified email address in EmailDomain. One of the two is set.
type RoleRule struct {
	Group       string
	EmailDomain string
	Role        auth.Role
}

// issuer is a configured issuer with its discovered provider.
type issuer struct {
	cfg      OIDCIssuer
	redirect string
	client   *http.Client
	mu       sync.Mutex
	provider *oidc.Provider
}

func newIssuers(o Options) (map[string]*issuer, error) {
	out := map[string]*issuer{}
	base := strings.TrimSuffix(o.PublicURL, "/")
	for _, c := range o.OIDC {
		if c.ID == "" || c.Issuer == "" || c.ClientID == "" {
			return nil, fmt.Errorf("console: OIDC issuer %q needs an id, an issuer URL and a client id", c.ID)
		}
		if _, dup := out[c.ID]; dup {
			return nil, fmt.Errorf("console: OIDC issuer %q configured twice", c.ID)
		}
		if base == "" {
			return nil, errors.New("console: OIDC sign-in needs the hub's public URL (its redirect URL is made from it)")
		}
		if c.Timeout <= 0 {
			c.Timeout = DefaultOIDCTimeout
		}
		if c.GroupsClaim == "" {
			c.GroupsClaim = "groups"
		}
		if len(c.Scopes) == 0 {
			c.Scopes = []string{"email", "profile"}
		}
		if c.Name == "" {
			c.Name = c.ID
		}
		out[c.ID] = &issuer{cfg: c, redirect: RedirectURL(base, c.ID),
			client: &http.Client{Timeout: c.Timeout}}
	}
	return out, nil
}

// RedirectURL is what must be registered at the issuer for id.
func RedirectURL(publicURL, id string) string {
	return strings.TrimSuffix(publicURL, "/") + "/console/oidc/" + url.PathEscape(id) + "/callback"
}

// ctx bounds a call to the issuer and makes go-oidc and oauth2 use the
// issuer's client (with its timeout, also for the keys fetched later).
func (is *issuer) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, is.cfg.Timeout)
	ctx = oidc.ClientContext(ctx, is.client)
	return context.WithValue(ctx, oauth2.HTTPClient, is.client), cancel
}

// discover returns the issuer's provider, reading its discovery document
// the first time (a hub starts even when its issuer is down).
func (is *issuer) discover(parent context.Context) (*oidc.Provider, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.provider != nil {
		return is.provider, nil
	}
	ctx, cancel := is.ctx(parent)
	defer cancel()
	p, err := oidc.NewProvider(ctx, is.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery of %s: %w", is.cfg.Issuer, err)
	}
	is.provider = p
	return p, nil
}

func (is *issuer) oauth(p *oidc.Provider) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = authStyle(p)
	return &oauth2.Config{ClientID: is.cfg.ClientID, ClientSecret: is.cfg.ClientSecret, Endpoint: ep,
		RedirectURL: is.redirect, Scopes: append([]string{oidc.ScopeOpenID}, is.cfg.Scopes...)}
}

// authStyle is how the client authenticates at the token endpoint: HTTP
// basic (client_secret_basic, OpenID Connect's default) unless the
// discovery document offers only client_secret_post. Never "try one, then
// the other": a code sent twice is used up by the first try, and the
// issuer's real answer would be lost.
func authStyle(p *oidc.Provider) oauth2.AuthStyle {
	var d struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := p.Claims(&d); err != nil || len(d.Methods) == 0 {
		return oauth2.AuthStyleInHeader
	}
	for _, m := range d.Methods {
		if m == "client_secret_basic" {
			return oauth2.AuthStyleInHeader
		}
	}
	for _, m := range d.Methods {
		if m == "client_secret_post" {
			return oauth2.AuthStyleInParams
		}
	}
	return oauth2.AuthStyleInHeader
}

// signinButton is an issuer as the sign-in page shows it.
type signinButton struct {
	Href string
	Name string
}

func (c *Console) signinButtons(next string) []signinButton {
	var out []signinButton
	for _, o := range c.opts.OIDC { // in the config's order
		out = append(out, signinButton{Href: "/console/oidc/" + url.PathEscape(o.ID) + "/start?next=" + url.QueryEscape(next),
			Name: c.oidc[o.ID].cfg.Name})
	}
	return out
}

// oidcStart sends the browser to the issuer: a new flow (state, nonce,
// PKCE verifier) kept in the state, its state parameter in a short-lived
// cookie.
func (c *Console) oidcStart(w http.ResponseWriter, r *http.Request) {
	t := c.lang(r).T
	is, ok := c.oidc[mux.Vars(r)["issuer"]]
	if !ok {
		c.renderError(w, r, http.StatusNotFound, t["oidc_unknown"])
		return
	}
	client := throttle.Client(r)
	if wait, blocked := c.starts.Blocked(client); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		c.renderSignin(w, r, http.StatusTooManyRequests, t["oidc_too_many"])
		return
	}
	c.starts.Fail(client)
	p, err := is.discover(r.Context())
	if err != nil {
		c.opts.Logger.Error("console: OIDC issuer unreachable", "issuer", is.cfg.ID, "error", err)
		c.oidcProblem(w, r, http.StatusBadGateway, fmt.Sprintf(t["oidc_unreachable"], is.cfg.Name))
		return
	}
	now := c.opts.Now()
	c.maybePrune(r.Context(), now)
	stateParam, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	err = c.opts.Sessions.CreateSignInFlow(r.Context(), state.SignInFlow{Key: keyOf(stateParam), Issuer: is.cfg.ID,
		Nonce: nonce, Verifier: verifier, Next: safeNext(r.URL.Query().Get("next")), CreatedAt: now})
	if err != nil {
		c.opts.Logger.Error("console: storing the sign-in flow failed", "error", err)
		c.renderError(w, r, http.StatusServiceUnavailable, t["sessions_unavailable"])
		return
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: stateParam, Path: "/console/oidc/" + url.PathEscape(is.cfg.ID),
		MaxAge: int(flowTTL / time.Second), HttpOnly: true, Secure: c.opts.Secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, is.oauth(p).AuthCodeURL(stateParam, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// claims are what the console reads of an ID token.
type claims struct {
	Subject           string `json:"sub"`
	Email             string `json:"email"`
	EmailVerified     *bool  `json:"email_verified"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
}

// oidcCallback finishes a sign-in: the flow matched to this browser and
// taken once, the code exchanged with its PKCE verifier, the ID token
// verified (signature, issuer, audience, expiry) with the flow's nonce, and
// a role mapped from the token's groups or email.
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	t := c.lang(r).T
	is, ok := c.oidc[mux.Vars(r)["issuer"]]
	if !ok {
		c.renderError(w, r, http.StatusNotFound, t["oidc_unknown"])
		return
	}
	q := r.URL.Query()
	clearFlow := func() {
		http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/console/oidc/" + url.PathEscape(is.cfg.ID), MaxAge: -1,
			HttpOnly: true, Secure: c.opts.Secure, SameSite: http.SameSiteLaxMode})
	}
	// The flow's state is checked first, also for an error answer: a
	// link anyone can make must not put text of theirs on the page.
	stateParam := q.Get("state")
	ck, err := r.Cookie(flowCookie)
	if err != nil || stateParam == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(stateParam)) != 1 {
		c.opts.Logger.Warn("console: an OIDC callback not matching this browser's sign-in refused", "issuer", is.cfg.ID, "cookie", err == nil)
		c.oidcProblem(w, r, http.StatusForbidden, t["oidc_state"])
		return
	}
	clearFlow()
	flow, ok, err := c.opts.Sessions.TakeSignInFlow(r.Context(), keyOf(stateParam))
	if err != nil {
		c.opts.Logger.Error("console: reading the sign-in flow failed", "error", err)
		c.renderError(w, r, http.StatusServiceUnavailable, t["sessions_unavailable"])
		return
	}
	if !ok || flow.Issuer != is.cfg.ID || c.opts.Now().Sub(flow.CreatedAt) > flowTTL {
		c.opts.Logger.Warn("console: an OIDC callback of an unknown, used or expired sign-in refused", "issuer", is.cfg.ID, "found", ok)
		c.oidcProblem(w, r, http.StatusForbidden, t["oidc_state"])
		return
	}
	if e := q.Get("error"); e != "" {
		// The page shows a known error code only; the issuer's
		// description goes to the log.
		c.opts.Logger.Warn("console: the OIDC issuer refused the sign-in", "issuer", is.cfg.ID, "error", clipLog(e), "description", clipLog(q.Get("error_description")))
		c.oidcProblem(w, r, http.StatusUnauthorized, fmt.Sprintf(t["oidc_refused"], is.cfg.Name, knownOAuthError(e)))
		return
	}
	p, err := c.oidcPrincipal(r.Context(), is, flow, q.Get("code"))
	if err != nil {
		var pe *oidcError
		if !errors.As(err, &pe) {
			pe = &oidcError{status: http.StatusBadGateway, msg: fmt.Sprintf(t["oidc_failed"], is.cfg.Name)}
		}
		c.opts.Logger.Warn("console: OIDC sign-in failed", "issuer", is.cfg.ID, "error", err)
		who := state.AuditEntry{Subject: "unknown"}
		if pe.subject != "" { // the ID token was verified: who it names
			who.Subject, who.Name, who.Via = pe.subject, pe.name, "oidc:"+is.cfg.ID
		}
		c.audit(auth.WithClient(r.Context(), clientAddr(r)), state.AuditEntry{Subject: who.Subject, Name: who.Name, Via: who.Via,
			Kind: httpapi.KindSignIn, Action: "console", Outcome: httpapi.OutcomeFailed, Target: "oidc:" + is.cfg.ID})
		c.oidcProblem(w, r, pe.status, pe.page(t, is.cfg.Name))
		return
	}
	if err := c.startSession(w, r, p, "oidc:"+is.cfg.ID); err != nil {
		c.opts.Logger.Error("console: storing the session failed", "error", err)
		c.renderError(w, r, http.StatusServiceUnavailable, t["sessions_unavailable"])
		return
	}
	c.audit(auth.WithClient(auth.With(r.Context(), p), clientAddr(r)), state.AuditEntry{Kind: httpapi.KindSignIn, Action: "console",
		Target: "oidc:" + is.cfg.ID})
	http.Redirect(w, r, safeNext(flow.Next), http.StatusSeeOther)
}

// oidcError is a failed sign-in as the person is told: a message key of
// the catalogue (with the issuer's name and a detail) or a message.
type oidcError struct {
	status int
	key    string
	detail string
	msg    string
	cause  error
	// subject and name are who the verified ID token names, when the
	// sign-in failed after it was verified (no role): for the audit log.
	subject, name string
}

func (e *oidcError) Error() string {
	if e.cause != nil {
		return e.key + ": " + e.detail + ": " + e.cause.Error()
	}
	return e.key + ": " + e.detail
}

func (e *oidcError) Unwrap() error { return e.cause }

func (e *oidcError) page(t map[string]string, issuerName string) string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf(t[e.key], issuerName, e.detail)
}

// describe joins an OAuth error code and its description, cut short.
// oauthErrors are the error codes an authorization answer may carry
// (RFC 6749 section 4.1.2.1, OpenID Connect Core section 3.1.2.6).
var oauthErrors = map[string]bool{
	"invalid_request": true, "unauthorized_client": true, "access_denied": true, "unsupported_response_type": true,
	"invalid_scope": true, "server_error": true, "temporarily_unavailable": true, "interaction_required": true,
	"login_required": true, "account_selection_required": true, "consent_required": true, "invalid_request_uri": true,
	"invalid_request_object": true, "request_not_supported": true, "request_uri_not_supported": true,
	"registration_not_supported": true,
}

// knownOAuthError is code when it is one of oauthErrors, else a fixed
// text: the page never shows what the query carried otherwise.
func knownOAuthError(code string) string {
	if oauthErrors[code] {
		return code
	}
	return "unknown error"
}

// clipLog bounds a value from a request before it is logged.
func clipLog(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func describe(code, desc string) string {
	s := code
	if desc != "" {
		s += ": " + desc
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// oidcPrincipal exchanges the code and verifies the ID token.
func (c *Console) oidcPrincipal(parent context.Context, is *issuer, flow state.SignInFlow, code string) (auth.Principal, error) {
	if code == "" {
		return auth.Principal{}, &oidcError{status: http.StatusBadRequest, key: "oidc_refused", detail: "no authorization code"}
	}
	p, err := is.discover(parent)
	if err != nil {
		return auth.Principal{}, &oidcError{status: http.StatusBadGateway, key: "oidc_refused", detail: "the issuer is unreachable", cause: err}
	}
	ctx, cancel := is.ctx(parent)
	defer cancel()
	tok, err := is.oauth(p).Exchange(ctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		detail := "the token request failed"
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			detail = "token request: " + describe(re.ErrorCode, re.ErrorDescription)
		}
		return auth.Principal{}, &oidcError{status: http.StatusBadGateway, key: "oidc_refused", detail: detail, cause: err}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return auth.Principal{}, &oidcError{status: http.StatusBadGateway, key: "oidc_refused", detail: "the token response has no ID token"}
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: is.cfg.ClientID, Now: c.opts.Now}).Verify(ctx, raw)
	if err != nil {
		return auth.Principal{}, &oidcError{status: http.StatusUnauthorized, key: "oidc_token", detail: err.Error(), cause: err}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		return auth.Principal{}, &oidcError{status: http.StatusUnauthorized, key: "oidc_token", detail: "the ID token's nonce is not this sign-in's"}
	}
	var cl claims
	var all map[string]any
	if err := idt.Claims(&cl); err != nil {
		return auth.Principal{}, &oidcError{status: http.StatusBadGateway, key: "oidc_token", detail: "unreadable claims", cause: err}
	}
	if err := idt.Claims(&all); err != nil {
		return auth.Principal{}, &oidcError{status: http.StatusBadGateway, key: "oidc_token", detail: "unreadable claims", cause: err}
	}
	name := firstOf(cl.Email, cl.PreferredUsername, cl.Name, cl.Subject)
	role, ok := mapRole(is.cfg, cl, groupsOf(all[is.cfg.GroupsClaim]))
	if !ok {
		return auth.Principal{}, &oidcError{status: http.StatusForbidden, key: "oidc_no_role", detail: name,
			subject: "oidc:" + idt.Issuer + "#" + idt.Subject, name: name}
	}
	return auth.Principal{Subject: "oidc:" + idt.Issuer + "#" + idt.Subject, Name: name, Role: role, Via: auth.ViaSession}, nil
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// groupsOf reads a groups claim: a list of strings or one string.
func groupsOf(v any) []string {
	switch g := v.(type) {
	case string:
		return []string{g}
	case []any:
		var out []string
		for _, x := range g {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// mapRole applies the issuer's rules in order: the first that matches
// wins. An email domain matches only an address the issuer marked
// email_verified: true (a missing claim counts as unverified), unless the
// issuer is configured with TrustUnverifiedEmail.
func mapRole(cfg OIDCIssuer, cl claims, groups []string) (auth.Role, bool) {
	domain := ""
	verified := cl.EmailVerified != nil && *cl.EmailVerified
	if at := strings.LastIndexByte(cl.Email, '@'); at >= 0 && (verified || cfg.TrustUnverifiedEmail) {
		domain = strings.ToLower(cl.Email[at+1:])
	}
	for _, rule := range cfg.Roles {
		switch {
		case rule.Group != "":
			for _, g := range groups {
				if g == rule.Group {
					return rule.Role, true
				}
			}
		case rule.EmailDomain != "":
			if domain != "" && domain == strings.ToLower(rule.EmailDomain) {
				return rule.Role, true
			}
		}
	}
	return auth.RoleNone, false
}

// oidcProblem shows a failed sign-in on the sign-in page, with its
// buttons to try again.
func (c *Console) oidcProblem(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.renderSignin(w, r, status, msg)
}
