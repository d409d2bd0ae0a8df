package main

import (
	"context"
	"os"
	"path/filepath"
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
	st, err := state.EmptySchemaStatus(state.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	n := strconv.Itoa(st.Known) // the newest schema this hub knows
	// Without 0009's record, the schema's number is that of the newest
	// migration still recorded.
	without9 := n
	if st.Known == 9 {
		without9 = "8"
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hub.db")
	code, out, errOut := inDataDir(t, dir, "migrate", "--dry-run")
	if code != 0 || !strings.Contains(out, "schema version 0") || !strings.Contains(out, "would apply "+n+" migration(s): 0001_init.sql") {
		t.Fatalf("dry run on no state: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Fatalf("the dry run created the state: %v", err)
	}
	if code, out, errOut = inDataDir(t, dir, "migrate"); code != 0 || !strings.Contains(out, "schema version 0 → "+n) {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	// The state as a hub without state_info left it: schema version 8.
	sqlExec(t, dbPath, `DELETE FROM schema_migrations WHERE name = '0009_state_info.sql'`, `DROP TABLE state_info`)
	code, out, _ = inDataDir(t, dir, "migrate", "--dry-run")
	if code != 0 || !strings.Contains(out, "schema version "+without9+" (migrated by hub unknown") || !strings.Contains(out, "would apply 1 migration(s): 0009_state_info.sql") {
		t.Fatalf("dry run: %d %q", code, out)
	}
	if code, out, _ = inDataDir(t, dir, "migrate", "--dry-run"); !strings.Contains(out, "would apply 1 migration(s)") {
		t.Fatalf("the dry run migrated: %d %q", code, out)
	}
	if code, out, errOut = inDataDir(t, dir, "migrate"); code != 0 || !strings.Contains(out, "applied 1 migration(s): 0009_state_info.sql; schema version "+without9+" → "+n) {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	if code, out, _ = inDataDir(t, dir, "migrate"); code != 0 || !strings.Contains(out, "nothing to migrate: schema version "+n+" is current") {
		t.Fatalf("migrate again: %d %q", code, out)
	}
	if code, out, _ = inDataDir(t, dir, "migrate", "--restored"); code != 0 || !strings.Contains(out, "marked restored from a backup") {
		t.Fatalf("migrate --restored: %d %q", code, out)
	}
	if code, out, _ = inDataDir(t, dir, "migrate", "--dry-run"); code != 0 || !strings.Contains(out, "restored from a backup at ") {
		t.Fatalf("dry run after a restore: %d %q", code, out)
	}

	// A newer hub migrated it.
	sqlExec(t, dbPath, `INSERT INTO schema_migrations (name, applied_at) VALUES ('0099_next.sql', 'x')`,
		`UPDATE state_info SET value = 'v9.0.0' WHERE key = 'schema_hub_version'`)
	for _, cmd := range []string{"migrate", "serve"} {
		code, _, errOut = inDataDir(t, dir, cmd)
		if code != 1 || !strings.Contains(errOut, "schema version 99, written by hub v9.0.0; this hub (") || !strings.Contains(errOut, "knows schema versions up to "+n) {
			t.Errorf("%s on a newer state: exit %d, %q", cmd, code, errOut)
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
