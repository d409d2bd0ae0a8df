package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// A message that can never succeed (a 400 from the helpdesk) goes to the
// dead letters with the reason, does not block the others, and
// `hub deadletters retry` delivers it once the cause is fixed.
func TestDeadLettersListRetryDrop(t *testing.T) { deadLetters(t, start(t)) }

func TestDeadLettersOnPostgres(t *testing.T) { deadLetters(t, startPostgres(t)) }

func deadLetters(t *testing.T, e *env) {
	hubBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(hubBin, append(args, "--config", "")...)
		cmd.Env = append(cmd.Environ(), "HUB_DATA_DIR="+e.cfg.DataDir,
			"HUB_STATE_DRIVER="+e.cfg.State.Driver, "HUB_STATE_DSN="+e.cfg.State.DSN)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("hub %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	e.backend.Reject("POISON")
	e.backend.PutReview(testbackend.Review{ID: "p1", App: "app1", Rating: 1, Text: "POISON one"})
	e.backend.PutReview(testbackend.Review{ID: "p2", App: "app1", Rating: 1, Text: "POISON two"})
	e.backend.PutReview(testbackend.Review{ID: "ok", App: "app1", Rating: 5, Text: "fine"})
	eventually(t, "the good review delivered past the poisoned ones", func() bool { _, ok := ticketFor(e.backend, "ok"); return ok })
	var list string
	eventually(t, "two dead letters", func() bool {
		list = cli("deadletters", "list")
		return strings.Count(list, "validation failed: the text contains POISON") == 2
	})
	if !strings.Contains(list, "reviews") {
		t.Errorf("list does not name the topic:\n%s", list)
	}
	lines := strings.Split(strings.TrimSpace(list), "\n")
	firstID := strings.Fields(lines[1])[0]
	secondID := strings.Fields(lines[2])[0]

	e.backend.Reject("")
	if out := cli("deadletters", "retry", firstID); !strings.Contains(out, "queued again") {
		t.Errorf("retry: %s", out)
	}
	// The two poisoned reviews may have failed in either order: whichever
	// the first dead letter holds is delivered now, the other is dropped.
	var retried, dropped string
	eventually(t, "the retried review delivered", func() bool {
		_, ok1 := ticketFor(e.backend, "p1")
		_, ok2 := ticketFor(e.backend, "p2")
		switch {
		case ok1 && !ok2:
			retried, dropped = "p1", "p2"
		case ok2 && !ok1:
			retried, dropped = "p2", "p1"
		case ok1 && ok2:
			t.Fatal("both poisoned reviews delivered after retrying one")
		}
		return retried != ""
	})
	if out := cli("deadletters", "drop", secondID); !strings.Contains(out, "dropped") {
		t.Errorf("drop: %s", out)
	}
	if out := cli("deadletters", "list"); !strings.Contains(out, "no dead letters") {
		t.Errorf("after retry and drop: %s", out)
	}
	if _, ok := ticketFor(e.backend, dropped); ok {
		t.Errorf("the dropped review %s was delivered (retried %s)", dropped, retried)
	}
}
