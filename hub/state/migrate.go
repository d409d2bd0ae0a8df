package state

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed migrations
var migrations embed.FS

// migrate applies the migrations of dir (migrations/sqlite or
// migrations/postgres) not applied yet, each in its own transaction, in
// name order, and records them in schema_migrations. A database with a
// migration this hub does not know (written by a newer hub) is refused
// before anything is changed (NewerSchemaError). Then it records which hub
// wrote the state (state_info, version.go).
//
// Migrations must stay additive (new tables, new columns with defaults):
// during a rolling upgrade the hubs of the previous release keep running
// on the migrated schema (docs/operations.md, "Upgrade").
func (d *DB) migrate(ctx context.Context, dir string) error {
	if _, err := d.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("state: migrations table: %w", err)
	}
	st, err := d.schemaStatus(ctx, dir)
	if err != nil {
		return err
	}
	if err := st.newer(); err != nil {
		return err
	}
	for _, name := range st.Pending {
		body, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return fmt.Errorf("state: read migration %s: %w", name, err)
		}
		err = d.InTx(ctx, func(tx *Tx) error {
			var n int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, ts(d.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("state: migration %s: %w", name, err)
		}
	}
	return d.recordOpen(ctx, len(st.Pending) > 0)
}

// knownMigrations are the names of the migrations in dir, in order.
func knownMigrations(dir string) ([]string, error) {
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("state: read migrations: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}
