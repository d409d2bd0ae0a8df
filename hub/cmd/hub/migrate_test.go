package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/state"
)

// inDataDir runs the hub's command line in-process with a config file
// for dataDir (its SQLite state is dataDir/hub.db).
func inDataDir(t *testing.T, dataDir string, args ...string) (int, string, string) {
	t.Helper()
	return withConfig(t, "listen: 127.0.0.1:0\ndata_dir: "+dataDir+"\nsecret_key: "+goodKey+"\n", args...)
}

// withConfig runs the hub's command line in-process with a config file.
func withConfig(t *testing.T, yaml string, args ...string) (int, string, string) {
	t.Helper()
	clearHubEnv(t)
	path := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return runHub(append(args, "--config", path)...)
}

func sqlExec(t *testing.T, path string, queries ...string) {
	t.Helper()
	db, err := state.OpenSQLiteReadOnly(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range queries {
		if _, err := db.SQL().Exec("PRAGMA query_only = false; " + q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// hub migrate --dry-run lists what would run and changes nothing; hub
// migrate applies it; a state newer than the hub is refused, naming both
// versions, by migrate and by serve (exit 1).
func TestMigrate(t *testing.T) {
	all := migrationFiles(t)
	latest := schemaNumber(t, all[len(all)-1])
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hub.db")
	code, out, errOut := inDataDir(t, dir, "migrate", "--dry-run")
	if code != 0 || !strings.Contains(out, "schema version 0") || !strings.Contains(out, fmt.Sprintf("would apply %d migration(s): 0001_init.sql", len(all))) {
		t.Fatalf("dry run on no state: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Fatalf("the dry run created the state: %v", err)
	}
	if code, out, errOut = inDataDir(t, dir, "migrate"); code != 0 || !strings.Contains(out, fmt.Sprintf("schema version 0 → %d", latest)) {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}

	// The state a hub of schema version 8 (before state_info) left.
	old := t.TempDir()
	stateUpTo(t, filepath.Join(old, "hub.db"), all, 8)
	pending := strings.Join(all[8:], ", ")
	code, out, _ = inDataDir(t, old, "migrate", "--dry-run")
	if code != 0 || !strings.Contains(out, "schema version 8 (migrated by hub unknown") || !strings.Contains(out, fmt.Sprintf("would apply %d migration(s): %s", len(all)-8, pending)) {
		t.Fatalf("dry run: %d %q", code, out)
	}
	if code, out, _ = inDataDir(t, old, "migrate", "--dry-run"); !strings.Contains(out, fmt.Sprintf("would apply %d migration(s)", len(all)-8)) {
		t.Fatalf("the dry run migrated: %d %q", code, out)
	}
	if code, out, errOut = inDataDir(t, old, "migrate"); code != 0 || !strings.Contains(out, fmt.Sprintf("applied %d migration(s): %s; schema version 8 → %d", len(all)-8, pending, latest)) {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	if code, out, _ = inDataDir(t, old, "migrate"); code != 0 || !strings.Contains(out, fmt.Sprintf("nothing to migrate: schema version %d is current", latest)) {
		t.Fatalf("migrate again: %d %q", code, out)
	}
	if code, out, _ = inDataDir(t, dir, "migrate", "--restored"); code != 0 || !strings.Contains(out, "marked restored from a backup") {
		t.Fatalf("migrate --restored: %d %q", code, out)
	}
	if code, out, _ = inDataDir(t, dir, "migrate", "--dry-run"); code != 0 || !strings.Contains(out, "restored from a backup at ") {
		t.Fatalf("dry run after a restore: %d %q", code, out)
	}

	// A newer hub migrated it.
	sqlExec(t, dbPath, `INSERT INTO schema_migrations (name, applied_at) VALUES ('0999_next.sql', 'x')`,
		`UPDATE state_info SET value = 'v9.0.0' WHERE key = 'schema_hub_version'`)
	for _, cmd := range []string{"migrate", "serve"} {
		code, _, errOut = inDataDir(t, dir, cmd)
		if code != 1 || !strings.Contains(errOut, "schema version 999, written by hub v9.0.0; this hub (") || !strings.Contains(errOut, fmt.Sprintf("knows schema versions up to %d", latest)) {
			t.Errorf("%s on a newer state: exit %d, %q", cmd, code, errOut)
		}
	}
}

// migrationFiles are the names of the SQLite migrations, in order.
func migrationFiles(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob("../../state/migrations/sqlite/*.sql")
	if err != nil || len(names) < 9 {
		t.Fatalf("the migrations: %v %v", names, err)
	}
	sort.Strings(names)
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

func schemaNumber(t *testing.T, name string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
	if err != nil {
		t.Fatalf("migration %q has no number: %v", name, err)
	}
	return n
}

// stateUpTo makes at path the SQLite state a hub of schema version upTo
// left: the migrations up to it applied and recorded, as the hub does.
func stateUpTo(t *testing.T, path string, all []string, upTo int) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range all {
		if schemaNumber(t, name) > upTo {
			break
		}
		body, err := os.ReadFile(filepath.Join("../../state/migrations/sqlite", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, '2026-11-01T00:00:00Z')`, name); err != nil {
			t.Fatal(err)
		}
	}
}

// hub backup copies the state of a hub while it runs, the copy marked; the
// state itself is not changed.
func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := inDataDir(t, dir, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	live, err := state.OpenSQLite(context.Background(), filepath.Join(dir, "hub.db"), nil) // a running hub
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	file := filepath.Join(t.TempDir(), "backup.db")
	code, out, errOut := inDataDir(t, dir, "backup", file)
	if code != 0 || !strings.Contains(out, "backed up to "+file) {
		t.Fatalf("backup: %d %q %q", code, out, errOut)
	}
	var mark string
	if err := live.SQL().QueryRow(`SELECT COUNT(*) FROM state_info WHERE key = 'backup_taken_at'`).Scan(&mark); err != nil || mark != "0" {
		t.Errorf("the live state is marked as a backup: %q %v", mark, err)
	}
	copyDB, err := state.OpenSQLiteReadOnly(context.Background(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	if err := copyDB.SQL().QueryRow(`SELECT value FROM state_info WHERE key = 'backup_taken_at'`).Scan(&mark); err != nil || mark == "" {
		t.Errorf("the copy is not marked: %q %v", mark, err)
	}
	if code, _, errOut = inDataDir(t, dir, "backup", file); code != 1 || !strings.Contains(errOut, "exists already") {
		t.Errorf("backup over a file: %d %q", code, errOut)
	}
	if code, _, _ = inDataDir(t, dir, "backup"); code != 2 {
		t.Errorf("backup without a file: %d", code)
	}
}
