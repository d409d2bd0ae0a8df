package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/state"
)

// AdminSubject is the subject of whoever signed in with the admin token.
const AdminSubject = "admin"

// touchEvery is how stale a session's last-seen time may get before a
// request writes it again: not every page view is a write, and the idle
// timeout is kept to within this.
const touchEvery = time.Minute

// pruneEvery is how often, at most, expired sessions are deleted (on a
// sign-in).
const pruneEvery = 10 * time.Minute

// flowTTL is how long an OIDC sign-in may take from the button to the
// callback.
const flowTTL = 10 * time.Minute

// SessionStore keeps the console's sessions and OIDC sign-ins under way.
// *state.DB implements it (hub/state/sessions.go); NewMemorySessions is
// one in memory.
type SessionStore interface {
	CreateSession(ctx context.Context, s state.Session) error
	Session(ctx context.Context, key string) (state.Session, bool, error)
	TouchSession(ctx context.Context, key string, at time.Time) error
	DeleteSession(ctx context.Context, key string) error
	DeleteSessionsOf(ctx context.Context, subject string) (int64, error)
	PruneSessions(ctx context.Context, idleBefore, createdBefore, flowsBefore time.Time) (int64, error)
	CreateSignInFlow(ctx context.Context, f state.SignInFlow) error
	TakeSignInFlow(ctx context.Context, key string) (state.SignInFlow, bool, error)
}

// session is a live session of a request.
type session struct {
	key       string // the hash of the cookie's value
	csrf      string
	principal auth.Principal
	via       string // "admin_token" or "oidc:ISSUER_ID"
}

// keyOf is what the state keeps of a cookie's (or a flow's state) value.
func keyOf(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// startSession stores a new session for p and sets its cookie.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, p auth.Principal, via string) error {
	now := c.opts.Now()
	c.maybePrune(r.Context(), now)
	origin, ok := c.originOf(via)
	if !ok {
		return fmt.Errorf("console: no sign-in %q is configured", via)
	}
	value := randomToken()
	err := c.opts.Sessions.CreateSession(r.Context(), state.Session{Key: keyOf(value), Subject: p.Subject, Name: p.Name,
		Role: p.Role.String(), Via: via, Origin: origin, CSRF: randomToken(), CreatedAt: now, SeenAt: now})
	if err != nil {
		return err
	}
	c.setCookie(w, sessionCookie, value, 0)
	c.opts.Logger.Info("console: signed in", "subject", p.Subject, "name", p.Name, "role", p.Role.String(), "via", via)
	return nil
}

// originOf is the fingerprint of what a session made via via rests on in
// the current config, and false when that way to sign in is not
// configured (any more): for the admin token an HMAC-SHA-256 keyed with
// the token (the token is never stored, and a changed token gives another
// fingerprint); for an OIDC issuer a SHA-256 of its ID, URL and client ID.
func (c *Console) originOf(via string) (string, bool) {
	if via == string(auth.ViaAdminToken) {
		if c.opts.Token == "" { // token sign-in off or admin_token_disabled
			return "", false
		}
		m := hmac.New(sha256.New, []byte(c.opts.Token))
		m.Write([]byte("reviewhub console session origin"))
		return "token:" + hex.EncodeToString(m.Sum(nil)), true
	}
	if id, ok := strings.CutPrefix(via, "oidc:"); ok {
		is, ok := c.oidc[id]
		if !ok {
			return "", false
		}
		sum := sha256.Sum256([]byte(is.cfg.ID + "\x00" + is.cfg.Issuer + "\x00" + is.cfg.ClientID))
		return "oidc:" + hex.EncodeToString(sum[:]), true
	}
	return "", false
}

// maybePrune deletes expired sessions and flows, at most every pruneEvery
// (per hub; several hubs pruning the same rows is harmless).
func (c *Console) maybePrune(ctx context.Context, now time.Time) {
	last := c.lastPrune.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < pruneEvery {
		return
	}
	if !c.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	n, err := c.opts.Sessions.PruneSessions(ctx, now.Add(-c.opts.SessionTTL), now.Add(-c.opts.SessionMaxAge), now.Add(-flowTTL))
	if err != nil {
		c.opts.Logger.Warn("console: pruning expired sessions failed", "error", err)
		return
	}
	if n > 0 {
		c.opts.Logger.Debug("console: expired sessions pruned", "sessions", n)
	}
}

