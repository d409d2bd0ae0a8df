// Package oidctest is the project's own OpenID Connect issuer for tests:
// a discovery document, a JWKS with a generated RSA key, an /authorize that
// signs the configured user in at once and redirects back with a code, and
// a /token that checks the code, the redirect URL, the PKCE verifier (S256)
// and the client's secret and returns an RS256-signed ID token with the
// nonce, email and groups. Tests change the user, refuse sign-ins or tamper
// with the ID token's claims to see the console refuse them.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// User is who the issuer signs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified *bool // nil: the claim is left out
	Name          string
	Groups        []string
}

// Issuer is a running test issuer.
type Issuer struct {
	// URL is the issuer URL (its ID tokens' iss).
	URL          string
	ClientID     string
	ClientSecret string

	srv *httptest.Server
	key *rsa.PrivateKey
	kid string

	mu      sync.Mutex
	user    User
	refuse  string // an OAuth error /authorize answers with, when set
	tamper  func(claims map[string]any)
	codes   map[string]grant
	tokens  int
	lastReq url.Values // the last /authorize query
}

type grant struct {
	clientID, redirect, challenge, nonce string
	user                                 User
	expires                              time.Time
}

// Start starts an issuer on 127.0.0.1 for the client id and secret given.
// addr may be "" (any free port) or a host:port to listen on.
func Start(addr, clientID, clientSecret string) (*Issuer, error) {
	verified := true
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("oidctest: generate key: %w", err)
	}
	is := &Issuer{ClientID: clientID, ClientSecret: clientSecret, key: key, kid: "oidctest-1", codes: map[string]grant{},
		user: User{Subject: "user-1", Email: "ann@acme.example", Name: "Ann", EmailVerified: &verified}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /jwks", is.jwks)
	mux.HandleFunc("GET /authorize", is.authorize)
	mux.HandleFunc("POST /token", is.token)
	is.srv = httptest.NewUnstartedServer(mux)
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("oidctest: listen: %w", err)
		}
		is.srv.Listener.Close()
		is.srv.Listener = ln
	}
	is.srv.Start()
	is.URL = is.srv.URL
	return is, nil
}

// Close stops the issuer.
func (is *Issuer) Close() { is.srv.Close() }

// SetUser makes u the one /authorize signs in.
func (is *Issuer) SetUser(u User) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.user = u
}

// Refuse makes /authorize answer with the OAuth error code given (e.g.
// access_denied) instead of a code; "" signs in again.
func (is *Issuer) Refuse(code string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.refuse = code
}

// Tamper changes the claims of the ID tokens issued from now on before
// they are signed (nil: no change).
func (is *Issuer) Tamper(f func(claims map[string]any)) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.tamper = f
}

// TokensIssued counts the ID tokens issued.
func (is *Issuer) TokensIssued() int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.tokens
}

// LastAuthorize is the query of the last /authorize request.
func (is *Issuer) LastAuthorize() url.Values {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.lastReq
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (is *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                is.URL,
		"authorization_endpoint":                is.URL + "/authorize",
		"token_endpoint":                        is.URL + "/token",
		"jwks_uri":                              is.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
	})
}

func (is *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := is.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": is.kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize signs the configured user in at once and redirects back with
// a code; the request's mistakes are answered as OAuth errors.
func (is *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	is.mu.Lock()
	is.lastReq = q
	user, refuse := is.user, is.refuse
	is.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" || q.Get("client_id") != is.ClientID {
		http.Error(w, "oidctest: unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	back := func(v url.Values) {
		v.Set("state", q.Get("state"))
		redirect.RawQuery = v.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	}
	switch {
	case refuse != "":
		back(url.Values{"error": {refuse}, "error_description": {"the test issuer refuses"}})
		return
	case q.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		back(url.Values{"error": {"invalid_request"}, "error_description": {"PKCE with S256 is required"}})
		return
	}
	code := randomString()
	is.mu.Lock()
	is.codes[code] = grant{clientID: q.Get("client_id"), redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
		nonce: q.Get("nonce"), user: user, expires: time.Now().Add(time.Minute)}
	is.mu.Unlock()
	back(url.Values{"code": {code}})
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// token exchanges a code: the client's secret (basic or in the form), the
// code once, the same redirect URL, and the PKCE verifier whose S256 is
// the challenge.
func (is *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != is.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(is.ClientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "wrong client id or secret")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	is.mu.Lock()
	g, ok := is.codes[r.PostForm.Get("code")]
	delete(is.codes, r.PostForm.Get("code"))
	tamper := is.tamper
	is.mu.Unlock()
	if !ok || time.Now().After(g.expires) {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	}
	if g.redirect != r.PostForm.Get("redirect_uri") {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if r.PostForm.Get("code_verifier") == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": is.URL, "sub": g.user.Subject, "aud": is.ClientID, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce, "email": g.user.Email, "name": g.user.Name}
	if g.user.EmailVerified != nil {
		claims["email_verified"] = *g.user.EmailVerified
	}
	if g.user.Groups != nil {
		claims["groups"] = g.user.Groups
	}
	if tamper != nil {
		tamper(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	tok.Header["kid"] = is.kid
	signed, err := tok.SignedString(is.key)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	is.mu.Lock()
	is.tokens++
	is.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(), "token_type": "Bearer", "expires_in": 300, "id_token": signed})
}
