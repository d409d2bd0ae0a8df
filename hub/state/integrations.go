package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
	"unique"

	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/sdk"
)

// App is one store app within an integration.
type App struct {
	IntegrationID string         `json:"-"`
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	StorePlugin   string         `json:"store"`
	StoreAppID    string         `json:"store_app_id"`
	StoreSettings sdk.Settings   `json:"-"`
	Filters       filter.Filters `json:"filters"`
	PollInterval  time.Duration  `json:"-"`
}

// Where an integration comes from (Integration.Source).
const (
	SourceConfig = "config" // declared in the YAML file: read-only through the API
	SourceAPI    = "api"
)

// Integration joins one helpdesk account to a set of apps.
type Integration struct {
	ID               string
	Name             string
	HelpdeskPlugin   string
	HelpdeskSettings sdk.Settings
	Tags             bool
	// Source is SourceConfig for integrations declared in the YAML file,
	// SourceAPI otherwise.
	Source    string
	Apps      []App
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version grows by one with every write (UpdateIntegration checks it).
	Version int
	// Automation: auto-reply rules, templates and guardrails (canonical
	// when read from the state).
	Automation rules.Automation
	// Rules is Automation compiled, when read from the state (nil: not
	// compiled, or no automation; a nil Engine decides nothing).
	Rules *rules.Engine
	// AutomationStopped is the admin API's kill switch (SetAutomationStopped).
	AutomationStopped bool
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *DB) sealSettings(s sdk.Settings) ([]byte, error) {
	if len(s) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if d.sealer == nil {
		return b, nil
	}
	return d.sealer.Seal(b)
}

// Equal values are one string in memory (unique.Make, held only while
// used): apps of one account carry the same credentials, such as a Google
// Play service account's key of some kilobytes, and the poller keeps
// every app's settings (10,000 apps of one account: 22 MB of copies in
// `make bench-scale`).
func (d *DB) unsealSettings(b []byte) (sdk.Settings, error) {
	if len(b) == 0 {
		return sdk.Settings{}, nil
	}
	if d.sealer != nil {
		var err error
		if b, err = d.sealer.Open(b); err != nil {
			return nil, err
		}
	}
	s := sdk.Settings{}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode settings: %w", err)
	}
	for k, v := range s {
		s[k] = unique.Make(v).Value()
	}
	return s, nil
}

// PutIntegration creates or replaces an integration and its apps (the
// config file's integrations). Poll cursors and review history of apps that
// remain are kept.
func (t *Tx) PutIntegration(ctx context.Context, in Integration) error {
	now := t.db.now()
	hs, err := t.db.sealSettings(in.HelpdeskSettings)
	if err != nil {
		return fmt.Errorf("state: seal helpdesk settings: %w", err)
	}
	_, err = t.exec(ctx, `
		INSERT INTO integrations (id, name, helpdesk_plugin, helpdesk_settings, tags, source, created_at, updated_at, version, automation)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, helpdesk_plugin = excluded.helpdesk_plugin,
			helpdesk_settings = excluded.helpdesk_settings, tags = excluded.tags, source = excluded.source,
			updated_at = excluded.updated_at, version = integrations.version + 1, automation = excluded.automation`,
		in.ID, in.Name, in.HelpdeskPlugin, hs, boolInt(in.Tags), in.Source, ts(now), ts(now), automationJSON(in.Automation))
	if err != nil {
		return fmt.Errorf("state: put integration %s: %w", in.ID, err)
	}
	return t.putApps(ctx, in)
}

