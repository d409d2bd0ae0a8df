package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// answer posts staff's answer to review i's ticket to the hub at addr, as
// the helpdesk does; false when the ticket is not there yet or the hub did
// not take it (the caller tries again).
func answer(b *testbackend.Backend, addr string, i int) bool {
	tk, ok := ticketFor(b, fmt.Sprintf("r%05d", i))
	if !ok {
		return false
	}
	body := fmt.Sprintf(`{"ticket_id":%q,"message_id":"m%05d","text":"Thanks #%d"}`, tk.ID, i, i)
	resp, err := http.Post("http://"+addr+"/hooks/testdesk/acme?secret="+secret, "application/json", strings.NewReader(body))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// editWhenDelivered edits every fourth of reviews r00000…r(n-1) once its
// first version is in a ticket; done remembers which were.
func editWhenDelivered(b *testbackend.Backend, n int, done map[int]bool) {
	for i := 0; i < n; i += 4 {
		if _, ok := ticketFor(b, fmt.Sprintf("r%05d", i)); ok && !done[i] {
			b.PutReview(testbackend.Review{ID: fmt.Sprintf("r%05d", i), App: "app1", Rating: 5, Text: "v2"})
			done[i] = true
		}
	}
}

func edited(i int) bool { return i%4 == 0 }

// completes waits until every review of n has its ticket, every edit its
// message and the first replies answers are posted, nothing duplicated
// (then still so a moment later), calling drive (edits, answers) meanwhile.
func completes(t *testing.T, b *testbackend.Backend, n, replies int, drive func()) {
	t.Helper()
	deadline := time.Now().Add(time.Duration(60+n/50) * time.Second)
	for {
		drive()
		w := tallyWork(b, n, edited, replies)
		if w.done() {
			break
		}
		if time.Now().After(deadline) {
			dumpTickets(t, b)
			t.Fatalf("not complete: %s", w)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if w := tallyWork(b, n, edited, replies); !w.done() {
		t.Fatalf("after completion: %s", w)
	}
}

// A backup taken mid-flow with `hub backup` while the hub runs, the hub
// then lost (SIGKILL) after it went on working, the backup restored in its
// place: the restored hub finishes what was in flight in the backup and
// redoes nothing the lost hub did after it. Every review has one ticket
// (those the lost hub made after the backup are looked up, not made
// again), every edit one message, every answer was posted once; reviews
// after the restore flow as before.
func TestBackupMidFlowRestored(t *testing.T) {
	var backup string
	backupMidFlowRestored(t, nil, restoreSteps{
		backup: func(p *hubProcess) {
			backup = filepath.Join(t.TempDir(), "backup.db")
			if out, err := exec.Command(p.bin, "backup", backup, "--config", p.cfgPath).CombinedOutput(); err != nil {
				t.Fatalf("hub backup: %v\n%s", err, out)
			}
			if got := sqliteReplyStatus(t, backup, "m00001"); got != state.ReplyPending {
				t.Fatalf("the answer to r00001 is %q in the backup, want it pending", got)
			}
		},
		// The backup in place of the state (docs/operations.md, "Restore").
		restore: func(p *hubProcess) {
			for _, f := range []string{p.dbPath(), p.dbPath() + "-wal", p.dbPath() + "-shm"} {
				if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			if err := os.Rename(backup, p.dbPath()); err != nil {
				t.Fatal(err)
			}
		},
		replyStatus: func(p *hubProcess, messageID string) string { return sqliteReplyStatus(t, p.dbPath(), messageID) },
	})
}

// The PostgreSQL runbook (docs/operations.md, "Backup" and "Restore") run
// as written, mid-flow: pg_dump of the hub's schema while the hub runs, the
// hub lost, the schema lost with it (renamed away: a new, empty one is
// what pg_restore fills), pg_restore, hub migrate --restored, the hub
// started again: nothing lost, nothing duplicated, as with SQLite. Needs
// pg_dump and pg_restore (Debian: postgresql-client) where PostgreSQL runs;
// without them it is skipped, except in CI (CI=true).
func TestPgDumpMidFlowRestored(t *testing.T) {
	tools := map[string]string{}
	for _, name := range []string{"pg_dump", "pg_restore"} {
		path, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed in CI to test the PostgreSQL backup runbook (Debian: postgresql-client)", name)
			}
			t.Skipf("%s not found (Debian: postgresql-client): the PostgreSQL backup runbook is not tested", name)
		}
		tools[name] = path
	}
	dsn := pgtest.DSN(t)
	// HUB_STATE_DSN's search_path parameter is the hub's driver's (pgx), not
	// libpq's: pg_dump and pg_restore take the DSN without it and the schema
	// by name, as the runbook says.
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema := q.Get("search_path")
	q.Del("search_path")
	u.RawQuery = q.Encode()
	libpqDSN := u.String()
	dump := filepath.Join(t.TempDir(), "reviewhub.dump")
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
	}
	db, err := sql.Open("pgx", libpqDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	backupMidFlowRestored(t, func(cfg map[string]any) {
		cfg["state"] = map[string]any{"driver": "postgres", "dsn": dsn}
	}, restoreSteps{
		backup: func(p *hubProcess) {
			run(tools["pg_dump"], "--format=custom", "--schema="+schema, "--file="+dump, libpqDSN)
		},
		restore: func(p *hubProcess) {
			// The database is lost: the hub's schema goes (kept aside under
			// another name until the test ends, then dropped).
			lost := schema + "_lost"
			if _, err := db.Exec(`ALTER SCHEMA ` + schema + ` RENAME TO ` + lost); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = db.Exec(`DROP SCHEMA IF EXISTS ` + lost + ` CASCADE`) })
			run(tools["pg_restore"], "--clean", "--if-exists", "--no-owner", "--dbname="+libpqDSN, dump)
			run(p.bin, "migrate", "--restored", "--config", p.cfgPath)
		},
		replyStatus: func(p *hubProcess, messageID string) string {
			var status string
			if err := db.QueryRow(`SELECT status FROM `+schema+`.replies WHERE integration_id = 'acme' AND message_id = $1`, messageID).Scan(&status); err != nil {
				t.Fatalf("answer %s: %v", messageID, err)
			}
			return status
		},
	})
}

