package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ---- personal API tokens ----

// APIToken is a personal API token as stored: never the token itself,
// only its hash (looked up by it).
type APIToken struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is the role's name (auth.ParseRole).
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// CreatedBy is the subject that made it.
	CreatedBy string `json:"created_by,omitempty"`
	// ExpiresAt zero: it does not expire.
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeOfMS(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// CreateAPIToken stores t with hash, the hex SHA-256 of its value
// (ErrExists when the id or hash is taken).
func (d *DB) CreateAPIToken(ctx context.Context, t APIToken, hash string) error {
	if t.ID == "" || hash == "" {
		return errors.New("state: an API token needs an id and a hash")
	}
	var n int
	if err := d.queryRow(ctx, `SELECT COUNT(*) FROM api_tokens WHERE id = ? OR hash = ?`, t.ID, hash).Scan(&n); err != nil {
		return fmt.Errorf("state: look up API token %q: %w", t.ID, err)
	}
	if n > 0 {
		return ErrExists
	}
	_, err := d.exec(ctx, `INSERT INTO api_tokens (id, name, role, hash, created_at_ms, created_by, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Role, hash, msOf(t.CreatedAt), t.CreatedBy, msOf(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("state: store API token %q: %w", t.ID, err)
	}
	return nil
}

const apiTokenCols = `id, name, role, created_at_ms, created_by, expires_at_ms, last_used_at_ms`

func scanAPIToken(r interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	var created, expires, used int64
	if err := r.Scan(&t.ID, &t.Name, &t.Role, &created, &t.CreatedBy, &expires, &used); err != nil {
		return APIToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt = timeOfMS(created), timeOfMS(expires), timeOfMS(used)
	return t, nil
}

// APITokens lists the personal API tokens, oldest first.
func (d *DB) APITokens(ctx context.Context) ([]APIToken, error) {
	rs, err := d.query(ctx, `SELECT `+apiTokenCols+` FROM api_tokens ORDER BY created_at_ms, id`)
	if err != nil {
		return nil, fmt.Errorf("state: list API tokens: %w", err)
	}
	defer rs.Close()
	out := []APIToken{}
	for rs.Next() {
		t, err := scanAPIToken(rs)
		if err != nil {
			return nil, fmt.Errorf("state: read API token: %w", err)
		}
		out = append(out, t)
	}
	return out, rs.Err()
}

// APITokenByHash returns the token whose value hashes to hash (ErrNotFound).
func (d *DB) APITokenByHash(ctx context.Context, hash string) (APIToken, error) {
	t, err := scanAPIToken(d.queryRow(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, ErrNotFound
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("state: look up an API token: %w", err)
	}
	return t, nil
}

// APITokenExists reports whether a personal token with id is stored (the
// per-account throttle counts failures only for accounts that exist).
func (d *DB) APITokenExists(ctx context.Context, id string) (bool, error) {
	var n int
	if err := d.queryRow(ctx, `SELECT COUNT(*) FROM api_tokens WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("state: look up an API token's id: %w", err)
	}
	return n > 0, nil
}

// DeleteAPIToken revokes token id (ErrNotFound when there is none) and
// returns what it was.
func (d *DB) DeleteAPIToken(ctx context.Context, id string) (APIToken, error) {
	var t APIToken
	err := d.InTx(ctx, func(tx *Tx) error {
		rs, err := tx.query(ctx, `SELECT `+apiTokenCols+` FROM api_tokens WHERE id = ?`, id)
		if err != nil {
			return err
		}
		found := rs.Next()
		if found {
			t, err = scanAPIToken(rs)
		}
		rs.Close()
		if err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}
		_, err = tx.exec(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return APIToken{}, ErrNotFound
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("state: revoke API token %q: %w", id, err)
	}
	return t, nil
}

// TouchAPIToken records that token id was used at at.
func (d *DB) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	if _, err := d.exec(ctx, `UPDATE api_tokens SET last_used_at_ms = ? WHERE id = ?`, msOf(at), id); err != nil {
		return fmt.Errorf("state: record the use of API token %q: %w", id, err)
	}
	return nil
}

// ---- the audit log ----

// AuditChange is one changed field. A secret's change carries neither
// value: Secret is set and the field is shown as "changed".
type AuditChange struct {
	Field  string `json:"field"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Secret bool   `json:"secret,omitempty"`
}

// AuditEntry is one entry of the audit log.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Who: the principal's subject, name, role and how it signed in.
	Subject string `json:"subject"`
	Name    string `json:"name,omitempty"`
	Role    string `json:"role,omitempty"`
	Via     string `json:"via,omitempty"`
	// Client is where the request came from (its address).
	Client string `json:"client,omitempty"`
	// Kind is what was changed (integration, app, filter, automation,
	// alerts, token, deadletter, reply, approval, signin, history).
	Kind   string `json:"kind"`
	Action string `json:"action"`
	// IntegrationID and Target (an app, a token, a dead letter…) name
	// the thing changed.
	IntegrationID string `json:"integration,omitempty"`
	Target        string `json:"target,omitempty"`
	// Outcome is "" for a change made, "failed" for a refused sign-in.
	Outcome string        `json:"outcome,omitempty"`
	Changes []AuditChange `json:"changes,omitempty"`
}

// maxAuditField bounds what is stored of one free-text field of an entry.
const maxAuditField = 2000

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// AddAudit appends e to the audit log (At, when zero, is now).
func (d *DB) AddAudit(ctx context.Context, e AuditEntry) error { return addAudit(ctx, d, d.now(), e) }

// AddAudit appends e to the audit log in the transaction: the entry is
// written with the change it records, or neither is.
func (t *Tx) AddAudit(ctx context.Context, e AuditEntry) error {
	return addAudit(ctx, t, t.db.now(), e)
}

// AddAuditID appends e to the audit log like AddAudit and returns its id,
// for SetAuditChanges.
func (d *DB) AddAuditID(ctx context.Context, e AuditEntry) (int64, error) {
	if e.At.IsZero() {
		e.At = d.now()
	}
	changes, err := encodeChanges(e.Changes)
	if err != nil {
		return 0, err
	}
	var id int64
	err = d.queryRow(ctx, `INSERT INTO audit_log (at_ms, subject, name, role, via, client, kind, action, integration_id, target, outcome, changes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.At.UnixMilli(), cut(e.Subject, 500), cut(e.Name, 500), e.Role, e.Via,
		cut(e.Client, 200), e.Kind, e.Action, cut(e.IntegrationID, 200), cut(e.Target, 500), e.Outcome, changes).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("state: write the audit log: %w", err)
	}
	return id, nil
}

