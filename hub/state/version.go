package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/hub/buildinfo"
)

// hubVersion is this hub's version, recorded in the state it writes (the
// one use of buildinfo in the state; tests replace it).
var hubVersion = buildinfo.Version

// ErrNewerSchema: the state's schema is newer than this hub knows (a newer
// hub migrated it). Returned wrapped in a *NewerSchemaError.
var ErrNewerSchema = errors.New("the state's schema is newer than this hub")

// NewerSchemaError says which versions met: the database's schema and the
// hub that brought it there, and this hub with the latest schema it knows.
type NewerSchemaError struct {
	Schema, Known int
	// SchemaHub is the hub that applied the database's latest migration
	// ("" when not recorded).
	SchemaHub, Hub string
	// Unknown are the migrations applied that this hub does not know.
	Unknown []string
}

func (e *NewerSchemaError) Error() string {
	by := e.SchemaHub
	if by == "" {
		by = "a newer hub"
	}
	return fmt.Sprintf("state: the database has schema version %d, written by hub %s; this hub (%s) knows schema versions up to %d "+
		"(unknown migrations: %s): run hub %s or newer, or restore the backup taken before the upgrade (docs/operations.md, \"Upgrade\")",
		e.Schema, by, e.Hub, e.Known, strings.Join(e.Unknown, ", "), by)
}

// Is makes errors.Is(err, ErrNewerSchema) true.
func (e *NewerSchemaError) Is(target error) bool { return target == ErrNewerSchema }

// SchemaStatus is what a database's schema is, against what this hub knows.
type SchemaStatus struct {
	// Schema is the database's schema version: the number of its latest
	// migration (0: empty). Known is the latest this hub knows.
	Schema, Known int
	// Applied are the migrations applied; Pending those this hub would
	// apply; Unknown those applied that this hub does not know.
	Applied, Pending, Unknown []string
	// SchemaHub is the hub that applied the latest migration, Hub the latest
	// that opened the state to write ("" before versions were recorded).
	SchemaHub, Hub string
	// ThisHub is this hub's version.
	ThisHub string
	// RestoredAt is when a hub first opened the state after a restore from
	// a backup (zero: never restored); FirstAttemptsAfter is until when
	// every ticket is looked up before it is created (StartDelivery).
	RestoredAt, FirstAttemptsAfter time.Time
}

// newer is the NewerSchemaError for s, or nil.
func (s SchemaStatus) newer() error {
	if len(s.Unknown) == 0 {
		return nil
	}
	return &NewerSchemaError{Schema: s.Schema, Known: s.Known, SchemaHub: s.SchemaHub, Hub: s.ThisHub, Unknown: s.Unknown}
}

// Info keys of state_info (migration 0009).
const (
	infoSchemaVersion      = "schema_version"
	infoSchemaHubVersion   = "schema_hub_version"
	infoHubVersion         = "hub_version"
	infoBackupTakenAt      = "backup_taken_at"
	infoRestoredAt         = "restored_at"
	infoFirstAttemptsAfter = "first_attempts_after"
	// infoReadinessProbe is written by Unavailable (deadline.go).
	infoReadinessProbe = "readiness_probe"
)

// RestoreLookupWindow is how long after a restore from a backup every
// review's ticket is looked up before one is created: the hub that ran on
// after the backup was taken may have created tickets the restored state
// does not know of, for reviews the restored hub lists again. Polls catch
// up within minutes; the window leaves days for a store that was down.
const RestoreLookupWindow = 7 * 24 * time.Hour

func migrationsDir(dialect string) string { return "migrations/" + dialect }

// schemaNumber is the version a migration name starts with (0007_x.sql: 7).
func schemaNumber(name string) int {
	digits := name[:len(name)-len(strings.TrimLeft(name, "0123456789"))]
	n, _ := strconv.Atoi(digits)
	return n
}

// SchemaStatus reads the database's schema against the migrations this hub
// knows, changing nothing (also on a state opened read-only).
func (d *DB) SchemaStatus(ctx context.Context) (SchemaStatus, error) {
	return d.schemaStatus(ctx, migrationsDir(d.dialect))
}

// EmptySchemaStatus is the SchemaStatus of a database of the dialect that
// does not exist yet: every migration pending.
func EmptySchemaStatus(dialect string) (SchemaStatus, error) {
	st, _, err := emptyStatus(migrationsDir(dialect))
	return st, err
}

func emptyStatus(dir string) (st SchemaStatus, known []string, err error) {
	st.ThisHub = hubVersion()
	if known, err = knownMigrations(dir); err != nil {
		return st, nil, err
	}
	if len(known) > 0 {
		st.Known = schemaNumber(known[len(known)-1])
	}
	st.Pending = known
	return st, known, nil
}