// restoreSteps are a backup's and a restore's steps for
// backupMidFlowRestored, and how to read an answer's status.
type restoreSteps struct {
	backup      func(p *hubProcess)
	restore     func(p *hubProcess) // the hub is stopped
	replyStatus func(p *hubProcess, messageID string) string
}

// backupMidFlowRestored is the scenario of TestBackupMidFlowRestored on the
// state edit configures, backed up and restored by steps.
func backupMidFlowRestored(t *testing.T, edit func(cfg map[string]any), steps restoreSteps) {
	const n, replies, later = 40, 5, 10
	b := testbackend.New()
	srv := startBackend(t, b)
	addr := freePort(t)
	p := newHubProcessWith(t, srv, addr, edit)
	b.PutReview(testbackend.Review{ID: "seed", App: "app1", Rating: 3, Text: "connects the app"})
	p.start(t)
	eventually(t, "the app connected", func() bool { _, ok := ticketFor(b, "seed"); return ok })
	put := func(from, to int) {
		for i := from; i < to; i++ {
			b.PutReview(testbackend.Review{ID: fmt.Sprintf("r%05d", i), App: "app1", Rating: 3, Text: "v1"})
		}
	}
	// Half the reviews arrive before the backup: some are in tickets, the
	// others wait in the bus (the helpdesk fails) when it is taken.
	put(0, n/2)
	editDone := map[int]bool{}
	answered := map[int]bool{}
	// One answer is published before the backup.
	eventually(t, "some tickets and an answer published", func() bool {
		editWhenDelivered(b, n/2, editDone)
		if !answered[0] {
			answered[0] = answer(b, addr, 0)
		}
		tk, _ := ticketFor(b, "r00000")
		return len(b.Tickets()) > n/8 && len(tk.Notes) > 0
	})
	// Another is pending when the backup is taken (the store fails): the
	// lost hub publishes it after the backup, and the restored hub, to which
	// it is pending, publishes it again. The store plugin reads the review's
	// reply first (the SDK's contract, sdktest's "reply is visible at the
	// store" posts twice): the store already shows this text, nothing is
	// posted a second time (tallyWork counts the posts).
	b.FailReplies(true)
	eventually(t, "an answer taken while the store fails", func() bool {
		answered[1] = answered[1] || answer(b, addr, 1)
		return answered[1]
	})
	if got := steps.replyStatus(p, "m00001"); got != state.ReplyPending {
		t.Fatalf("the answer to r00001 is %q before the backup, want it pending", got)
	}
	b.FailTickets(true)
	steps.backup(p)
	atBackup := len(b.Tickets())
	b.FailTickets(false)
	b.FailReplies(false)
	// The other half after it: the lost hub makes their tickets, which the
	// restored state knows nothing of.
	put(n/2, n)
	// The hub goes on and finishes everything, then is lost.
	eventually(t, "every answer taken", func() bool {
		for i := range replies {
			if !answered[i] {
				answered[i] = answer(b, addr, i)
			}
		}
		return len(answered) == replies && !strings.Contains(fmt.Sprint(answered), "false")
	})
	completes(t, b, n, replies, func() { editWhenDelivered(b, n, editDone) })
	creates := b.TicketCreates()
	p.kill()
	t.Logf("backup taken at %d of %d tickets", atBackup, n+1)

	steps.restore(p)
	for i := n; i < n+later; i++ {
		b.PutReview(testbackend.Review{ID: fmt.Sprintf("r%05d", i), App: "app1", Rating: 3, Text: "v1"})
	}
	p.start(t)
	completes(t, b, n+later, replies, func() { editWhenDelivered(b, n+later, editDone) })
	if c := b.TicketCreates(); c != creates+later {
		t.Errorf("%d tickets created after the restore, want %d (the reviews that arrived after it)", c-creates, later)
	}
	// The restored hub handled the answer pending in the backup (found it at
	// the store): published, posted once (completes).
	eventually(t, "the answer pending at the backup handled after the restore", func() bool {
		return steps.replyStatus(p, "m00001") == state.ReplyPublished
	})
	out, err := exec.Command(p.bin, "migrate", "--dry-run", "--config", p.cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "restored from a backup at") {
		t.Errorf("the restore is not recorded: hub migrate --dry-run: %v\n%s", err, out)
	}
}

