package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// hubProcess runs the real hub binary, so it can be killed abruptly.
type hubProcess struct {
	bin, cfgPath string
	cmd          *exec.Cmd
	log          *os.File
}

func newHubProcess(t *testing.T, backendURL, listen string) *hubProcess {
	t.Helper()
	return newHubProcessWith(t, backendURL, listen, nil)
}

// newHubProcessWith is newHubProcess with edit applied to the config file's
// content (and the data dir in dataDir).
func newHubProcessWith(t *testing.T, backendURL, listen string, edit func(cfg map[string]any)) *hubProcess {
	t.Helper()
	cfg := newConfig(t, backendURL)
	file := map[string]any{
		"listen": listen, "data_dir": cfg.DataDir,
		"plugins": map[string]any{"dir": cfg.Plugins.Dir, "paths": cfg.Plugins.Paths},
		"log":     map[string]any{"level": "debug"},
		"integrations": []any{map[string]any{
			"id": "acme", "helpdesk": map[string]any{"plugin": "testdesk", "settings": map[string]string{"url": backendURL, "secret": secret}},
			"apps": []any{map[string]any{"id": "ios", "store": "teststore", "store_app_id": "app1",
				"settings": map[string]string{"url": backendURL, "page_size": "200"}, "poll_interval": "1s", "filters": map[string]any{"backfill": 100}}},
		}},
	}
	if edit != nil {
		edit(file)
	}
	raw, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	p := &hubProcess{bin: sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub"), cfgPath: filepath.Join(cfg.DataDir, "hub.yaml")}
	if err := os.WriteFile(p.cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if p.log, err = os.Create(filepath.Join(cfg.DataDir, "hub.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.kill()
		p.log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(p.log.Name())
			if keep := os.Getenv("REVIEWHUB_KEEP_HUB_LOG"); keep != "" {
				_ = os.WriteFile(keep, b, 0o644)
			}
			t.Logf("hub log (tail):\n%s", tail(string(b), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (p *hubProcess) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(p.bin, "serve", "--config", p.cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

func (p *hubProcess) kill() {
	if p.cmd != nil && p.cmd.Process != nil && p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

func (p *hubProcess) dbPath() string { return filepath.Join(filepath.Dir(p.cfgPath), "hub.db") }

// pluginProcesses lists running processes whose binary is one of paths.
func pluginProcesses(paths ...string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		exe = strings.TrimSuffix(exe, " (deleted)")
		for _, p := range paths {
			if exe == p {
				var pid int
				fmt.Sscan(e.Name(), &pid)
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func counter(t *testing.T, path, name string) int {
	t.Helper()
	db, err := state.OpenSQLite(context.Background(), path, nil)
	if err != nil {
		return -1
	}
	defer db.Close()
	c, err := db.Counters(context.Background(), "acme")
	if err != nil {
		return -1
	}
	return c["ios"][name]
}

// TestHubKilledBetweenStateWriteAndDelivery: reviews are recorded and queued
// while the helpdesk is down, the hub is SIGKILLed, and after a restart every
// review reaches the helpdesk exactly once. No plugin process outlives the hub.
func TestHubKilledBetweenStateWriteAndDelivery(t *testing.T) {
	b := testbackend.New()
	srv := startBackend(t, b)
	p := newHubProcess(t, srv, "127.0.0.1:0")
	b.FailTickets(true)
	for i := range 20 {
		b.PutReview(testbackend.Review{ID: fmt.Sprintf("r%02d", i), App: "app1", Rating: 1 + i%5, Text: "review text"})
	}
	p.start(t)
	eventually(t, "20 reviews queued in the state", func() bool { return counter(t, p.dbPath(), "reviews_queued") == 20 })
	p.kill()
	plugins := []string{sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/e2e/testplugins/store"), sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/e2e/testplugins/helpdesk")}
	eventually(t, "plugin processes to end with the hub", func() bool { return len(pluginProcesses(plugins...)) == 0 })
	if len(b.Tickets()) != 0 {
		t.Fatalf("tickets created while the helpdesk was down: %d", len(b.Tickets()))
	}

	b.FailTickets(false)
	p.start(t)
	eventually(t, "20 tickets after the restart", func() bool { return len(b.Tickets()) == 20 })
	eventually(t, "20 deliveries recorded", func() bool { return counter(t, p.dbPath(), "reviews_delivered") == 20 })
	if n := b.TicketCreates(); n != 20 {
		t.Fatalf("%d ticket creates for 20 reviews", n)
	}

	// Graceful shutdown: SIGTERM ends the hub with status 0 and its plugins with it.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("hub exit after SIGTERM: %v", err)
	}
	eventually(t, "plugin processes to stop", func() bool { return len(pluginProcesses(plugins...)) == 0 })
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestHubKilledAtRandomPoints kills the hub (SIGKILL) at random moments
// while reviews, edits and staff replies flow; in the end every review has
// exactly one ticket, every edit one message, and every reply was posted to
// the store exactly once. `make soak` runs it with 10,000 reviews, 1,000
// replies and many kills (REVIEWHUB_SOAK_REVIEWS, _REPLIES, _KILLS).
func TestHubKilledAtRandomPoints(t *testing.T) { crashSoak(t, nil) }

// The same on PostgreSQL: the state, the bus with its windowed subscriber
// and subscription leases (a killed hub's successor on the same address
// takes its partitions back at once).
func TestHubKilledAtRandomPointsOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	crashSoak(t, func(cfg map[string]any) { cfg["state"] = map[string]any{"driver": "postgres", "dsn": dsn} })
}

// crashSoak runs the soak with the hub's config file changed by edit.
func crashSoak(t *testing.T, edit func(cfg map[string]any)) {
	n := envInt("REVIEWHUB_SOAK_REVIEWS", 40)
	replies := envInt("REVIEWHUB_SOAK_REPLIES", 10)
	kills := envInt("REVIEWHUB_SOAK_KILLS", 4)
	if replies > n {
		replies = n
	}
	b := testbackend.New()
	srv := startBackend(t, b)
	addr := freePort(t)
	p := newHubProcessWith(t, srv, addr, func(cfg map[string]any) {
		reconcileEverySecond(cfg)
		if edit != nil {
			edit(cfg)
		}
	})
	// Connect the app first (its first listing imports at most the backfill
	// limit of past reviews), then let n new reviews arrive.
	b.PutReview(testbackend.Review{ID: "seed", App: "app1", Rating: 3, Text: "connects the app"})
	p.start(t)
	eventually(t, "the app connected", func() bool { _, ok := ticketFor(b, "seed"); return ok })
	p.kill()
	for i := range n {
		b.PutReview(testbackend.Review{ID: fmt.Sprintf("r%05d", i), App: "app1", Rating: 3, Text: "v1"})
	}
	edited := func(i int) bool { return i%4 == 0 }
	// Every fourth review is edited once its first version is in a ticket
	// (an edit before the hub saw the first version is just a new review).
	editDone := map[int]bool{}
	editSeen := func() {
		tickets := map[string]bool{}
		for _, tk := range b.Tickets() {
			tickets[tk.ReviewID] = true
		}
		for i := 0; i < n; i += 4 {
			if id := fmt.Sprintf("r%05d", i); !editDone[i] && tickets[id] {
				b.PutReview(testbackend.Review{ID: id, App: "app1", Rating: 5, Text: "v2"})
				editDone[i] = true
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))

	// Staff answer the first `replies` reviews as soon as their tickets exist,
	// retrying while the hub is down, as a helpdesk does.
	stopReplies := make(chan struct{})
	repliesDone := make(chan struct{})
	go func() {
		defer close(repliesDone)
		sent := map[int]bool{}
		for len(sent) < replies {
			select {
			case <-stopReplies:
				return
			case <-time.After(100 * time.Millisecond):
			}
			tickets := map[string]testbackend.Ticket{}
			for _, tk := range b.Tickets() {
				tickets[tk.ReviewID] = tk
			}
			for i := range replies {
				if sent[i] {
					continue
				}
				tk, ok := tickets[fmt.Sprintf("r%05d", i)]
				if !ok {
					continue
				}
				body := fmt.Sprintf(`{"ticket_id":%q,"message_id":"m%05d","text":"Thanks #%d"}`, tk.ID, i, i)
				resp, err := http.Post("http://"+addr+"/hooks/testdesk/acme?secret="+secret, "application/json", strings.NewReader(body))
				if err != nil {
					break // the hub is down: try again later
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					sent[i] = true
				}
			}
		}
	}()
	for range kills {
		p.start(t)
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		editSeen()
		p.kill()
	}
	p.start(t)
	finalStart := time.Now()
	defer func() {
		if t.Failed() && n <= 100 {
			dumpTickets(t, b)
		}
	}()
	complete := func() (lostTickets, dupTickets, lostEdits, dupEdits, lostReplies, dupReplies int) {
		w := tallyWork(b, n, edited, replies)
		return w.lostTickets, w.dupTickets, w.lostEdits, w.dupEdits, w.lostReplies, w.dupReplies
	}
	deadline := time.Now().Add(time.Duration(30+n/100) * time.Second)
	for {
		editSeen()
		lt, dt, le, de, lr, dr := complete()
		if lt+dt+le+de+lr+dr == 0 {
			break
		}
		if time.Now().After(deadline) {
			close(stopReplies)
			<-repliesDone
			t.Fatalf("after %d kills, %.1f s after the final start: lost tickets %d, duplicated tickets %d, lost edits %d, duplicated edits %d, lost replies %d, duplicated replies %d",
				kills, time.Since(finalStart).Seconds(), lt, dt, le, de, lr, dr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("soak: all complete %.1f s after the final start (deadline %d s)", time.Since(finalStart).Seconds(), 30+n/100)
	<-repliesDone
	// Nothing more may arrive after everything is complete.
	time.Sleep(500 * time.Millisecond)
	lt, dt, le, de, lr, dr := complete()
	t.Logf("soak: %d reviews, %d edits, %d replies, %d kills: lost tickets %d, duplicated tickets %d, lost edits %d, duplicated edits %d, lost replies %d, duplicated replies %d",
		n, (n+3)/4, replies, kills, lt, dt, le, de, lr, dr)
	if lt+dt+le+de+lr+dr != 0 {
		t.Fatal("work lost or duplicated after completion")
	}
	if c := b.TicketCreates(); c != n+1 {
		t.Fatalf("%d ticket creates for %d reviews and the seed", c, n)
	}
	p.noLostMessages(t)
}

// reconcileEverySecond makes the hub look for lost messages every second
// (noLostMessages: none may be found).
func reconcileEverySecond(cfg map[string]any) {
	cfg["schedule"] = map[string]any{"reconcile_every": "1s"}
}

// noLostMessages fails the test when the hub's reconciliation took a
// queued review's message for lost (hub/poll/reconcile.go): in these
// soaks none is, so one found is a loss or a false alarm.
func (p *hubProcess) noLostMessages(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(p.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "message was lost"); n > 0 {
		t.Errorf("the hub's log says %d queued reviews lost their message", n)
	}
}

// work is what the helpdesk and the store hold against what they should:
// every review r00000… one ticket (the seed apart), an edited one two
// messages, each of the first `replies` reviews' answers posted once.
type work struct {
	lostTickets, dupTickets, lostEdits, dupEdits, lostReplies, dupReplies int
}

func (w work) String() string {
	return fmt.Sprintf("lost tickets %d, duplicated tickets %d, lost edits %d, duplicated edits %d, lost replies %d, duplicated replies %d",
		w.lostTickets, w.dupTickets, w.lostEdits, w.dupEdits, w.lostReplies, w.dupReplies)
}

func (w work) done() bool { return w == work{} }

// tallyWork counts, for n reviews r00000… (edited(i): edited once) and
// answers to the first replies of them, what is lost or duplicated.
func tallyWork(b *testbackend.Backend, n int, edited func(int) bool, replies int) (w work) {
	byReview := map[string]int{}
	for _, tk := range b.Tickets() {
		if tk.ReviewID == "seed" {
			continue
		}
		byReview[tk.ReviewID]++
		var i int
		fmt.Sscanf(tk.ReviewID, "r%d", &i)
		want := 1
		if edited(i) {
			want = 2
		}
		switch {
		case len(tk.Messages) < want:
			w.lostEdits += want - len(tk.Messages)
		case len(tk.Messages) > want:
			w.dupEdits += len(tk.Messages) - want
		}
	}
	for i := range n {
		switch c := byReview[fmt.Sprintf("r%05d", i)]; {
		case c == 0:
			w.lostTickets++
		case c > 1:
			w.dupTickets += c - 1
		}
	}
	posts, _ := b.ReplyPosts()
	for i := range replies {
		switch c := posts[fmt.Sprintf("r%05d", i)]; {
		case c == 0:
			w.lostReplies++
		case c > 1:
			w.dupReplies += c - 1
		}
	}
	return w
}

func dumpTickets(t *testing.T, b *testbackend.Backend) {
	for _, tk := range b.Tickets() {
		t.Logf("ticket %s review %s messages %q keys %q", tk.ID, tk.ReviewID, tk.Messages, tk.Keys)
	}
}

// Three hubs on one PostgreSQL database, one of them — chosen at random
// each time — killed (SIGKILL) again and again and started again while
// reviews, edits and staff answers (to whichever hub is up) flow: in the
// end every review has exactly one ticket, every edit one message, every
// answer was posted once. A killed hub's partitions and polls move to the
// others or come back with it (same address: its predecessor's leases are
// taken back at once). Sized like the soak (REVIEWHUB_SOAK_REVIEWS,
// _REPLIES, _KILLS).
func TestThreeHubsOneKilledAtRandomOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	n := envInt("REVIEWHUB_SOAK_REVIEWS", 40)
	replies := min(envInt("REVIEWHUB_SOAK_REPLIES", 10), n)
	kills := envInt("REVIEWHUB_SOAK_KILLS", 4)
	b := testbackend.New()
	srv := startBackend(t, b)
	var hubs []*hubProcess
	var addrs []string
	for range 3 {
		addr := freePort(t)
		hubs = append(hubs, newHubProcessWith(t, srv, addr, func(f map[string]any) {
			reconcileEverySecond(f)
			f["state"] = map[string]any{"driver": "postgres", "dsn": dsn}
			f["secret_key"] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		}))
		addrs = append(addrs, addr)
	}
	b.PutReview(testbackend.Review{ID: "seed", App: "app1", Rating: 3, Text: "connects the app"})
	for _, p := range hubs {
		p.start(t)
	}
	eventually(t, "the app connected", func() bool { _, ok := ticketFor(b, "seed"); return ok })
	for i := range n {
		b.PutReview(testbackend.Review{ID: fmt.Sprintf("r%05d", i), App: "app1", Rating: 3, Text: "v1"})
	}
	// Every fourth review is edited once its first version is in a
	// ticket; the first replies are answered then, to whichever hub is up
	// (a look at the tickets per turn: thousands of reviews).
	editDone := map[int]bool{}
	answered := map[int]bool{}
	drive := func() {
		tickets := map[string]testbackend.Ticket{}
		for _, tk := range b.Tickets() {
			tickets[tk.ReviewID] = tk
		}
		for i := 0; i < n; i += 4 {
			if _, ok := tickets[fmt.Sprintf("r%05d", i)]; ok && !editDone[i] {
				b.PutReview(testbackend.Review{ID: fmt.Sprintf("r%05d", i), App: "app1", Rating: 5, Text: "v2"})
				editDone[i] = true
			}
		}
		for i := range replies {
			tk, ok := tickets[fmt.Sprintf("r%05d", i)]
			for j := 0; ok && !answered[i] && j < len(addrs); j++ {
				body := fmt.Sprintf(`{"ticket_id":%q,"message_id":"m%05d","text":"Thanks #%d"}`, tk.ID, i, i)
				resp, err := http.Post("http://"+addrs[(i+j)%len(addrs)]+"/hooks/testdesk/acme?secret="+secret, "application/json", strings.NewReader(body))
				if err != nil {
					continue // that hub is down: the next
				}
				resp.Body.Close()
				answered[i] = resp.StatusCode == http.StatusOK
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	pause := func(lo, spread int) {
		end := time.Now().Add(time.Duration(lo+rng.IntN(spread)) * time.Millisecond)
		for time.Now().Before(end) {
			drive()
			time.Sleep(50 * time.Millisecond)
		}
	}
	for range kills {
		pause(300, 900)
		p := hubs[rng.IntN(len(hubs))]
		p.kill()
		pause(100, 500)
		p.start(t)
	}
	finalStart := time.Now()
	completes(t, b, n, replies, drive)
	t.Logf("three hubs, %d kills: %d reviews, %d edits, %d answers complete %.1f s after the last restart, none lost or duplicated",
		kills, n, (n+3)/4, replies, time.Since(finalStart).Seconds())
	if c := b.TicketCreates(); c != n+1 {
		t.Fatalf("%d ticket creates for %d reviews and the seed", c, n)
	}
	for _, p := range hubs {
		p.noLostMessages(t)
	}
}
