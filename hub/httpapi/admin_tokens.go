package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/state"
)

// TokenPrefix starts every personal API token: "rhp_", the token's id,
// "_", 32 random bytes in hex. The id names the account for the
// per-account throttle; the token is looked up by its SHA-256.
const TokenPrefix = "rhp_"

// errTokenExpired marks the refusal of an expired personal token (not a
// guess: not counted as a failure).
var errTokenExpired = errors.New("token expired")

// expiredError is the 401 of an expired token; errors.Is finds
// errTokenExpired in it.
type expiredError struct{ e *Error }

func (x expiredError) Error() string   { return x.e.Error() }
func (x expiredError) Unwrap() []error { return []error{x.e, errTokenExpired} }

// TokenJSON is a personal API token in the API. Token (the value) is in
// the answer to its creation only.
type TokenJSON struct {
	state.APIToken
	Token string `json:"token,omitempty"`
}

// NewTokenJSON is what POST /api/tokens takes: a name, a role and, when
// it should expire, when (RFC 3339) or in how long (a Go duration such
// as 720h).
type NewTokenJSON struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Expires string `json:"expires,omitempty"`
}

// HashToken is how a personal token is stored and looked up: its SHA-256
// in hex.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// accountOf is the account a presented token names, for the per-account
// throttle: "token:ID" for a personal token's shape, else the admin token.
func accountOf(token string) string {
	if rest, ok := strings.CutPrefix(token, TokenPrefix); ok {
		if id, _, ok := strings.Cut(rest, "_"); ok && len(id) <= 32 {
			return "token:" + id
		}
	}
	return throttle.AdminAccount
}

// accountExists reports whether account (accountOf) is one the hub has:
// the admin token when one is configured, a personal token whose id is in
// the state. Failures are counted per account only for those, so that
// made-up accounts cannot fill the per-account table.
func (a *Admin) accountExists(ctx context.Context, account string) bool {
	if account == throttle.AdminAccount {
		return a.Token != ""
	}
	id, ok := strings.CutPrefix(account, "token:")
	if !ok || a.DB == nil {
		return false
	}
	found, err := a.DB.APITokenExists(ctx, id)
	if err != nil {
		a.logger().Warn("admin API: looking up a token's account failed", "error", err)
		return false
	}
	return found
}

// AdminPrincipal is who the configured admin token signs in as.
var AdminPrincipal = auth.Principal{Subject: "admin", Name: "admin token", Role: auth.RoleAdmin, Via: auth.ViaAdminToken}

// Principal returns who token signs in as: the admin token (when one is
// configured) is AdminPrincipal, a personal token its own principal. A
// wrong or revoked token is a 401 *Error, an expired one too (errors.Is
// errTokenExpired); other errors are the state's.
func (a *Admin) Principal(ctx context.Context, token string) (auth.Principal, error) {
	if a.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.Token)) == 1 {
		return AdminPrincipal, nil
	}
	wrong := errorf(http.StatusUnauthorized, "wrong, revoked or expired token")
	if a.DB == nil || !strings.HasPrefix(token, TokenPrefix) {
		return auth.Principal{}, wrong
	}
	t, err := a.DB.APITokenByHash(ctx, HashToken(token))
	if errors.Is(err, state.ErrNotFound) {
		return auth.Principal{}, wrong
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("looking up a personal token: %w", err)
	}
	now := time.Now()
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return auth.Principal{}, expiredError{errorf(http.StatusUnauthorized, "token %q expired at %s; ask an admin for a new one",
			clip(t.Name, 64), t.ExpiresAt.Format(time.RFC3339))}
	}
	role, err := auth.ParseRole(t.Role)
	if err != nil {
		return auth.Principal{}, fmt.Errorf("personal token %q: %w", t.ID, err)
	}
	if now.Sub(t.LastUsedAt) > time.Minute { // at most one write a minute per token
		if err := a.DB.TouchAPIToken(ctx, t.ID, now); err != nil {
			a.logger().Warn("admin API: recording a token's use failed", "token", t.ID, "error", err)
		}
	}
	return auth.Principal{Subject: "token:" + t.ID, Name: t.Name, Role: role, Via: auth.ViaAPIToken}, nil
}

// maxTokenName bounds a token's name.
const maxTokenName = 100