// sqliteReplyStatus is the status of the answer messageID of integration
// acme in the SQLite state at path.
func sqliteReplyStatus(t *testing.T, path, messageID string) string {
	t.Helper()
	ro, err := state.OpenSQLiteReadOnly(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	r, err := ro.Reply(context.Background(), "acme", messageID)
	if err != nil {
		t.Fatalf("answer %s in %s: %v", messageID, path, err)
	}
	return r.Status
}

// A rolling upgrade of three hubs sharing PostgreSQL: three hubs of the
// previous release work; one at a time is stopped (SIGTERM) and replaced
// by this hub, the first of which migrates the shared state while the two
// others go on running the previous release's code on it. Reviews, edits
// and staff answers (to whichever hub is up) flow throughout; in the end
// every review has one ticket, every edit one message, every answer was
// posted once, and the state records this hub.
//
// "The previous release" is the hub built from previousCommit (git
// archive of this repository's history): its real code, not this binary
// with the new migration held back, so that the old code is what runs on
// the migrated schema.
func TestRollingUpgradeOfThreeHubsOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	previous := buildPrevious(t)
	current := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")
	const n, replies = 60, 12
	b := testbackend.New()
	srv := startBackend(t, b)
	var hubs []*hubProcess
	var addrs []string
	for range 3 {
		addr := freePort(t)
		p := newHubProcessWith(t, srv, addr, func(f map[string]any) {
			f["state"] = map[string]any{"driver": "postgres", "dsn": dsn}
			f["bus"] = map[string]any{"backend": "postgres"}
			f["secret_key"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		})
		p.bin = previous
		hubs, addrs = append(hubs, p), append(addrs, addr)
	}
	b.PutReview(testbackend.Review{ID: "seed", App: "app1", Rating: 3, Text: "connects the app"})
	for _, p := range hubs {
		p.start(t)
	}
	eventually(t, "the app connected", func() bool { _, ok := ticketFor(b, "seed"); return ok })

	editDone := map[int]bool{}
	answered := map[int]bool{}
	next := 0
	drive := func() {
		editWhenDelivered(b, next, editDone)
		for i := range min(replies, next) {
			for j := 0; !answered[i] && j < len(addrs); j++ {
				answered[i] = answer(b, addrs[(i+j)%len(addrs)], i)
			}
		}
	}
	arrive := func(k int) {
		for ; k > 0; k-- {
			b.PutReview(testbackend.Review{ID: fmt.Sprintf("r%05d", next), App: "app1", Rating: 3, Text: "v1"})
			next++
		}
	}
	arrive(n / 4)
	for i, p := range hubs {
		// Work in flight while the hub is replaced.
		eventually(t, "tickets coming", func() bool { drive(); return len(b.Tickets()) > next/2 })
		arrive(n / 8)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("hub %d of the previous release stopped with %v", i, err)
		}
		p.bin = current
		p.start(t)
		arrive(n / 8)
	}
	arrive(n - next)
	completes(t, b, n, replies, drive)
	if c := b.TicketCreates(); c != n+1 {
		t.Errorf("%d tickets created for %d reviews and the seed", c, n)
	}
	ro, err := state.OpenPostgresReadOnly(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	st, err := ro.SchemaStatus(context.Background())
	if err != nil || st.Schema != st.Known || len(st.Pending) != 0 || st.SchemaHub == "" || st.Hub == "" {
		t.Errorf("the state after the upgrade: %+v %v", st, err)
	}
}

// previousCommit is the last commit before the state recorded its versions
// (migration 0008): its hub is "the previous release" of the rolling
// upgrade below.
const previousCommit = "7df4b7a7031335143144a8708421f8741c2c313a"

// buildPrevious builds the hub of previousCommit from this repository's
// history (git archive) into a temporary directory.
func buildPrevious(t *testing.T) string {
	t.Helper()
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("no git repository to build the previous release from: %v", err)
	}
	root := strings.TrimSpace(string(top))
	if err := exec.Command("git", "-C", root, "cat-file", "-e", previousCommit+"^{commit}").Run(); err != nil {
		t.Skipf("commit %s (the previous release) is not in this clone's history", previousCommit[:7])
	}
	dir := t.TempDir()
	tarball := filepath.Join(dir, "previous.tar")
	if out, err := exec.Command("git", "-C", root, "archive", "-o", tarball, previousCommit, "go.mod", "go.sum", "hub", "sdk").CombinedOutput(); err != nil {
		t.Fatalf("git archive: %v\n%s", err, out)
	}
	if out, err := exec.Command("tar", "-x", "-C", dir, "-f", tarball).CombinedOutput(); err != nil {
		t.Fatalf("untar: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "hub-previous")
	build := exec.Command("go", "build", "-o", bin, "./hub/cmd/hub")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the previous release: %v\n%s", err, out)
	}
	return bin
}