// CreateIntegration inserts a new integration and its apps; it returns
// ErrExists when the id is taken, whoever else is creating it at the same
// moment (the insert itself decides, not an earlier read).
func (t *Tx) CreateIntegration(ctx context.Context, in Integration) error {
	now := t.db.now()
	hs, err := t.db.sealSettings(in.HelpdeskSettings)
	if err != nil {
		return fmt.Errorf("state: seal helpdesk settings: %w", err)
	}
	res, err := t.exec(ctx, `
		INSERT INTO integrations (id, name, helpdesk_plugin, helpdesk_settings, tags, source, created_at, updated_at, version, automation)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (id) DO NOTHING`,
		in.ID, in.Name, in.HelpdeskPlugin, hs, boolInt(in.Tags), in.Source, ts(now), ts(now), automationJSON(in.Automation))
	if err != nil {
		return fmt.Errorf("state: create integration %s: %w", in.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("state: create integration %s: %w", in.ID, err)
	} else if n == 0 {
		return ErrExists
	}
	return t.putApps(ctx, in)
}

// UpdateIntegration replaces an existing integration created through the
// API, and its apps, if it is still at version in.Version. It returns
// ErrNotFound when it no longer exists (a racing delete is not undone) or
// was declared in the config file meanwhile, and ErrVersion when another
// write came first.
func (t *Tx) UpdateIntegration(ctx context.Context, in Integration) error {
	hs, err := t.db.sealSettings(in.HelpdeskSettings)
	if err != nil {
		return fmt.Errorf("state: seal helpdesk settings: %w", err)
	}
	res, err := t.exec(ctx, `
		UPDATE integrations SET name = ?, helpdesk_plugin = ?, helpdesk_settings = ?, tags = ?, source = ?,
			updated_at = ?, version = version + 1, automation = ?
		WHERE id = ? AND version = ? AND source <> 'config'`,
		in.Name, in.HelpdeskPlugin, hs, boolInt(in.Tags), in.Source, ts(t.db.now()), automationJSON(in.Automation), in.ID, in.Version)
	if err != nil {
		return fmt.Errorf("state: update integration %s: %w", in.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("state: update integration %s: %w", in.ID, err)
	} else if n == 0 {
		var version int
		var source string
		err := t.queryRow(ctx, `SELECT version, source FROM integrations WHERE id = ?`, in.ID).Scan(&version, &source)
		switch {
		case errors.Is(err, sql.ErrNoRows) || source == SourceConfig:
			return ErrNotFound
		case err != nil:
			return fmt.Errorf("state: update integration %s: %w", in.ID, err)
		default:
			return ErrVersion
		}
	}
	return t.putApps(ctx, in)
}

func (t *Tx) putApps(ctx context.Context, in Integration) error {
	if err := t.unscheduleChanged(ctx, in); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM apps WHERE integration_id = ?`, in.ID); err != nil {
		return fmt.Errorf("state: put integration %s: %w", in.ID, err)
	}
	for _, a := range in.Apps {
		ss, err := t.db.sealSettings(a.StoreSettings)
		if err != nil {
			return fmt.Errorf("state: seal store settings: %w", err)
		}
		fj, err := json.Marshal(a.Filters)
		if err != nil {
			return fmt.Errorf("state: encode filters: %w", err)
		}
		_, err = t.exec(ctx, `
			INSERT INTO apps (integration_id, id, name, store_plugin, store_app_id, store_settings, filters, poll_interval_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			in.ID, a.ID, a.Name, a.StorePlugin, a.StoreAppID, ss, string(fj), a.PollInterval.Milliseconds())
		if err != nil {
			return fmt.Errorf("state: put app %s/%s: %w", in.ID, a.ID, err)
		}
	}
	return nil
}

// DeleteIntegration removes an integration and its apps (its review history
// stays, so re-adding it does not re-import old reviews).
func (t *Tx) DeleteIntegration(ctx context.Context, id string) error {
	return t.DeleteIntegrationAt(ctx, id, 0)
}

// DeleteIntegrationAt is DeleteIntegration if the integration is at version
// (0: any version); ErrVersion when it changed meanwhile.
func (t *Tx) DeleteIntegrationAt(ctx context.Context, id string, version int) error {
	q, args := `DELETE FROM integrations WHERE id = ?`, []any{id}
	if version != 0 {
		q, args = q+` AND version = ?`, append(args, version)
	}
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("state: delete integration %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if err := t.unschedule(ctx, id, ""); err != nil {
			return err
		}
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if version != 0 {
			var n int
			if err := t.queryRow(ctx, `SELECT COUNT(*) FROM integrations WHERE id = ?`, id).Scan(&n); err != nil {
				return fmt.Errorf("state: delete integration %s: %w", id, err)
			}
			if n > 0 {
				return ErrVersion
			}
		}
		return ErrNotFound
	}
	return nil
}

// Integrations returns all integrations with their apps, ordered by id.
func (d *DB) Integrations(ctx context.Context) ([]Integration, error) {
	return d.integrations(ctx, "")
}

