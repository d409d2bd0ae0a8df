package demo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/stack"
	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// The demo as `make demo` plays it: the whole script through Run's own
// loop, with the apps' default poll interval (the hub spaces Google Play's
// polls to fit its quota of 200 reads an hour, so a review reaches the
// helpdesk up to 18 s after it was put). Every step must succeed: an answer
// waits for its review (and the review's last edit) to be in the ticket.
// The answers' outcomes then come back as the script says.
func TestDemoPlaysItsWholeScript(t *testing.T) {
	script := Script()
	type result struct {
		say string
		err error
	}
	played := make(chan result, len(script))
	d, _ := startDemo(t, Omnidesk, func(o *Options) {
		o.Script, o.PollInterval, o.Step = script, 0, 300*time.Millisecond
		o.Played = func(st Step, err error) { played <- result{st.Say, err} }
	})
	timeout := time.After(5 * time.Minute)
	for range script {
		select {
		case r := <-played:
			if r.err != nil {
				t.Errorf("step %q failed: %v", r.say, r.err)
			}
		case <-timeout:
			t.Fatal("the script did not finish within 5 minutes")
		}
	}
	out := d.out.(*syncWriter).String()
	if strings.Contains(out, "step failed") {
		t.Errorf("the demo told a failed step:\n%s", out)
	}
	// The banner gives what a second integration on the fakes needs, and
	// says that the data directory does not survive a restart.
	keyFile := filepath.Join(d.Config.DataDir, "credentials", "android-service_account_json")
	for _, want := range []string{"channel " + odfake.ChannelCode, "case_field " + odfake.FieldKey, "api_key " + stack.OmnideskAPIKey,
		"store app id com.example.reviewhub", "service_account_json in " + keyFile, "emptied at every start"} {
		if !strings.Contains(out, want) {
			t.Errorf("the banner does not say %q:\n%s", want, out)
		}
	}
	if key, err := os.ReadFile(keyFile); err != nil || string(key) != d.Config.Apps[2].Settings["service_account_json"] {
		t.Errorf("the Google Play key file: %v", err)
	}
	noteOf := func(review, want string) {
		t.Helper()
		var notes []string
		eventually(t, "a note with "+want+" in the case of "+review, func() bool {
			tk, _ := d.TicketOf(review)
			notes = notes[:0]
			for _, n := range tk.Notes {
				notes = append(notes, n.Content)
				if strings.Contains(n.Content, want) {
					return true
				}
			}
			return false
		})
		for _, n := range notes {
			if strings.Contains(n, "the review changed after the answer was published") {
				t.Errorf("the case of %s says the review changed after the answer: staff answered before seeing the edit", review)
			}
		}
	}
	noteOf("gp-2003", "Google Play replies are limited to 350 characters")
	noteOf("asp-4001", "connect the store account to reply")
	noteOf("gp-2001", "published")
	if txt, _ := d.StoreAnswer("gp-2001"); txt != script[11].Answer {
		t.Errorf("Google Play shows %q for Kenji, want %q", txt, script[11].Answer)
	}
}

// A demo whose hub cannot start (its address answered by another server,
// as when `make run` is still running) returns the error at once: no
// banner, nothing played.
func TestDemoStopsWhenItsHubCannotStart(t *testing.T) {
	taken := stack.TakenAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := &syncWriter{b: &strings.Builder{}}
	ready := false
	err := Run(ctx, Options{HubBin: sdktest.Build(t, hubPkg), Plugins: map[string]string{}, DataDir: t.TempDir(),
		HubAddr: taken, Out: out, HubLog: &syncWriter{b: &strings.Builder{}}, Ready: func(*Demo) { ready = true }})
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), taken) {
		t.Errorf("Run: %v, want the hub's address in use", err)
	}
	if ctx.Err() != nil {
		t.Error("Run waited for its context instead of returning")
	}
	if ready || strings.Contains(out.String(), "demo is running") {
		t.Errorf("the demo said it runs:\n%s", out.String())
	}
}