func (d *DB) schemaStatus(ctx context.Context, dir string) (SchemaStatus, error) {
	st, known, err := emptyStatus(dir)
	if err != nil {
		return st, err
	}
	if ok, err := d.tableExists(ctx, "schema_migrations"); err != nil || !ok {
		return st, err
	}
	st.Pending = nil
	rows, err := d.sql.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return st, fmt.Errorf("state: read applied migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return st, fmt.Errorf("state: read applied migrations: %w", err)
		}
		st.Applied = append(st.Applied, name)
		st.Schema = max(st.Schema, schemaNumber(name))
		if !slices.Contains(known, name) {
			st.Unknown = append(st.Unknown, name)
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("state: read applied migrations: %w", err)
	}
	for _, name := range known {
		if !slices.Contains(st.Applied, name) {
			st.Pending = append(st.Pending, name)
		}
	}
	info, err := d.stateInfo(ctx)
	if err != nil {
		return st, err
	}
	st.SchemaHub, st.Hub = info[infoSchemaHubVersion], info[infoHubVersion]
	st.RestoredAt, st.FirstAttemptsAfter = parseTS(info[infoRestoredAt]), parseTS(info[infoFirstAttemptsAfter])
	return st, nil
}

// tableExists reports whether the state has the table (in the schema of
// the search path, on PostgreSQL).
func (d *DB) tableExists(ctx context.Context, name string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if d.dialect == Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	if err := d.sql.QueryRowContext(ctx, d.Rebind(q), name).Scan(&n); err != nil {
		return false, fmt.Errorf("state: look for table %s: %w", name, err)
	}
	return n > 0, nil
}

// stateInfo is the state_info table (empty before migration 0009).
func (d *DB) stateInfo(ctx context.Context) (map[string]string, error) {
	info := map[string]string{}
	if ok, err := d.tableExists(ctx, "state_info"); err != nil || !ok {
		return info, err
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT key, value FROM state_info`)
	if err != nil {
		return nil, fmt.Errorf("state: read state_info: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("state: read state_info: %w", err)
		}
		info[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: read state_info: %w", err)
	}
	return info, nil
}

const upsertInfo = `INSERT INTO state_info (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`

// recordOpen records, once the schema is up to date, the hub that opened
// the state to write (and, when it migrated, the schema version and the
// hub that brought it there), and takes note of a restore: a state copied
// by Backup (backup_taken_at) is being run for the first time, so ticket
// lookups are forced for RestoreLookupWindow (StartDelivery).
func (d *DB) recordOpen(ctx context.Context, migrated bool) error {
	known, err := knownMigrations(migrationsDir(d.dialect))
	if err != nil {
		return err
	}
	info, err := d.stateInfo(ctx)
	if err != nil {
		return err
	}
	now := d.now()
	err = d.InTx(ctx, func(tx *Tx) error {
		set := [][2]string{{infoHubVersion, hubVersion()}}
		if migrated || info[infoSchemaVersion] == "" {
			set = append(set, [2]string{infoSchemaVersion, strconv.Itoa(schemaNumber(known[len(known)-1]))})
		}
		if migrated {
			set = append(set, [2]string{infoSchemaHubVersion, hubVersion()})
		}
		if info[infoBackupTakenAt] != "" {
			set = append(set, [2]string{infoRestoredAt, ts(now)}, [2]string{infoFirstAttemptsAfter, ts(now.Add(RestoreLookupWindow))})
			info[infoFirstAttemptsAfter] = ts(now.Add(RestoreLookupWindow))
			if _, err := tx.tx.ExecContext(ctx, d.Rebind(`DELETE FROM state_info WHERE key = ?`), infoBackupTakenAt); err != nil {
				return err
			}
		}
		for _, kv := range set {
			if _, err := tx.tx.ExecContext(ctx, d.Rebind(upsertInfo), kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: record the hub's version: %w", err)
	}
	d.firstAttemptsAfter = parseTS(info[infoFirstAttemptsAfter])
	return nil
}

// MarkRestored records that the state was restored from a backup made
// outside the hub (pg_dump): every ticket is looked up before it is
// created for RestoreLookupWindow from now. Hubs read it when they start.
func (d *DB) MarkRestored(ctx context.Context) (until time.Time, err error) {
	now := d.now()
	until = now.Add(RestoreLookupWindow)
	err = d.InTx(ctx, func(tx *Tx) error {
		for _, kv := range [][2]string{{infoRestoredAt, ts(now)}, {infoFirstAttemptsAfter, ts(until)}} {
			if _, err := tx.tx.ExecContext(ctx, d.Rebind(upsertInfo), kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return until, fmt.Errorf("state: mark restored: %w", err)
	}
	d.firstAttemptsAfter = until
	return until, nil
}

// firstAttemptsSure reports whether a first delivery attempt recorded now
// proves that no ticket exists: not within RestoreLookupWindow of a
// restore, when the hub that ran on after the backup may have made one.
func (d *DB) firstAttemptsSure() bool { return !d.now().Before(d.firstAttemptsAfter) }