// Integration returns one integration.
func (d *DB) Integration(ctx context.Context, id string) (Integration, error) {
	all, err := d.integrations(ctx, id)
	if err != nil {
		return Integration{}, err
	}
	if len(all) == 0 {
		return Integration{}, ErrNotFound
	}
	return all[0], nil
}

func (d *DB) integrations(ctx context.Context, id string) ([]Integration, error) {
	q := `SELECT id, name, helpdesk_plugin, helpdesk_settings, tags, source, created_at, updated_at, version, automation,
		COALESCE((SELECT stopped FROM automation_switch s WHERE s.integration_id = integrations.id), 0) FROM integrations`
	var args []any
	if id != "" {
		q += ` WHERE id = ?`
		args = append(args, id)
	}
	rows, err := d.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("state: list integrations: %w", err)
	}
	defer rows.Close()
	var out []Integration
	for rows.Next() {
		var in Integration
		var hs []byte
		var created, updated, auto string
		if err := rows.Scan(&in.ID, &in.Name, &in.HelpdeskPlugin, &hs, &in.Tags, &in.Source, &created, &updated, &in.Version,
			&auto, &in.AutomationStopped); err != nil {
			return nil, fmt.Errorf("state: scan integration: %w", err)
		}
		if in.Automation, in.Rules, err = parseAutomation(auto); err != nil {
			return nil, fmt.Errorf("state: integration %s: %w", in.ID, err)
		}
		if in.HelpdeskSettings, err = d.unsealSettings(hs); err != nil {
			return nil, fmt.Errorf("state: integration %s helpdesk settings: %w", in.ID, err)
		}
		in.CreatedAt, in.UpdatedAt = parseTS(created), parseTS(updated)
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: list integrations: %w", err)
	}
	for i := range out {
		if out[i].Apps, err = d.apps(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// querier is a *DB or a *Tx.
type querier interface {
	query(ctx context.Context, q string, args ...any) (*rows, error)
}

func (d *DB) apps(ctx context.Context, integrationID string) ([]App, error) {
	return d.appsVia(ctx, d, integrationID)
}

// unscheduleChanged removes the schedule rows of in's apps that are
// removed or changed by this write, so that changed apps are polled again
// soon with their new settings (and removed ones no more).
func (t *Tx) unscheduleChanged(ctx context.Context, in Integration) error {
	old, err := t.db.appsVia(ctx, t, in.ID)
	if err != nil {
		return err
	}
	next := map[string]App{}
	for _, a := range in.Apps {
		next[a.ID] = a
	}
	for _, o := range old {
		n, ok := next[o.ID]
		if ok && sameApp(o, n) {
			continue
		}
		if err := t.unschedule(ctx, in.ID, o.ID); err != nil {
			return err
		}
	}
	return nil
}

func sameApp(a, b App) bool {
	fa, _ := json.Marshal(a.Filters)
	fb, _ := json.Marshal(b.Filters)
	return a.Name == b.Name && a.StorePlugin == b.StorePlugin && a.StoreAppID == b.StoreAppID &&
		a.PollInterval == b.PollInterval && string(fa) == string(fb) && maps.Equal(a.StoreSettings, b.StoreSettings)
}

func (d *DB) appsVia(ctx context.Context, q querier, integrationID string) ([]App, error) {
	rows, err := q.query(ctx, `
		SELECT id, name, store_plugin, store_app_id, store_settings, filters, poll_interval_ms
		FROM apps WHERE integration_id = ? ORDER BY id`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("state: list apps of %s: %w", integrationID, err)
	}
	defer rows.Close()
	var out []App
	for rows.Next() {
		a := App{IntegrationID: integrationID}
		var ss []byte
		var fj string
		var ms int64
		if err := rows.Scan(&a.ID, &a.Name, &a.StorePlugin, &a.StoreAppID, &ss, &fj, &ms); err != nil {
			return nil, fmt.Errorf("state: scan app: %w", err)
		}
		if a.StoreSettings, err = d.unsealSettings(ss); err != nil {
			return nil, fmt.Errorf("state: app %s/%s store settings: %w", integrationID, a.ID, err)
		}
		if err := json.Unmarshal([]byte(fj), &a.Filters); err != nil {
			return nil, fmt.Errorf("state: app %s/%s filters: %w", integrationID, a.ID, err)
		}
		a.PollInterval = time.Duration(ms) * time.Millisecond
		out = append(out, a)
	}
	return out, rows.Err()
}
