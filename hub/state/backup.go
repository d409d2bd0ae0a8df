package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the SQLite state, the bus's tables
// included (they live in it), to path, while hubs may run on it: SQLite's
// VACUUM INTO reads one snapshot and blocks no writer. The copy is written
// beside path and renamed into place, so path is never a partial copy, and
// is readable by its owner only. It is marked as a backup: the first hub to
// run on it after a restore knows that tickets may exist that the copy
// does not know of (RestoreLookupWindow). path must not exist.
// PostgreSQL is backed up with pg_dump (docs/operations.md, "Backup").
func (d *DB) Backup(ctx context.Context, path string) error {
	if d.dialect != SQLite {
		return errors.New("state: hub backup copies a SQLite state; back PostgreSQL up with pg_dump (docs/operations.md, \"Backup\")")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("state: backup: %s exists already", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("state: backup: %w", err)
	}
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmp.Name())
		}
	}()
	if err := d.vacuumInto(ctx, tmp.Name()); err != nil {
		return fmt.Errorf("state: backup: %w", err)
	}
	if err := markBackup(ctx, tmp.Name(), ts(d.now())); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("state: backup: %w", err)
	}
	done = true
	return nil
}

// vacuumInto copies the database to path on one connection, also when the
// state was opened read-only (OpenSQLiteReadOnly's query_only refuses
// VACUUM INTO, although it writes nothing to the state).
func (d *DB) vacuumInto(ctx context.Context, path string) error {
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var readOnly bool
	if err := conn.QueryRowContext(ctx, `PRAGMA query_only`).Scan(&readOnly); err != nil {
		return err
	}
	if readOnly {
		if _, err := conn.ExecContext(ctx, `PRAGMA query_only = false`); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA query_only = true`) //nolint:errcheck
	}
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, path)
	return err
}

// markBackup records in the copy at path when it was taken.
func markBackup(ctx context.Context, path, at string) error {
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		return fmt.Errorf("state: backup: %w", err)
	}
	defer db.Close()
	body, err := migrations.ReadFile(migrationsDir(SQLite) + "/0009_state_info.sql")
	if err != nil {
		return fmt.Errorf("state: backup: %w", err)
	}
	// A state of a hub before 0009 gets the table (IF NOT EXISTS) with the mark.
	if _, err := db.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("state: backup: mark the copy: %w", err)
	}
	if _, err := db.ExecContext(ctx, upsertInfo, infoBackupTakenAt, at); err != nil {
		return fmt.Errorf("state: backup: mark the copy: %w", err)
	}
	return db.Close()
}
