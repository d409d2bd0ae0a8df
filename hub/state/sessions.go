package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a web console session as kept in the state (migration 0010).
// The console decides the timeouts; the state keeps the rows.
type Session struct {
	// Key is the hex SHA-256 of the session cookie's value: the value
	// itself is never stored.
	Key string
	// Subject, Name and Role are the signed-in principal's (hub/auth).
	Subject string
	Name    string
	Role    string
	// Via is how they signed in: "admin_token" or "oidc:ISSUER_ID".
	Via string
	// Origin fingerprints what made the session (migration 0015): for
	// the admin token an HMAC of it, never the token; for OIDC the
	// issuer's. The console refuses a session whose origin no longer
	// matches the config.
	Origin string
	// CSRF is the token the session's form posts must carry.
	CSRF      string
	CreatedAt time.Time
	SeenAt    time.Time
}

// SignInFlow is an OIDC sign-in under way, from the redirect to the issuer
// to the callback.
type SignInFlow struct {
	// Key is the hex SHA-256 of the flow's state parameter.
	Key string
	// Issuer is the configured issuer's id.
	Issuer string
	// Nonce is expected in the ID token; Verifier is the PKCE code verifier.
	Nonce    string
	Verifier string
	// Next is the console page to land on.
	Next      string
	CreatedAt time.Time
}

// CreateSession stores a new session.
func (d *DB) CreateSession(ctx context.Context, s Session) error {
	if s.Key == "" {
		return errors.New("state: a session needs its key")
	}
	_, err := d.exec(ctx, `INSERT INTO console_sessions (key, subject, name, role, via, origin, csrf, created_at, seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Key, s.Subject, s.Name, s.Role, s.Via, s.Origin, s.CSRF, tsSortable(s.CreatedAt), tsSortable(s.SeenAt))
	if err != nil {
		return fmt.Errorf("state: create session: %w", err)
	}
	return nil
}

// Session reads the session with key; ok is false when there is none.
func (d *DB) Session(ctx context.Context, key string) (s Session, ok bool, err error) {
	var created, seen string
	err = d.queryRow(ctx, `SELECT key, subject, name, role, via, origin, csrf, created_at, seen_at FROM console_sessions WHERE key = ?`, key).
		Scan(&s.Key, &s.Subject, &s.Name, &s.Role, &s.Via, &s.Origin, &s.CSRF, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("state: read session: %w", err)
	}
	s.CreatedAt, s.SeenAt = parseTS(created), parseTS(seen)
	return s, true, nil
}

// TouchSession records that the session with key was used at.
func (d *DB) TouchSession(ctx context.Context, key string, at time.Time) error {
	if _, err := d.exec(ctx, `UPDATE console_sessions SET seen_at = ? WHERE key = ? AND seen_at < ?`,
		tsSortable(at), key, tsSortable(at)); err != nil {
		return fmt.Errorf("state: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends the session with key (signing out).
func (d *DB) DeleteSession(ctx context.Context, key string) error {
	if _, err := d.exec(ctx, `DELETE FROM console_sessions WHERE key = ?`, key); err != nil {
		return fmt.Errorf("state: delete session: %w", err)
	}
	return nil
}

// DeleteAllSessions ends every console session (`hub sessions revoke
// --all`) and returns how many there were.
func (d *DB) DeleteAllSessions(ctx context.Context) (int64, error) {
	res, err := d.exec(ctx, `DELETE FROM console_sessions`)
	if err != nil {
		return 0, fmt.Errorf("state: delete all sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("state: delete all sessions: %w", err)
	}
	return n, nil
}

// DeleteSessionsOf ends every session of subject ("sign out everywhere")
// and returns how many there were.
func (d *DB) DeleteSessionsOf(ctx context.Context, subject string) (int64, error) {
	res, err := d.exec(ctx, `DELETE FROM console_sessions WHERE subject = ?`, subject)
	if err != nil {
		return 0, fmt.Errorf("state: delete sessions of a principal: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// PruneSessions deletes the sessions last seen before idleBefore or created
// before createdBefore, and the sign-in flows started before flowsBefore;
// it returns how many sessions went.
func (d *DB) PruneSessions(ctx context.Context, idleBefore, createdBefore, flowsBefore time.Time) (int64, error) {
	res, err := d.exec(ctx, `DELETE FROM console_sessions WHERE seen_at < ? OR created_at < ?`,
		tsSortable(idleBefore), tsSortable(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("state: prune sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := d.exec(ctx, `DELETE FROM console_signin_flows WHERE created_at < ?`, tsSortable(flowsBefore)); err != nil {
		return n, fmt.Errorf("state: prune sign-in flows: %w", err)
	}
	return n, nil
}

// CreateSignInFlow stores a sign-in under way.
func (d *DB) CreateSignInFlow(ctx context.Context, f SignInFlow) error {
	if f.Key == "" {
		return errors.New("state: a sign-in flow needs its key")
	}
	_, err := d.exec(ctx, `INSERT INTO console_signin_flows (key, issuer, nonce, verifier, next, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		f.Key, f.Issuer, f.Nonce, f.Verifier, f.Next, tsSortable(f.CreatedAt))
	if err != nil {
		return fmt.Errorf("state: create sign-in flow: %w", err)
	}
	return nil
}

// TakeSignInFlow reads and deletes the sign-in flow with key: a flow is
// taken once, by one hub, however many callbacks name it. ok is false when
// there is none (never started, already taken or pruned).
func (d *DB) TakeSignInFlow(ctx context.Context, key string) (f SignInFlow, ok bool, err error) {
	err = d.InTx(ctx, func(tx *Tx) error {
		ok = false
		var created string
		err := tx.queryRow(ctx, `SELECT key, issuer, nonce, verifier, next, created_at FROM console_signin_flows WHERE key = ?`, key).
			Scan(&f.Key, &f.Issuer, &f.Nonce, &f.Verifier, &f.Next, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		f.CreatedAt = parseTS(created)
		res, err := tx.exec(ctx, `DELETE FROM console_signin_flows WHERE key = ?`, key)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = err == nil && n == 1 // another hub's callback took it first
		return err
	})
	if err != nil {
		return SignInFlow{}, false, fmt.Errorf("state: take sign-in flow: %w", err)
	}
	if !ok {
		return SignInFlow{}, false, nil
	}
	return f, true, nil
}