// sessionOf returns the request's live session: its cookie names a stored
// session that is neither idle past SessionTTL nor older than
// SessionMaxAge, and whose origin still matches the config (originOf). An
// expired or outdated one is deleted. err is the store's failure.
func (c *Console) sessionOf(r *http.Request) (*session, bool, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, false, nil
	}
	ctx := r.Context()
	key := keyOf(ck.Value)
	st, ok, err := c.opts.Sessions.Session(ctx, key)
	if err != nil || !ok {
		return nil, false, err
	}
	now := c.opts.Now()
	if now.Sub(st.SeenAt) > c.opts.SessionTTL || now.Sub(st.CreatedAt) > c.opts.SessionMaxAge {
		if err := c.opts.Sessions.DeleteSession(ctx, key); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	if want, ok := c.originOf(st.Via); !ok || subtle.ConstantTimeCompare([]byte(want), []byte(st.Origin)) != 1 {
		// Made with an admin token that changed or whose sign-in is now
		// off, or with an OIDC issuer no longer configured (or made by a
		// release that kept no origin): it ends.
		c.opts.Logger.Info("console: a session whose sign-in changed in the config ended", "subject", st.Subject, "via", st.Via)
		if err := c.opts.Sessions.DeleteSession(ctx, key); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	role, err := auth.ParseRole(st.Role)
	if err != nil { // written by a newer hub, or damaged: not a session to trust
		c.opts.Logger.Warn("console: a session with an unknown role refused", "subject", st.Subject, "error", err)
		return nil, false, nil
	}
	if now.Sub(st.SeenAt) >= touchEvery {
		if err := c.opts.Sessions.TouchSession(ctx, key, now); err != nil {
			return nil, false, err
		}
	}
	return &session{key: key, csrf: st.CSRF, via: st.Via,
		principal: auth.Principal{Subject: st.Subject, Name: st.Name, Role: role, Via: auth.ViaSession}}, true, nil
}

// memorySessions is a SessionStore in this process's memory.
type memorySessions struct {
	mu       sync.Mutex
	sessions map[string]state.Session
	flows    map[string]state.SignInFlow
}

// NewMemorySessions returns a SessionStore in memory: sessions end with
// the process and are not shared between hubs.
func NewMemorySessions() SessionStore {
	return &memorySessions{sessions: map[string]state.Session{}, flows: map[string]state.SignInFlow{}}
}

func (m *memorySessions) CreateSession(_ context.Context, s state.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.Key == "" {
		return errors.New("console: a session needs its key")
	}
	if _, ok := m.sessions[s.Key]; ok {
		return fmt.Errorf("console: session exists")
	}
	m.sessions[s.Key] = s
	return nil
}

func (m *memorySessions) Session(_ context.Context, key string) (state.Session, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[key]
	return s, ok, nil
}

func (m *memorySessions) TouchSession(_ context.Context, key string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[key]; ok && s.SeenAt.Before(at) {
		s.SeenAt = at
		m.sessions[key] = s
	}
	return nil
}

func (m *memorySessions) DeleteSession(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, key)
	return nil
}

func (m *memorySessions) DeleteSessionsOf(_ context.Context, subject string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, s := range m.sessions {
		if s.Subject == subject {
			delete(m.sessions, k)
			n++
		}
	}
	return n, nil
}

func (m *memorySessions) PruneSessions(_ context.Context, idleBefore, createdBefore, flowsBefore time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, s := range m.sessions {
		if s.SeenAt.Before(idleBefore) || s.CreatedAt.Before(createdBefore) {
			delete(m.sessions, k)
			n++
		}
	}
	for k, f := range m.flows {
		if f.CreatedAt.Before(flowsBefore) {
			delete(m.flows, k)
		}
	}
	return n, nil
}

func (m *memorySessions) CreateSignInFlow(_ context.Context, f state.SignInFlow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flows[f.Key] = f
	return nil
}

func (m *memorySessions) TakeSignInFlow(_ context.Context, key string) (state.SignInFlow, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.flows[key]
	delete(m.flows, key)
	return f, ok, nil
}
