package e2e

import (
	"context"
	"fmt"
	"net/http"
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
	const n, replies, later = 40, 5, 10
	b := testbackend.New()
	srv := startBackend(t, b)
	addr := freePort(t)
	p := newHubProcessWith(t, srv, addr, nil)
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
	// One answer is published before the backup (one pending at the backup
	// would be published again after the restore: the same text, which the
	// store keeps once, but counted here as a second post).
	eventually(t, "some tickets and an answer published", func() bool {
		editWhenDelivered(b, n/2, editDone)
		if !answered[0] {
			answered[0] = answer(b, addr, 0)
		}
		tk, _ := ticketFor(b, "r00000")
		return len(b.Tickets()) > n/8 && len(tk.Notes) > 0
	})
	b.FailTickets(true)
	backup := filepath.Join(t.TempDir(), "backup.db")
	if out, err := exec.Command(p.bin, "backup", backup, "--config", p.cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("hub backup: %v\n%s", err, out)
	}
	atBackup := len(b.Tickets())
	b.FailTickets(false)
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

	// Restore: the backup in place of the state (docs/operations.md, "Restore").
	for _, f := range []string{p.dbPath(), p.dbPath() + "-wal", p.dbPath() + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if err := os.Rename(backup, p.dbPath()); err != nil {
		t.Fatal(err)
	}
	for i := n; i < n+later; i++ {
		b.PutReview(testbackend.Review{ID: fmt.Sprintf("r%05d", i), App: "app1", Rating: 3, Text: "v1"})
	}
	p.start(t)
	completes(t, b, n+later, replies, func() { editWhenDelivered(b, n+later, editDone) })
	if c := b.TicketCreates(); c != creates+later {
		t.Errorf("%d tickets created after the restore, want %d (the reviews that arrived after it)", c-creates, later)
	}
	ro, err := state.OpenSQLiteReadOnly(context.Background(), p.dbPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if st, err := ro.SchemaStatus(context.Background()); err != nil || st.RestoredAt.IsZero() {
		t.Errorf("the restore is not recorded: %+v %v", st, err)
	}
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