// SetAuditChanges replaces the changes of entry id (a summary entry whose
// count grows, such as repeated wrong tokens from one client).
func (d *DB) SetAuditChanges(ctx context.Context, id int64, changes []AuditChange) error {
	enc, err := encodeChanges(changes)
	if err != nil {
		return err
	}
	if _, err := d.exec(ctx, `UPDATE audit_log SET changes = ? WHERE id = ?`, enc, id); err != nil {
		return fmt.Errorf("state: update an audit entry: %w", err)
	}
	return nil
}

func encodeChanges(changes []AuditChange) (string, error) {
	if len(changes) == 0 {
		return "", nil
	}
	for i := range changes {
		changes[i].From, changes[i].To = cut(changes[i].From, maxAuditField), cut(changes[i].To, maxAuditField)
	}
	b, err := json.Marshal(changes)
	if err != nil {
		return "", fmt.Errorf("state: encode audit changes: %w", err)
	}
	return string(b), nil
}

type execer interface {
	exec(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func addAudit(ctx context.Context, x execer, now time.Time, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = now
	}
	var changes string
	if len(e.Changes) > 0 {
		for i := range e.Changes {
			e.Changes[i].From, e.Changes[i].To = cut(e.Changes[i].From, maxAuditField), cut(e.Changes[i].To, maxAuditField)
		}
		b, err := json.Marshal(e.Changes)
		if err != nil {
			return fmt.Errorf("state: encode audit changes: %w", err)
		}
		changes = string(b)
	}
	_, err := x.exec(ctx, `INSERT INTO audit_log (at_ms, subject, name, role, via, client, kind, action, integration_id, target, outcome, changes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.At.UnixMilli(), cut(e.Subject, 500), cut(e.Name, 500), e.Role, e.Via, cut(e.Client, 200),
		e.Kind, e.Action, cut(e.IntegrationID, 200), cut(e.Target, 500), e.Outcome, changes)
	if err != nil {
		return fmt.Errorf("state: write the audit log: %w", err)
	}
	return nil
}

// AuditFilter selects audit entries; zero fields select everything.
type AuditFilter struct {
	// Who matches the subject or the name exactly.
	Who           string
	Kind          string
	IntegrationID string
	// Since (inclusive) and Until (exclusive) bound the time.
	Since, Until time.Time
	// Before, when not 0, returns entries older than that id (the next
	// page after an entry).
	Before int64
	// Limit: 0 means 100.
	Limit int
}

// Audit returns the entries f selects, newest first.
func (d *DB) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	if f.Who != "" {
		where, args = append(where, `(subject = ? OR name = ?)`), append(args, f.Who, f.Who)
	}
	if f.Kind != "" {
		where, args = append(where, `kind = ?`), append(args, f.Kind)
	}
	if f.IntegrationID != "" {
		where, args = append(where, `integration_id = ?`), append(args, f.IntegrationID)
	}
	if !f.Since.IsZero() {
		where, args = append(where, `at_ms >= ?`), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where, args = append(where, `at_ms < ?`), append(args, f.Until.UnixMilli())
	}
	if f.Before != 0 {
		where, args = append(where, `id < ?`), append(args, f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT id, at_ms, subject, name, role, via, client, kind, action, integration_id, target, outcome, changes FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rs, err := d.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("state: read the audit log: %w", err)
	}
	defer rs.Close()
	out := []AuditEntry{}
	for rs.Next() {
		var e AuditEntry
		var at int64
		var changes string
		if err := rs.Scan(&e.ID, &at, &e.Subject, &e.Name, &e.Role, &e.Via, &e.Client, &e.Kind, &e.Action, &e.IntegrationID,
			&e.Target, &e.Outcome, &changes); err != nil {
			return nil, fmt.Errorf("state: read an audit entry: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		if changes != "" {
			if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
				return nil, fmt.Errorf("state: audit entry %d: its changes are unreadable: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	return out, rs.Err()
}

// PruneAudit deletes the audit entries older than before and returns how
// many.
func (d *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.exec(ctx, `DELETE FROM audit_log WHERE at_ms < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("state: prune the audit log: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