// CreateToken makes a personal API token (admin) and returns it with its
// value, shown this once: the state keeps only its hash.
func (a *Admin) CreateToken(ctx context.Context, j NewTokenJSON) (TokenJSON, error) {
	if err := Require(ctx, auth.RoleAdmin); err != nil {
		return TokenJSON{}, err
	}
	t, value, errs := NewToken(j, time.Now())
	if len(errs) > 0 {
		return TokenJSON{}, invalid(errs)
	}
	if p, ok := auth.From(ctx); ok {
		t.CreatedBy = p.Subject
	}
	if err := a.DB.CreateAPIToken(ctx, t, HashToken(value)); err != nil {
		return TokenJSON{}, fmt.Errorf("storing a personal token: %w", err)
	}
	changes := []state.AuditChange{{Field: "name", To: t.Name}, {Field: "role", To: t.Role}}
	if !t.ExpiresAt.IsZero() {
		changes = append(changes, state.AuditChange{Field: "expires", To: t.ExpiresAt.Format(time.RFC3339)})
	}
	a.record(ctx, state.AuditEntry{Kind: KindToken, Action: "create", Target: t.ID, Changes: changes})
	return TokenJSON{APIToken: t, Token: value}, nil
}

// NewToken checks j and makes the token it asks for (not stored) and its
// value; the errors name the wrong fields.
func NewToken(j NewTokenJSON, now time.Time) (state.APIToken, string, []*config.FieldError) {
	var errs []*config.FieldError
	name := strings.TrimSpace(j.Name)
	switch {
	case name == "":
		errs = append(errs, &config.FieldError{Field: "name", Reason: "is required (who or what uses the token)"})
	case len(name) > maxTokenName:
		errs = append(errs, &config.FieldError{Field: "name", Reason: fmt.Sprintf("is longer than %d bytes", maxTokenName)})
	}
	if _, err := auth.ParseRole(j.Role); err != nil {
		errs = append(errs, &config.FieldError{Field: "role", Reason: err.Error()})
	}
	var expires time.Time
	if j.Expires != "" {
		if d, err := time.ParseDuration(j.Expires); err == nil && d > 0 {
			expires = now.Add(d)
		} else if t, err := time.Parse(time.RFC3339, j.Expires); err == nil && t.After(now) {
			expires = t
		} else {
			errs = append(errs, &config.FieldError{Field: "expires",
				Reason: fmt.Sprintf("%q is neither a time to come (RFC 3339, 2027-01-31T00:00:00Z) nor a positive duration (720h)", clip(j.Expires, 64))})
		}
	}
	if len(errs) > 0 {
		return state.APIToken{}, "", errs
	}
	id := make([]byte, 6)
	secret := make([]byte, 32)
	_, _ = rand.Read(id) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(secret)
	t := state.APIToken{ID: hex.EncodeToString(id), Name: name, Role: j.Role, CreatedAt: now.UTC().Truncate(time.Millisecond),
		ExpiresAt: expires.UTC().Truncate(time.Millisecond)}
	return t, TokenPrefix + t.ID + "_" + hex.EncodeToString(secret), nil
}

// Tokens lists the personal API tokens (admin), never their values.
func (a *Admin) Tokens(ctx context.Context) ([]state.APIToken, error) {
	if err := Require(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	list, err := a.DB.APITokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the personal tokens: %w", err)
	}
	return list, nil
}

// RevokeToken deletes personal token id (admin): it is refused from the
// next request on.
func (a *Admin) RevokeToken(ctx context.Context, id string) error {
	if err := Require(ctx, auth.RoleAdmin); err != nil {
		return err
	}
	t, err := a.DB.DeleteAPIToken(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return errorf(http.StatusNotFound, "no token %q", clip(id, 64))
	}
	if err != nil {
		return fmt.Errorf("revoking token %q: %w", clip(id, 64), err)
	}
	a.record(ctx, state.AuditEntry{Kind: KindToken, Action: "revoke", Target: t.ID,
		Changes: []state.AuditChange{{Field: "name", From: t.Name}, {Field: "role", From: t.Role}}})
	return nil
}

func (a *Admin) registerTokens(r *mux.Router) {
	r.HandleFunc("/tokens", a.handle(a.listTokens)).Methods(http.MethodGet)
	r.HandleFunc("/tokens", a.handle(a.createToken)).Methods(http.MethodPost)
	r.HandleFunc("/tokens/{id}", a.handle(a.revokeToken)).Methods(http.MethodDelete)
}

func (a *Admin) listTokens(w http.ResponseWriter, r *http.Request) error {
	list, err := a.Tokens(r.Context())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, list)
	return nil
}

func (a *Admin) createToken(w http.ResponseWriter, r *http.Request) error {
	j, err := decodeBody[NewTokenJSON](w, r)
	if err != nil {
		return err
	}
	t, err := a.CreateToken(r.Context(), j)
	if err != nil {
		return err
	}
	// The answer carries the token: no cache (a proxy's, the browser's)
	// may keep it.
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (a *Admin) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := a.RevokeToken(r.Context(), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
